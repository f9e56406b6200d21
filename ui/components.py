"""Pure formatting the pages share: escaping, snippets, citation titles, the file table.

Document text, file names and model answers are user-controlled content: they are always
markdown-escaped and never rendered with `unsafe_allow_html`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kb_app.schema import Citation
from kb_app.ui.i18n import status_label, t

# Every ASCII character markdown (or Streamlit's :color[] / $latex$ extensions) gives a meaning to.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")
SNIPPET_CHARS = 240


def escape_markdown(text: str) -> str:
    """Backslash-escape markdown syntax so that `text` renders literally (no links, images, HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def escape_multiline(text: str) -> str:
    """Escape like `escape_markdown`, keeping the text's line breaks as markdown hard breaks."""
    return "  \n".join(escape_markdown(line) for line in text.strip().splitlines())


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The passage with whitespace collapsed, cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def citation_title(citation: Citation, number: int, lang: str) -> str:
    """Plain-text heading of a citation card: number, file, page (where known), score to 2 decimals."""
    parts = [f"[{number}] {citation.source}"]
    if citation.page is not None:
        parts.append(t("page", lang, page=citation.page))
    parts.append(t("score", lang, score=f"{citation.score:.2f}"))
    return " · ".join(parts)


def human_size(size: int | None) -> str:
    """Bytes as B / KB / MB / GB with one decimal above bytes."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def local_time(moment: datetime | None) -> str:
    """A catalog timestamp (UTC; naive from SQLite) in the server's local time, to the minute."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone().strftime("%Y-%m-%d %H:%M")


def file_table(rows: Iterable[Any], lang: str) -> list[dict[str, Any]]:
    """Rows for a KB's file table (catalog file rows: name, size, pages, chunks, status, updated, error)."""
    return [
        {
            t("col_file", lang): row.name,
            t("col_size", lang): human_size(row.size),
            t("col_pages", lang): row.pages,
            t("col_chunks", lang): row.chunks,
            t("col_status", lang): status_label(row.status, lang),
            t("col_updated", lang): local_time(row.updated_at),
            t("col_error", lang): row.error or "",
        }
        for row in rows
    ]
