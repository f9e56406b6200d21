"""Pick a loader for a file: by extension, else by sniffing its first bytes.

A file whose content is clearly another supported format than its extension says (a PDF or a workbook
named .docx, which users produce by renaming) is read by the loader of its real format; plain text
named like a binary format is refused with a message saying what the file really is.

Loaders are named as "module:Class" strings so that looking one up imports only that loader (and
pypdfium2 or python-docx only when a file of that kind is read).
"""

from __future__ import annotations

import logging
import zipfile
from importlib import import_module
from pathlib import Path
from typing import cast

from kb_app.errors import CorruptDocument, UnsupportedFileType
from kb_app.protocols import Loader

_LOADERS: dict[str, str] = {
    ".txt": "kb_app.ingest.loaders.text:TextLoader",
    ".text": "kb_app.ingest.loaders.text:TextLoader",
    ".md": "kb_app.ingest.loaders.text:MarkdownLoader",
    ".markdown": "kb_app.ingest.loaders.text:MarkdownLoader",
    ".pdf": "kb_app.ingest.loaders.pdf:PdfLoader",
    ".docx": "kb_app.ingest.loaders.docx_loader:DocxLoader",
    ".xlsx": "kb_app.ingest.loaders.spreadsheet:SpreadsheetLoader",
    ".xlsm": "kb_app.ingest.loaders.spreadsheet:SpreadsheetLoader",
    ".xls": "kb_app.ingest.loaders.spreadsheet:SpreadsheetLoader",
    ".csv": "kb_app.ingest.loaders.spreadsheet:SpreadsheetLoader",
    ".pptx": "kb_app.ingest.loaders.pptx_loader:PptxLoader",
    ".json": "kb_app.ingest.loaders.json_loader:JsonLoader",
    ".jsonl": "kb_app.ingest.loaders.json_loader:JsonLoader",
}
_LOADERS |= dict.fromkeys((".html", ".htm", ".xhtml"), "kb_app.ingest.loaders.html_loader:HtmlLoader")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_LOADERS |= dict.fromkeys(_IMAGE_SUFFIXES, "kb_app.ingest.loaders.image_loader:ImageLoader")
# Office Open XML packages are zips; the main part's name says which application wrote one.
_ZIP_MARKERS = {"word/document.xml": ".docx", "xl/workbook.xml": ".xlsx", "ppt/presentation.xml": ".pptx"}
_KIND_NAMES = {
    ".pdf": "a PDF",
    ".docx": "a Word document",
    ".xlsx": "an Excel workbook",
    ".pptx": "a PowerPoint presentation",
    ".txt": "plain text",
    ".html": "an HTML page",
    ".png": "an image",
}
_BINARY_SUFFIXES = {".pdf", ".docx", ".xlsx", ".xlsm", ".xls", ".pptx", *_IMAGE_SUFFIXES}
# BMP's "BM" alone starts ordinary text too; the DIB header sizes that follow it make it certain.
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_MARKUP_WINDOW = 1024
_SNIFF_BYTES = 64 * 1024
# PDF readers accept the header anywhere in the first KiB (some files start with junk).
_PDF_MAGIC_WINDOW = 1024

logger = logging.getLogger(__name__)


def supported_extensions() -> list[str]:
    """File extensions with a loader, sorted, with their leading dot ('.docx', '.md', ...)."""
    return sorted(_LOADERS)


def _instantiate(target: str) -> Loader:
    module_name, _, class_name = target.partition(":")
    loader_class = getattr(import_module(module_name), class_name)
    return cast(Loader, loader_class())


def office_zip_kind(path: Path) -> str | None:
    """'.docx', '.xlsx' or '.pptx' for an Office Open XML package, None for any other file."""
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    return next((kind for marker, kind in _ZIP_MARKERS.items() if marker in names), None)


def _looks_like_text(head: bytes) -> bool:
    from kb_app.ingest.loaders.encoding import decode_bytes

    try:
        decode_bytes(head)  # a multi-byte character cut at the end only makes it guess harder
    except CorruptDocument:
        return False
    return True


def _is_image(head: bytes) -> bool:
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")):
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return True
    return head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES


def _is_html(head: bytes) -> bool:
    start = head[:_MARKUP_WINDOW].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return True
    return start.startswith((b"<?xml", b"<!--")) and b"<html" in start  # XHTML, or a "saved from" comment


def sniff_kind(path: Path) -> str | None:
    """A file's format judged by its content, or None.

    One of '.pdf', '.docx', '.xlsx', '.pptx', '.png' (any image format), '.html' or '.txt'.
    """
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"%PDF-" in head[:_PDF_MAGIC_WINDOW]:
        return ".pdf"
    if head.startswith(b"PK\x03\x04"):
        return office_zip_kind(path)
    if _is_image(head):
        return ".png"
    if _is_html(head):
        return ".html"
    if head.strip() and _looks_like_text(head):
        return ".txt"
    return None


def sniff_loader_target(path: Path) -> str | None:
    """The loader target for a file judged by its content, or None if no loader fits."""
    kind = sniff_kind(path)
    return None if kind is None else _LOADERS[kind]


def _target_by_content(path: Path, suffix: str, target: str) -> str:
    """`target` unless the content is another format than the extension says (see the module doc)."""
    kind = sniff_kind(path)
    if kind == ".txt" and suffix in _BINARY_SUFFIXES:
        raise CorruptDocument(
            f"'{path.name}' is named {suffix} but is really plain text; rename it to .txt (or .csv for "
            "comma-separated values) and upload again."
        )
    if kind is None or kind == ".txt" or _LOADERS[kind] == target:
        return target
    if kind == ".html" and suffix not in _BINARY_SUFFIXES:
        return target  # HTML source kept in a .txt or .md is read as written
    if suffix not in _BINARY_SUFFIXES and kind == ".pdf" and not _starts_with(path, b"%PDF-"):
        return target  # a text file that merely mentions "%PDF-" near its start
    logger.warning("'%s' is really %s, not %s; reading it as such", path.name, _KIND_NAMES[kind], suffix)
    return _LOADERS[kind]


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(magic)) == magic


def loader_for(path: Path) -> Loader:
    """A new loader for `path`, chosen by extension and checked against the content where the file exists.

    Raises:
        UnsupportedFileType: no loader fits; the message lists the supported extensions.
        CorruptDocument: the extension names a binary format but the file is plain text.
    """
    suffix = path.suffix.lower()
    target = _LOADERS.get(suffix)
    if path.is_file():
        target = sniff_loader_target(path) if target is None else _target_by_content(path, suffix, target)
    if target is None:
        known = ", ".join(supported_extensions())
        raise UnsupportedFileType(
            f"'{path.name}' is not a supported file type. Supported: {known} "
            "(or any plain-text file). Convert it to one of these and upload again."
        )
    return _instantiate(target)
