"""Spreadsheet loader (.xlsx/.xls/.csv) and content-based loader routing, on real and generated files."""

from __future__ import annotations

import datetime
import struct
import zipfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from kb_app.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from kb_app.ingest.loaders import loader_for
from kb_app.ingest.loaders.docx_loader import DocxLoader
from kb_app.ingest.loaders.pdf import PdfLoader
from kb_app.ingest.loaders.spreadsheet import SpreadsheetLoader
from kb_app.ingest.loaders.tabular import format_cell
from kb_app.ingest.splitters import ChineseSentenceSplitter
from kb_app.schema import SourceDocument

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs"
SOP = DOCS / "bisheng" / "sopexample.xlsx"
CLOSED_XLSX = DOCS / "langchain-chatchat" / "langchain-ChatGLM_closed.xlsx"
CLOSED_CSV = DOCS / "langchain-chatchat" / "langchain-ChatGLM_closed.csv"
OPEN_XLSX = DOCS / "langchain-chatchat" / "langchain-ChatGLM_open.xlsx"
PDF = DOCS / "llm-cookbook" / "人工智能.pdf"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test document not found: {path}")
    return path


def load(path: Path, **options: Any) -> list[SourceDocument]:
    return SpreadsheetLoader(**options).load(path, path.name)


def make_xlsx(path: Path, sheets: dict[str, list[list[Any]]], merges: tuple[str, ...] = ()) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cells in merges:
            sheet.merge_cells(cells)
    book.save(path)
    return path


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _unicode(text: str, length_format: str = "<B") -> bytes:
    return struct.pack(length_format, len(text)) + b"\x01" + text.encode("utf-16-le")


def make_xls(path: Path, name: str, cells: list[tuple[int, int, Any]], merges: list[tuple[int, ...]]) -> Path:
    """A minimal BIFF8 workbook stream (no OLE wrapper, which xlrd accepts), as nothing here writes .xls.

    Cells: (row, col, value) with str, float, bool, or ("date", Excel serial number); 0-based.
    Merges: (first row, last row, first col, last col), inclusive.
    """
    bof = struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 6)
    font = _record(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + _unicode("Arial"))
    xfs = b"".join(
        _record(0x00E0, struct.pack("<HHHBBBBIIH", 0, f, 0, 0x20, 0, 0, 0, 0, 0, 0x20C0)) for f in (0, 14)
    )
    head = (
        _record(0x0809, bof)
        + _record(0x0042, struct.pack("<H", 1200))
        + _record(0x0022, b"\0\0")
        + font * 5
        + xfs
    )
    body = _record(0x0809, bof[:2] + struct.pack("<H", 0x0010) + bof[4:])
    body += _record(0x0200, struct.pack("<IIHHH", 0, max(r for r, _, _ in cells) + 1, 0, 8, 0))
    for row, col, value in cells:
        if isinstance(value, bool):
            body += _record(0x0205, struct.pack("<HHHBB", row, col, 0, int(value), 0))
        elif isinstance(value, tuple):
            body += _record(0x0203, struct.pack("<HHHd", row, col, 1, value[1]))
        elif isinstance(value, float):
            body += _record(0x0203, struct.pack("<HHHd", row, col, 0, value))
        else:
            body += _record(0x0204, struct.pack("<HHH", row, col, 0) + _unicode(value, "<H"))
    body += _record(
        0x00E5, struct.pack("<H", len(merges)) + b"".join(struct.pack("<HHHH", *m) for m in merges)
    )
    body += _record(0x000A)
    sheet_record_size = len(_record(0x0085, b"\0" * 6 + _unicode(name)))
    offset = len(head) + sheet_record_size + 4
    path.write_bytes(
        head + _record(0x0085, struct.pack("<IBB", offset, 0, 0) + _unicode(name)) + _record(0x000A) + body
    )
    return path


# --- real files -----------------------------------------------------------------------------------


def test_sop_workbook_keeps_long_markdown_cells_as_single_row_documents() -> None:
    documents = load(need(SOP))
    assert [(d.metadata["first_row"], d.metadata["last_row"]) for d in documents] == [
        (n, n) for n in range(2, 9)
    ]
    for document in documents:
        assert document.page is None and document.heading_path == ("linsight_sop",)
        assert document.metadata["sheet"] == "linsight_sop" and document.metadata["atomic"] is False
        assert (
            document.text.startswith("名称：")
            and "；描述：" in document.text
            and "；详细内容：# " in document.text
        )
    assert "\n## 1. 概述\n" in documents[0].text  # the cell's Markdown keeps its lines
    chunks = ChineseSentenceSplitter(chunk_size=300, chunk_overlap=50).split("kb", documents)
    assert len(chunks) > 3 * len(documents) and all(len(c.text) <= 300 for c in chunks)


