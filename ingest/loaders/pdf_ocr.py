"""OCR of the PDF pages that have no usable text layer: which pages, at what resolution, and merging."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kb_app.errors import CorruptDocument
from kb_app.ingest.ocr import OcrTimeout, OcrUnavailable, TesseractOcr

logger = logging.getLogger(__name__)

# A text layer this short (a scan with only a page number as text) or mostly unmappable glyphs
# (private-use characters, U+FFFD from fonts without a Unicode map) is replaced by OCR.
_MIN_TEXT_CHARS = 10
_MAX_GARBAGE_SHARE = 0.5
# Render scanned pages at the resolution of their scan: measured on a 96-dpi book scan, upsampling to
# 300 dpi was 2.7x slower and less accurate (0.976 vs 0.992). The longest side stays within these pixel
# bounds; a page without images (text drawn as outlines) is rendered at 300 dpi.
_MIN_PIXELS = 1600
_MAX_PIXELS = 4000
_NO_IMAGE_DPI = 300


def _is_garbage(text: str) -> bool:
    chars = [char for char in text if not char.isspace()]
    garbage = sum(1 for char in chars if char == "\ufffd" or "\ue000" <= char <= "\uf8ff")
    return garbage > _MAX_GARBAGE_SHARE * len(chars)


def has_usable_text(text: str) -> bool:
    """True when a page's text layer is worth keeping rather than recognising the page image."""
    return len("".join(text.split())) >= _MIN_TEXT_CHARS and not _is_garbage(text)


def merge_page_text(layer: str, recognised: str) -> str:
    """A short text layer (a caption over a picture) is kept before the OCR text unless OCR repeats it."""
    layer_key, recognised_key = "".join(layer.split()), "".join(recognised.split())
    if not recognised_key or layer_key == recognised_key:
        return layer
    if not layer_key or _is_garbage(layer) or layer_key in recognised_key:
        return recognised
    return f"{layer.strip()}\n{recognised}"


def ocr_render_scale(page: Any) -> float:
    """The pypdfium2 render scale for OCR of `page`: its largest image's own resolution, bounded."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    scales = []
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        left, bottom, right, top = image.get_bounds()
        pixels_wide, pixels_high = image.get_px_size()
        if right > left and top > bottom:  # area-based, so that a rotated scan gives the same answer
            scales.append(((pixels_wide * pixels_high) / ((right - left) * (top - bottom))) ** 0.5)
    scale = max(scales) if scales else _NO_IMAGE_DPI / 72
    longest = max(width, height)
    return float(min(max(scale, _MIN_PIXELS / longest), _MAX_PIXELS / longest))


def render_page_for_ocr(page: Any, scale: float | None = None) -> bytes:
    """A pypdfium2 page as a greyscale PGM image (read by tesseract without an encoder library).

    Args:
        page: The page.
        scale: Render scale (1 = 72 dpi); default `ocr_render_scale(page)`.
    """
    bitmap = page.render(scale=scale or ocr_render_scale(page), grayscale=True)
    width, height, stride = bitmap.width, bitmap.height, bitmap.stride
    buffer = bytes(bitmap.buffer)
    rows = (
        buffer
        if stride == width
        else b"".join(buffer[y * stride : y * stride + width] for y in range(height))
    )
    return b"P5\n%d %d\n255\n" % (width, height) + rows


def recognise_pages(
    pdf: Any,
    texts: list[str],
    source: str,
    engine: TesseractOcr,
    max_pages: int | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> dict[int, str]:
    """OCR text of the pages of an open pypdfium2 document whose text layer is not usable.

    Args:
        pdf: The document.
        texts: The text layer of each page.
        source: File name for log messages.
        engine: The OCR engine.
        max_pages: Recognise at most this many pages; the rest are skipped with a warning.
        on_page: Called as `on_page(done, total)` after each page.

    Returns:
        Page index -> new page text, for the pages whose text changed.

    Raises:
        OcrUnavailable: tesseract is missing and no page has a text layer (otherwise only a warning).
    """
    wanted = [index for index, text in enumerate(texts) if not has_usable_text(text)]
    if max_pages is not None and len(wanted) > max_pages:
        logger.warning("%s: %d pages need OCR, reading only %d", source, len(wanted), max_pages)
        wanted = wanted[:max_pages]
    if not wanted:
        return {}
    try:
        engine.check()
    except OcrUnavailable:
        if not any(has_usable_text(text) for text in texts):
            raise
        logger.warning("%s: %d scanned pages skipped: tesseract is not installed", source, len(wanted))
        return {}
    recognised = {}
    for done, index in enumerate(wanted, start=1):
        text = merge_page_text(texts[index], _recognise_page(pdf, index, source, engine))
        if text != texts[index]:
            recognised[index] = text
        logger.info("%s: OCR page %d (%d of %d)", source, index + 1, done, len(wanted))
        if on_page is not None:
            on_page(done, len(wanted))
    return recognised


def _recognise_page(pdf: Any, index: int, source: str, engine: TesseractOcr) -> str:
    page = pdf[index]
    try:
        image = render_page_for_ocr(page)
    finally:
        page.close()
    try:
        return "\n".join(engine.recognize(image))
    except (OcrTimeout, CorruptDocument) as error:
        logger.warning("%s: page %d skipped: %s", source, index + 1, error)
        return ""
