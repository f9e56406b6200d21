"""Parsing one file into chunks: the part of ingestion that runs in worker processes.

Everything here is a plain function of picklable inputs so that `ProcessPoolExecutor` can run it; the
main process keeps the catalog, the embedder and the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb_app.errors import EmptyDocument, KBError
from kb_app.ingest.loaders import loader_for
from kb_app.ingest.loaders.archive import MAX_UNPACKED_BYTES
from kb_app.protocols import Splitter
from kb_app.schema import Chunk


@dataclass(frozen=True)
class Limits:
    """Per-file limits; each breach is a clear per-file error, never a hang or an out-of-memory."""

    max_pages: int = 5000
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES


@dataclass(frozen=True)
class ParseResult:
    chunks: list[Chunk]
    pages: int | None


def check_limits(path: Path, limits: Limits) -> None:
    """Refuse over-long PDFs before a parser spends minutes on them (zip bombs: the office loaders)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        pages = pdf_page_count(path)
        if pages is not None and pages > limits.max_pages:
            raise KBError(
                f"has {pages} pages, over the {limits.max_pages}-page limit; "
                "split it or raise KB_INGEST_MAX_PAGES"
            )


def pdf_page_count(path: Path) -> int | None:
    """Page count without parsing text; None when the file cannot be opened (the loader says why)."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError:
        return None
    try:
        return len(pdf)
    finally:
        pdf.close()


def _page_reporter(pages: Any, name: str) -> Callable[[int, int], None]:
    if callable(pages):
        return lambda done, total: pages(name, done, total)
    return lambda done, total: pages.put((name, done, total))


def parse_file(
    path: Path, name: str, kb_name: str, splitter: Splitter, limits: Limits, pages: Any = None
) -> ParseResult:
    """Load and split one file. Raises a KBError subclass with a one-line, actionable message.

    Args:
        pages: Optional page-progress sink for slow, page-by-page work (OCR): a callable taking
            (name, done, total), or a queue (works across processes) that receives those tuples.
    """
    check_limits(path, limits)
    loader = loader_for(path)
    if hasattr(loader, "max_unpacked_bytes"):
        loader.max_unpacked_bytes = limits.max_unpacked_bytes
    if pages is not None and hasattr(loader, "on_page"):
        loader.on_page = _page_reporter(pages, name)
    documents = loader.load(path, name)
    chunks = splitter.split(kb_name, documents)
    if not chunks:
        raise EmptyDocument("no text found to index (is the file empty, or only images?)")
    pages = max((d.page for d in documents if d.page is not None), default=None)
    return ParseResult(chunks, pages)