def test_closed_issues_csv_and_xlsx_give_the_same_records() -> None:
    from_xlsx, from_csv = load(need(CLOSED_XLSX)), load(need(CLOSED_CSV))
    assert len(from_xlsx) == len(from_csv) > 100
    assert from_xlsx[0].text.startswith(
        "列1：0；title：加油~以及一些建议；file：2023-03-31.0002；url：https://"
    )
    for x, c in zip(from_xlsx[:12], from_csv[:12], strict=True):
        assert x.text == c.text
        assert (x.metadata["first_row"], x.metadata["last_row"]) == (
            c.metadata["first_row"],
            c.metadata["last_row"],
        )
    by_row = {d.metadata["first_row"]: d.text for d in from_csv}
    # Row 21 holds a quoted field with commas: the CSV must not be cut at them.
    assert "detail：Hi Panda, I saw the `pip install" in by_row[21] and "列7" not in by_row[21]
    same = sum(x.text == c.text for x, c in zip(from_xlsx, from_csv, strict=True))
    assert same >= len(from_xlsx) - 2  # the CSV export lost an emoji in one row
    assert from_xlsx[0].heading_path == ("Sheet1",) and from_csv[0].heading_path == ()


def test_open_issues_rows_are_grouped_whole_and_in_order() -> None:
    documents = load(need(OPEN_XLSX))
    spans = [(d.metadata["first_row"], d.metadata["last_row"]) for d in documents]
    assert spans[0][0] == 2 and all(a <= b for a, b in spans)
    assert all(next_first > last for (_, last), (next_first, _) in pairwise(spans))
    for document in documents:
        assert document.metadata["atomic"] == (len(document.text) <= 300)
        lines = document.text.split("\n") if document.metadata["atomic"] else [document.text]
        assert all(line.startswith("列1：") for line in lines)
    assert any(d.metadata["last_row"] > d.metadata["first_row"] for d in documents)


# --- generated workbooks --------------------------------------------------------------------------


def test_values_are_rendered_as_a_reader_sees_them(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        [None, None],
        ["日期", "数量", "单价", "时间", None, "通过"],
        [datetime.datetime(2024, 1, 1), 3.0, 2.5, datetime.datetime(2024, 1, 2, 8, 30), "", True, "多余"],
    ]
    path = make_xlsx(tmp_path / "values.xlsx", {"数据": rows})
    [document] = load(path)
    assert (
        document.text
        == "日期：2024-01-01；数量：3；单价：2.5；时间：2024-01-02 08:30:00；通过：TRUE；列7：多余"
    )
    assert (document.metadata["first_row"], document.metadata["last_row"]) == (3, 3)
    assert format_cell(0.1 + 0.2) == "0.3" and format_cell(datetime.date(2024, 5, 6)) == "2024-05-06"


def test_merged_cells_fill_their_range_and_formulas_give_cached_values(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["部门", "姓名", "季度", None],
        ["研发部", "张三", "Q1", "=1+1"],
        [None, "李四", "Q2", None],
    ]
    path = make_xlsx(tmp_path / "merged.xlsx", {"人员": rows}, merges=("A2:A3", "C1:D1"))
    with zipfile.ZipFile(path) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<f>1+1</f><v></v>", b"<f>1+1</f><v>42</v>")  # Excel's cached result
    with zipfile.ZipFile(path, "w") as package:
        for name, data in parts.items():
            package.writestr(name, data)
    [document] = load(path)
    assert document.text == "部门：研发部；姓名：张三；季度：Q1；季度：42\n部门：研发部；姓名：李四；季度：Q2"


def test_rows_are_grouped_up_to_the_limit_and_long_rows_stand_alone(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["编号", "内容"]] + [[n, f"第{n}行的内容"] for n in range(1, 61)]
    rows.insert(31, [999, "很长的一行。" * 100])
    path = make_xlsx(tmp_path / "long.xlsx", {"长表": rows, "空表": [], "第二张": [["名称"], ["苹果"]]})
    documents = load(path, group_chars=120)
    grouped = [d for d in documents if d.metadata["atomic"]]
    [long_row] = [d for d in documents if not d.metadata["atomic"]]
    assert long_row.metadata["first_row"] == long_row.metadata["last_row"] == 32
    assert all(
        len(d.text) <= 120 and d.text.count("\n") + 1 == d.metadata["last_row"] - d.metadata["first_row"] + 1
        for d in grouped
    )
    texts = "\n".join(d.text for d in documents if d.heading_path == ("长表",))
    assert texts.count("编号：") == 61 and "编号：30；内容：第30行的内容\n编号：999" in texts
    assert documents[-1].heading_path == ("第二张",) and documents[-1].text == "名称：苹果"
    chunks = ChineseSentenceSplitter(chunk_size=120, chunk_overlap=20).split("kb", documents)
    texts_of_chunks = [c.text for c in chunks]
    assert all(d.text in texts_of_chunks for d in documents if d.metadata["atomic"])  # groups stay whole
    assert len(chunks) > len(documents)  # while the long row is split


