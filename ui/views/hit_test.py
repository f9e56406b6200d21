"""Hit test: what retrieval finds for a query, with 0..1 scores and which hits pass the KB's threshold."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb_app.errors import KBError
from kb_app.schema import ScoredChunk
from kb_app.ui import actions, session
from kb_app.ui.components import escape_markdown, snippet
from kb_app.ui.highlight import highlight_markdown, query_terms
from kb_app.ui.i18n import t


def hit_rows(hits: list[ScoredChunk], threshold: float, lang: str) -> list[dict[str, Any]]:
    """Table rows: rank, score, whether it passes, file, page, passage."""
    return [
        {
            t("col_rank", lang): rank,
            t("col_score", lang): round(hit.score, 3),
            t("col_passes", lang): "✓" if hit.score >= threshold else "—",
            t("col_file", lang): hit.chunk.source,
            t("col_page", lang): hit.chunk.page,
            t("col_text", lang): snippet(hit.chunk.text, 120),
        }
        for rank, hit in enumerate(hits, start=1)
    ]


def render_hits(hits: list[ScoredChunk], threshold: float, question: str, lang: str) -> None:
    passing = sum(hit.score >= threshold for hit in hits)
    st.caption(t("hit_summary", lang, found=len(hits), passing=passing, threshold=f"{threshold:.2f}"))
    if not hits:
        st.info(t("hit_none", lang))
        return
    st.dataframe(
        hit_rows(hits, threshold, lang),
        hide_index=True,
        column_config={t("col_score", lang): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0)},
    )
    terms = query_terms(question)
    for rank, hit in enumerate(hits, start=1):
        with st.container(border=True):
            mark = t("hit_pass", lang) if hit.score >= threshold else t("hit_below", lang)
            page = t("page", lang, page=hit.chunk.page) if hit.chunk.page is not None else ""
            head = f"#{rank} · {hit.chunk.source} · {page} · {hit.score:.3f} · {mark}".replace(" ·  ·", " ·")
            st.markdown(f"**{escape_markdown(head)}**")
            st.markdown(highlight_markdown(snippet(hit.chunk.text, 600), terms))


def render() -> None:
    lang = session.lang()
    app = session.container()
    user = session.principal(app)
    session.require(user is not None)
    assert user is not None
    st.title(t("nav_hit_test", lang))
    st.caption(t("hit_help", lang))
    kb_name = session.kb_picker(app, user)
    if kb_name is None:
        return
    with st.form("hit_form"):
        query = st.text_input(t("hit_query", lang), key="hit_query")
        top_k = st.slider(t("hit_top_k", lang), 1, 30, app.settings.retrieval.top_k, key="hit_top_k")
        submitted = st.form_submit_button(t("hit_run", lang), type="primary")
    if not submitted or not query.strip():
        return
    try:
        hits, threshold = actions.search(app, user, kb_name, query, top_k)
    except KBError as exc:
        st.error(escape_markdown(str(exc)))
        return
    render_hits(hits, threshold, query, lang)
