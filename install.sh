#!/usr/bin/env bash
# Install veille and its development tools into ./.venv (Python >= 3.11), from nothing.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "veille installed in $(pwd)/.venv"
