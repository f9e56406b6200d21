"""Highlight a question's words inside a cited passage without letting the passage inject markup.

The passage is split into plain and matching pieces; every piece is markdown-escaped on its own and only
our own highlight syntax is put around the matching ones, so document text can never open a link, an
image or HTML, whatever it contains.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kb_app.ui.components import escape_markdown

MIN_TERM_CHARS = 2  # single Chinese characters match almost everywhere and would paint the whole card
HIGHLIGHT_OPEN = ":orange-background["
HIGHLIGHT_CLOSE = "]"


def query_terms(question: str) -> list[str]:
    """The question's search words (the same jieba tokens BM25 uses), longest first, at least 2 characters."""
    from kb_app.vectorstores.keyword_index import tokenize_chinese

    terms = {token for token in tokenize_chinese(question) if len(token) >= MIN_TERM_CHARS}
    return sorted(terms, key=lambda term: (-len(term), term))


def _fold(text: str) -> str:
    """Lower-case character by character, keeping offsets (a few characters grow when lower-cased)."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping (start, end) spans of `text` where any of `terms` occurs (case-insensitive)."""
    folded = _fold(text)
    spans: list[tuple[int, int]] = []
    for term in {_fold(t) for t in terms if t}:
        start = folded.find(term)
        while start >= 0:
            spans.append((start, start + len(term)))
            start = folded.find(term, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_markdown(text: str, terms: Sequence[str]) -> str:
    """`text` as safe markdown with every occurrence of `terms` highlighted.

    Args:
        text: Untrusted document text (one line; collapse whitespace first).
        terms: Words to highlight, e.g. from `query_terms`.
    """
    pieces: list[str] = []
    cursor = 0
    for start, end in match_spans(text, terms):
        pieces.append(escape_markdown(text[cursor:start]))
        pieces.append(f"{HIGHLIGHT_OPEN}{escape_markdown(text[start:end])}{HIGHLIGHT_CLOSE}")
        cursor = end
    pieces.append(escape_markdown(text[cursor:]))
    return "".join(pieces)
