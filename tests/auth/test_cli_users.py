"""`kb users ...` end to end through the real CLI app (no models are loaded)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kb_app.cli import app


def test_users_commands_manage_users_grants_and_tokens(kb_home: Path) -> None:
    from kb_app.catalog import Catalog
    from kb_app.container import Container

    Catalog(Container().settings.catalog_url).create_kb("hr", "test-hash-256")
    runner = CliRunner()

    def kb(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    kb("users", "add", "zhangsan", "--role", "editor", "--password", "long enough pw")
    kb("users", "grant", "zhangsan", "hr")
    listed = json.loads(kb("users", "list", "--json"))
    assert listed == [{"username": "zhangsan", "role": "editor", "kbs": ["hr"], "disabled": False}]
    token = kb("users", "token", "zhangsan", "--name", "bot").strip()
    principal = Container().auth.principal_for_token(token)
    assert principal is not None and principal.can_edit("hr")
    assert "revoked 1" in kb("users", "token", "zhangsan", "--revoke")
    assert Container().auth.principal_for_token(token) is None

    weak = runner.invoke(app, ["users", "add", "lisi", "--password", "short"])
    assert weak.exit_code == 2 and "at least 8" in weak.output
    missing = runner.invoke(app, ["users", "grant", "nobody", "hr"])
    assert missing.exit_code == 2 and "No user 'nobody'" in missing.output
