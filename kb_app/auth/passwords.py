"""Password and token hashing, and the rules for user names and passwords."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from kb_app.errors import AuthError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
_USERNAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.@-]{0,63}$")
TOKEN_PREFIX = "kb-"


def validate_username(username: str) -> str:
    name = username.strip()
    if not _USERNAME.match(name):
        raise AuthError(
            f"Invalid user name {username!r}: use 1-64 letters, digits, '_', '.', '@' or '-' "
            "(for example: zhangsan or li.si@example.com)."
        )
    return name


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(
            f"The password is too short: use at least {MIN_PASSWORD_CHARS} characters "
            "(a few unrelated words make a strong, memorable one)."
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise AuthError(f"The password is longer than {MAX_PASSWORD_CHARS} characters; use a shorter one.")
    if not password.strip():
        raise AuthError("The password is only spaces; choose one with letters or digits.")
    return password


def new_hasher() -> Any:
    """An argon2id hasher with argon2-cffi's current recommended parameters."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def new_token() -> str:
    """A random API token (256 bits), recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored for a token. A plain sha256 suffices: tokens are random, not guessable passwords."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_one_time_password() -> str:
    return secrets.token_urlsafe(12)
