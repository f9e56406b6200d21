"""Per-sentence citation verification: each answer sentence is checked against the passages the model
was given; unsupported sentences are flagged, an answer with none supported becomes a refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_files

from kb_app.citations import annotate, verify_answer
from kb_app.footnotes import strip_footnotes, support_note, with_footnotes
from kb_app.schema import Chunk, ScoredChunk

STAMPEDE = "印控克什米尔地区瓦希诺德维寺发生踩踏事件，目前已造成12人死亡、14人受伤。"
MODI = "印度总理莫迪对踩踏事件造成的生命损失深感悲痛。"
SOURCES = [
    ScoredChunk(Chunk("a", STAMPEDE, "news.pdf", page=3), 0.9),
    ScoredChunk(Chunk("b", MODI, "statement.txt"), 0.6),
]


def test_each_sentence_is_cited_with_the_passage_that_holds_it():
    citations, sentences = verify_answer("踩踏事件造成12人死亡[2]。莫迪对生命损失深感悲痛。", SOURCES)
    assert [c.source for c in citations] == ["news.pdf", "statement.txt"]
    assert [(s.text, s.cited, s.supported) for s in sentences] == [
        ("踩踏事件造成12人死亡。", (1,), True),  # the model's own [2] was wrong and is dropped
        ("莫迪对生命损失深感悲痛。", (2,), True),
    ]


def test_a_number_no_passage_states_makes_a_sentence_unsupported():
    _, sentences = verify_answer("踩踏事件目前已造成15人死亡、14人受伤。", SOURCES)
    assert not sentences[0].supported  # high overlap, but 15 is in no passage
    _, asked = verify_answer("2023年踩踏事件造成12人死亡。", SOURCES, question="2023年的踩踏事故死了几人？")
    assert asked[0].supported  # the year comes from the question, not from the answer's invention


def test_unrelated_sentences_are_flagged_and_short_fillers_are_not():
    text = "踩踏事件造成12人死亡。当地政府宣布全国哀悼三天。好的。根据资料[1]中的描述。"
    citations, sentences = verify_answer(text, SOURCES)
    assert [s.supported for s in sentences] == [True, False, True, True]
    assert [c.chunk_id for c in citations] == ["a"]
    assert verify_answer("火星上今天下了雨。", SOURCES)[0] == ()


def test_annotate_places_verified_numbers_before_the_sentence_end():
    text = "踩踏事件造成12人死亡[2]。\n莫迪对生命损失深感悲痛【1】！当地政府宣布全国哀悼三天。"
    _, sentences = verify_answer(text, SOURCES)
    assert annotate(text, sentences) == (
        "踩踏事件造成12人死亡[1]。\n莫迪对生命损失深感悲痛[2]！当地政府宣布全国哀悼三天。"
    )


@pytest.fixture
def news(fast_container, tmp_path: Path):
    fast_container.ingest("news", [write_files(tmp_path / "docs", {"news.txt": STAMPEDE + MODI})])
    return fast_container


def test_an_answer_nothing_supports_becomes_a_refusal_showing_the_closest_passages(news):
    news.generator.enqueue("火星基地的氧气储备可以维持三百天。")
    answer = news.qa("news").ask("瓦希诺德维寺踩踏事件造成多少人死亡？")
    assert answer.refused and answer.text == "知识库中没有找到相关信息。"
    assert [c.source for c in answer.citations] == ["news.txt"]  # closest passages still shown
    assert answer.unsupported == ["火星基地的氧气储备可以维持三百天。"]
    assert "找不到依据" in support_note(answer, streamed=True)  # a stream already showed the text
    assert support_note(answer, streamed=False) == ""


def test_a_partly_supported_answer_keeps_its_text_and_flags_the_rest(news):
    news.generator.enqueue("踩踏事件造成12人死亡[3]。另有200人失踪。")
    answer = news.qa("news").ask("瓦希诺德维寺踩踏事件造成多少人死亡？")
    assert not answer.refused
    assert answer.text == "踩踏事件造成12人死亡[3]。另有200人失踪。"  # as the model wrote it (and streamed)
    assert annotate(answer.text, answer.sentences) == "踩踏事件造成12人死亡[1]。另有200人失踪。"
    assert answer.unsupported == ["另有200人失踪。"]
    shown = with_footnotes(answer)
    assert "⚠ 以下内容在资料中找不到依据：「另有200人失踪。」" in shown and "来源：[1] news.txt" in shown
    assert strip_footnotes(shown) == answer.text


def test_stored_answers_keep_their_unsupported_sentences(news):
    from kb_app.conversations import unsupported_of

    news.generator.enqueue("踩踏事件造成12人死亡。另有200人失踪。")
    answer = news.qa("news").ask("瓦希诺德维寺踩踏事件造成多少人死亡？")
    store = news.conversations
    conversation = store.create("admin", ["news"])
    message_id = store.append(conversation, "admin", "assistant", answer.text, answer=answer)
    stored = next(m for m in store.messages(conversation, "admin") if m.id == message_id)
    assert unsupported_of(stored) == ["另有200人失踪。"]
