"""Users, logins, API tokens and knowledge-base grants, stored in the catalog database."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from kb_app.auth import records
from kb_app.auth.passwords import new_hasher, new_one_time_password, validate_password, validate_username
from kb_app.auth.principal import Principal, Role
from kb_app.auth.tables import UserRow
from kb_app.errors import AlreadyExists, AuthError

if TYPE_CHECKING:
    from kb_app.catalog import Catalog

log = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
LOCAL_ADMIN = Principal("local", Role.ADMIN)
UI_SESSION = "ui-session"  # the name of the tokens behind browser sessions
SESSION_MAX_AGE = timedelta(hours=12)  # a working day: sign in again the next morning


@dataclass(frozen=True)
class UserInfo:
    """A user as an administrator sees it."""

    username: str
    role: Role
    kbs: frozenset[str]
    disabled: bool
    created_at: datetime


def parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AuthError(f"Unknown role {role!r}: use one of {', '.join(r.value for r in Role)}.") from None


class AuthService:
    """Who may do what. With mode "off" there is no login and everyone is the local admin.

    Args:
        catalog: The catalog whose database holds the user tables.
        mode: "on" (logins required) or "off" (single-user, local).
        admin_password: Password of the first `admin` user (KB_ADMIN_PASSWORD); generated when None.
    """

    def __init__(self, catalog: Catalog, mode: str = "on", admin_password: str | None = None) -> None:
        if mode not in ("on", "off"):
            raise AuthError(f"KB_AUTH must be 'on' or 'off', not {mode!r}.")
        self.catalog = catalog
        self.mode = mode
        self._admin_password = admin_password
        self._hasher = new_hasher()
        self._dummy_hash: str | None = None

    @property
    def enabled(self) -> bool:
        return self.mode == "on"

    def anonymous(self) -> Principal | None:
        """The principal of a request without credentials: the local admin when auth is off, else None."""
        return None if self.enabled else LOCAL_ADMIN

    def bootstrap(self) -> str | None:
        """Create the `admin` user on first run. Returns the generated one-time password (print it once),
        or None when users exist already, KB_ADMIN_PASSWORD was used, or auth is off."""
        if not self.enabled or records.count_users(self.catalog):
            return None
        generated = None if self._admin_password else new_one_time_password()
        try:
            self.create_user(ADMIN_USERNAME, self._admin_password or generated or "", Role.ADMIN)
        except (IntegrityError, AlreadyExists):  # another process bootstrapped at the same moment
            return None
        log.info("Created the first user '%s'.", ADMIN_USERNAME)
        return generated

    # -- credentials -----------------------------------------------------------------------------
    def login(self, username: str, password: str) -> Principal | None:
        """The user's principal if the password is right and the account enabled, else None."""
        from argon2.exceptions import InvalidHashError, VerifyMismatchError

        row = records.find_user(self.catalog, username)
        if row is None or row.disabled:
            # Spend the same time as a real check so that timing does not reveal which names exist.
            self._dummy_hash = self._dummy_hash or self._hasher.hash(new_one_time_password())
            with contextlib.suppress(VerifyMismatchError):
                self._hasher.verify(self._dummy_hash, password)
            return None
        try:
            self._hasher.verify(row.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return None
        if self._hasher.check_needs_rehash(row.password_hash):
            records.update_user(self.catalog, row.username, password_hash=self._hasher.hash(password))
        return self.principal(row.username)

    def issue_token(self, username: str, name: str = "") -> str:
        """A new API token for the user. Only its hash is stored: show the returned token once."""
        return records.add_token(self.catalog, records.user_id(self.catalog, username), name)

    def principal_for_token(self, token: str) -> Principal | None:
        """The principal an API token belongs to, or None for an unknown token or disabled user."""
        return records.token_principal(self.catalog, token)

    def start_session(self, username: str) -> str:
        """A browser-session token for a user who just signed in to the UI (kept in a cookie so that a
        page reload keeps them signed in); the user's expired session tokens are deleted."""
        uid = records.user_id(self.catalog, username)
        records.delete_tokens(self.catalog, uid, UI_SESSION, older_than=datetime.now(UTC) - SESSION_MAX_AGE)
        return records.add_token(self.catalog, uid, UI_SESSION)

    def session_principal(self, token: str) -> Principal | None:
        """The principal of a UI session token younger than SESSION_MAX_AGE, else None."""
        return records.token_principal(self.catalog, token, name=UI_SESSION, max_age=SESSION_MAX_AGE)

    def revoke_token(self, token: str) -> bool:
        """Forget one token (logging out); False if it was unknown."""
        return records.delete_token(self.catalog, token)

    def revoke_tokens(self, username: str, name: str | None = None) -> int:
        """Delete the user's tokens (only those called `name` when given); returns how many."""
        return records.delete_tokens(self.catalog, records.user_id(self.catalog, username), name)

    # -- users -----------------------------------------------------------------------------------
    def principal(self, username: str) -> Principal:
        """The user's current role and grants.

        Raises:
            UserNotFound: no such user.
            AuthError: the account is disabled.
        """
        user = records.get_user(self.catalog, username)
        if user.disabled:
            raise AuthError(f"The account '{user.username}' is disabled; ask an administrator.")
        with self.catalog.session() as s:
            return records.principal_of(s, user)

    def user(self, username: str) -> UserInfo:
        """One user as an administrator sees it (disabled users too). Raises UserNotFound."""
        row = records.get_user(self.catalog, username)
        with self.catalog.session() as s:
            p = records.principal_of(s, row)
        return UserInfo(row.username, p.role, p.kbs, row.disabled, row.created_at)

    def list_users(self) -> list[UserInfo]:
        with self.catalog.session() as s:
            rows = list(s.exec(select(UserRow).order_by(UserRow.username)))
            found = [(u, records.principal_of(s, u)) for u in rows]
        return [UserInfo(u.username, p.role, p.kbs, u.disabled, u.created_at) for u, p in found]

    def create_user(self, username: str, password: str, role: str | Role = Role.VIEWER) -> Principal:
        """Add a user.

        Raises:
            AuthError: invalid name, weak password or unknown role.
            AlreadyExists: the name is taken.
        """
        name, role = validate_username(username), parse_role(role)
        hashed = self._hasher.hash(validate_password(password))
        if records.find_user(self.catalog, name) is not None:
            raise AlreadyExists(f"The user '{name}' exists already; choose another name.")
        with self.catalog.session() as s:
            s.add(UserRow(username=name, password_hash=hashed, role=role.value))
            s.commit()
        return Principal(name, role)

    def set_role(self, username: str, role: str | Role) -> None:
        new_role = parse_role(role)
        if new_role is not Role.ADMIN:
            self._keep_an_admin(username)
        records.update_user(self.catalog, username, role=new_role.value)

    def set_password(self, username: str, password: str) -> None:
        hashed = self._hasher.hash(validate_password(password))
        records.update_user(self.catalog, username, password_hash=hashed)

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        """Disable (or enable again) a user's logins and tokens."""
        if disabled:
            self._keep_an_admin(username)
        records.update_user(self.catalog, username, disabled=disabled)

    def delete_user(self, username: str) -> None:
        """Delete a user with their tokens and grants."""
        uid = records.user_id(self.catalog, username)
        self._keep_an_admin(username)
        with self.catalog.session() as s:
            s.delete(s.get(UserRow, uid))
            s.commit()

    def _keep_an_admin(self, username: str) -> None:
        user = records.get_user(self.catalog, username)
        if user.role == Role.ADMIN and not user.disabled and records.count_users(self.catalog, True) <= 1:
            raise AuthError(f"'{user.username}' is the last administrator; make another user admin first.")

    # -- grants ----------------------------------------------------------------------------------
    def grant(self, username: str, kb_name: str) -> None:
        """Let the user use a knowledge base (read as viewer, read and edit as editor)."""
        uid, kid = records.user_id(self.catalog, username), records.kb_id(self.catalog, kb_name)
        records.set_grant(self.catalog, uid, kid, granted=True)

    def revoke(self, username: str, kb_name: str) -> None:
        uid, kid = records.user_id(self.catalog, username), records.kb_id(self.catalog, kb_name)
        records.set_grant(self.catalog, uid, kid, granted=False)
