# R reference for the crossover API's edge cases (issue 26). Writes edge_reference.json beside this script.
#
#   python tests/reference/make_edge_datasets.py     # the edge_*.csv datasets (seeded)
#   Rscript tests/reference/make_edge_reference.R
#     Debian: r-base-core r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-jsonlite
#
# For each dataset and model (random intercept per patient), ML and REML fits by lme4 with bobyqa
# (rhoend 1e-10, or 1e-9 where it stops on code 3): log-likelihood, fixed effects and SEs, variance components, lme4's singular-fit flag.
# REML fits add each pairwise contrast "second vs first" (second - first, in the order of the levels:
# A, B, C, D) with its SE and the Kenward-Roger (pbkrtest KRmodcomp) and Satterthwaite (lmerTest contest)
# df and P, and the omnibus F tests of treatment by both methods.
#
# One patient per sequence (edge_one_per_sequence): the patient effect is confounded with sequence, so the
# between-patient variance is not identifiable (lmer's REML criterion does not depend on it there). The
# reference is the within-patient analysis, the linear model with fixed patient effects,
# lm(y ~ patient_id + period + treatment): each contrast's estimate, SE, t, df (n - rank) and P, and the
# omnibus F test of treatment (anova of the models with and without treatment).
#
# Factor coding: treatment levels sorted (A first), period a factor of the period numbers, sequence and
# carryover factors with the levels sorted by code point ("none" first for carryover).
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)})
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
# bobyqa's final trust-region radius: the tightest of these for which it ends normally (code 0; with a very
# small radius it can stop on code 3, "a trust region step failed to reduce q", at the optimum)
RHOEND <- c(1e-10, 1e-9, 1e-8)
control_for <- function(rhoend) lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e6, rhoend = rhoend))
FORMULAS <- list(
  paper = y ~ treatment + sequence + carryover + (1 | patient_id),
  period = y ~ treatment + period + sequence + (1 | patient_id)
)
MODELS <- list(edge_2x2 = "period", edge_williams_4x4 = c("paper", "period"), edge_replicate = c("paper", "period"),
               edge_unequal = "period", edge_boundary = c("paper", "period"), edge_text_periods = c("paper", "period"))
sorted <- function(x) sort(unique(as.character(x)), method = "radix")
arr <- function(x) I(unname(x))

read_data <- function(name) {
  d <- read.csv(file.path(here, paste0(name, ".csv")), stringsAsFactors = FALSE,
                colClasses = c(patient_id = "character"))
  d$treatment <- factor(d$treatment, levels = sorted(d$treatment))
  d$period <- factor(d$period, levels = sort(unique(d$period)))
  d$sequence <- factor(d$sequence, levels = sorted(d$sequence))
  d$carryover <- factor(d$carryover, levels = c("none", setdiff(sorted(d$carryover), "none")))
  d$patient_id <- factor(d$patient_id)
  d
}

pairs_of <- function(levels) {
  out <- list()
  for (i in seq_along(levels)) for (j in seq_along(levels)) if (j > i) out[[length(out) + 1]] <- c(levels[i], levels[j])
  out
}

contrast <- function(names, levels, first, second) {
  L <- setNames(numeric(length(names)), names)
  if (second != levels[1]) L[paste0("treatment", second)] <- L[paste0("treatment", second)] + 1
  if (first != levels[1]) L[paste0("treatment", first)] <- L[paste0("treatment", first)] - 1
  L
}

