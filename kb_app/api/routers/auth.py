"""Logging in, and user administration (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from kb_app.api.deps import Admin, Anyone, bearer, container_of
from kb_app.api.models import LoginRequest, MeOut, TokenOut
from kb_app.auth import UserInfo
from kb_app.errors import AuthError

router = APIRouter(tags=["auth"])
Container = Annotated[Any, Depends(container_of)]


@router.post("/auth/login", response_model=TokenOut)
def login(body: LoginRequest, container: Container) -> TokenOut:
    """Exchange a user name and password for an API token (send it as `Authorization: Bearer TOKEN`)."""
    auth = container.auth
    if not auth.enabled:
        raise AuthError("KB_AUTH=off: there are no logins; call the API without a token.")
    principal = auth.login(body.username, body.password)
    if principal is None:
        raise HTTPException(401, "Wrong user name or password (or the account is disabled).")
    token = auth.issue_token(principal.username, name="login")
    return TokenOut(access_token=token, username=principal.username, role=principal.role.value)


@router.post("/auth/logout", status_code=204)
def logout(
    _: Anyone,
    container: Container,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """Revoke the token this request was sent with."""
    if credentials is not None:
        container.auth.revoke_token(credentials.credentials)
    return Response(status_code=204)


@router.get("/auth/me", response_model=MeOut)
def me(principal: Anyone, request: Request) -> MeOut:
    """Who the token belongs to, their role and granted knowledge bases."""
    auth = container_of(request).auth
    kbs = sorted(principal.kbs)
    return MeOut(username=principal.username, role=principal.role, kbs=kbs, auth_enabled=auth.enabled)


class UserCreate(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=1024)
    role: str = Field("viewer", description="admin | editor | viewer")


class UserPatch(BaseModel):
    role: str | None = Field(None, description="admin | editor | viewer")
    password: str | None = Field(None, max_length=1024)
    disabled: bool | None = None


class UserOut(BaseModel):
    username: str
    role: str
    kbs: list[str]
    disabled: bool


@router.get("/users", response_model=list[UserOut], tags=["users"])
def list_users(_: Admin, container: Container) -> list[UserOut]:
    return [_user_out(u) for u in container.auth.list_users()]


@router.post("/users", status_code=201, response_model=UserOut, tags=["users"])
def create_user(body: UserCreate, _: Admin, container: Container) -> UserOut:
    p = container.auth.create_user(body.username, body.password, body.role)
    return _user_out(container.auth.user(p.username))


def _user_out(u: UserInfo) -> UserOut:
    return UserOut(username=u.username, role=u.role.value, kbs=sorted(u.kbs), disabled=u.disabled)


@router.patch("/users/{username}", response_model=UserOut, tags=["users"])
def update_user(username: str, body: UserPatch, _: Admin, container: Container) -> UserOut:
    auth = container.auth
    auth.user(username)  # 404 before any change
    if body.role is not None:
        auth.set_role(username, body.role)
    if body.password is not None:
        auth.set_password(username, body.password)
    if body.disabled is not None:
        auth.set_disabled(username, body.disabled)
    return _user_out(auth.user(username))


@router.delete("/users/{username}", status_code=204, tags=["users"])
def delete_user(username: str, _: Admin, container: Container) -> Response:
    container.auth.delete_user(username)
    return Response(status_code=204)


@router.put("/users/{username}/kbs/{name}", status_code=204, tags=["users"])
def grant(username: str, name: str, _: Admin, container: Container) -> Response:
    """Let the user use this knowledge base."""
    container.auth.grant(username, name)
    return Response(status_code=204)


@router.delete("/users/{username}/kbs/{name}", status_code=204, tags=["users"])
def revoke(username: str, name: str, _: Admin, container: Container) -> Response:
    container.auth.revoke(username, name)
    return Response(status_code=204)
