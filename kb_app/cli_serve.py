"""`kb serve`: the HTTP API (OpenAPI docs at /docs, OpenAI-compatible /v1) under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kb_app.errors import KBError


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on; 0.0.0.0 exposes it to the network.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Start the HTTP API. On first run it creates the `admin` user and prints its password once."""
    import uvicorn

    from kb_app.api import create_app
    from kb_app.container import Container

    try:
        container = Container()
        password = container.auth.bootstrap()
        app = create_app(container)
    except KBError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if password:
        typer.echo(
            f"First run: created user 'admin' with the one-time password {password}\n"
            "Log in and change it (kb users passwd admin); it is not shown again.",
            err=True,
        )
    if not container.auth.enabled:
        typer.echo("KB_AUTH=off: every request acts as the local administrator.", err=True)
    typer.echo(f"API docs: http://{host}:{port}/docs", err=True)
    log_level = os.environ.get("KB_LOG_LEVEL", "WARNING").lower()
    uvicorn.run(app, host=host, port=port, log_level=log_level)
