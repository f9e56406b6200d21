"""The Streamlit web UI (Chinese by default): `streamlit run ui/app.py`, or `kb ui`.

A thin layer: every action is one call to the Container's services; rendering lives in `components`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from kb_app.container import Container
from kb_app.errors import KBError
from kb_app.ingest.loaders import supported_extensions
from kb_app.schema import Answer, FileReport
from kb_app.ui import components
from kb_app.ui.components import Turn, Upload
from kb_app.ui.i18n import DEFAULT_LANG, LANGUAGES, t


@st.cache_resource(show_spinner=False)
def get_container() -> Container:
    """One Container per server process: models load once and are shared by all sessions."""
    return Container()


def _create_kb(container: Container) -> None:
    """Button callback: runs before the next script run, so it may still set widget state."""
    name = st.session_state.get("new_kb_name", "")
    try:
        kb = container.open_kb(name, create=True)
    except KBError as exc:
        st.session_state["kb_flash"] = ("error", str(exc))
        return
    st.session_state["kb_choice"] = kb.name
    st.session_state["new_kb_name"] = ""
    st.session_state["kb_flash"] = ("success", kb.name)


def render_sidebar(container: Container, lang: str) -> str | None:
    """KB chooser, KB creation and the language switch. Returns the chosen KB name, if any."""
    names = [row.name for row in container.catalog.list_kbs()]
    if st.session_state.get("kb_choice") not in names:
        st.session_state.pop("kb_choice", None)
    with st.sidebar:
        chosen = st.selectbox(t("kb_select", lang), names, key="kb_choice") if names else None
        if not names:
            st.info(t("kb_none", lang))
        st.subheader(t("kb_new_header", lang))
        st.text_input(t("kb_new_name", lang), key="new_kb_name", placeholder=t("kb_new_placeholder", lang))
        st.button(t("kb_create", lang), key="kb_create", on_click=_create_kb, args=(container,))
        kind, message = st.session_state.pop("kb_flash", (None, ""))
        if kind == "error":
            st.error(components.escape_markdown(message))
        elif kind == "success":
            st.success(components.escape_markdown(t("kb_created", lang, name=message)))
        st.divider()
        st.radio(
            t("language", lang),
            list(LANGUAGES),
            format_func=LANGUAGES.__getitem__,
            key="lang",
            horizontal=True,
        )
    return chosen


def _answer_pieces(events: Iterator[Any], holder: list[Answer]) -> Iterator[str]:
    """Yield the streamed text pieces; keep the final Answer in `holder`."""
    for event in events:
        if event.answer is not None:
            holder.append(event.answer)
        elif event.text:
            yield event.text


def ask(container: Container, kb_name: str, question: str, lang: str) -> Turn:
    """Show the question, stream the answer into a placeholder, then render the final answer."""
    with st.chat_message("user"):
        st.markdown(components.escape_multiline(question))
    with st.chat_message("assistant"):
        placeholder = st.empty()
        placeholder.caption(t("thinking", lang))
        holder: list[Answer] = []
        text = ""
        try:
            for piece in _answer_pieces(container.qa(kb_name).stream(question), holder):
                text += piece
                placeholder.markdown(components.escape_multiline(text) + " ▌")
        except KBError as exc:
            placeholder.error(components.escape_markdown(str(exc)))
            return Turn(question, error=str(exc))
        with placeholder.container():
            components.render_answer(holder[-1], lang)
    return Turn(question, answer=holder[-1])


def render_chat_tab(container: Container, kb_name: str, lang: str) -> None:
    if not container.open_kb(kb_name).files():
        st.info(t("chat_empty_kb", lang))
    turns: list[Turn] = st.session_state.setdefault("turns", {}).setdefault(kb_name, [])
    conversation = st.container()
    question = st.chat_input(t("chat_placeholder", lang), key="chat_input")
    with conversation:
        for turn in turns:
            components.render_turn(turn, lang)
        if question and question.strip():
            turns.append(ask(container, kb_name, question, lang))


def ingest_uploads(
    container: Container, kb_name: str, uploads: Sequence[Upload], lang: str
) -> list[FileReport]:
    """Save the uploads to a temp folder and ingest them, moving a progress bar per file reported."""
    bar = st.progress(0.0, text=t("ingest_start", lang, count=len(uploads)))
    seen: list[FileReport] = []

    def on_report(report: FileReport) -> None:
        seen.append(report)
        done = min(len(seen), len(uploads))
        bar.progress(
            done / len(uploads),
            text=t("ingest_progress", lang, done=done, total=len(uploads), name=report.name),
        )

    def on_pages(name: str, done: int, total: int) -> None:
        finished = min(len(seen), len(uploads))
        bar.progress(finished / len(uploads), text=t("ingest_ocr", lang, name=name, done=done, total=total))

    try:
        with tempfile.TemporaryDirectory(prefix="kb-upload-") as folder:
            paths = components.save_uploads(uploads, Path(folder))
            reports = container.ingest(kb_name, paths, progress=on_report, pages=on_pages)
    except (KBError, OSError) as exc:  # OSError: disk full, permissions; the message is still useful
        st.error(components.escape_markdown(str(exc)))
        return []
    bar.progress(1.0, text=t("ingest_finished", lang))
    return reports


def render_files_tab(container: Container, kb_name: str, lang: str) -> None:
    with st.form("upload_form", clear_on_submit=True):
        uploads = st.file_uploader(
            t("upload_label", lang),
            type=[ext.lstrip(".") for ext in supported_extensions()],
            accept_multiple_files=True,
            key="uploads",
        )
        submitted = st.form_submit_button(t("upload_submit", lang))
    all_reports: dict[str, list[FileReport]] = st.session_state.setdefault("reports", {})
    if submitted and not uploads:
        st.warning(t("upload_none", lang))
    elif submitted and uploads:
        all_reports[kb_name] = ingest_uploads(container, kb_name, uploads, lang)
    if all_reports.get(kb_name):
        st.subheader(t("ingest_results", lang))
        components.render_reports(all_reports[kb_name], lang)
    st.subheader(t("files_header", lang))
    rows = components.file_table(container.open_kb(kb_name).files(), lang)
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.caption(t("files_none", lang))


def main() -> None:
    lang = st.session_state.setdefault("lang", DEFAULT_LANG)
    st.set_page_config(page_title=t("page_title", lang), page_icon="📚", layout="wide")
    container = get_container()
    kb_name = render_sidebar(container, lang)
    st.title(t("title", lang))
    st.caption(t("subtitle", lang))
    if kb_name is None:
        st.info(t("kb_none", lang))
        return
    st.caption(components.escape_markdown(t("current_kb", lang, name=kb_name)))
    chat_tab, files_tab = st.tabs([t("tab_chat", lang), t("tab_files", lang)])
    with chat_tab:
        render_chat_tab(container, kb_name, lang)
    with files_tab:
        render_files_tab(container, kb_name, lang)


if __name__ == "__main__":
    main()
