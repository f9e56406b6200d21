"""`kb migrate`: move a knowledge base's vectors between FAISS and Milvus."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from kb_app.errors import KBError


def migrate(
    kb: Annotated[str, typer.Option("--kb", help="Knowledge base name, e.g. samples or 员工手册.")],
    to: Annotated[str, typer.Option("--to", help="Target vector store: milvus or faiss.")],
) -> None:
    """Copy a KB's vectors into another vector store, verify them, switch the KB, remove the old index.

    No re-embedding is needed. Milvus goes to KB_MILVUS__URI (default: Milvus Lite in
    <KB_HOME>/milvus.db). Stop the UI and API first when the KB is on Milvus Lite or moves there:
    Milvus Lite serves one process at a time.
    """
    from tqdm import tqdm

    from kb_app.container import Container
    from kb_app.store_migration import migrate_store

    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="vec", desc=f"migrate {kb} -> {to}", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        report = migrate_store(Container(), kb, to, progress=progress)
    except KBError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        if bar is not None:
            bar.close()
    extra = f", {report.reembedded} re-embedded" if report.reembedded else ""
    typer.echo(
        f"{report.kb}: {report.vectors} vectors moved from {report.source} to {report.target}{extra} "
        f"in {report.seconds:.1f} s; the old index is removed."
    )
