"""Files of a knowledge base: upload to the background queue with live per-file status, the file table,
and delete / re-index / download of one file."""

from __future__ import annotations

import streamlit as st

from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.errors import KBError
from kb_app.ingest.loaders import supported_extensions
from kb_app.ui import actions, session
from kb_app.ui.components import escape_markdown, file_table
from kb_app.ui.i18n import t
from kb_app.ui.jobs_view import active, recent_jobs, render_job_list

LIVE_REFRESH_S = 1.5


def render_upload(app: Container, user: Principal, kb_name: str, lang: str) -> None:
    with st.form("upload_form", clear_on_submit=True):
        uploads = st.file_uploader(
            t("upload_label", lang),
            type=[ext.lstrip(".") for ext in supported_extensions()],
            accept_multiple_files=True,
            key="uploads",
        )
        submitted = st.form_submit_button(t("upload_submit", lang), type="primary")
    if not submitted:
        return
    if not uploads:
        st.warning(t("upload_none", lang))
        return
    try:
        job_ids = actions.upload(app, user, kb_name, uploads)
    except (KBError, OSError) as exc:  # OSError: disk full, permissions; the message is still useful
        st.error(escape_markdown(session.error_text(exc)))
        return
    session.flash("info", t("upload_queued", lang, count=len(job_ids)))
    st.rerun()


def render_live_status(app: Container, user: Principal, kb_name: str, lang: str) -> None:
    """Job progress, refreshed by a fragment while any job runs; the whole page reruns once they end."""
    running_at_start = active(actions.jobs(app, user, kb_name))

    @st.fragment(run_every=LIVE_REFRESH_S if running_at_start else None)
    def live() -> None:
        rows = recent_jobs(actions.jobs(app, user, kb_name))
        if rows:
            st.subheader(t("jobs_header", lang))
            render_job_list(rows, lang)
        if running_at_start and not active(rows):
            st.rerun()  # refresh the file table below with the finished files

    live()


def render_file_actions(app: Container, user: Principal, kb_name: str, names: list[str], lang: str) -> None:
    name = st.selectbox(t("file_pick", lang), names, key="file_pick")
    if name is None:
        return
    download, reindex, delete = st.columns(3)
    try:
        data = actions.original(app, user, kb_name, name).read_bytes()
        download.download_button(
            t("file_download", lang), data, file_name=name.rsplit("/", 1)[-1], key="file_download"
        )
    except (KBError, OSError) as exc:
        download.caption(escape_markdown(session.error_text(exc)))
    if not user.can_edit(kb_name):
        return
    if reindex.button(t("file_reindex", lang), key="file_reindex"):
        try:
            with st.spinner(t("file_reindexing", lang, name=escape_markdown(name))):
                report = actions.reindex_file(app, user, kb_name, name)
        except KBError as exc:
            st.error(escape_markdown(session.error_text(exc)))
            return
        kind = "success" if report.status == "done" else "error"
        session.flash(
            kind, t("file_reindexed", lang, name=name, chunks=report.chunks, error=report.error or "")
        )
        st.rerun()
    if delete.toggle(t("file_delete", lang), key=f"file_delete_{name}") and st.button(
        t("file_delete_confirm", lang, name=escape_markdown(name)), key="file_delete_confirm", type="primary"
    ):
        try:
            removed = actions.delete_file(app, user, kb_name, name)
        except KBError as exc:
            st.error(escape_markdown(session.error_text(exc)))
            return
        session.flash("success", t("file_deleted", lang, name=name, chunks=removed))
        st.rerun()


def render() -> None:
    app, user = session.context()
    lang = session.lang()
    st.title(t("nav_files", lang))
    kb_name = session.kb_picker(app, user)
    if kb_name is None:
        return
    st.caption(escape_markdown(t("current_kb", lang, name=kb_name)))
    if user.can_edit(kb_name):
        render_upload(app, user, kb_name, lang)
    else:
        st.caption(t("files_read_only", lang))
    render_live_status(app, user, kb_name, lang)
    st.subheader(t("files_header", lang))
    files = actions.list_files(app, user, kb_name)
    if not files:
        st.caption(t("files_none", lang))
        return
    st.dataframe(file_table(files, lang), hide_index=True)
    render_file_actions(app, user, kb_name, [f.name for f in files], lang)
