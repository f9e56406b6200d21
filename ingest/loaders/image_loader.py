"""Image loader: the text of a photo or scan (.png, .jpg, .tif, ...) by OCR with Tesseract."""

from __future__ import annotations

import logging
from pathlib import Path

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.ingest.cleaning import join_wrapped_lines
from kb_app.ingest.ocr import TesseractOcr
from kb_app.schema import SourceDocument

logger = logging.getLogger(__name__)


class ImageLoader:
    """One SourceDocument per image page (page=None; 1, 2, ... for the pages of a multi-page TIFF).

    Args:
        ocr_engine: The OCR engine (default: `TesseractOcr()` with Simplified Chinese).
    """

    extensions: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

    def __init__(self, ocr_engine: TesseractOcr | None = None) -> None:
        self.ocr_engine = ocr_engine or TesseractOcr()

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Recognise the text of `path`.

        Raises:
            OcrUnavailable: tesseract or its Chinese language data is not installed.
            OcrTimeout: recognition took too long.
            CorruptDocument: the file is not a readable image.
            EmptyDocument: no text was recognised.
        """
        try:
            pages = self.ocr_engine.recognize(path)
        except CorruptDocument as error:
            raise CorruptDocument(
                f"'{source}': {error}; save it again as PNG or JPEG and upload again."
            ) from error
        multi_page = len(pages) > 1
        documents = [
            SourceDocument(
                text=join_wrapped_lines(text),
                source=source,
                page=number if multi_page else None,
                metadata={"ocr": True},
            )
            for number, text in enumerate(pages, start=1)
            if text.strip()
        ]
        if not documents:
            raise EmptyDocument(f"No text was recognised in the image '{source}'; nothing to index.")
        logger.debug("%s: %d characters recognised", source, sum(len(d.text) for d in documents))
        return documents