def test_csv_in_gbk_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("城市;人口（万）\r\n北京;2185\r\n上海;2487\r\n".encode("gbk"))
    [document] = load(path)
    assert document.text == "城市：北京；人口（万）：2185\n城市：上海；人口（万）：2487"
    assert (document.metadata["first_row"], document.metadata["last_row"]) == (2, 3)


def test_xls_values_dates_and_merges(tmp_path: Path) -> None:
    cells: list[tuple[int, int, Any]] = [(0, 0, "部门"), (0, 1, "金额"), (0, 2, "日期"), (0, 3, "通过")]
    cells += [(1, 0, "研发部"), (1, 1, 12.0), (1, 2, ("date", 45292.0)), (1, 3, True)]
    cells += [(2, 1, 3.5), (2, 2, ("date", 45293.5))]
    path = make_xls(tmp_path / "old.xls", "数据", cells, merges=[(1, 2, 0, 0)])
    [document] = loader_for(path).load(path, path.name)
    assert document.heading_path == ("数据",)
    assert document.text.split("\n") == [
        "部门：研发部；金额：12；日期：2024-01-01；通过：TRUE",
        "部门：研发部；金额：3.5；日期：2024-01-02 12:00:00",
    ]


# --- damaged and empty files ----------------------------------------------------------------------


def test_damaged_workbooks_are_corrupt(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(need(CLOSED_XLSX).read_bytes()[:15000])
    garbage_xls = tmp_path / "garbage.xls"
    garbage_xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 10)
    not_excel = tmp_path / "words.xlsx"
    with zipfile.ZipFile(not_excel, "w") as package:
        package.writestr("word/document.xml", "<document/>")
    for path, message in [
        (truncated, "damaged"),
        (garbage_xls, r"\.xls"),
        (not_excel, "Word document"),
    ]:
        with pytest.raises(CorruptDocument, match=message):
            load(path)
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(EncryptedDocument, match="password"):
        load(locked)


def test_zip_bomb_is_refused_before_opening(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "bomb.xlsx", {"表": [["列"], ["值" * 5000]]})
    with pytest.raises(CorruptDocument, match="zip bomb"):
        load(path, max_unpacked_bytes=10_000)
    assert load(path)  # the default limit (500 MB) lets it through


@pytest.mark.parametrize("content", [b"", b"\r\n,,\r\n"])
def test_empty_spreadsheets(tmp_path: Path, content: bytes) -> None:
    csv_path = tmp_path / "empty.csv"
    csv_path.write_bytes(content)
    with pytest.raises(EmptyDocument):
        load(csv_path)
    with pytest.raises(EmptyDocument):
        load(make_xlsx(tmp_path / "empty.xlsx", {"空": [[None, ""]]}))


# --- routing by content ---------------------------------------------------------------------------


def test_registry_routes_spreadsheets_and_files_with_lying_extensions(tmp_path: Path) -> None:
    workbook = make_xlsx(tmp_path / "real.xlsx", {"表": [["名称"], ["值"]]})
    for name in ("a.xlsx", "b.XLSM", "c.xls", "d.csv"):
        assert isinstance(loader_for(tmp_path / name), SpreadsheetLoader)  # not on disk: by extension
    disguised = tmp_path / "report.docx"
    disguised.write_bytes(workbook.read_bytes())
    assert isinstance(loader_for(disguised), SpreadsheetLoader)
    assert loader_for(disguised).load(disguised, disguised.name)[0].text == "名称：值"
    as_csv = tmp_path / "export.csv"
    as_csv.write_bytes(workbook.read_bytes())
    assert loader_for(as_csv).load(as_csv, as_csv.name)[0].text == "名称：值"
    pdf_as_xlsx = tmp_path / "scan.xlsx"
    pdf_as_xlsx.write_bytes(need(PDF).read_bytes())
    assert isinstance(loader_for(pdf_as_xlsx), PdfLoader)
    text_as_docx = tmp_path / "notes.docx"
    text_as_docx.write_text("这其实是纯文本。", encoding="utf-8")
    with pytest.raises(CorruptDocument, match="really plain text"):
        loader_for(text_as_docx)
    mentions_pdf = tmp_path / "notes.md"
    mentions_pdf.write_text("# 格式\n文件头是 %PDF-1.7。", encoding="utf-8")
    assert not isinstance(loader_for(mentions_pdf), PdfLoader)
    assert isinstance(loader_for(tmp_path / "x.docx"), DocxLoader)
