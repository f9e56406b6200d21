"""The one access check every route goes through: who is calling, and may they do this here."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kb_app.auth import Principal
from kb_app.errors import PermissionDenied
from kb_app.names import validate_kb_name

bearer = HTTPBearer(
    auto_error=False,
    description="An API token: from POST /auth/login, or `kb users token NAME` on the server.",
)


class Access(StrEnum):
    """What a route needs. READ and EDIT refer to the knowledge base named in the path (`{name}`)."""

    USER = "user"  # any signed-in user; the route checks KB access itself (job ids, OpenAI `model`)
    READ = "read"  # ask, search, list files and chunks
    EDIT = "edit"  # upload, delete, reindex files; edit chunks
    ADMIN = "admin"  # create, rename, delete KBs; users


def container_of(request: Request) -> Any:
    return request.app.state.container


def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The caller: the token's user, or the local admin when KB_AUTH=off. 401 otherwise."""
    auth = container_of(request).auth
    anonymous = auth.anonymous()
    if anonymous is not None:
        return anonymous
    if credentials is None:
        raise HTTPException(
            401,
            "Log in first: send `Authorization: Bearer TOKEN` (POST /auth/login gives a token).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = auth.principal_for_token(credentials.credentials)
    if principal is None:
        raise HTTPException(
            401,
            "The token is unknown or was revoked (or its user is disabled); log in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def check_kb(principal: Principal, kb_name: str, access: Access) -> str:
    """Raise PermissionDenied unless `principal` has `access` to the KB; returns the normalised name."""
    name = validate_kb_name(kb_name)
    allowed = {
        Access.USER: True,
        Access.READ: principal.can_read(name),
        Access.EDIT: principal.can_edit(name),
        Access.ADMIN: principal.can_manage_kbs,
    }[access]
    if not allowed:
        need = {Access.READ: "read", Access.EDIT: "edit", Access.ADMIN: "manage"}[access]
        raise PermissionDenied(
            f"User '{principal.username}' ({principal.role}) may not {need} knowledge base '{name}'; "
            "ask an administrator to grant access (kb users grant USER KB)."
        )
    return name


def require(access: Access) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks `access` (against `{name}` if present)."""

    def dependency(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        kb_name = request.path_params.get("name")
        if access is Access.ADMIN and not principal.can_manage_kbs:
            raise PermissionDenied(
                f"Only administrators may do this; '{principal.username}' is {principal.role}."
            )
        if kb_name is not None and access in (Access.READ, Access.EDIT):
            check_kb(principal, kb_name, access)
        return principal

    dependency.__name__ = f"require_{access.value}"
    return dependency


Anyone = Annotated[Principal, Depends(require(Access.USER))]
Reader = Annotated[Principal, Depends(require(Access.READ))]
Editor = Annotated[Principal, Depends(require(Access.EDIT))]
Admin = Annotated[Principal, Depends(require(Access.ADMIN))]
