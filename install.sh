#!/usr/bin/env bash
# Install veille and its development tools into ./.venv (Python >= 3.11), from nothing.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
# System packages of the web side: Debian's Chromium (browser tests, driven by Playwright:
# no browser download), poppler-utils (pdftotext, PDF tests) and pango (WeasyPrint).
# Installed only when missing, as root with apt-get (as CI runs it); a failing apt-get fails
# the install. Without root the step is skipped with a warning (the browser and PDF tests
# then fail in CI, skip elsewhere).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
  else
    echo "WARNING: missing system packages: ${need[*]} (install them as root with apt-get)" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "veille installed in $(pwd)/.venv"
