"""`kb catalog-copy`: move the catalog to another database (SQLite -> PostgreSQL, or back)."""

from __future__ import annotations

from typing import Annotated

import typer

from kb_app.errors import KBError


def catalog_copy(
    source: Annotated[
        str,
        typer.Option("--from", help="Catalog to copy, e.g. sqlite:////data/catalog.db (the old default)."),
    ],
    target: Annotated[
        str | None, typer.Option("--to", help="Empty database to fill; default: KB_DATABASE_URL.")
    ] = None,
) -> None:
    """Copy every knowledge base, file, chunk, user and conversation into an empty database, ids kept.

    Stop the UI and API first. Then point KB_DATABASE_URL at the target. Vectors stay where they are;
    `kb migrate --kb NAME --to milvus` moves them separately.
    """
    from kb_app.catalog.copy import copy_catalog
    from kb_app.catalog.engine import normalise_url
    from kb_app.settings import Settings

    target_url = target or Settings().catalog_url
    try:
        counts = copy_catalog(source, target_url)
    except KBError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    shown = normalise_url(target_url).render_as_string(hide_password=True)
    rows = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    typer.echo(f"copied into {shown}: {rows or 'no rows'}")
