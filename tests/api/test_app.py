"""The app's frame: docs, health, and that the CLI stays cheap to import."""

from __future__ import annotations

import subprocess
import sys

from api.conftest import Api


def test_docs_health_and_bearer_scheme(api: Api) -> None:
    assert api.client.get("/health").json()["status"] == "ok"
    assert api.client.get("/docs").status_code == 200
    schema = api.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/v1/chat/completions" in schema["paths"] and "/kbs/{name}/ask" in schema["paths"]


def test_importing_the_cli_does_not_import_the_web_stack() -> None:
    code = (
        "import sys, kb_app.cli\n"
        "heavy = [m for m in ('fastapi', 'uvicorn', 'starlette', 'argon2') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
