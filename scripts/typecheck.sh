#!/usr/bin/env bash
# mypy over the installed package layout: ingest/, vectorstores/ and ui/ ship as kb_app.ingest,
# kb_app.vectorstores and kb_app.ui, so type-check a mirror of that layout made of symlinks.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck/kb_app
rm -rf build/typecheck && mkdir -p "$tree"
for entry in kb_app/*; do ln -s "$PWD/$entry" "$tree/$(basename "$entry")"; done
for pkg in ingest vectorstores ui; do ln -s "$PWD/$pkg" "$tree/$pkg"; done
cd build/typecheck && ../../.venv/bin/mypy --config-file ../../pyproject.toml -p kb_app
