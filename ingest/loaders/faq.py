"""FAQ sheets: a spreadsheet whose header names a question column and an answer column.

Each question/answer pair becomes one SourceDocument marked `atomic`, so that the splitter keeps the
pair together however long the answer is: a question retrieved without its answer is useless. The
spreadsheet loader switches to this mode by itself when `detect_faq_columns` finds such a header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from kb_app.schema import SourceDocument

_QUESTION_NAMES = frozenset(
    {"问题", "问", "提问", "标准问", "标准问题", "常见问题", "q", "question", "questions"}
)
_ANSWER_NAMES = frozenset({"答案", "答", "回答", "标准答", "标准答案", "解答", "a", "answer", "answers"})
# Decorations around a header name: "Q:", "【问题】", "问题 *".
_DECORATION = re.compile(r"[\s:：*#（）()【】\[\]]+")


def _normalise(name: str) -> str:
    return _DECORATION.sub("", name).lower()


def detect_faq_columns(header: Sequence[str]) -> tuple[int, int] | None:
    """The (question column, answer column) of a header row, or None if it is not an FAQ sheet.

    Names are matched whole, ignoring case, spaces, colons and brackets: "问题"/"Question"/"Q"/"提问"/
    "标准问" and "答案"/"Answer"/"A"/"回答"/"标准答". A column merely containing "问题" (for example
    "问题描述") does not count, so an issue tracker's export is not mistaken for an FAQ. The first
    matching column of each kind wins.
    """
    names = [_normalise(name) for name in header]
    question = next((i for i, name in enumerate(names) if name in _QUESTION_NAMES), None)
    answer = next((i for i, name in enumerate(names) if name in _ANSWER_NAMES), None)
    if question is None or answer is None:
        return None
    return question, answer


def faq_text(question: str, answer: str) -> str:
    """The indexed text of one pair."""
    return f"问：{question}\n答：{answer}"


def faq_documents(
    rows: Iterable[tuple[int, list[str]]],
    columns: tuple[int, int],
    source: str,
    heading_path: tuple[str, ...] = (),
    metadata: dict[str, Any] | None = None,
) -> list[SourceDocument]:
    """One atomic document per row that has both a question and an answer; other rows are skipped.

    Args:
        rows: (1-based row number, cell texts) for the data rows (header excluded).
        columns: (question column, answer column), as from `detect_faq_columns`.
        source: The file name to record.
        heading_path: Usually the sheet name.
        metadata: Extra metadata for every document (the sheet name); each also gets
            `atomic`, `faq`, `question`, `answer` and `row`.
    """
    q_col, a_col = columns
    documents = []
    for number, cells in rows:
        question = cells[q_col].strip() if q_col < len(cells) else ""
        answer = cells[a_col].strip() if a_col < len(cells) else ""
        if not question or not answer:
            continue
        extra = {"atomic": True, "faq": True, "question": question, "answer": answer, "row": number}
        documents.append(
            SourceDocument(
                text=faq_text(question, answer),
                source=source,
                heading_path=heading_path,
                metadata={**(metadata or {}), **extra},
            )
        )
    return documents
