"""The server-wide container: built once, first admin created (password only on the console), the
background ingest worker running, and rebuilt after the settings page saves."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from conftest import HashingEmbedder, write_files

from kb_app import registry
from kb_app.ui import session


@pytest.fixture
def shared(kb_home, monkeypatch) -> Iterator[object]:
    registry.register("embedder", "test-hash", HashingEmbedder)
    monkeypatch.setenv("KB_EMBEDDER__BACKEND", "test-hash")
    monkeypatch.setenv("KB_INGEST_WORKERS", "1")
    monkeypatch.delenv("KB_ADMIN_PASSWORD", raising=False)
    session.shared_container.clear()
    app = session.shared_container()
    yield app
    app.jobs.stop_worker()
    session.shared_container.clear()


def test_first_start_creates_the_admin_and_runs_the_worker(shared, tmp_path):
    assert session.shared_container() is shared  # cached: one per server process
    (admin,) = shared.auth.list_users()
    assert admin.username == "admin" and admin.role.value == "admin"
    folder = write_files(tmp_path / "docs", {"a.txt": "星河路由器的默认管理地址是 192.168.8.1。"})
    (job_id,) = shared.jobs.submit("docs", [folder / "a.txt"])
    (job,) = shared.jobs.wait([job_id], timeout_s=60)  # done by the worker thread, not by this test
    assert job.status == "done"


def test_the_password_goes_to_the_log_once(kb_home, monkeypatch, caplog):
    registry.register("embedder", "test-hash", HashingEmbedder)
    monkeypatch.setenv("KB_EMBEDDER__BACKEND", "test-hash")
    monkeypatch.delenv("KB_ADMIN_PASSWORD", raising=False)
    session.shared_container.clear()
    with caplog.at_level(logging.WARNING, logger="kb_app.ui.session"):
        app = session.shared_container()
        session.shared_container.clear()
        again = session.shared_container()  # a restart: users exist, nothing new to print
    try:
        logged = [r.getMessage() for r in caplog.records if "one-time password" in r.getMessage()]
        assert len(logged) == 1
        password = logged[0].rsplit(" ", 1)[-1]
        assert app.auth.login("admin", password) is not None
    finally:
        app.jobs.stop_worker()
        again.jobs.stop_worker()
        session.shared_container.clear()


def test_reload_builds_a_new_container(shared):
    session.reload_container()
    fresh = session.shared_container()
    try:
        assert fresh is not shared
    finally:
        fresh.jobs.stop_worker()
