"""Reading and writing the user, grant and token rows. No policy here: `AuthService` decides who may do
what; these functions only store it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select

from kb_app.auth.passwords import new_token, token_digest
from kb_app.auth.principal import Principal, Role
from kb_app.auth.tables import ApiTokenRow, GrantRow, UserRow
from kb_app.catalog.tables import KnowledgeBaseRow
from kb_app.errors import KnowledgeBaseNotFound, UserNotFound

if TYPE_CHECKING:
    from kb_app.catalog import Catalog

# `last_used` is informational; writing it on every request would serialise readers on SQLite.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def find_user(catalog: Catalog, username: str) -> UserRow | None:
    with catalog.session() as s:
        return s.exec(select(UserRow).where(UserRow.username == username.strip())).first()


def get_user(catalog: Catalog, username: str) -> UserRow:
    """The user's row (with an id). Raises UserNotFound."""
    row = find_user(catalog, username)
    if row is None or row.id is None:
        raise UserNotFound(f"No user '{username}'. See `kb users list`.")
    return row


def user_id(catalog: Catalog, username: str) -> int:
    uid = get_user(catalog, username).id
    assert uid is not None
    return uid


def count_users(catalog: Catalog, admins_only: bool = False) -> int:
    """All users, or the enabled administrators."""
    query = select(func.count()).select_from(UserRow)
    if admins_only:
        query = query.where(UserRow.role == Role.ADMIN.value, ~col(UserRow.disabled))
    with catalog.session() as s:
        return int(s.exec(query).one())


def update_user(catalog: Catalog, username: str, **fields: Any) -> None:
    uid = user_id(catalog, username)
    with catalog.session() as s:
        row = s.get(UserRow, uid)
        assert row is not None
        for key, value in fields.items():
            setattr(row, key, value)
        s.add(row)
        s.commit()


def principal_of(s: Session, user: UserRow) -> Principal:
    """The user's role and the names of the KBs granted to them."""
    names = s.exec(
        select(KnowledgeBaseRow.name)
        .join(GrantRow, col(GrantRow.kb_id) == col(KnowledgeBaseRow.id))
        .where(GrantRow.user_id == user.id)
    ).all()
    return Principal(user.username, Role(user.role), frozenset(names))


def kb_id(catalog: Catalog, kb_name: str) -> int:
    row = catalog.find_kb(kb_name.strip())
    if row is None or row.id is None:
        raise KnowledgeBaseNotFound(f"Knowledge base '{kb_name}' does not exist; see `kb list`.")
    return row.id


def set_grant(catalog: Catalog, uid: int, kid: int, granted: bool) -> None:
    with catalog.session() as s:
        rows = list(s.exec(select(GrantRow).where(GrantRow.user_id == uid, GrantRow.kb_id == kid)))
        if granted and not rows:
            s.add(GrantRow(user_id=uid, kb_id=kid))
        for row in rows if not granted else []:
            s.delete(row)
        s.commit()


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def add_token(catalog: Catalog, uid: int, name: str) -> str:
    token = new_token()
    with catalog.session() as s:
        s.add(ApiTokenRow(token_sha256=token_digest(token), user_id=uid, name=name))
        s.commit()
    return token


def token_principal(
    catalog: Catalog, token: str, name: str | None = None, max_age: timedelta | None = None
) -> Principal | None:
    """The principal of an enabled user's token (noting when it was used), else None. With `name`, only
    a token of that name counts; with `max_age`, an older token is deleted and does not count."""
    with catalog.session() as s:
        query = (
            select(ApiTokenRow, UserRow)
            .join(UserRow, col(UserRow.id) == col(ApiTokenRow.user_id))
            .where(ApiTokenRow.token_sha256 == token_digest(token))
        )
        if name is not None:
            query = query.where(ApiTokenRow.name == name)
        found = s.exec(query).first()
        if found is None or found[1].disabled:
            return None
        token_row, user = found
        now, last = datetime.now(UTC), token_row.last_used
        if max_age is not None and now - _aware(token_row.created_at) > max_age:
            s.delete(token_row)
            s.commit()
            return None
        if last is None or now - last.replace(tzinfo=last.tzinfo or UTC) > LAST_USED_RESOLUTION:
            token_row.last_used = now
            s.add(token_row)
            s.commit()
        return principal_of(s, user)


def delete_token(catalog: Catalog, token: str) -> bool:
    with catalog.session() as s:
        row = s.exec(select(ApiTokenRow).where(ApiTokenRow.token_sha256 == token_digest(token))).first()
        if row is not None:
            s.delete(row)
            s.commit()
    return row is not None


def delete_tokens(
    catalog: Catalog, uid: int, name: str | None = None, older_than: datetime | None = None
) -> int:
    with catalog.session() as s:
        query = select(ApiTokenRow).where(ApiTokenRow.user_id == uid)
        if name is not None:
            query = query.where(ApiTokenRow.name == name)
        rows = [r for r in s.exec(query) if older_than is None or _aware(r.created_at) < older_than]
        for row in rows:
            s.delete(row)
        s.commit()
    return len(rows)
