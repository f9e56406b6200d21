"""Chat: pick knowledge bases, ask, watch the answer stream in, check its sources; history per user."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from kb_app.auth import Principal
from kb_app.container import Container
from kb_app.errors import KBError
from kb_app.schema import Answer
from kb_app.ui import session
from kb_app.ui.chat_service import answer_events
from kb_app.ui.chat_view import render_message
from kb_app.ui.components import escape_markdown, escape_multiline
from kb_app.ui.highlight import query_terms
from kb_app.ui.i18n import t

CONVERSATION_KEY = "_chat_conversation"
KBS_KEY = "_chat_kbs"


def choose_kbs(names: list[str], lang: str) -> list[str]:
    """The sidebar's KB multiselect; starts with the current KB and survives visits to other pages."""
    stored = [n for n in st.session_state.get(KBS_KEY, []) if n in names]
    if not stored:
        current = st.session_state.get(session.KB_KEY)
        stored = [current if current in names else names[0]]
    chosen = st.sidebar.multiselect(
        t("chat_kbs", lang), names, default=stored, key="chat_kbs_widget", placeholder=t("choose", lang)
    )
    st.session_state[KBS_KEY] = list(chosen)
    return list(chosen)


def _open_conversation(conversation_id: int | None, kb_names: list[str] | None = None) -> None:
    st.session_state[CONVERSATION_KEY] = conversation_id
    if kb_names:
        st.session_state[KBS_KEY] = kb_names
        st.session_state.pop("chat_kbs_widget", None)


def render_history_sidebar(app: Container, user: Principal, readable: list[str], lang: str) -> int | None:
    """New chat, the user's conversations, and clear/delete of the open one. Returns the open one's id."""
    current = st.session_state.get(CONVERSATION_KEY)
    with st.sidebar:
        st.subheader(t("chat_history", lang))
        if st.button(t("chat_new", lang), key="chat_new", icon=":material/add:", use_container_width=True):
            _open_conversation(None)
            st.rerun()
        for row in app.conversations.list(user.username)[:30]:
            label = escape_markdown(row.title or t("chat_untitled", lang))
            kind: Literal["primary", "tertiary"] = "primary" if row.id == current else "tertiary"
            if st.button(label, key=f"conversation_{row.id}", type=kind, use_container_width=True):
                _open_conversation(row.id, [n for n in row.kb_names.split(",") if n in readable])
                st.rerun()
        if current is not None:
            clear, delete = st.columns(2)
            if clear.button(t("chat_clear", lang), key="chat_clear"):
                app.conversations.clear(current, user.username)
                st.rerun()
            if delete.button(t("chat_delete", lang), key="chat_delete"):
                app.conversations.delete(current, user.username)
                _open_conversation(None)
                st.rerun()
    return int(current) if current is not None else None


def render_conversation(app: Container, user: Principal, conversation_id: int | None, lang: str) -> None:
    if conversation_id is None:
        return
    try:
        messages = app.conversations.messages(conversation_id, user.username)
    except KBError:  # deleted meanwhile (another tab), or not this user's
        _open_conversation(None)
        return
    terms: list[str] = []
    for message in messages:
        if message.role == "user":
            terms = query_terms(message.text)
        render_message(app, user, message, terms, lang)


def stream_answer(
    app: Container,
    user: Principal,
    kb_names: list[str],
    question: str,
    history: list[tuple[str, str]],
    lang: str,
) -> tuple[Answer, dict[str, str]] | None:
    """Draw the question and the answer as it streams; the final Answer and its timings, or None (error
    shown)."""
    with st.chat_message("user"):
        st.markdown(escape_multiline(question))
    with st.chat_message("assistant"):
        placeholder = st.empty()
        placeholder.caption(t("thinking", lang))
        text, final, stats = "", None, None
        try:
            for event in answer_events(app, user, kb_names, question, history):
                if event.answer is not None:
                    final, stats = event.answer, event.stats
                elif event.text:
                    text += event.text
                    placeholder.markdown(escape_multiline(text) + " ▌")
        except KBError as exc:
            placeholder.error(escape_markdown(session.error_text(exc)))
            return None
    assert final is not None
    timing = {}
    if stats is not None:
        first = stats.first_token_s if stats.first_token_s is not None else stats.total_s
        timing = {"first": f"{first:.1f}", "total": f"{stats.total_s:.1f}"}
    return final, timing


def ask(app: Container, user: Principal, kb_names: list[str], question: str, lang: str) -> None:
    """Store the question, stream the answer, store it, and redraw the conversation from the store."""
    conversation_id = st.session_state.get(CONVERSATION_KEY)
    if conversation_id is None:
        conversation_id = app.conversations.create(user.username, kb_names)
        _open_conversation(conversation_id)
    history = app.conversations.history_pairs(conversation_id, user.username)
    app.conversations.append(conversation_id, user.username, "user", question)
    result = stream_answer(app, user, kb_names, question, history, lang)
    if result is None:
        return
    answer, timing = result
    message_id = app.conversations.append(
        conversation_id, user.username, "assistant", answer.text, answer=answer
    )
    if timing:
        st.session_state.setdefault("answer_stats", {})[message_id] = timing
    st.rerun()


def render() -> None:
    app, user = session.context()
    lang = session.lang()
    readable = session.readable_kbs(app, user)
    st.title(t("nav_chat", lang))
    if not readable:
        st.info(t("kb_none" if user.can_manage_kbs else "kb_none_visible", lang))
        return
    kb_names = choose_kbs(readable, lang)
    conversation_id = render_history_sidebar(app, user, readable, lang)
    if not kb_names:
        st.info(t("chat_pick_kb", lang))
    elif not any(app.open_kb(name).files() for name in kb_names):
        st.info(t("chat_empty_kb", lang))
    render_conversation(app, user, conversation_id, lang)
    question = st.chat_input(t("chat_placeholder", lang), key="chat_input", disabled=not kb_names)
    if isinstance(question, str) and question.strip():
        ask(app, user, kb_names, question.strip(), lang)
