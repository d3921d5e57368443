# Exact power of the within-patient t test of ketamine vs placebo, computed independently in base R.
#
#   Rscript tests/reference/make_power_reference.R    # writes tests/reference/power_reference.json
#
# For each crossover dataset with the trial's treatment names, R's lm() fits patient fixed effects +
# treatment + carry-over (the project's coding, "none" the reference); g = vcov / sigma^2 of the
# ketamine coefficient is its entry of (X'X)^-1 and df the residual degrees of freedom. The power of the
# two-sided 5% t test for a true benefit delta with residual SD sigma is then
#   P(|T| > qt(0.975, df)), T ~ t(df, ncp = delta / (sigma sqrt(g))),
# and the detectable difference at 80% and 90% power is found by uniroot(). The paired design is also
# checked against stats::power.t.test(type = "paired", strict = TRUE).
# Base R only (no package): R >= 4.0 from Debian's r-base-core.
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
sigma <- 30
deltas <- c(0, 10, 25, 50)
power_at <- function(delta, scale, df) {
  critical <- qt(0.975, df)
  pt(critical, df, ncp = delta / scale, lower.tail = FALSE) + pt(-critical, df, ncp = delta / scale)
}
json_number <- function(x) formatC(x, digits = 15, format = "g")
entries <- c()
for (name in c("ketapain_auc35_locf", "sim_williams_missing", "sim_large_scale")) {
  d <- read.csv(file.path(here, paste0(name, ".csv")), colClasses = c(patient_id = "character"))
  d$treatment <- relevel(factor(d$treatment), ref = "placebo")
  d$carryover <- relevel(factor(d$carryover), ref = "none")
  fit <- lm(y ~ factor(patient_id) + treatment + carryover, data = d)
  g <- vcov(fit)["treatmentketamine", "treatmentketamine"] / summary(fit)$sigma^2
  df <- fit$df.residual
  scale <- sigma * sqrt(g)
  powers <- sapply(deltas, power_at, scale = scale, df = df)
  detectable <- sapply(c(0.8, 0.9), function(p)
    uniroot(function(delta) power_at(delta, scale, df) - p, c(0, 1e4), tol = 1e-12)$root)
  entries <- c(entries, sprintf(
    '  "%s": {"g": %s, "df": %d, "sigma": %s, "deltas": [%s], "power": [%s], "detectable_80": %s, "detectable_90": %s}',
    name, json_number(g), df, json_number(sigma), paste(deltas, collapse = ", "),
    paste(sapply(powers, json_number), collapse = ", "), json_number(detectable[1]), json_number(detectable[2])))
}
paired <- power.t.test(n = 10, sd = sqrt(2), power = 0.8, type = "paired", strict = TRUE)$delta
entries <- c(entries, sprintf('  "paired_n10_sd1_detectable_80": %s', json_number(paired)))
writeLines(c("{", paste(entries, collapse = ",\n"), "}"), file.path(here, "power_reference.json"))
