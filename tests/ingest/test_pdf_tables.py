"""Ruled tables in text PDFs become rows that carry their column names (real documents of ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_app.ingest.loaders import pdf as pdf_module
from kb_app.ingest.loaders.pdf import PdfLoader
from kb_app.ingest.splitters.chinese import ChineseSentenceSplitter
from kb_app.schema import SourceDocument

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs"
TABLES = DOCS / "pymupdf" / "chinese-tables.pdf"
REPORT = DOCS / "llm-cookbook" / "2024年北京市政府工作报告.pdf"
WIKIPEDIA = DOCS / "llm-cookbook" / "人工智能.pdf"
BROKER = DOCS / "pymupdf" / "test_4699.pdf"

pytestmark = pytest.mark.skipif(not TABLES.exists(), reason="../shared/docs is not checked out")


def load(path: Path) -> list[SourceDocument]:
    return PdfLoader(ocr=False).load(path, path.name)


def tables_of(documents: list[SourceDocument]) -> list[SourceDocument]:
    return [d for d in documents if d.metadata.get("table")]


@pytest.fixture(scope="module")
def rating_pdf() -> list[SourceDocument]:
    return load(TABLES)


def test_rating_table_rows_are_rendered_with_their_header(rating_pdf: list[SourceDocument]) -> None:
    tables = tables_of(rating_pdf)
    assert tables and all(d.page == 1 and d.metadata["atomic"] for d in tables)
    rows = [row for d in tables for row in d.text.split("\n")]
    assert (
        "年份：2023；主体信用评级：AA+；涵义：偿还债务的能力很强，受不利经济环境的影响不大，违约风险很低；"
        "评级机构：中诚信国际信用评级有限责任公司、联合资信评估有限公司；评级展望：稳定"
    ) in rows
    assert (
        "序号：5；金融机构名称：中信银行盐城分行；授信总额：205,088.00；已使用情况：205,088.00；剩余额度：0.00"
        in rows
    )
    assert sum(row.startswith("序号：") for row in rows) == 11


def test_table_text_leaves_the_page_text_but_the_prose_stays(rating_pdf: list[SourceDocument]) -> None:
    (page,) = [d for d in rating_pdf if not d.metadata.get("table")]
    assert "截至 2023 年 3 月末，发行人各类授信额度总额达 372.53 亿元" in page.text
    assert "徽商银行南京中山北路支行" not in page.text


def test_every_table_chunk_carries_the_column_names(rating_pdf: list[SourceDocument]) -> None:
    headers = {
        1: ("年份", "主体信用评级", "涵义", "评级机构", "评级展望"),
        2: ("序号", "金融机构名称", "剩余额度"),
    }
    splitter = ChineseSentenceSplitter(chunk_size=120, chunk_overlap=20)
    for document in tables_of(rating_pdf):
        chunks = splitter.split("kb", [document])
        assert len(chunks) == 1  # atomic: rows are never cut away from their header
        for row in chunks[0].text.split("\n"):
            assert all(f"{name}：" in row for name in headers[document.metadata["table_number"]])


def test_broker_report_striped_table_gives_rows() -> None:
    rows = [row for d in tables_of(load(BROKER)) for row in d.text.split("\n")]
    # The column header (the years) is on the report's previous page, so the columns are numbered.
    assert "列1：短期借款；列2：878；列3：727；列4：1,923；列5：4,449；列6：5,045；列7：4,588" in rows
    assert len(rows) >= 30


def test_prose_pdfs_are_read_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    report, wikipedia = load(REPORT), load(WIKIPEDIA)
    monkeypatch.setattr(pdf_module, "find_tables", lambda page, textpage: [])
    assert not tables_of(report)
    assert [d.text for d in report] == [d.text for d in load(REPORT)]
    # Page 1 of the Wikipedia print holds a real ruled table (a timeline); the other pages are prose.
    assert {d.page for d in tables_of(wikipedia)} == {1}
    plain = {d.page: d.text for d in load(WIKIPEDIA)}
    assert all(d.text == plain[d.page] for d in wikipedia if d.page != 1)
