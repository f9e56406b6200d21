#!/usr/bin/env bash
# Set up, (re)build the bundled sample knowledge base, and start the API (http://localhost:8000/docs)
# and the web UI (http://localhost:8501). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export KB_HOME=${KB_HOME:-knowledge_base}
.venv/bin/kb ingest --kb samples knowledge_base/samples/content
# The API prints the first-run admin password (or set KB_ADMIN_PASSWORD; KB_AUTH=off for a desktop).
.venv/bin/kb serve --port "${KB_API_PORT:-8000}" &
api=$!
trap 'kill "$api" 2>/dev/null || true' EXIT INT TERM
echo "Try: .venv/bin/kb ask --kb samples \"ChatGLM-6B 基于什么架构？\"" >&2
echo "UI: http://localhost:${KB_UI_PORT:-8501} · API: http://localhost:${KB_API_PORT:-8000}/docs" >&2
.venv/bin/kb ui --port "${KB_UI_PORT:-8501}"
