#!/usr/bin/env bash
# Set up, then run lint, type checks and the whole test suite (real offline models end to end included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
scripts/typecheck.sh
.venv/bin/python -m pytest "$@"
