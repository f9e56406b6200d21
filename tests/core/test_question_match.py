"""The question-match check: an answer copied from a related passage that is not about what was asked
(another year, another event) becomes a refusal; answers from passages about the question pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_files

from kb_app.question_match import key_terms, matches_question

COACH_2019 = "2019年，里皮再次出任中国男足主教练，但在世预赛40强赛中输给叙利亚后宣布辞职。"
COACH_2023 = "2023年2月，中国足协宣布亚历山大·扬科维奇出任中国男足主教练。"


def test_key_terms_are_the_questions_nouns_and_numbers_not_its_question_words():
    terms = key_terms("2023年中国男足主教练是谁？")
    assert "2023" in terms and "主教练" in terms
    assert not {"是", "谁", "什么"} & set(terms)
    assert key_terms("GPT-4 的发布时间是什么时候？") == ("gpt4",)


def test_a_year_the_passage_does_not_state_fails_the_match():
    assert not matches_question("2023年中国男足主教练是谁？", [COACH_2019])
    assert matches_question("2023年中国男足主教练是谁？", [COACH_2023])


def test_a_passage_missing_most_key_terms_fails_and_spelling_variants_match():
    assert not matches_question(
        "俄罗斯拘留的华尔街日报记者是谁？", ["卡拉-穆尔扎是俄罗斯反对派人士，曾两次中毒。"]
    )
    assert matches_question("GPT4发布时间", ["OpenAI 于 3 月 14 日发布了 GPT-4。"])
    assert matches_question("是谁？", ["任何文字"])  # no key terms: nothing to check


@pytest.fixture
def coach(fast_container, tmp_path: Path):
    fast_container.ingest("football", [write_files(tmp_path / "docs", {"football.txt": COACH_2019})])
    return fast_container


def test_an_answer_from_a_passage_about_another_year_is_refused_with_its_reason(coach):
    coach.generator.enqueue("里皮再次出任中国男足主教练[1]。")
    answer = coach.qa("football").ask("2023年中国男足主教练是谁？")
    assert answer.refused and answer.reason == "off_question"
    assert answer.text == "知识库中没有找到相关信息。"
    assert answer.unsupported == [
        "里皮再次出任中国男足主教练。"
    ]  # shown as withheld, with the closest passages
    assert [c.source for c in answer.citations] == ["football.txt"]
    assert answer.to_dict()["refusal_reason"] == "off_question"


def test_the_same_answer_to_a_question_the_passage_is_about_passes(coach):
    coach.generator.enqueue("2019年，里皮再次出任中国男足主教练[1]。")
    answer = coach.qa("football").ask("2019年中国男足主教练是谁？")
    assert not answer.refused and answer.reason == ""
    assert [c.source for c in answer.citations] == ["football.txt"]
