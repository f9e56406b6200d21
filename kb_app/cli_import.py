"""`kb import-chatchat PATH`: rebuild Langchain-Chatchat knowledge bases here, with a per-file report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kb_app.errors import KBError

_STATUS = {"done": "ok", "skipped": "skipped", "failed": "failed", "removed": "removed"}
_WOULD = {
    "new": "would ingest (new)",
    "changed": "would re-ingest (changed)",
    "unchanged": "would skip (unchanged)",
    "unsupported": "would fail (no loader for this file type)",
}


def _echo_plan(plan: Any) -> None:
    typer.echo(f"Langchain-Chatchat knowledge bases in {plan.root}:")
    for kb in plan.kbs:
        renamed = "" if kb.name == kb.source_name else "  (renamed: not a valid name here)"
        typer.echo(f"  {kb.source_name} -> {kb.name}{renamed}")
    notes = list(plan.ignored) + [f"{kb.source_name}/{note}" for kb in plan.kbs for note in kb.ignored]
    for note in notes:
        typer.echo(f"  ignored: {note}")


def _dry_run(container: Any, plan: Any) -> None:
    from kb_app.chatchat_import import preview

    counts: dict[str, int] = {}
    for kb in plan.kbs:
        typer.echo(f"\n[{kb.name}]")
        for item in preview(container, kb):
            counts[item.action] = counts.get(item.action, 0) + 1
            typer.echo(f"  {_WOULD[item.action]}  {item.name}")
    summary = " · ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no files"
    typer.echo(f"\ndry run, nothing written: {len(plan.kbs)} knowledge bases · {summary}")


def _run(container: Any, plan: Any) -> dict[str, list[Any]]:
    from tqdm import tqdm

    from kb_app.chatchat_import import run_import
    from kb_app.ingest.pipeline import discover

    total = sum(1 for kb in plan.kbs for _ in discover([kb.content_dir], kb.content_dir))
    with tqdm(total=total, unit="file", desc="import", file=sys.stderr) as bar:

        def progress(kb: Any, report: Any) -> None:
            bar.update(1)
            bar.set_postfix_str(f"{kb.name}/{report.name}"[-60:])

        def pages(name: str, done: int, count: int) -> None:
            bar.set_postfix_str(f"OCR {name} {done}/{count} pages")

        return run_import(container, plan, progress=progress, pages=pages)


def _echo_report(results: dict[str, list[Any]]) -> int:
    counts = dict.fromkeys(("ok", "skipped", "failed"), 0)
    for name, reports in results.items():
        typer.echo(f"\n[{name}]")
        for r in reports:
            status = _STATUS[r.status]
            counts[status] = counts.get(status, 0) + 1
            detail = r.error or ("unchanged" if r.status == "skipped" else f"{r.chunks} chunks")
            typer.echo(f"  {status:>7}  {r.name}  ({detail})")
    summary = " · ".join(f"{k}: {v}" for k, v in counts.items())
    typer.echo(f"\nimported {len(results)} knowledge bases · {summary}")
    return counts["failed"]


def import_chatchat(
    path: Annotated[
        Path,
        typer.Argument(help="Chatchat's knowledge_base folder (0.3: CHATCHAT_ROOT/data/knowledge_base)."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the knowledge bases and files and what would happen.")
    ] = False,
) -> None:
    """Import Langchain-Chatchat knowledge bases: each <kb>/content/ is ingested into a KB of that name.

    vector_store/ and info.db are ignored (the index is rebuilt here). Re-running skips unchanged files.
    """
    from kb_app.chatchat_import import plan_import
    from kb_app.container import Container

    try:
        container = Container()
        plan = plan_import(path)
        _echo_plan(plan)
        if dry_run:
            _dry_run(container, plan)
            return
        failed = _echo_report(_run(container, plan))
    except KBError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if failed:
        raise typer.Exit(1)
