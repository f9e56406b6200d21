"""Chunks of one file with their page numbers: fix a chunk's text (re-embedded) or hide it from answers."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.errors import KBError
from kb_app.ui import actions, session
from kb_app.ui.components import escape_markdown
from kb_app.ui.i18n import t

PAGE_SIZE = 10


def chunk_heading(row: Any, lang: str) -> str:
    """Plain text: ordinal, page, length and a hidden mark."""
    parts = [f"#{row.ordinal + 1}"]
    if row.page is not None:
        parts.append(t("page", lang, page=row.page))
    parts.append(t("chunk_chars", lang, chars=len(row.text)))
    if not row.enabled:
        parts.append(t("chunk_disabled", lang))
    return " · ".join(parts)


def render_chunk(app: Container, user: Principal, kb_name: str, row: Any, lang: str) -> None:
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(chunk_heading(row, lang))}**")
        if row.heading:
            st.caption(escape_markdown(row.heading))
        if not user.can_edit(kb_name):
            st.text(row.text)  # st.text never interprets markup
            return
        text = st.text_area(t("chunk_text", lang), row.text, key=f"chunk_text_{row.chunk_id}", height=150)
        save, toggle = st.columns(2)
        try:
            # never disabled: the click is what commits the edited text, so it is only compared now
            if save.button(t("chunk_save", lang), key=f"chunk_save_{row.chunk_id}") and text != row.text:
                actions.edit_chunk(app, user, kb_name, row.chunk_id, text)
                session.flash("success", t("chunk_saved", lang, number=row.ordinal + 1))
                st.rerun()
            label = t("chunk_disable", lang) if row.enabled else t("chunk_enable", lang)
            if toggle.button(label, key=f"chunk_toggle_{row.chunk_id}"):
                actions.set_chunk_enabled(app, user, kb_name, row.chunk_id, not row.enabled)
                st.rerun()
        except KBError as exc:
            st.error(escape_markdown(session.error_text(exc)))


def render() -> None:
    app, user = session.context()
    lang = session.lang()
    st.title(t("nav_chunks", lang))
    st.caption(t("chunks_help", lang))
    kb_name = session.kb_picker(app, user)
    if kb_name is None:
        return
    names = [f.name for f in actions.list_files(app, user, kb_name) if f.status == "done"]
    if not names:
        st.info(t("files_none", lang))
        return
    file_name = st.selectbox(t("file_pick", lang), names, key="chunks_file")
    try:
        rows = actions.file_chunks(app, user, kb_name, str(file_name))
    except KBError as exc:
        st.error(escape_markdown(session.error_text(exc)))
        return
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    disabled = sum(not r.enabled for r in rows)
    st.caption(t("chunks_summary", lang, count=len(rows), disabled=disabled))
    page = int(
        st.number_input(t("chunks_page", lang, pages=pages), 1, pages, 1, key=f"chunks_page_{file_name}")
    )
    for row in rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
        render_chunk(app, user, kb_name, row, lang)
