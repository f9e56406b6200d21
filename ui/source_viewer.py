"""Open a cited passage in its original: the PDF page as an image, or the passage among its neighbours."""

from __future__ import annotations

import io
from pathlib import Path

import streamlit as st

from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.errors import KBError
from kb_app.schema import Citation
from kb_app.ui import actions, session
from kb_app.ui.components import escape_markdown, snippet
from kb_app.ui.highlight import highlight_markdown
from kb_app.ui.i18n import t

PAGE_SCALE = 1.6  # ~115 dpi: readable Chinese body text without megabyte-sized images


@st.cache_data(max_entries=64, show_spinner=False)
def pdf_page_png(path: str, modified: float, page: int, scale: float = PAGE_SCALE) -> bytes:
    """One 1-based page of a PDF as PNG bytes (`modified` keys the cache to the file's version)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        if not 1 <= page <= len(pdf):
            raise KBError(f"The PDF has {len(pdf)} pages; page {page} does not exist.")
        image = pdf[page - 1].render(scale=scale).to_pil()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def render_context(
    app: Container, user: Principal, kb_name: str, file_name: str, ordinal: int, terms: list[str]
) -> None:
    """The cited chunk, highlighted, between the chunks before and after it."""
    rows = actions.file_chunks(app, user, kb_name, file_name)
    for row in rows:
        if abs(row.ordinal - ordinal) > 1:
            continue
        if row.ordinal == ordinal:
            with st.container(border=True):
                st.markdown(highlight_markdown(" ".join(row.text.split()), terms))
        else:
            st.caption(escape_markdown(snippet(row.text, 400)))


def render_source(app: Container, user: Principal, citation: Citation, terms: list[str], lang: str) -> None:
    """Everything the source dialog shows; also usable on its own (tests)."""
    try:
        found = actions.locate_chunk(app, user, citation.chunk_id)
    except KBError as exc:
        st.error(escape_markdown(session.error_text(exc)))
        return
    if found is None:
        st.warning(t("source_gone", lang))
        st.markdown(highlight_markdown(snippet(citation.text, 2000), terms))
        return
    kb_name, row, file_name = found
    page = t("page", lang, page=row.page) if row.page is not None else ""
    st.markdown(f"**{escape_markdown(' · '.join(p for p in (kb_name, file_name, page) if p))}**")
    try:
        path = actions.original(app, user, kb_name, file_name)
    except KBError as exc:
        st.caption(escape_markdown(session.error_text(exc)))
        path = None
    if path is not None and path.suffix.lower() == ".pdf" and row.page is not None:
        render_pdf_page(path, row.page, lang)
        with st.expander(t("source_passage", lang), expanded=True):
            st.markdown(highlight_markdown(" ".join(row.text.split()), terms))
    else:
        render_context(app, user, kb_name, file_name, row.ordinal, terms)
    if path is not None:
        st.download_button(
            t("file_download", lang), path.read_bytes(), file_name=path.name, key="source_download"
        )


def render_pdf_page(path: Path, page: int, lang: str) -> None:
    try:
        png = pdf_page_png(str(path), path.stat().st_mtime, page)
    except (KBError, OSError, RuntimeError) as exc:  # pypdfium2's PdfiumError is a RuntimeError
        st.caption(escape_markdown(str(exc)))
        return
    st.image(png, caption=t("source_page_caption", lang, page=page))


def open_source(app: Container, user: Principal, citation: Citation, terms: list[str], lang: str) -> None:
    """Show the source in a dialog over the chat."""

    @st.dialog(t("source_title", lang), width="large")
    def dialog() -> None:
        render_source(app, user, citation, terms, lang)

    dialog()
