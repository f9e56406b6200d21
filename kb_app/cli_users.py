"""`kb users ...`: manage users, their roles, knowledge-base grants and API tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from kb_app.errors import KBError

users_app = typer.Typer(
    help=(
        "Users who may log in to the UI and API. Roles: admin (everything), editor (files and chunks of "
        "granted KBs), viewer (ask and search in granted KBs)."
    ),
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="User name, e.g. zhangsan.")]
KbArg = Annotated[str, typer.Argument(help="Knowledge base name.")]


def _auth() -> Any:
    from kb_app.container import Container

    return Container().auth


def _run(action: Callable[[], object]) -> Any:
    try:
        return action()
    except KBError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _ask_password(password: str | None) -> str:
    if password is not None:
        return password
    return str(typer.prompt("Password (8+ characters)", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add(
    name: NameArg,
    role: Annotated[str, typer.Option(help="admin | editor | viewer")] = "viewer",
    password: Annotated[
        str | None, typer.Option(help="Omit to be asked (safer: not kept in shell history).")
    ] = None,
) -> None:
    """Add a user."""
    secret = _ask_password(password)
    _run(lambda: _auth().create_user(name, secret, role))
    typer.echo(f"added {name} ({role})")


@users_app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """List users with their roles and granted knowledge bases."""
    users = _run(lambda: _auth().list_users())
    rows = [
        {"username": u.username, "role": u.role.value, "kbs": sorted(u.kbs), "disabled": u.disabled}
        for u in users
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        state = "  (disabled)" if r["disabled"] else ""
        typer.echo(f"{r['username']}\t{r['role']}\t{', '.join(r['kbs']) or '-'}{state}")


@users_app.command("role")
def set_role(name: NameArg, role: Annotated[str, typer.Argument(help="admin | editor | viewer")]) -> None:
    """Change a user's role."""
    _run(lambda: _auth().set_role(name, role))
    typer.echo(f"{name} is now {role}")


@users_app.command("passwd")
def passwd(
    name: NameArg, password: Annotated[str | None, typer.Option(help="Omit to be asked.")] = None
) -> None:
    """Set a user's password."""
    secret = _ask_password(password)
    _run(lambda: _auth().set_password(name, secret))
    typer.echo(f"password of {name} changed")


@users_app.command("disable")
def disable(
    name: NameArg, enable: Annotated[bool, typer.Option("--enable", help="Re-enable.")] = False
) -> None:
    """Disable (or with --enable re-enable) a user's logins and tokens."""
    _run(lambda: _auth().set_disabled(name, not enable))
    typer.echo(f"{name} {'enabled' if enable else 'disabled'}")


@users_app.command("rm")
def remove(name: NameArg) -> None:
    """Delete a user with their grants and tokens."""
    _run(lambda: _auth().delete_user(name))
    typer.echo(f"deleted {name}")


@users_app.command("grant")
def grant(name: NameArg, kb: KbArg) -> None:
    """Let a user use a knowledge base."""
    _run(lambda: _auth().grant(name, kb))
    typer.echo(f"{name} may now use {kb}")


@users_app.command("revoke")
def revoke(name: NameArg, kb: KbArg) -> None:
    """Take a knowledge base away from a user."""
    _run(lambda: _auth().revoke(name, kb))
    typer.echo(f"{name} may no longer use {kb}")


@users_app.command("token")
def token(
    name: NameArg,
    label: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'wiki bot'.")] = "",
    revoke_all: Annotated[bool, typer.Option("--revoke", help="Revoke the user's tokens instead.")] = False,
) -> None:
    """Issue an API token (shown once; send it as `Authorization: Bearer TOKEN`), or revoke tokens."""
    auth = _run(_auth)
    if revoke_all:
        count = _run(lambda: auth.revoke_tokens(name, label or None))
        typer.echo(f"revoked {count} token(s) of {name}")
        return
    typer.echo(_run(lambda: auth.issue_token(name, label)))
