# Shapiro-Wilk W and P computed independently by R's stats::shapiro.test (Royston's AS R94, in double
# precision), for tests/test_distributions.py.
#
#   Rscript tests/reference/make_shapiro_reference.R    # writes tests/reference/shapiro_reference.json
#
# The samples are written out with their results, so that Python reads exactly what R tested: normal
# samples of every size from 3 to 60 and a few larger ones, on scales from 0.01 to 1000 and far from zero,
# skewed (exponential) samples, samples rounded to one decimal (ties), and the trial's own AUCs
# (ketapain_auc35_locf.csv, one sample per treatment). Base R only: R >= 4.0 from Debian's r-base-core.
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
set.seed(20161125)
samples <- list()
for (n in c(3:60, 100, 500, 2000)) {
  samples[[length(samples) + 1]] <- rnorm(n, mean = runif(1, -1000, 1000), sd = 10^runif(1, -2, 3))
}
for (n in c(3, 4, 5, 6, 7, 11, 12, 20, 50)) {
  samples[[length(samples) + 1]] <- rexp(n)
  samples[[length(samples) + 1]] <- round(rnorm(n, 5, 2), 1)
}
d <- read.csv(file.path(here, "ketapain_auc35_locf.csv"))
for (treatment in sort(unique(d$treatment))) samples[[length(samples) + 1]] <- d$y[d$treatment == treatment]
json_number <- function(x) formatC(x, digits = 17, format = "g")
entries <- sapply(samples, function(x) {
  result <- shapiro.test(x)
  sprintf('{"x": [%s], "w": %s, "p": %s}', paste(json_number(x), collapse = ", "),
          json_number(unname(result$statistic)), json_number(result$p.value))
})
writeLines(c("[", paste(entries, collapse = ",\n"), "]"), file.path(here, "shapiro_reference.json"))
