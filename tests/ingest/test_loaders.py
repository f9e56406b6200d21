"""Loaders, the loader registry and the shared cleaning functions, on real and generated files."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kb_app.errors import CorruptDocument, EmptyDocument, EncryptedDocument, UnsupportedFileType
from kb_app.ingest.cleaning import (
    collapse_spaced_cjk,
    join_wrapped_lines,
    remove_control_chars,
    strip_repeated_lines,
)
from kb_app.ingest.loaders import loader_for, supported_extensions
from kb_app.ingest.loaders.docx_loader import DocxLoader
from kb_app.ingest.loaders.pdf import PdfLoader
from kb_app.ingest.loaders.text import MarkdownLoader, TextLoader
from kb_app.protocols import Loader

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs"
BEIJING = DOCS / "llm-cookbook" / "2024年北京市政府工作报告.pdf"
WIKI_AI = DOCS / "llm-cookbook" / "人工智能.pdf"
SCANNED = DOCS / "mineru" / "small_ocr.pdf"
VMERGE_DOCX = DOCS / "weknora" / "issue_2634_vertical_merge.docx"
MINERU_DOCX = DOCS / "mineru" / "docx_01.docx"
LLM_DOCX = DOCS / "llm-cookbook" / "大语言模型原理简介及高校训练实践.docx"
HANZI = re.compile(r"[\u4e00-\u9fff]")


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test document not found: {path}")
    return path


# --- cleaning -------------------------------------------------------------------------------------


def test_join_wrapped_lines_joins_chinese_without_space_and_english_with_one() -> None:
    chinese = "这是一个很长的句子，被排版软件在中间\n折行了，后面还有内容。\n"
    assert join_wrapped_lines(chinese) == "这是一个很长的句子，被排版软件在中间折行了，后面还有内容。"
    assert (
        join_wrapped_lines("This English sentence was\nwrapped too.")
        == "This English sentence was wrapped too."
    )
    assert join_wrapped_lines("模型名为\nGPT-4 的系统") == "模型名为GPT-4 的系统"
    assert join_wrapped_lines("well-\nknown") == "well-known"


def test_join_wrapped_lines_keeps_paragraph_and_list_breaks() -> None:
    text = "主要做了以下工作：\n1. 第一项工作内容\n2. 第二项\n（三）第三项\n一、标题\n• 要点\n\n新段落"
    assert join_wrapped_lines(text).split("\n") == [
        "主要做了以下工作：",
        "1. 第一项工作内容",
        "2. 第二项",
        "（三）第三项",
        "一、标题",
        "• 要点",
        "新段落",
    ]


def test_join_wrapped_lines_does_not_treat_decimals_as_list_items() -> None:
    text = "全市新设企业增长\n20.3%，总数突破 211 万户。"
    assert join_wrapped_lines(text) == "全市新设企业增长20.3%，总数突破 211 万户。"


def test_short_line_ends_a_paragraph() -> None:
    full = "这一行是排满了整整一行的正文文字内容用来确定满行宽度"
    text = f"{full}\n{full}\n{full}\n短标题\n{full}\n{full}"
    assert join_wrapped_lines(text).split("\n") == [full * 3 + "短标题", full * 2]
    text = f"一、短标题\n{full}\n{full}\n{full}\n{full}"
    assert join_wrapped_lines(text).split("\n")[0] == "一、短标题"


def test_remove_control_chars() -> None:
    assert remove_control_chars("a\x00b\x07c\r\nd\u200be\rf\tg\x83") == "abc\nde\nf\tg"


def test_collapse_spaced_cjk() -> None:
    assert collapse_spaced_cjk("开 票 通 知 单") == "开票通知单"
    assert collapse_spaced_cjk("中国 北京 Beijing") == "中国 北京 Beijing"


def test_strip_repeated_lines_removes_running_headers_and_page_numbers() -> None:
    pages = [f"内部资料 第{n}版\n正文第{n}页的内容。\n其他内容{n}。\n- {n} -" for n in range(1, 5)]
    cleaned = strip_repeated_lines(pages)
    for n, page in enumerate(cleaned, start=1):
        assert page.split("\n") == [f"正文第{n}页的内容。", f"其他内容{n}。"]


def test_strip_repeated_lines_keeps_headers_of_short_documents_but_drops_page_numbers() -> None:
    pages = ["页眉\n正文一。\n第1页", "页眉\n正文二。\n2/2"]
    assert strip_repeated_lines(pages) == ["页眉\n正文一。", "页眉\n正文二。"]


# --- registry -------------------------------------------------------------------------------------


def test_supported_extensions() -> None:
    assert {".txt", ".md", ".markdown", ".pdf", ".docx"} <= set(supported_extensions())


@pytest.mark.parametrize(
    ("name", "loader_class"),
    [("a.TXT", TextLoader), ("b.md", MarkdownLoader), ("c.Pdf", PdfLoader), ("d.docx", DocxLoader)],
)
def test_loader_for_by_extension(tmp_path: Path, name: str, loader_class: type) -> None:
    loader = loader_for(tmp_path / name)
    assert isinstance(loader, loader_class)
    assert isinstance(loader, Loader)


def test_loader_for_sniffs_content_when_extension_is_unknown(tmp_path: Path) -> None:
    pdf = tmp_path / "report.bin"
    pdf.write_bytes(b"%PDF-1.7\n% rest of a pdf")
    docx = tmp_path / "letter"
    _make_docx(docx, ["你好"])
    text = tmp_path / "notes.log"
    text.write_text("日志内容", encoding="gbk")
    assert isinstance(loader_for(pdf), PdfLoader)
    assert isinstance(loader_for(docx), DocxLoader)
    assert isinstance(loader_for(text), TextLoader)


def test_loader_for_rejects_unknown_binary_naming_supported_types(tmp_path: Path) -> None:
    blob = tmp_path / "firmware.bin"
    blob.write_bytes(b"\x7fELF" + bytes(range(256)) * 20)
    with pytest.raises(UnsupportedFileType, match=r"\.docx.*\.pdf"):
        loader_for(blob)
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("content.xml", "<office/>")
    with pytest.raises(UnsupportedFileType):
        loader_for(archive)


def test_choosing_loaders_imports_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from kb_app.ingest.loaders import loader_for; "
        "[loader_for(Path(name)) for name in ('a.pdf', 'b.docx', 'c.md')]; "
        "import kb_app.ingest.splitters; "
        "print(sorted({'pypdfium2', 'docx', 'charset_normalizer'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_sniffing_a_long_text_file_cut_inside_a_character(tmp_path: Path) -> None:
    path = tmp_path / "long"
    path.write_bytes(("中文内容" * 6000).encode("utf-8")[1:])  # starts inside a UTF-8 sequence
    assert isinstance(loader_for(path), TextLoader)


# --- text and markdown ----------------------------------------------------------------------------


def test_text_loader_reads_gbk_as_one_document(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("第一行中文。\r\n第二行中文。\r\n".encode("gbk"))
    [document] = TextLoader().load(path, "gbk.txt")
    assert document.text == "第一行中文。\n第二行中文。"
    assert (document.source, document.page, document.heading_path) == ("gbk.txt", None, ())
    assert document.metadata["encoding"] == "gb18030"


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  ", "\u3000\n".encode()])
def test_empty_text_file_is_empty_document(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(EmptyDocument):
        TextLoader().load(path, "empty.txt")


def test_binary_text_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "binary.txt"
    path.write_bytes(b"\x00\x01\x02abc\x00\x00\x00" * 100)
    with pytest.raises(CorruptDocument, match="not a text file"):
        TextLoader().load(path, "binary.txt")


def test_markdown_sections_carry_heading_paths(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(
        "前言文字。\n# 第一章\n概述。\n## 1.1 背景\n背景内容。\n```python\n# 不是标题\n```\n"
        "### 细节 ###\n细节内容。\n## 1.2 空节\n#第二章\n结尾。\n#hashtag 不是标题\n",
        encoding="utf-8",
    )
    documents = MarkdownLoader().load(path, "doc.md")
    assert [d.heading_path for d in documents] == [
        (),
        ("第一章",),
        ("第一章", "1.1 背景"),
        ("第一章", "1.1 背景", "细节"),
        ("第二章",),
    ]
    assert "# 不是标题" in documents[2].text
    assert documents[3].text == "细节\n细节内容。"
    assert all(d.page is None for d in documents)


def test_real_markdown_file() -> None:
    path = need(DOCS / "langchain-chatchat" / "md" / "大模型推理优化策略.md")
    documents = loader_for(path).load(path, path.name)
    assert documents
    assert all(d.heading_path[:1] == ("大模型推理优化策略",) for d in documents)
    assert "PagedAttention" in "".join(d.text for d in documents)


# --- pdf ------------------------------------------------------------------------------------------


def _raw_pdf_pages(path: Path) -> list[str]:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_bounded().replace("\r\n", "\n") for i in range(len(pdf))]
    finally:
        pdf.close()


def test_beijing_report_pages_and_joined_lines() -> None:
    path = need(BEIJING)
    documents = PdfLoader().load(path, path.name)
    assert [d.page for d in documents] == list(range(1, 14))
    assert all(d.source == path.name for d in documents)
    # The raw text layer wraps "……请市政协委员提出" / "意见。"; the loader must rejoin it.
    assert "请市政协委员提出\n意见" in _raw_pdf_pages(path)[0]
    assert "请市政协委员提出意见。" in documents[0].text
    joined = total = 0
    for raw, document in zip(_raw_pdf_pages(path), documents, strict=True):
        lines = [line.strip() for line in raw.split("\n")]
        for left, right in itertools.pairwise(lines):
            if left and right and HANZI.match(left[-1]) and HANZI.match(right[0]):
                total += 1
                joined += left[-6:] + right[:6] in document.text
                assert left[-6:] + " " + right[:6] not in document.text
    assert total > 200
    assert joined / total > 0.95  # the rest are headings, which keep their own line


def test_wikipedia_print_loses_running_headers() -> None:
    path = need(WIKI_AI)
    documents = PdfLoader().load(path, path.name)
    assert [d.page for d in documents if not d.metadata.get("table")] == list(range(1, 8))
    for document in documents:
        assert "zh.wikipedia.org/wiki" not in document.text
        assert "维基百科，自由的百科全书" not in document.text
    assert "人工智能（英语：artificial intelligence" in documents[0].text


def test_scanned_pdf_is_empty_document_only_without_ocr() -> None:
    # With OCR (the default) its pages are recognised: see tests/ingest/test_ocr.py.
    path = need(SCANNED)
    with pytest.raises(EmptyDocument, match="OCR"):
        PdfLoader(ocr=False).load(path, path.name)


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    data = need(BEIJING).read_bytes()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDocument):
        PdfLoader().load(broken, "broken.pdf")


def test_not_a_pdf_is_corrupt(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_text("just text", encoding="utf-8")
    with pytest.raises(CorruptDocument):
        PdfLoader().load(fake, "fake.pdf")


def test_encrypted_pdf(tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf writes the encrypted test PDF")
    writer = pypdf.PdfWriter(clone_from=str(need(BEIJING)))
    writer.encrypt("secret", algorithm="RC4-128")  # RC4 needs no crypto library
    buffer = io.BytesIO()
    writer.write(buffer)
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(buffer.getvalue())
    with pytest.raises(EncryptedDocument, match="password"):
        PdfLoader().load(locked, "locked.pdf")


# --- docx -----------------------------------------------------------------------------------------


def _make_docx(path: Path, paragraphs: list[str]) -> None:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))


def test_docx_headings_tables_and_order(tmp_path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.add_paragraph("封面说明")
    document.add_heading("总则", level=1)
    document.add_paragraph("第一段。")
    table = document.add_table(rows=3, cols=3)
    for row, values in enumerate(
        [("姓名", "部门", "电话"), ("张三", "研发部", "1001"), ("李四", "", "1002")]
    ):
        for column, value in enumerate(values):
            table.cell(row, column).text = value
    document.add_paragraph("表后段落。")
    document.add_heading("细则", level=2)
    document.add_paragraph("细则内容。")
    chinese_heading = document.styles.add_style("标题 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("附录", style=chinese_heading)
    document.add_paragraph("附录内容。")
    path = tmp_path / "rules.docx"
    document.save(str(path))

    sections = DocxLoader().load(path, "rules.docx")
    assert [s.heading_path for s in sections] == [(), ("总则",), ("总则", "细则"), ("附录",)]
    assert sections[1].text.split("\n") == [
        "总则",
        "第一段。",
        "姓名：张三；部门：研发部；电话：1001",
        "姓名：李四；电话：1002",
        "表后段落。",
    ]
    assert all(s.page is None for s in sections)


def test_docx_horizontal_merge_is_deduplicated(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    for column, value in enumerate(("项目", "说明", "备注")):
        table.cell(0, column).text = value
    table.cell(1, 0).merge(table.cell(1, 1)).text = "合并单元格"
    table.cell(1, 2).text = "无"
    path = tmp_path / "merged.docx"
    document.save(str(path))
    [section] = DocxLoader().load(path, "merged.docx")
    assert section.text == "项目：合并单元格；备注：无"


def test_docx_vertical_merge_repeats_value_in_each_row() -> None:
    path = need(VMERGE_DOCX)
    [section] = DocxLoader().load(path, path.name)
    assert section.heading_path == ("遗传病检测项目表",)
    rows = [line for line in section.text.split("\n") if line.startswith("项目编号：")]
    assert [row.split("；")[0] for row in rows] == [f"项目编号：Q010{n}" for n in range(1, 5)]
    assert all("检测方法：检测方法：提取外周血基因组 DNA" in row for row in rows)
    # Equal neighbours that are not merged cells stay.
    assert "列A：相同值；列B：相同值；列C：独立值" in section.text


def test_docx_real_documents() -> None:
    mineru = DocxLoader().load(need(MINERU_DOCX), MINERU_DOCX.name)
    paths = [s.heading_path for s in mineru]
    assert any(p[-2:] == ("Many Tables", "Table with rich cells") for p in paths)
    assert all("\t" not in title for p in paths for title in p)
    assert not any(re.search(r"\t(iii|iv)$", line) for s in mineru for line in s.text.split("\n"))
    [llm] = DocxLoader().load(need(LLM_DOCX), LLM_DOCX.name)
    assert llm.heading_path == ("大语言模型原理简介及高校训练实践",)
    assert "Transformer" in llm.text and "3.伦理问题" in llm.text


def test_docx_corrupt_and_encrypted(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.docx"
    garbage.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(CorruptDocument):
        DocxLoader().load(garbage, garbage.name)
    not_word = tmp_path / "not_word.docx"
    with zipfile.ZipFile(not_word, "w") as package:
        package.writestr("hello.txt", "hi")
    with pytest.raises(CorruptDocument):
        DocxLoader().load(not_word, not_word.name)
    locked = tmp_path / "locked.docx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(EncryptedDocument, match="password"):
        DocxLoader().load(locked, locked.name)


def test_docx_without_text_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.docx"
    _make_docx(path, ["", "   "])
    with pytest.raises(EmptyDocument):
        DocxLoader().load(path, path.name)
