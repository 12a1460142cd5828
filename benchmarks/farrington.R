# farringtonFlexible (R surveillance) on the last month of each series of a CSV:
# rows "wave,series,count_1,...,count_T"; writes "wave,series,pvalue".
# Called by benchmarks/surveillance.py through Rscript.
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
rows <- as.matrix(read.csv(args[1], header = FALSE))
n_t <- ncol(rows) - 2
control <- list(range = n_t, b = 4, w = 2, alpha = 0.01, noPeriods = 4,
                pastWeeksNotIncluded = 0, thresholdMethod = "nbPlugin",
                populationOffset = FALSE)
out <- matrix(NA_real_, nrow(rows), 3)
for (i in seq_len(nrow(rows))) {
  s <- sts(observed = matrix(rows[i, -(1:2)], ncol = 1), start = c(2017, 1), frequency = 12)
  p <- tryCatch(farringtonFlexible(s, control = control)@control$pvalue[1, 1],
                error = function(e) NA_real_)
  out[i, ] <- c(rows[i, 1], rows[i, 2], p)
}
write.table(out, args[2], sep = ",", row.names = FALSE, col.names = FALSE)
