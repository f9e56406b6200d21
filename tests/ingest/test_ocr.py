"""OCR with the tesseract program: scanned PDF pages, images, output clean-up and missing installs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.evaluation import passage_accuracy
from kb_app.ingest.loaders import loader_for
from kb_app.ingest.loaders.image_loader import ImageLoader
from kb_app.ingest.loaders.pdf import PdfLoader
from kb_app.ingest.loaders.pdf_ocr import has_usable_text, ocr_render_scale
from kb_app.ingest.ocr import OcrUnavailable, TesseractOcr, clean_ocr_text
from kb_app.schema import SourceDocument

DOCS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs"
SCANNED = DOCS / "mineru" / "small_ocr.pdf"
OCR_DIR = DOCS / "langchain-chatchat" / "ocr"
BEIJING = DOCS / "llm-cookbook" / "2024年北京市政府工作报告.pdf"
# Page 1 of small_ocr.pdf, second paragraph, typed by hand from the rendered page (footnote markers
# "(4)" and "(5)" left out). The book writes 金钢石.
PAGE_1_PASSAGE = (
    (Path(__file__).resolve().parents[1] / "data" / "small_ocr_page1.txt").read_text(encoding="utf-8").strip()
)

needs_tesseract = pytest.mark.usefixtures("tesseract_installed")


@pytest.fixture
def tesseract_installed() -> None:
    """OCR is a product feature, so a missing engine fails the test (the setup script installs it)."""
    if shutil.which("tesseract") is None:
        pytest.fail(
            "tesseract is missing: apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra"
        )


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test document not found: {path}")
    return path


def test_passage_accuracy_counts_edits() -> None:
    assert passage_accuracy("使用价值", "前文……使用价值，后文") == 1.0
    assert passage_accuracy("使用价值", "使用价植") == 0.75
    assert passage_accuracy("使用价值", "English only") == 0.0


def test_clean_ocr_text() -> None:
    assert clean_ocr_text("我 是 文 字\nEnglish text 与 中 文") == "我是文字\nEnglish text 与中文"
    assert clean_ocr_text("社会尺度, 也是这样; 对吗?\f") == "社会尺度，也是这样；对吗?"
    assert clean_ocr_text("  1696 年 伦敦版 ") == "1696 年伦敦版"


def test_has_usable_text() -> None:
    assert not has_usable_text("12\n")
    assert not has_usable_text("\ue000\ue001\ue002\ue003\ue004\ue005 ab cd")
    assert has_usable_text("这一页有足够的正文文字可以直接使用。")


def test_missing_tesseract_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr tesseract-ocr-chi-sim"):
        TesseractOcr().check()
    with pytest.raises(OcrUnavailable, match="tesseract"):
        PdfLoader().load(need(SCANNED), SCANNED.name)


@needs_tesseract
def test_missing_language_pack_is_named() -> None:
    with pytest.raises(OcrUnavailable, match=r"xx_missing.*apt-get install"):
        TesseractOcr(languages="chi_sim+xx_missing").check()


@pytest.fixture(scope="module")
def scanned_first_page() -> tuple[list[SourceDocument], list[tuple[int, int]]]:
    if shutil.which("tesseract") is None:
        pytest.fail(
            "tesseract is missing: apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra"
        )
    progress: list[tuple[int, int]] = []
    loader = PdfLoader(max_ocr_pages=1, on_page=lambda done, total: progress.append((done, total)))
    return loader.load(need(SCANNED), SCANNED.name), progress


def test_scanned_pdf_page_is_recognised(scanned_first_page: tuple[list[SourceDocument], list]) -> None:
    documents, progress = scanned_first_page
    assert [(d.page, d.metadata) for d in documents] == [(1, {"page_count": 8, "ocr": True})]
    assert progress == [(1, 1)]
    text = documents[0].text
    assert passage_accuracy(PAGE_1_PASSAGE, text) >= 0.95  # measured 0.99
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", text)  # no OCR spaces between hanzi


def test_render_scale_follows_the_scan_resolution() -> None:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(need(SCANNED)))
    blank = pypdfium2.PdfDocument.new()
    try:
        # The book's 1634-pixel-wide scans span its 1225.5-point-wide pages.
        assert ocr_render_scale(pdf[0]) == pytest.approx(1634 / 1225.5, rel=0.01)
        assert ocr_render_scale(blank.new_page(595, 842)) == pytest.approx(300 / 72)
    finally:
        pdf.close()
        blank.close()


@needs_tesseract
def test_blank_pages_are_skipped_and_text_pages_not_recognised(tmp_path: Path) -> None:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(need(BEIJING)))
    pdf.new_page(595, 842, index=0)
    mixed = tmp_path / "mixed.pdf"
    pdf.save(str(mixed))
    pdf.close()
    calls: list[tuple[int, int]] = []
    documents = PdfLoader(on_page=lambda done, total: calls.append((done, total))).load(mixed, "mixed.pdf")
    assert [d.page for d in documents] == list(range(2, 15))
    assert calls == [(1, 1)] and not any(d.metadata.get("ocr") for d in documents)
    blank = pypdfium2.PdfDocument.new()
    blank.new_page(595, 842)
    blank.new_page(595, 842)
    empty = tmp_path / "blank.pdf"
    blank.save(str(empty))
    blank.close()
    with pytest.raises(EmptyDocument, match="no text was recognised"):
        PdfLoader().load(empty, "blank.pdf")


@needs_tesseract
def test_image_file_is_recognised() -> None:
    path = need(OCR_DIR / "ocr_test.jpg")
    loader = loader_for(path)
    assert isinstance(loader, ImageLoader)
    [document] = loader.load(path, path.name)
    # The image holds a horizontal "横向文本框", a vertical "竖向文本框" (not read) and "English text".
    assert "横向文本框" in document.text and "English text" in document.text
    assert (document.page, document.metadata) == (None, {"ocr": True})


@needs_tesseract
def test_short_text_layer_is_kept_beside_the_recognised_picture() -> None:
    path = need(OCR_DIR / "ocr_test.pdf")
    [document] = PdfLoader().load(path, path.name)
    assert document.text.startswith("我是文字\n")  # the text layer
    assert "横向文本" in document.text and "English text" in document.text  # the picture
    assert document.metadata["ocr"] is True


@needs_tesseract
def test_broken_image_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really an image")
    assert isinstance(loader_for(path), ImageLoader)
    with pytest.raises(CorruptDocument, match=r"broken\.png"):
        ImageLoader().load(path, path.name)
