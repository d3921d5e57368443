# Independent reference numbers for ketapain_lib.stats.crossover, from R's lme4 / lmerTest / emmeans.
#
#   Rscript tests/reference/make_reference.R      (Debian: r-base-core r-cran-lme4 r-cran-lmertest
#                                                  r-cran-emmeans r-cran-jsonlite)
#
# Reads the committed CSVs beside this script, writes reference.json; the Python tests compare
# against that JSON, so CI needs no R. Factor coding mirrors patsy's treatment coding (reference
# level first, other levels sorted), so the coefficient vectors line up term by term.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(emmeans); library(jsonlite)
})
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))

read_data <- function(name, reference) {
  d <- read.csv(file.path(here, paste0(name, ".csv")), stringsAsFactors = FALSE)
  d$patient_id <- factor(d$patient_id)
  others <- sort(setdiff(unique(d$treatment), reference))
  d$treatment <- factor(d$treatment, levels = c(reference, others))
  if ("sequence" %in% names(d)) d$sequence <- factor(d$sequence, levels = sort(unique(d$sequence)))
  if ("carryover" %in% names(d)) {
    d$carryover <- factor(d$carryover, levels = c("none", sort(setdiff(unique(d$carryover), "none"))))
  }
  if ("period" %in% names(d)) d$period <- factor(d$period)
  d
}

formulas <- list(
  paper = y ~ treatment + sequence + carryover + (1 | patient_id),
  period = y ~ treatment + period + sequence + (1 | patient_id),
  treatment_only = y ~ treatment + (1 | patient_id)
)

pairs_for <- function(levels) {
  if (identical(levels, c("placebo", "ketamine", "ketamine_magnesium"))) {
    return(list(c("ketamine", "placebo"), c("placebo", "ketamine_magnesium"), c("ketamine", "ketamine_magnesium")))
  }
  out <- list()
  for (i in seq_along(levels)) for (j in seq_along(levels)) if (j > i) out[[length(out) + 1]] <- c(levels[j], levels[i])
  out
}

fit_one <- function(d, model, method) {
  fit <- lmer(formulas[[model]], data = d, REML = (method == "REML"),
              control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
  beta <- fixef(fit)
  V <- as.matrix(vcov(fit))
  vc <- as.data.frame(VarCorr(fit))
  index <- grep("^treatment", names(beta))
  chi2 <- as.numeric(t(beta[index]) %*% solve(V[index, index]) %*% beta[index])
  levels <- levels(d$treatment)
  pairs <- pairs_for(levels)
  weights <- lapply(pairs, function(p) { w <- rep(0, length(levels)); w[match(p[1], levels)] <- 1; w[match(p[2], levels)] <- -1; w })
  names(weights) <- sapply(pairs, function(p) paste(p[1], "vs", p[2]))
  emm_options(lmer.df = "asymptotic")
  z_tab <- as.data.frame(summary(contrast(emmeans(fit, "treatment"), method = weights, adjust = "sidak")))
  emm_options(lmer.df = "satterthwaite")
  s_tab <- as.data.frame(summary(contrast(emmeans(fit, "treatment"), method = weights, adjust = "none")))
  list(
    model = model, method = method,
    fixed_effects = unname(beta), fixed_effect_names = names(beta), se = unname(sqrt(diag(V))),
    patient_variance = vc$vcov[vc$grp == "patient_id"], residual_variance = sigma(fit)^2,
    loglik = as.numeric(logLik(fit)),
    omnibus_chi2 = chi2, omnibus_df = length(index), omnibus_p = pchisq(chi2, length(index), lower.tail = FALSE),
    pairwise = list(comparison = z_tab$contrast, estimate = z_tab$estimate, se = z_tab$SE,
                    p_sidak = z_tab$p.value,
                    p = 2 * pnorm(-abs(z_tab$estimate / z_tab$SE)),
                    p_satterthwaite = s_tab$p.value, df_satterthwaite = s_tab$df)
  )
}

seq_by_treatment <- function(d) {
  reduced <- lmer(y ~ treatment + sequence + (1 | patient_id), data = d, REML = FALSE)
  full <- lmer(y ~ treatment * sequence + (1 | patient_id), data = d, REML = FALSE)
  a <- anova(reduced, full)
  list(lr_chi2 = a$Chisq[2], df = a$Df[2], p = a$`Pr(>Chisq)`[2])
}

glmm_one <- function(d) {
  fit <- glmer(y ~ treatment + (1 | patient_id), data = d, family = binomial, nAGQ = 25,
               control = glmerControl(optimizer = "bobyqa"))
  list(fixed_effects = unname(fixef(fit)), fixed_effect_names = names(fixef(fit)),
       se = unname(sqrt(diag(as.matrix(vcov(fit))))), patient_variance = as.data.frame(VarCorr(fit))$vcov[1],
       loglik = as.numeric(logLik(fit)))
}

out <- list(
  software = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest")),
                  emmeans = as.character(packageVersion("emmeans"))),
  fits = list(), sequence_by_treatment = list(), glmm = list()
)
for (name in c("ketapain_auc35_locf", "ketapain_auc7")) {
  d <- read_data(name, "placebo")
  for (model in c("paper", "period")) for (method in c("ML", "REML")) {
    out$fits[[paste(name, model, method, sep = "/")]] <- fit_one(d, model, method)
  }
  out$sequence_by_treatment[[name]] <- seq_by_treatment(d)
}
d <- read_data("frantic_fingers", "placebo")
for (method in c("ML", "REML")) out$fits[[paste("frantic_fingers", "treatment_only", method, sep = "/")]] <- fit_one(d, "treatment_only", method)
for (name in c("ketapain_ae_related", "ketapain_ae_any")) out$glmm[[name]] <- glmm_one(read_data(name, "placebo"))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "reference.json"))
cat("wrote", file.path(here, "reference.json"), "\n")
