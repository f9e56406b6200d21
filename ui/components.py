"""Small render helpers for the Streamlit app, and the pure formatting they use.

Document text, file names and model answers are user-controlled content: they are always
markdown-escaped and never rendered with `unsafe_allow_html`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import streamlit as st

from kb_app.names import clean_relative_name
from kb_app.schema import Answer, Citation, FileReport
from kb_app.ui.i18n import status_label, t

# Every ASCII character markdown (or Streamlit's :color[] / $latex$ extensions) gives a meaning to.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")
SNIPPET_CHARS = 240
_REPORT_ICONS = {"done": "✅", "skipped": "⏭️", "failed": "❌", "removed": "🗑️"}


class Upload(Protocol):
    """What the app needs of a Streamlit UploadedFile."""

    name: str

    def getvalue(self) -> bytes: ...


@dataclass(frozen=True)
class Turn:
    """One question of the conversation and what it got: an Answer, or an error message."""

    question: str
    answer: Answer | None = None
    error: str | None = None


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


def report_line(report: FileReport, lang: str) -> str:
    """One plain-text result line of an ingest: icon, file, outcome, chunks or error."""
    line = f"{_REPORT_ICONS.get(report.status, '•')} {report.name}：{status_label(report.status, lang)}"
    if report.status in ("done", "skipped"):
        line += f"（{t('chunks_count', lang, chunks=report.chunks)}）"
    if report.error:
        line += f" — {report.error}"
    return line


def file_table(rows: Iterable[Any], lang: str) -> list[dict[str, Any]]:
    """Rows for the KB's file table (objects with name, status, pages, chunks, error)."""
    return [
        {
            t("col_file", lang): row.name,
            t("col_status", lang): status_label(row.status, lang),
            t("col_pages", lang): row.pages,
            t("col_chunks", lang): row.chunks,
            t("col_error", lang): row.error or "",
        }
        for row in rows
    ]


def save_uploads(uploads: Sequence[Upload], folder: Path) -> list[Path]:
    """Write each upload into `folder` under its cleaned base name; returns the paths written, once each.

    Uploads that clean to the same name overwrite each other: the last one wins, as in the KB itself.

    Raises:
        InvalidName: when an upload's name has nothing usable left after cleaning.
    """
    paths: dict[Path, None] = {}
    for upload in uploads:
        target = folder / clean_relative_name(upload.name).rsplit("/", 1)[-1]
        target.write_bytes(upload.getvalue())
        paths[target] = None
    return list(paths)


def render_citations(citations: Sequence[Citation], lang: str) -> None:
    for number, citation in enumerate(citations, start=1):
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(citation_title(citation, number, lang))}**")
            st.caption(escape_markdown(snippet(citation.text)))


def render_answer(answer: Answer, lang: str) -> None:
    """The answer text and its source cards; a refusal shows the not-found state and closest passages."""
    if answer.refused:
        st.warning(t("not_found", lang))
        if answer.citations:
            st.caption(t("closest", lang))
            render_citations(answer.citations, lang)
        return
    st.markdown(escape_multiline(answer.text))
    if answer.citations:
        st.caption(t("sources", lang))
        render_citations(answer.citations, lang)


def render_turn(turn: Turn, lang: str) -> None:
    with st.chat_message("user"):
        st.markdown(escape_multiline(turn.question))
    with st.chat_message("assistant"):
        if turn.error:
            st.error(escape_markdown(turn.error))
        elif turn.answer is not None:
            render_answer(turn.answer, lang)


def render_reports(reports: Sequence[FileReport], lang: str) -> None:
    for report in reports:
        line = escape_markdown(report_line(report, lang))
        if report.status == "failed":
            st.error(line)
        elif report.status == "done":
            st.success(line)
        else:
            st.info(line)
