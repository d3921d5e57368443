# Reference numbers for ketapain_lib.stats.lmm_core: lme4 fits (tight optimizer tolerance), lmerTest
# Satterthwaite and pbkrtest Kenward-Roger tests, on the committed CSVs beside this script, complete and
# with rows removed (unbalanced), a singular fit and an aliased column.
#
#   Rscript tests/reference/make_lmm_core_kr.R      (Debian: r-cran-lme4 r-cran-lmertest r-cran-pbkrtest
#                                                    r-cran-jsonlite)
#
# Writes lmm_core_kr.json; tests/test_lmm_core.py compares against that JSON (CI needs no R). Factor coding
# mirrors patsy's treatment coding (reference level first, other levels sorted). Each case records the rows
# removed (patient_id, period) and the contrast matrices L (rows over the fixed-effect vector).
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)
})
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))

read_data <- function(name, drop) {
  d <- read.csv(file.path(here, paste0(name, ".csv")), stringsAsFactors = FALSE)
  if (length(drop)) {
    key <- paste(d$patient_id, d$period)
    d <- d[!key %in% sapply(drop, function(x) paste(x[1], x[2])), ]
  }
  d$patient_id <- factor(d$patient_id)
  d$treatment <- factor(d$treatment, levels = c("placebo", sort(setdiff(unique(d$treatment), "placebo"))))
  if ("sequence" %in% names(d)) d$sequence <- factor(d$sequence, levels = sort(unique(d$sequence)))
  if ("carryover" %in% names(d)) {
    d$carryover <- factor(d$carryover, levels = c("none", sort(setdiff(unique(d$carryover), "none"))))
  }
  if ("period" %in% names(d)) d$period <- factor(d$period)
  d$aliased <- 2 * (d$treatment == levels(d$treatment)[2])   # a copy of the first treatment column
  d
}

formulas <- list(
  paper = y ~ treatment + sequence + carryover + (1 | patient_id),
  period = y ~ treatment + period + sequence + (1 | patient_id),
  treatment_only = y ~ treatment + (1 | patient_id),
  paper_aliased = y ~ treatment + sequence + carryover + aliased + (1 | patient_id)
)

contrasts_for <- function(names) {
  index <- grep("^treatment", names)
  unit <- function(i) { v <- rep(0, length(names)); v[i] <- 1; v }
  list(first = unit(index[1]), second = unit(index[2]), difference = unit(index[1]) - unit(index[2]),
       omnibus = rbind(unit(index[1]), unit(index[2])))
}

test_one <- function(fit, L, reml) {
  L <- if (is.matrix(L)) L else matrix(L, nrow = 1)
  sat <- contest(fit, L, ddf = "Satterthwaite", joint = TRUE)
  out <- list(L = L, satterthwaite = list(F = sat[["F value"]], ndf = sat$NumDF, ddf = sat$DenDF,
                                          p = sat[["Pr(>F)"]]))
  if (nrow(L) == 1) {
    s1 <- contest(fit, drop(L), ddf = "Satterthwaite", joint = FALSE)
    out$satterthwaite$t <- s1[["t value"]]
    out$satterthwaite$se <- s1[["Std. Error"]]
  }
  if (reml) {
    kr <- KRmodcomp(fit, L)$stats
    out$kenward_roger <- list(F = kr$Fstat, ndf = kr$ndf, ddf = kr$ddf, p = kr$p.value,
                              F_scaling = kr$F.scaling)
    if (nrow(L) == 1) {
      k1 <- contest(fit, drop(L), ddf = "Kenward-Roger", joint = FALSE)
      out$kenward_roger$se <- k1[["Std. Error"]]
      out$kenward_roger$t <- k1[["t value"]]
    }
  }
  out
}

fit_one <- function(name, model, reml, drop = list()) {
  d <- read_data(name, drop)
  # bobyqa's final trust-region radius: the tightest for which it ends normally (code 0; with a tiny radius
  # it can stop on code 3, "a trust region step failed to reduce q", at the optimum)
  for (rhoend in c(1e-10, 1e-9, 1e-8)) {
    fit <- suppressWarnings(lmer(formulas[[model]], data = d, REML = reml,
                                 control = lmerControl(optimizer = "bobyqa", check.conv.singular = "ignore",
                                                       optCtrl = list(rhoend = rhoend, maxfun = 1e5))))
    if (fit@optinfo$conv$opt == 0) break
  }
  stopifnot(fit@optinfo$conv$opt == 0)
  beta <- fixef(fit)
  vc <- as.data.frame(VarCorr(fit))
  tests <- lapply(contrasts_for(names(beta)), function(L) test_one(fit, L, reml))
  list(dataset = name, model = model, method = if (reml) "REML" else "ML", drop = drop,
       n_obs = nrow(d), fixed_effects = unname(beta), fixed_effect_names = names(beta),
       se = unname(sqrt(diag(as.matrix(vcov(fit))))),
       patient_variance = vc$vcov[vc$grp == "patient_id"], residual_variance = sigma(fit)^2,
       loglik = as.numeric(logLik(fit)), singular = isSingular(fit), bobyqa_rhoend = rhoend, tests = tests)
}

drops <- list(
  none = list(),
  unbalanced = list(c("P02", 3), c("P05", 1), c("P07", 2), c("P07", 3), c("P11", 2), c("P13", 1),
                    c("P16", 3), c("P19", 2))
)
out <- list(software = list(R = paste(R.version$major, R.version$minor, sep = "."),
                            lme4 = as.character(packageVersion("lme4")),
                            lmerTest = as.character(packageVersion("lmerTest")),
                            pbkrtest = as.character(packageVersion("pbkrtest"))),
            fits = list())
add <- function(key, ...) out$fits[[key]] <<- fit_one(...)
for (reml in c(TRUE, FALSE)) {
  method <- if (reml) "REML" else "ML"
  for (name in c("ketapain_auc35_locf", "ketapain_auc7")) for (model in c("paper", "period")) {
    add(paste(name, model, method, sep = "/"), name, model, reml)
    add(paste(name, model, method, "unbalanced", sep = "/"), name, model, reml, drops$unbalanced)
  }
  add(paste("frantic_fingers/treatment_only", method, sep = "/"), "frantic_fingers", "treatment_only", reml)
  add(paste("ketapain_ae_related/paper", method, sep = "/"), "ketapain_ae_related", "paper", reml)
  add(paste("ketapain_auc35_locf/paper_aliased", method, "unbalanced", sep = "/"), "ketapain_auc35_locf",
      "paper_aliased", reml, drops$unbalanced)
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "lmm_core_kr.json"))
cat("wrote", file.path(here, "lmm_core_kr.json"), "\n")
