"""An API over the fast container, with one user per role and a small knowledge base "hr"."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import HashingEmbedder, write_files
from fastapi.testclient import TestClient

HR_DOCS = {
    "年假制度.txt": "员工入职满一年后享有五天带薪年假。年假需要提前三天在系统中申请，并由直属领导审批。",
    "报销流程.txt": "差旅报销需要提交发票原件和行程单。报销申请在出差结束后三十天内提交，财务五日内付款。",
}
PASSWORD = "correct horse battery"
# name -> (role, granted "hr"?)
USERS = {
    "admin": ("admin", False),
    "editor_hr": ("editor", True),
    "editor_other": ("editor", False),
    "viewer_hr": ("viewer", True),
    "viewer_other": ("viewer", False),
}


@dataclass
class Api:
    client: TestClient
    container: Any
    tokens: dict[str, str]

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def call(self, method: str, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=self.headers(user), **kwargs)


def seed(container: Any, tmp_path: Path) -> dict[str, str]:
    """KBs hr (two files) and wiki (empty), users per USERS; returns each user's API token."""
    container.ingest("hr", sorted(write_files(tmp_path / "hr-docs", HR_DOCS).iterdir()))
    container.open_kb("wiki", create=True)
    auth = container.auth
    tokens = {}
    for name, (role, granted) in USERS.items():
        auth.create_user(name, PASSWORD, role)
        if granted:
            auth.grant(name, "hr")
        tokens[name] = auth.issue_token(name)
    return tokens


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One seeded KB_HOME per session (password hashing and ingesting are the slow part); each test
    gets a copy."""
    from kb_app import registry
    from kb_app.container import Container
    from kb_app.settings import Settings

    root = tmp_path_factory.mktemp("api-seed")
    registry.register("embedder", "test-hash", HashingEmbedder)
    settings = Settings(home=root / "kbhome", embedder={"backend": "test-hash"}, ingest_workers=1)
    container = Container(settings)
    tokens = seed(container, root)
    container.catalog.close()
    return settings.home, tokens


@pytest.fixture
def api(fast_container: Any, seeded_home: tuple[Path, dict[str, str]]) -> Iterator[Api]:
    from kb_app.api import create_app

    template, tokens = seeded_home
    shutil.copytree(template, fast_container.settings.home)  # before the container opens its catalog
    with TestClient(create_app(fast_container)) as client:  # `with`: the lifespan starts the worker
        yield Api(client, fast_container, tokens)
    fast_container.jobs.stop_worker()
