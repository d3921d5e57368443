# Write the real published within-subject / crossover datasets of the extended R reference (run once; the
# CSVs are committed). Every one ships in a Debian R package, so nothing is downloaded at run time:
#
#   sleep_student.csv      R `datasets::sleep` (r-base-core). Cushny, A. R. & Peebles, A. R. (1905) The action
#                          of optical isomers II: hyoscines. J Physiol 32, 501-510; Student (1908) The probable
#                          error of a mean. Biometrika 6, 1-25. Extra hours of sleep of 10 patients under each of
#                          2 soporific drugs (group 1 -> drug_1, group 2 -> drug_2). No period information:
#                          treatment-only model (its REML t test is the paired t test, df 9).
#   ergo_stool.csv         R `nlme::ergoStool` (r-cran-nlme). Pinheiro, J. C. & Bates, D. M. (2000) Mixed-Effects
#                          Models in S and S-PLUS, Springer, App. A.9; Devore (2000) from Ergonomics (1993)
#                          519-535. Effort (Borg scale) of 9 subjects to arise from 4 stool types T1-T4. No period
#                          information: treatment-only model.
#   inhaler_2x2.csv        R `brms::inhaler` (r-cran-brms). Ezzet, F. & Whitehead, J. (1991) A random effects
#                          model for ordinal responses from a crossover trial. Stat Med 10, 901-907. 2x2 (AB/BA)
#                          crossover of 2 salbutamol inhalation devices in 286 asthma patients; outcome: rating
#                          1-4 of the clarity of the leaflet (fitted here as a continuous outcome). brms codes
#                          treat = +-0.5 (+0.5 -> device_a, -0.5 -> device_b), period = +-0.5 and carry = 0/+-1;
#                          carry is non-zero only where period = -0.5, so period = +0.5 is period 1 and -0.5 is
#                          period 2 (carry-over cannot act in period 1); the derived Stata carry-over is checked
#                          against brms' `carry` below. Sequences: A-B (142 patients), B-A (144).
#
# Columns as in make_datasets_extra.py: patient_id, (period,) y, treatment, (sequence, carryover,
# carryover_stata). `carryover` = previous period's treatment, "none" in period 1 and after the reference
# (device_a, the first sorted level); `carryover_stata` = previous period's treatment, "none" in period 1 only.
#
#   Rscript tests/reference/make_datasets_real.R
#
# brms need not be installed (it pulls in rstan): the data are read from the package's lazy-load database,
# found in .libPaths() or in the folders of R_EXTRA_LIBS (colon-separated), e.g. after
#   apt-get download r-cran-brms && dpkg-deb -x r-cran-brms_*.deb /tmp/brms
#   R_EXTRA_LIBS=/tmp/brms/usr/lib/R/site-library Rscript tests/reference/make_datasets_real.R
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))

package_data <- function(package, name) {
  extra <- strsplit(Sys.getenv("R_EXTRA_LIBS"), ":", fixed = TRUE)[[1]]
  dirs <- file.path(c(.libPaths(), extra[nzchar(extra)]), package)
  dir <- dirs[file.exists(file.path(dirs, "data", "Rdata.rdx"))][1]
  if (is.na(dir)) stop("R package ", package, " not found (install it, or set R_EXTRA_LIBS)")
  e <- new.env()
  lazyLoad(file.path(dir, "data", "Rdata"), envir = e)
  get(name, envir = e)
}

write <- function(d, name) {
  write.csv(d, file.path(here, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)
  cat(name, ":", length(unique(d$patient_id)), "patients,", nrow(d), "rows\n")
}

# Student's sleep data
s <- datasets::sleep
s <- data.frame(patient_id = sprintf("%02d", as.integer(as.character(s$ID))),
                treatment = paste0("drug_", s$group), y = s$extra)
write(s[order(s$patient_id, s$treatment), ], "sleep_student")

# ergoStool
e <- package_data("nlme", "ergoStool")
e <- data.frame(patient_id = as.character(e$Subject), treatment = as.character(e$Type), y = as.numeric(e$effort))
write(e[order(as.integer(e$patient_id), e$treatment), ], "ergo_stool")

# inhaler (2x2)
h <- package_data("brms", "inhaler")
stopifnot(all(h$carry[h$period == 0.5] == 0), all(table(h$subject) == 2))
d <- data.frame(patient_id = sprintf("%03d", h$subject), period = ifelse(h$period == 0.5, 1L, 2L),
                y = h$rating, treatment = ifelse(h$treat == 0.5, "device_a", "device_b"))
d <- d[order(d$patient_id, d$period), ]
first <- d$treatment[d$period == 1][match(d$patient_id, d$patient_id[d$period == 1])]
d$sequence <- ifelse(first == "device_a", "A-B", "B-A")
previous <- ifelse(d$period == 1, NA, ifelse(d$treatment == "device_a", "device_b", "device_a"))
d$carryover <- ifelse(is.na(previous) | previous == "device_a", "none", previous)
d$carryover_stata <- ifelse(is.na(previous), "none", previous)
h <- h[order(sprintf("%03d", h$subject), -h$period), ]
stopifnot(all((h$carry == 0) == (d$carryover_stata == "none")),
          all((h$carry == 1) == (d$carryover_stata == "device_b")),
          all(table(d$patient_id, d$period) == 1))
write(d, "inhaler_2x2")
