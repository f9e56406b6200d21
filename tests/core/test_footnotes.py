"""Sources as a footnote under an answer, and ChatGLM-style history in its two shapes."""

from __future__ import annotations

import pytest

from kb_app.chat_history import InvalidHistory, extend_history, normalize_history
from kb_app.footnotes import format_footnotes, strip_footnotes, with_footnotes
from kb_app.schema import Answer, Citation


def cite(source: str, page: int | None, chunk: str = "c") -> Citation:
    return Citation(source=source, page=page, chunk_id=chunk, score=0.8, text="……")


CITATIONS = (cite("手册.pdf", 3, "a"), cite("手册.pdf", 3, "b"), cite("faq.md", None), cite("手册.pdf", 5))


def test_footnote_numbers_each_place_once_in_answer_order():
    assert format_footnotes(CITATIONS) == "\n\n来源：[1] 手册.pdf 第3页；[2] faq.md；[3] 手册.pdf 第5页"
    assert format_footnotes(CITATIONS[:1], lang="en") == "\n\nSources: [1] 手册.pdf p. 3"
    assert format_footnotes(CITATIONS[:1], lang="en_US.UTF-8").startswith("\n\nSources: ")
    assert format_footnotes(()) == ""


def test_refusal_gets_no_footnote_and_strip_undoes_format():
    answer = Answer("年假十五天。", CITATIONS)
    text = with_footnotes(answer)
    assert text.startswith("年假十五天。\n\n来源：[1]") and strip_footnotes(text) == "年假十五天。"
    assert strip_footnotes(with_footnotes(answer, "en")) == "年假十五天。"
    assert (
        with_footnotes(Answer("知识库中没有找到相关信息。", CITATIONS, refused=True))
        == "知识库中没有找到相关信息。"
    )
    assert strip_footnotes("正文\n\n来源：说明") == "正文\n\n来源：说明"  # not ours: left alone


def test_history_pairs_lists_and_messages_normalize_alike():
    footnoted = "年假十五天。" + format_footnotes(CITATIONS)
    pairs = [("年假几天？", footnoted)]
    as_json = [["年假几天？", footnoted]]  # what a JSON round trip makes of tuples
    messages = [
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": "年假几天？"},
        {"role": "assistant", "content": footnoted},
        {"role": "user", "content": "没有回答的问题"},
    ]
    expected = [("年假几天？", "年假十五天。")]
    assert normalize_history(pairs) == normalize_history(as_json) == normalize_history(messages) == expected
    assert normalize_history(None) == normalize_history([]) == []


@pytest.mark.parametrize("bad", [["只有问题"], [("a", "b", "c")], [42]])
def test_malformed_history_is_a_clear_error(bad):
    with pytest.raises(InvalidHistory, match="not a \\(question, answer\\) pair"):
        normalize_history(bad)


def test_extend_history_keeps_the_callers_shape():
    assert extend_history(None, "q", "r") == [("q", "r")]
    past = [("q0", "r0")]
    assert extend_history(past, "q", "r") == [("q0", "r0"), ("q", "r")] and past == [("q0", "r0")]
    messages = [{"role": "user", "content": "q0"}, {"role": "assistant", "content": "r0"}]
    extended = extend_history(messages, "q", "r")
    assert extended[-2:] == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}]
