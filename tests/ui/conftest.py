"""Fixtures for the UI's AppTest tests: a fast container with users, and a runner for one page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from kb_app.ui.session import CONTAINER_KEY, USER_KEY

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
PASSWORD = "correct-horse-battery"
ROUTER_DOC = (
    "星河路由器使用说明。星河路由器的默认管理地址是 192.168.8.1。出厂密码印在机身背面的标签上。\n"
    "备注：<script>alert(1)</script> [点我](http://evil.example) ![x](http://evil.example/x.png)\n"
)


def _page_script(page: str) -> None:
    """Runs one page the way ui/app.py would (AppTest.from_function source), messages of the last action
    first."""
    import importlib

    from kb_app.ui import session

    session.show_flashes()
    importlib.import_module(f"kb_app.ui.views.{page}").render()


@pytest.fixture
def ui(fast_container: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fast container with users admin, editor (granted 'docs') and viewer (granted 'docs')."""
    from argon2 import PasswordHasher

    # argon2's default cost is the point in production and a waste of CPU in UI tests
    monkeypatch.setattr(
        "kb_app.auth.service.new_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024)
    )
    app = fast_container
    app.open_kb("docs", create=True)
    app.auth.create_user("admin", PASSWORD, "admin")
    app.auth.create_user("editor", PASSWORD, "editor")
    app.auth.create_user("viewer", PASSWORD, "viewer")
    app.auth.grant("editor", "docs")
    app.auth.grant("viewer", "docs")
    return app


def run_jobs(app: Any) -> None:
    """Run every queued ingest job now, in this thread (the UI's worker thread is not started in tests)."""
    while app.jobs.run_next():
        pass


@pytest.fixture
def page(ui: Any) -> Callable[..., AppTest]:
    """page("kbs", user="editor") -> an AppTest of that page, run once, signed in as `user`."""

    def make(name: str, user: str | None = "admin", **state: Any) -> AppTest:
        at = AppTest.from_function(_page_script, args=(name,), default_timeout=30)
        at.session_state[CONTAINER_KEY] = ui
        if user is not None:
            at.session_state[USER_KEY] = user
        for key, value in state.items():
            at.session_state[key] = value
        return at.run()

    return make


@pytest.fixture
def whole_app(ui: Any) -> Callable[..., AppTest]:
    """whole_app(user=None) -> the full app (login gate and navigation) as AppTest, run once."""

    def make(user: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.session_state[CONTAINER_KEY] = ui
        if user is not None:
            at.session_state[USER_KEY] = user
        return at.run()

    return make
