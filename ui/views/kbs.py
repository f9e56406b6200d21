"""Knowledge bases: the list with file and chunk counts; create, rename and delete (administrators)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb_app import curation, registry
from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.errors import KBError
from kb_app.kb_chunking import MAX_CHUNK, MIN_CHUNK
from kb_app.ui import actions, session
from kb_app.ui.components import escape_markdown
from kb_app.ui.i18n import t


def kb_rows(stats: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    return [
        {
            t("col_kb", lang): s["name"],
            t("col_description", lang): s["description"],
            t("col_files", lang): s["files"],
            t("col_chunks", lang): s["chunks"],
            t("col_disabled", lang): s["disabled_chunks"],
            t("col_embedder", lang): s["embedder_id"],
            t("col_threshold", lang): round(float(s["threshold"]), 3),
            t("col_chunk_size", lang): s["chunk_size"],
        }
        for s in stats
    ]


def render_create(app: Container, user: Principal, lang: str) -> None:
    backends = registry.names("embedder")
    configured = app.settings.embedder.backend
    with st.form("create_kb_form", clear_on_submit=True):
        st.subheader(t("kb_new_header", lang))
        name = st.text_input(
            t("kb_new_name", lang), placeholder=t("kb_new_placeholder", lang), key="new_kb_name"
        )
        description = st.text_area(t("kb_description", lang), key="new_kb_description", height=68)
        embedder = st.selectbox(
            t("kb_embedder", lang),
            backends,
            index=backends.index(configured) if configured in backends else 0,
            help=t("kb_embedder_help", lang),
            key="new_kb_embedder",
        )
        default = app.settings.chunking
        size_col, overlap_col = st.columns(2)
        chunk_size = size_col.number_input(
            t("kb_chunk_size", lang),
            min_value=MIN_CHUNK,
            max_value=MAX_CHUNK,
            value=default.chunk_size,
            step=50,
            help=t("kb_chunk_size_help", lang),
            key="new_kb_chunk_size",
        )
        chunk_overlap = overlap_col.number_input(
            t("kb_chunk_overlap", lang),
            min_value=0,
            max_value=MAX_CHUNK // 2,
            value=default.chunk_overlap,
            step=10,
            key="new_kb_chunk_overlap",
        )
        submitted = st.form_submit_button(t("kb_create", lang), type="primary")
    if not submitted:
        return
    try:
        created = actions.create_kb(
            app, user, name, description, embedder, int(chunk_size), int(chunk_overlap)
        )
    except KBError as exc:
        st.error(escape_markdown(session.error_text(exc)))
        return
    session.set_current_kb(created)
    session.flash("success", t("kb_created", lang, name=created))
    st.rerun()


def render_rename(app: Container, user: Principal, kb_name: str, lang: str) -> None:
    new_name = st.text_input(t("kb_rename_to", lang), value=kb_name, key=f"rename_{kb_name}")
    if st.button(t("kb_rename", lang), key="kb_rename_button") and new_name.strip() != kb_name:
        try:
            actions.rename_kb(app, user, kb_name, new_name)
        except KBError as exc:
            st.error(escape_markdown(session.error_text(exc)))
            return
        session.set_current_kb(new_name.strip())
        session.flash("success", t("kb_renamed", lang, old=kb_name, new=new_name.strip()))
        st.rerun()


def render_delete(app: Container, user: Principal, kb_name: str, lang: str) -> None:
    """Deleting takes two steps: ask, then type the KB's name and confirm."""
    asking_key = f"confirm_delete_{kb_name}"
    if not st.session_state.get(asking_key):
        if st.button(t("kb_delete", lang), key="kb_delete_button"):
            st.session_state[asking_key] = True
            st.rerun()
        return
    st.warning(escape_markdown(t("kb_delete_warning", lang, name=kb_name)))
    typed = st.text_input(t("kb_delete_type_name", lang), key=f"typed_{kb_name}")
    confirm, cancel = st.columns(2)
    if cancel.button(t("cancel", lang), key="kb_delete_cancel"):
        st.session_state.pop(asking_key, None)
        st.rerun()
    if confirm.button(t("kb_delete_confirm", lang), key="kb_delete_confirm", type="primary"):
        if typed.strip() != kb_name:
            st.error(t("kb_delete_name_mismatch", lang))
            return
        try:
            actions.delete_kb(app, user, kb_name)
        except KBError as exc:
            st.error(escape_markdown(session.error_text(exc)))
            return
        st.session_state.pop(asking_key, None)
        session.flash("success", t("kb_deleted", lang, name=kb_name))
        st.rerun()


def render() -> None:
    app, user = session.context()
    lang = session.lang()
    st.title(t("nav_kbs", lang))
    stats = [s for s in curation.kb_stats(app) if user.can_read(s["name"])]
    if stats:
        st.dataframe(kb_rows(stats, lang), hide_index=True)
    else:
        st.info(t("kb_none" if user.can_manage_kbs else "kb_none_visible", lang))
    if not user.can_manage_kbs:
        st.caption(t("kb_admin_only", lang))
        return
    left, right = st.columns(2)
    with left:
        render_create(app, user, lang)
    if stats:
        with right, st.container(border=True):
            st.subheader(t("kb_manage_header", lang))
            kb_name = session.kb_picker(app, user, [s["name"] for s in stats])
            if kb_name is not None:
                st.markdown(f"**{escape_markdown(kb_name)}**")
                render_rename(app, user, kb_name, lang)
                st.divider()
                render_delete(app, user, kb_name, lang)
