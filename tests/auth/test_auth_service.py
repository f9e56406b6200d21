"""AuthService against a real SQLite catalog: bootstrap, logins, tokens, roles and grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_app.auth import AuthService, Principal, Role, records
from kb_app.catalog import Catalog
from kb_app.errors import AlreadyExists, AuthError, KnowledgeBaseNotFound, UserNotFound


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    for name in ("hr", "wiki"):
        catalog.create_kb(name, "test-hash-256")
    return catalog


@pytest.fixture
def auth(catalog: Catalog) -> AuthService:
    return AuthService(catalog)


def test_bootstrap_generates_a_one_time_admin_password_once(auth: AuthService) -> None:
    password = auth.bootstrap()
    assert password and len(password) >= 12
    assert auth.bootstrap() is None  # users exist: nothing printed again
    admin = auth.login("admin", password)
    assert admin == Principal("admin", Role.ADMIN, frozenset())
    assert admin.is_admin and admin.can_manage_kbs and admin.can_edit("anything")


def test_bootstrap_uses_the_configured_admin_password(catalog: Catalog) -> None:
    auth = AuthService(catalog, admin_password="s3cret-admin")
    assert auth.bootstrap() is None
    assert auth.login("admin", "s3cret-admin") is not None


def test_login_rejects_wrong_password_unknown_user_and_disabled_accounts(auth: AuthService) -> None:
    auth.create_user("zhangsan", "correct horse", "editor")
    auth.create_user("lisi", "another pass", "admin")
    assert auth.login("zhangsan", "correct horse") is not None
    assert auth.login("zhangsan", "wrong password") is None
    assert auth.login("nobody", "correct horse") is None
    auth.set_disabled("zhangsan")
    assert auth.login("zhangsan", "correct horse") is None
    with pytest.raises(AuthError, match="disabled"):
        auth.principal("zhangsan")


def test_password_and_name_rules_have_clear_errors(auth: AuthService) -> None:
    with pytest.raises(AuthError, match="at least 8"):
        auth.create_user("wangwu", "short")
    with pytest.raises(AuthError, match="Invalid user name"):
        auth.create_user("../etc", "long enough pw")
    with pytest.raises(AuthError, match="Unknown role"):
        auth.create_user("wangwu", "long enough pw", "root")
    auth.create_user("王五", "long enough pw")
    with pytest.raises(AlreadyExists, match="exists already"):
        auth.create_user("王五", "long enough pw")
    with pytest.raises(UserNotFound):
        auth.set_password("nobody", "long enough pw")


def test_outdated_hash_parameters_are_upgraded_on_login(auth: AuthService, catalog: Catalog) -> None:
    from argon2 import PasswordHasher
    from sqlmodel import select

    from kb_app.auth.tables import UserRow

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse")
    auth.create_user("zhangsan", "placeholder pw")
    records.update_user(catalog, "zhangsan", password_hash=weak)
    assert auth.login("zhangsan", "correct horse") is not None
    with catalog.session() as s:
        stored = s.exec(select(UserRow.password_hash).where(UserRow.username == "zhangsan")).one()
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)


def test_roles_and_grants_decide_access(auth: AuthService) -> None:
    auth.create_user("ed", "editor password", Role.EDITOR)
    auth.create_user("vi", "viewer password", Role.VIEWER)
    auth.grant("ed", "hr")
    auth.grant("ed", "hr")  # idempotent
    auth.grant("vi", "hr")
    ed, vi = auth.principal("ed"), auth.principal("vi")
    assert ed.kbs == frozenset({"hr"}) and ed.can_read("hr") and ed.can_edit("hr")
    assert not ed.can_read("wiki") and not ed.can_edit("wiki") and not ed.can_manage_kbs
    assert vi.can_read("hr") and not vi.can_edit("hr") and not vi.can_read("wiki")
    auth.revoke("vi", "hr")
    assert not auth.principal("vi").can_read("hr")
    with pytest.raises(KnowledgeBaseNotFound):
        auth.grant("vi", "missing")


def test_grants_follow_kb_deletion(auth: AuthService, catalog: Catalog) -> None:
    auth.create_user("ed", "editor password", "editor")
    auth.grant("ed", "wiki")
    row = catalog.get_kb("wiki")
    assert row.id is not None
    catalog.delete_kb(row.id)
    assert auth.principal("ed").kbs == frozenset()


def test_tokens_are_stored_hashed_and_die_with_the_user(auth: AuthService, catalog: Catalog) -> None:
    from sqlmodel import select

    from kb_app.auth.tables import ApiTokenRow

    auth.create_user("bot", "bot password", "viewer")
    token = auth.issue_token("bot", "wiki bot")
    assert auth.principal_for_token(token) == Principal("bot", Role.VIEWER)
    assert auth.principal_for_token(token + "x") is None
    with catalog.session() as s:
        stored = s.exec(select(ApiTokenRow)).one()
    assert token not in stored.token_sha256 and stored.last_used is not None
    assert auth.revoke_tokens("bot", "other") == 0
    second = auth.issue_token("bot")
    auth.delete_user("bot")
    assert auth.principal_for_token(second) is None


def test_the_last_admin_cannot_be_removed_or_demoted(auth: AuthService) -> None:
    auth.bootstrap()
    with pytest.raises(AuthError, match="last administrator"):
        auth.delete_user("admin")
    with pytest.raises(AuthError, match="last administrator"):
        auth.set_role("admin", "viewer")
    auth.create_user("root2", "second admin", "admin")
    auth.set_role("admin", "viewer")
    assert auth.principal("admin").role is Role.VIEWER


def test_auth_off_makes_everyone_the_local_admin(catalog: Catalog) -> None:
    auth = AuthService(catalog, mode="off")
    assert not auth.enabled and auth.bootstrap() is None
    local = auth.anonymous()
    assert local is not None and local.is_admin
    assert AuthService(catalog).anonymous() is None
    with pytest.raises(AuthError, match="KB_AUTH"):
        AuthService(catalog, mode="maybe")


def test_ui_sessions_expire_and_are_not_api_tokens(auth: AuthService, catalog: Catalog) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from kb_app.auth.service import SESSION_MAX_AGE
    from kb_app.auth.tables import ApiTokenRow

    auth.create_user("zhang", "long enough password", Role.VIEWER)
    session = auth.start_session("zhang")
    assert auth.session_principal(session) == auth.principal("zhang")
    api_token = auth.issue_token("zhang", "script")
    assert auth.session_principal(api_token) is None  # a cookie cannot carry an API token
    with catalog.session() as s:  # the session began a working day ago
        row = s.exec(select(ApiTokenRow).where(ApiTokenRow.name == "ui-session")).one()
        row.created_at = datetime.now(UTC) - SESSION_MAX_AGE - timedelta(minutes=1)
        s.add(row)
        s.commit()
    assert auth.session_principal(session) is None
    fresh = auth.start_session("zhang")
    assert auth.session_principal(fresh) is not None
    assert auth.revoke_token(fresh) and auth.session_principal(fresh) is None
    assert auth.principal_for_token(api_token) is not None  # signing out leaves API tokens alone
