"""PDF loader: the text layer of each page via pypdfium2 (Apache-2.0/BSD; PyMuPDF is AGPL), OCR for scans."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kb_app.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from kb_app.ingest.cleaning import join_wrapped_lines, remove_control_chars, strip_repeated_lines
from kb_app.ingest.loaders.pdf_ocr import recognise_pages
from kb_app.ingest.loaders.pdf_tables import PageTable, find_tables, table_documents, text_outside
from kb_app.ingest.ocr import TesseractOcr
from kb_app.schema import SourceDocument

logger = logging.getLogger(__name__)

# PDFium marks a hyphen it found at a line end with U+0002; the hyphen is usually real ("fire-and-forget").
_PDFIUM_LINE_END_HYPHEN = "\x02"


class PdfLoader:
    """One SourceDocument per PDF page that has text, with 1-based page numbers.

    Chinese hard wraps are joined without spaces and running headers, footers and page numbers are
    removed (see `kb_app.ingest.cleaning`). Ruled tables become atomic documents of whole rows, each
    row with its column names (metadata `table=True`, see `pdf_tables`). A page without a usable
    text layer (a scan) is rendered and recognised with Tesseract (metadata `ocr=True`); pages
    without text even then are skipped.

    Args:
        ocr: Recognise pages without a text layer; when False they are skipped.
        max_ocr_pages: Recognise at most this many pages per file (None: all); the rest are skipped.
        on_page: Called as `on_page(done, total)` after each recognised page.
        ocr_engine: The OCR engine (default: `TesseractOcr()` with Simplified Chinese).
    """

    extensions: tuple[str, ...] = (".pdf",)

    def __init__(
        self,
        ocr: bool = True,
        max_ocr_pages: int | None = None,
        on_page: Callable[[int, int], None] | None = None,
        ocr_engine: TesseractOcr | None = None,
    ) -> None:
        self.ocr = ocr
        self.max_ocr_pages = max_ocr_pages
        self.on_page = on_page
        self.ocr_engine = ocr_engine or TesseractOcr()

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read the text layer of every page of `path`, recognising scanned pages.

        Raises:
            EncryptedDocument: the PDF needs a password to open.
            CorruptDocument: the file is damaged, truncated or not a PDF.
            OcrUnavailable: no page has a text layer and tesseract is not installed.
            EmptyDocument: no page has text, not even after OCR.
        """
        raw_pages, recognised, tables = self._read_pages(path, source)
        pages = strip_repeated_lines(raw_pages)
        documents = []
        for number, page_text in enumerate(pages, start=1):
            text = join_wrapped_lines(page_text)
            if text.strip():
                metadata: dict[str, Any] = {"page_count": len(raw_pages)}
                if number - 1 in recognised:
                    metadata["ocr"] = True
                documents.append(SourceDocument(text=text, source=source, page=number, metadata=metadata))
            for table in table_documents(tables.get(number - 1, []), source, number):
                documents.append(replace(table, metadata={**table.metadata, "page_count": len(raw_pages)}))
        if not documents:
            hint = "no text was recognised in its pages" if self.ocr else "text recognition (OCR) is off"
            raise EmptyDocument(
                f"'{source}' has no text layer ({hint}): it looks like a blank or unreadable scan. "
                "Upload a PDF with selectable text or a clearer scan."
            )
        logger.debug(
            "%s: %d of %d pages with text, %d by OCR", source, len(documents), len(raw_pages), len(recognised)
        )
        return documents

    def _read_pages(self, path: Path, source: str) -> tuple[list[str], set[int], dict[int, list[PageTable]]]:
        import pypdfium2
        import pypdfium2.raw as pdfium_c

        try:
            pdf = pypdfium2.PdfDocument(str(path))
        except pypdfium2.PdfiumError as error:
            if getattr(error, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
                raise EncryptedDocument(
                    f"'{source}' is password-protected; remove the password and upload again."
                ) from error
            raise CorruptDocument(
                f"'{source}' could not be read as a PDF (damaged, truncated or not a PDF): {error}. "
                "Open it in a PDF viewer, save a fresh copy and upload again."
            ) from error
        try:
            pages = [self._page_text(pdf, index) for index in range(len(pdf))]
            texts = [text for text, _ in pages]
            tables = {index: found for index, (_, found) in enumerate(pages) if found}
            recognised = {}
            if self.ocr:
                # A page that is all table has little text outside it, yet needs no OCR.
                layers = [
                    t + "".join(str(found.rows) for found in tables.get(i, [])) for i, t in enumerate(texts)
                ]
                recognised = recognise_pages(
                    pdf, layers, source, self.ocr_engine, self.max_ocr_pages, self.on_page
                )
            return [recognised.get(i, text) for i, text in enumerate(texts)], set(recognised), tables
        except pypdfium2.PdfiumError as error:
            raise CorruptDocument(
                f"'{source}' has a damaged page ({error}); save a fresh copy of the PDF and upload again."
            ) from error
        finally:
            pdf.close()

    @staticmethod
    def _page_text(pdf: Any, index: int) -> tuple[str, list[PageTable]]:
        page = pdf[index]
        textpage = page.get_textpage()
        try:
            tables = find_tables(page, textpage)
            # The table's text is in its rows; the rest of the page still goes through header removal.
            text = text_outside(textpage, [t.box for t in tables]) if tables else textpage.get_text_bounded()
        finally:
            textpage.close()
            page.close()
        return remove_control_chars(str(text).replace(_PDFIUM_LINE_END_HYPHEN, "-")), tables
