"""FAQ mode: a question matching an imported FAQ question gets the stored answer, labelled, without the
model; anything else falls through to normal question answering."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_files

from kb_app import curation
from kb_app.catalog.tables import KBSettingsRow
from kb_app.errors import KBError
from kb_app.faq_mode import (
    DEFAULT_FAQ_THRESHOLD,
    FAQSettings,
    faq_answer,
    faq_matches,
    faq_settings,
    set_faq_mode,
    split_faq_text,
)
from kb_app.ingest.loaders.faq import faq_text

PAIRS = [
    ("如何重置登录密码？", "在登录页点击“忘记密码”，按邮件里的链接设置新密码。"),
    ("年假一共有多少天？", "员工每年享有十五天带薪年假，入职满一年后开始计算。"),
    ("报销需要准备哪些材料？", "需要发票原件、报销单和部门负责人签字。"),
]


def _faq_xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "常见问题"
    sheet.append(["分类", "标准问", "标准答"])
    for question, answer in PAIRS:
        sheet.append(["通用", question, answer])
    book.save(path)
    return path


@pytest.fixture
def faq(fast_container, tmp_path):
    folder = write_files(tmp_path / "docs", {"handbook.txt": "公司的登录密码每九十天必须修改一次。"})
    _faq_xlsx(folder / "faq.xlsx")
    fast_container.ingest("help", [folder])
    set_faq_mode(fast_container, "help", True)
    return fast_container


def test_faq_text_round_trips_and_other_chunks_are_not_faq():
    assert split_faq_text(faq_text(*PAIRS[0])) == PAIRS[0]
    assert split_faq_text("问：一？\n答：多行\n的答案") == ("一？", "多行\n的答案")
    assert split_faq_text("问：一？\n答：甲\n问：二？\n答：乙") is None  # two pairs in one chunk
    assert split_faq_text("公司的登录密码每九十天必须修改一次。") is None


@pytest.mark.parametrize("question", ["如何重置登录密码？", " 如何重置登录密码 ", "如何重置登录密码?"])
def test_the_same_question_gets_the_stored_answer_without_the_model(faq, question):
    answer = faq_answer(faq, "help", question)
    assert answer is not None and answer.kind == "faq" and not answer.refused
    assert answer.text == PAIRS[0][1]
    [citation] = answer.citations
    assert citation.source == "faq.xlsx" and citation.score == 1.0
    assert citation.text == faq_text(*PAIRS[0])
    assert faq.generator.calls == []


def test_other_questions_fall_through(faq):
    assert faq_answer(faq, "help", "公司食堂几点开饭？") is None
    assert faq_answer(faq, "help", "   ") is None
    assert faq_answer(faq, "help", "问" * 10_000) is None
    answer = faq.qa("help").ask("登录密码多久必须修改一次？")
    assert answer.kind == "generated"


def test_threshold_decides_a_near_match(faq):
    question = "年假有多少天"
    [(similarity, hit), *_] = faq_matches(faq, "help", question)
    assert split_faq_text(hit.chunk.text) == PAIRS[1] and 0.0 < similarity < 1.0
    set_faq_mode(faq, "help", True, threshold=min(1.0, similarity + 0.01))
    assert faq_answer(faq, "help", question) is None
    set_faq_mode(faq, "help", True, threshold=similarity - 0.01)
    answer = faq_answer(faq, "help", question)
    assert answer is not None and answer.text == PAIRS[1][1]


def test_mode_off_or_disabled_pair_gives_no_faq_answer(faq):
    set_faq_mode(faq, "help", False)
    assert faq_answer(faq, "help", PAIRS[2][0]) is None
    set_faq_mode(faq, "help", True)
    assert faq_answer(faq, "help", PAIRS[2][0]) is not None
    [(_, hit), *_] = faq_matches(faq, "help", PAIRS[2][0])
    curation.set_chunk_enabled(faq, "help", hit.chunk.chunk_id, False)
    assert faq_answer(faq, "help", PAIRS[2][0]) is None


def test_an_edited_pair_answers_with_the_edited_text(faq):
    [(_, hit), *_] = faq_matches(faq, "help", PAIRS[1][0])
    curation.edit_chunk(faq, "help", hit.chunk.chunk_id, faq_text(PAIRS[1][0], "二十天。"))
    answer = faq_answer(faq, "help", PAIRS[1][0])
    assert answer is not None and answer.text == "二十天。"


def test_settings_are_stored_per_kb_and_validated(faq, tmp_path):
    faq.ingest("other", [write_files(tmp_path / "o", {"a.txt": "别的。"})])
    assert faq_settings(faq, "other") == FAQSettings(enabled=False, threshold=DEFAULT_FAQ_THRESHOLD)
    assert set_faq_mode(faq, "help", True, threshold=0.95) == FAQSettings(True, 0.95)
    assert set_faq_mode(faq, "help", False) == FAQSettings(False, 0.95), "the threshold is kept"
    with pytest.raises(KBError, match="0 to 1"):
        set_faq_mode(faq, "help", True, threshold=1.5)
    kb_id = faq.open_kb("help").kb_id
    faq.delete_kb("help")
    with faq.catalog.session() as s:
        assert s.get(KBSettingsRow, kb_id) is None, "a KB's settings go with it"
    faq.ingest("help", [write_files(tmp_path / "n", {"b.txt": "新的。"})])
    assert faq_settings(faq, "help") == FAQSettings()
