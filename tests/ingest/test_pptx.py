"""PowerPoint loader: slides in reading order, tables, groups, notes, and damaged or text-less files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kb_app.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from kb_app.ingest.loaders import loader_for
from kb_app.ingest.loaders.pptx_loader import PptxLoader

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs"
MINERU_PPTX = DOCS / "mineru" / "pptx_01.pptx"
OCR_PPTX = DOCS / "langchain-chatchat" / "ocr" / "ocr_test.pptx"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test document not found: {path}")
    return path


def test_mineru_deck_one_document_per_slide() -> None:
    path = need(MINERU_PPTX)
    slides = loader_for(path).load(path, path.name)
    assert [s.page for s in slides] == [1, 2, 3, 4, 5, 6]
    assert [s.heading_path for s in slides] == [
        ("Test Table Slide",),
        ("Second slide title",),
        (),
        (),
        ("第5页标题",),
        ("多级列表和中断有序列表",),
    ]
    table_lines = slides[0].text.split("\n")
    assert table_lines[0] == "Test Table Slide" and "With footnote" in table_lines
    # The merged header "Class1" names all three columns under it; merged "R3" repeats on both its rows.
    assert "R1；Class1：True；Class1：False；Class2：False；Class2：True；Class2：True" in table_lines
    assert sum(line.startswith("R3；") for line in table_lines) == 2
    assert slides[1].text.endswith("And baz things\n备注：\nSome notes on the second slide.")
    third = slides[2].text
    # Five text boxes side by side with slightly different tops read left to right.
    order = [third.index(marker) for marker in ("List item4", "I1", "Some info:", "Maybe a list?", "l1")]
    assert order == sorted(order)
    assert third.endswith("备注：\nFinal notes on the third slide.\nSecond line of notes.")
    assert "普通文本框" in slides[3].text and slides[4].text == "第5页标题"


def test_ocr_fixture_reads_its_text_box_and_table() -> None:
    # The fixture is meant for OCR, but besides the picture it holds a real text box and a 2x2 table.
    path = need(OCR_PPTX)
    [slide] = PptxLoader().load(path, path.name)
    assert slide.text == "我是文字\n我是表格1：我是表格3；我是表格5：我是表格4"


def _build_deck(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    title_only, blank = deck.slide_layouts[5], deck.slide_layouts[6]
    first = deck.slides.add_slide(title_only)
    first.shapes.title.text = "季度 汇报"
    right = first.shapes.add_textbox(Inches(5), Inches(2), Inches(3), Inches(1))
    right.text_frame.text = "右边的文字"
    left = first.shapes.add_textbox(Inches(1), Inches(2.1), Inches(3), Inches(1))
    left.text_frame.text = "左边第一行\v左边第二行"
    group = first.shapes.add_group_shape()
    for top, text in ((Inches(6), "组内下方"), (Inches(5), "组内上方")):
        group.shapes.add_textbox(Inches(1), top, Inches(2), Inches(0.5)).text_frame.text = text
    table = first.shapes.add_table(3, 2, Inches(1), Inches(3), Inches(6), Inches(1.5)).table
    for (r, c), text in {(0, 0): "部门", (0, 1): "营收", (1, 0): "华东", (1, 1): "120", (2, 1): "80"}.items():
        table.cell(r, c).text = text
    table.cell(1, 0).merge(table.cell(2, 0))
    first.notes_slide.notes_text_frame.text = "讲到这里停顿。"
    deck.slides.add_slide(blank)  # no text at all: skipped
    third = deck.slides.add_slide(blank)
    third.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text_frame.text = "第三页"
    deck.save(str(path))
    return path


def test_generated_deck_with_table_group_and_notes(tmp_path: Path) -> None:
    first, third = PptxLoader().load(_build_deck(tmp_path / "deck.pptx"), "deck.pptx")
    assert first.page == 1 and first.heading_path == ("季度 汇报",)
    assert first.text.split("\n") == [
        "季度 汇报",
        "左边第一行",
        "左边第二行",
        "右边的文字",
        "部门：华东；营收：120",
        "部门：华东；营收：80",
        "组内上方",
        "组内下方",
        "备注：",
        "讲到这里停顿。",
    ]
    assert (third.page, third.heading_path, third.text) == (3, (), "第三页")


def test_picture_only_deck_is_empty(tmp_path: Path) -> None:
    from PIL import Image
    from pptx import Presentation
    from pptx.util import Inches

    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, format="PNG")
    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_picture(png, Inches(1), Inches(1))
    path = tmp_path / "pictures.pptx"
    deck.save(str(path))
    with pytest.raises(EmptyDocument, match="no text"):
        PptxLoader().load(path, path.name)


def test_damaged_locked_and_oversized_decks(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.pptx"
    truncated.write_bytes(need(MINERU_PPTX).read_bytes()[:20000])
    with pytest.raises(CorruptDocument, match="not a readable PowerPoint"):
        PptxLoader().load(truncated, truncated.name)
    locked = tmp_path / "locked.pptx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(EncryptedDocument, match="password"):
        PptxLoader().load(locked, locked.name)
    deck = _build_deck(tmp_path / "deck.pptx")
    with pytest.raises(CorruptDocument, match="zip bomb"):
        PptxLoader(max_unpacked_bytes=1000).load(deck, deck.name)
