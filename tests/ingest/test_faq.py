"""FAQ sheets: header detection, one atomic document per question/answer pair, kept whole by the splitter."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_app.ingest.loaders.faq import detect_faq_columns
from kb_app.ingest.loaders.spreadsheet import SpreadsheetLoader
from kb_app.ingest.splitters import ChineseSentenceSplitter

LONG_ANSWER = ("请先在设置页面打开知识库管理，选择需要更新的文件，然后点击重新导入。" * 30)[:800]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["问题", "答案"], (0, 1)),
        (["编号", "标准问", "标准答", "分类"], (1, 2)),
        (["提问", "回答"], (0, 1)),
        (["Question", "Answer"], (0, 1)),
        (["  Q: ", "A："], (0, 1)),
        (["【问题】", "答案 *", "答案"], (0, 1)),
        (["答案", "问题"], (1, 0)),
    ],
)
def test_faq_headers_are_recognised(header: list[str], expected: tuple[int, int]) -> None:
    assert detect_faq_columns(header) == expected


@pytest.mark.parametrize(
    "header", [["问题描述", "解决方案"], ["问题"], ["title", "detail"], [], ["Questions asked", "答"]]
)
def test_other_headers_are_not_faq(header: list[str]) -> None:
    assert detect_faq_columns(header) is None


def _write_faq_xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "常见问题"
    for row in [
        ["分类", "标准问", "标准答"],
        ["账户", "如何重置密码？", "在登录页点击“忘记密码”。"],
        ["导入", "文件导入失败怎么办？", LONG_ANSWER],
        ["其他", "没有答案的问题", None],
        ["其他", None, "没有问题的答案"],
    ]:
        sheet.append(row)
    book.save(path)
    return path


def test_faq_xlsx_gives_one_atomic_pair_per_row(tmp_path: Path) -> None:
    path = _write_faq_xlsx(tmp_path / "faq.xlsx")
    documents = SpreadsheetLoader().load(path, path.name)
    assert [d.text for d in documents] == [
        "问：如何重置密码？\n答：在登录页点击“忘记密码”。",
        f"问：文件导入失败怎么办？\n答：{LONG_ANSWER}",
    ]
    first = documents[0]
    assert first.heading_path == ("常见问题",) and first.page is None
    assert first.metadata == {
        "sheet": "常见问题",
        "atomic": True,
        "faq": True,
        "question": "如何重置密码？",
        "answer": "在登录页点击“忘记密码”。",
        "row": 2,
    }
    chunks = ChineseSentenceSplitter(chunk_size=300, chunk_overlap=50).split("kb", documents)
    assert [c.text for c in chunks] == [d.text for d in documents]  # the 800-character answer is not cut
    assert len(chunks[1].text) > 800


def test_faq_csv_with_english_headers(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        'Question,Answer\r\nWhat is kb-app?,"A local, offline knowledge base."\r\n知识库支持哪些格式？,'
        + LONG_ANSWER
        + "\r\n",
        encoding="utf-8-sig",
    )
    documents = SpreadsheetLoader().load(path, path.name)
    assert [d.metadata["question"] for d in documents] == ["What is kb-app?", "知识库支持哪些格式？"]
    assert documents[0].text == "问：What is kb-app?\n答：A local, offline knowledge base."
    assert all(d.metadata["faq"] and d.metadata["atomic"] for d in documents)
    assert [d.metadata["row"] for d in documents] == [2, 3] and documents[0].heading_path == ()
    chunks = ChineseSentenceSplitter(chunk_size=200, chunk_overlap=20).split("kb", documents)
    assert len(chunks) == 2 and chunks[1].text.endswith(LONG_ANSWER)
