#!/usr/bin/env bash
# Set up, (re)build the bundled sample knowledge base, and start the web UI on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export KB_HOME=${KB_HOME:-knowledge_base}
.venv/bin/kb ingest --kb samples knowledge_base/samples/content
echo "Try: .venv/bin/kb ask --kb samples \"ChatGLM-6B 基于什么架构？\"" >&2
exec .venv/bin/kb ui --port "${KB_UI_PORT:-8501}"
