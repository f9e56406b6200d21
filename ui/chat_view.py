"""How an answer is drawn: its text (or the not-found state), an FAQ label, citation cards that open the
original, a copy box and thumbs up/down. All document and model text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from kb_app.auth import Principal
from kb_app.citations import annotate
from kb_app.container import Container
from kb_app.conversations import citations_of, sentences_of, unsupported_of
from kb_app.errors import KBError
from kb_app.schema import Citation
from kb_app.ui import session
from kb_app.ui.components import citation_title, escape_markdown, escape_multiline, snippet
from kb_app.ui.highlight import highlight_markdown
from kb_app.ui.i18n import t
from kb_app.ui.source_viewer import open_source

# st.feedback("thumbs") gives 0 for down and 1 for up; the store keeps -1 / +1 (0: none).
_FROM_WIDGET = {None: 0, 0: -1, 1: 1}
_TO_WIDGET = {-1: 0, 1: 1}


def stored_citations(message: Any) -> list[Citation]:
    return [Citation(**item) for item in citations_of(message)]


def render_citations(
    app: Container, user: Principal, citations: Sequence[Citation], terms: list[str], key: str, lang: str
) -> None:
    """One card per citation: title (file, page, score), the passage with the question's words marked,
    and a button that opens the original at that page."""
    for number, citation in enumerate(citations, start=1):
        with st.container(border=True, key=f"{key}_card_{number}"):  # key: a CSS class tests can find
            st.markdown(f"**{escape_markdown(citation_title(citation, number, lang))}**")
            st.markdown(highlight_markdown(snippet(citation.text), terms))
            if st.button(t("open_source", lang), key=f"{key}_open_{number}", icon=":material/menu_book:"):
                open_source(app, user, citation, terms, lang)


def render_answer(
    app: Container,
    user: Principal,
    answer: tuple[str, bool, str, Sequence[Citation], Sequence[str]],
    terms: list[str],
    key: str,
    lang: str,
) -> None:
    """`answer` is (text, refused, kind, citations, unsupported sentences), from a stored message."""
    text, refused, kind, citations, unsupported = answer
    if kind == "faq":
        st.caption(t("faq_label", lang))
    if refused:
        st.warning(t("not_found", lang))
        if unsupported:  # the model answered, but nothing it said is in the passages
            st.caption(t("answer_withheld", lang))
        if citations:
            st.caption(t("closest", lang))
            render_citations(app, user, citations, terms, key, lang)
        return
    st.markdown(escape_multiline(text))
    if unsupported:
        listed = "\n".join(f"- {escape_markdown(sentence)}" for sentence in unsupported)
        st.warning(t("unsupported", lang) + "\n" + listed, icon=":material/report:")
    if citations:
        st.caption(t("sources", lang))
        render_citations(app, user, citations, terms, key, lang)


def _save_feedback(app: Container, username: str, message_id: int) -> None:
    value = st.session_state.get(f"feedback_{message_id}")
    try:
        app.conversations.feedback(message_id, username, _FROM_WIDGET.get(value, 0))
    except KBError as exc:
        session.flash("error", str(exc))


def render_tools(app: Container, user: Principal, message: Any, lang: str) -> None:
    """Copy box and thumbs for one stored answer (a refusal gets thumbs only)."""
    copy, rate = st.columns([4, 1])
    if not message.refused:  # nothing worth copying in "not found"
        with copy.expander(t("copy_answer", lang)):
            st.code(message.text, language=None, wrap_lines=True)
    with rate:
        st.feedback(
            "thumbs",
            key=f"feedback_{message.id}",
            default=_TO_WIDGET.get(message.feedback),
            on_change=_save_feedback,
            args=(app, user.username, message.id),
        )


def render_message(app: Container, user: Principal, message: Any, terms: list[str], lang: str) -> None:
    """One stored message of a conversation."""
    if message.role == "user":
        with st.chat_message("user"):
            st.markdown(escape_multiline(message.text))
        return
    with st.chat_message("assistant"):
        sentences = sentences_of(message)
        answer = (
            annotate(message.text, sentences) if sentences and not message.refused else message.text,
            message.refused,
            message.kind,
            stored_citations(message),
            unsupported_of(message),
        )
        render_answer(app, user, answer, terms, f"m{message.id}", lang)
        stats = st.session_state.get("answer_stats", {}).get(message.id)
        if stats:
            st.caption(t("answer_stats", lang, **stats))
        render_tools(app, user, message, lang)