fit_one <- function(d, model, method) {
  for (rhoend in RHOEND) {
    fit <- suppressMessages(lmerTest::lmer(FORMULAS[[model]], data = d, REML = method == "REML",
                                           control = control_for(rhoend)))
    code <- fit@optinfo$conv$opt
    if (is.null(code) || code == 0) break
  }
  stopifnot(is.null(code) || code == 0)
  beta <- fixef(fit)
  vc <- as.data.frame(VarCorr(fit))
  out <- list(model = model, method = method, n_obs = nrow(d), loglik = as.numeric(logLik(fit)),
              fixed_effect_names = arr(names(beta)), fixed_effects = arr(as.numeric(beta)),
              se = arr(as.numeric(sqrt(diag(as.matrix(vcov(fit)))))),
              patient_variance = vc$vcov[vc$grp == "patient_id"], residual_variance = vc$vcov[vc$grp == "Residual"],
              singular = isSingular(fit, tol = 1e-4), rhoend = rhoend)
  if (method == "REML") {
    levels <- levels(d$treatment)
    rows <- list()
    for (pair in pairs_of(levels)) {
      L <- contrast(names(beta), levels, pair[1], pair[2])
      kr <- KRmodcomp(fit, matrix(L, nrow = 1))$test
      sat <- contest(fit, L, ddf = "Satterthwaite", joint = FALSE)
      rows[[length(rows) + 1]] <- list(comparison = paste(pair[2], "vs", pair[1]), estimate = sum(L * beta),
                                       se = sat[["Std. Error"]], df_kr = kr["Ftest", "ddf"], p_kr = kr["Ftest", "p.value"],
                                       df_satterthwaite = sat[["df"]], p_satterthwaite = sat[["Pr(>|t|)"]])
    }
    out$pairwise <- rows
    Lall <- t(sapply(levels[-1], function(level) contrast(names(beta), levels, levels[1], level)))
    kr <- KRmodcomp(fit, Lall)$test
    sat <- contest(fit, Lall, ddf = "Satterthwaite", joint = TRUE)
    out$omnibus <- list(F_kr = kr["Ftest", "stat"], ndf = kr["Ftest", "ndf"], ddf_kr = kr["Ftest", "ddf"],
                        p_kr = kr["Ftest", "p.value"], F_satterthwaite = sat[["F value"]],
                        ddf_satterthwaite = sat[["DenDF"]], p_satterthwaite = sat[["Pr(>F)"]])
  }
  out
}

within_analysis <- function(d) {
  fit <- lm(y ~ patient_id + period + treatment, data = d)
  beta <- coef(fit)
  stopifnot(!anyNA(beta))
  V <- vcov(fit)
  levels <- levels(d$treatment)
  rows <- list()
  for (pair in pairs_of(levels)) {
    L <- contrast(names(beta), levels, pair[1], pair[2])
    est <- sum(L * beta)
    se <- sqrt(as.numeric(t(L) %*% V %*% L))
    rows[[length(rows) + 1]] <- list(comparison = paste(pair[2], "vs", pair[1]), estimate = est, se = se,
                                     t = est / se, df = fit$df.residual,
                                     p = 2 * pt(abs(est / se), fit$df.residual, lower.tail = FALSE))
  }
  omnibus <- anova(lm(y ~ patient_id + period, data = d), fit)
  list(model = "period", method = "within-patient (lm with fixed patient effects)", n_obs = nrow(d),
       residual_variance = summary(fit)$sigma^2, df_residual = fit$df.residual, pairwise = rows,
       omnibus = list(F = omnibus$F[2], ndf = omnibus$Df[2], ddf = omnibus$Res.Df[2], p = omnibus[["Pr(>F)"]][2]))
}

fits <- list()
for (name in names(MODELS)) {
  d <- read_data(name)
  for (model in MODELS[[name]]) for (method in c("ML", "REML")) {
    fits[[paste(name, model, method, sep = "/")]] <- fit_one(d, model, method)
  }
}
fits[["edge_one_per_sequence/period/within"]] <- within_analysis(read_data("edge_one_per_sequence"))

out <- list(
  software = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")),
                  pbkrtest = as.character(packageVersion("pbkrtest"))),
  settings = list(optimizer = "bobyqa", rhoend = arr(RHOEND), singular_tol = 1e-4),
  fits = fits
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), file.path(here, "edge_reference.json"))
