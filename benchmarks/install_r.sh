#!/usr/bin/env bash
# R and its surveillance package, for benchmarks/surveillance.py only (the tests do not
# need them, so install.sh leaves them out). Installed only when missing, as root.
set -euo pipefail
if ! Rscript -e 'library(surveillance)' >/dev/null 2>&1; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q r-base-core r-cran-surveillance
fi
