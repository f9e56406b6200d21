"""Citations as a one-line footnote under an answer's text, for the shapes that carry plain text only.

ChatGLM's `chat()` returns a string and OpenAI clients show `content` as it is, so the sources travel
inside the text: "回答……\n\n来源：[1] 手册.pdf 第3页；[2] faq.md". The terminal chat prints the same line.
One line on purpose: Markdown renderers would merge separate lines anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb_app.schema import Answer, Citation

_LABELS = {
    "zh": ("来源：", "；", "第{page}页"),
    "en": ("Sources: ", "; ", "p. {page}"),
}
_FOOTNOTE = re.compile(r"\n\n(?:来源：|Sources: )\[1\] [^\n]*\Z")
_NOTES = {
    "zh": ("⚠ 以下内容在资料中找不到依据：", "⚠ 以上回答在知识库资料中找不到依据，已不予采信。"),
    "en": ("⚠ Not supported by the sources: ", "⚠ The answer above is not supported by the knowledge base."),
}
_NOTE = re.compile(r"\n\n⚠ [^\n]*")


def _labels(lang: str) -> tuple[str, str, str]:
    return _LABELS["en" if lang.lower().startswith("en") else "zh"]


def format_footnotes(citations: Sequence[Citation], lang: str = "zh") -> str:
    """The footnote to append to an answer's text, or "" when there is nothing to cite.

    Several chunks of one page are one source; sources keep the answer's order.

    Args:
        citations: The answer's citations, best first.
        lang: "zh" (default) or "en"; anything starting with "en" counts as English.

    Returns:
        "\\n\\n来源：[1] a.pdf 第3页；[2] b.md" (or "\\n\\nSources: [1] a.pdf p. 3; [2] b.md").
    """
    heading, separator, page_label = _labels(lang)
    places: list[str] = []
    for c in citations:
        place = c.source + (" " + page_label.format(page=c.page) if c.page else "")
        if place not in places:
            places.append(place)
    if not places:
        return ""
    return "\n\n" + heading + separator.join(f"[{i}] {p}" for i, p in enumerate(places, 1))


def support_note(answer: Answer, streamed: bool = False, lang: str = "zh") -> str:
    """A warning line for sentences no source supports, or "" when every sentence is supported.

    Args:
        answer: The final answer.
        streamed: Whether the model's text already reached the reader (a stream): a withheld answer
            then needs saying that it was withheld.
        lang: "zh" or "en".
    """
    partial, withheld = _NOTES["en" if lang.lower().startswith("en") else "zh"]
    if answer.refused:
        return "\n\n" + withheld if streamed and answer.sentences else ""
    unsupported = answer.unsupported
    return "\n\n" + partial + " ".join(f"「{s}」" for s in unsupported) if unsupported else ""


def with_footnotes(answer: Answer, lang: str = "zh") -> str:
    """The answer's text, a note on unsupported sentences, then its footnote; a refusal has no sources."""
    if answer.refused:
        return answer.text
    return answer.text + support_note(answer, lang=lang) + format_footnotes(answer.citations, lang)


def strip_footnotes(text: str) -> str:
    """Remove a footnote and note that this module added (so history sent back to the model stays clean)."""
    return _NOTE.sub("", _FOOTNOTE.sub("", text))
