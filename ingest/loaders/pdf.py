"""PDF loader: the text layer of each page via pypdfium2 (Apache-2.0/BSD; PyMuPDF is AGPL)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kb_app.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from kb_app.ingest.cleaning import join_wrapped_lines, remove_control_chars, strip_repeated_lines
from kb_app.schema import SourceDocument

logger = logging.getLogger(__name__)

# PDFium marks a hyphen it found at a line end with U+0002; the hyphen is usually real ("fire-and-forget").
_PDFIUM_LINE_END_HYPHEN = "\x02"


class PdfLoader:
    """One SourceDocument per PDF page that has text, with 1-based page numbers.

    Chinese hard wraps are joined without spaces and running headers, footers and page numbers are
    removed (see `kb_app.ingest.cleaning`). Pages without text are skipped; a PDF without any text
    layer (a scan) raises EmptyDocument.
    """

    extensions: tuple[str, ...] = (".pdf",)

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read the text layer of every page of `path`.

        Raises:
            EncryptedDocument: the PDF needs a password to open.
            CorruptDocument: the file is damaged, truncated or not a PDF.
            EmptyDocument: no page has a text layer.
        """
        raw_pages = self._read_pages(path, source)
        pages = strip_repeated_lines(raw_pages)
        documents = []
        for number, page_text in enumerate(pages, start=1):
            text = join_wrapped_lines(page_text)
            if text.strip():
                metadata = {"page_count": len(raw_pages)}
                documents.append(SourceDocument(text=text, source=source, page=number, metadata=metadata))
        if not documents:
            raise EmptyDocument(
                f"'{source}' has no text layer: it looks like a scanned PDF. Text recognition (OCR) comes "
                "in a later version; until then upload a PDF with selectable text."
            )
        logger.debug("%s: %d of %d pages with text", source, len(documents), len(raw_pages))
        return documents

    def _read_pages(self, path: Path, source: str) -> list[str]:
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
            return [self._page_text(pdf, index) for index in range(len(pdf))]
        except pypdfium2.PdfiumError as error:
            raise CorruptDocument(
                f"'{source}' has a damaged page ({error}); save a fresh copy of the PDF and upload again."
            ) from error
        finally:
            pdf.close()

    @staticmethod
    def _page_text(pdf: Any, index: int) -> str:
        page = pdf[index]
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_bounded()
        finally:
            textpage.close()
            page.close()
        return remove_control_chars(str(text).replace(_PDFIUM_LINE_END_HYPHEN, "-"))
