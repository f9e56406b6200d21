"""Pick a loader for a file: by extension, else by sniffing its first bytes.

Loaders are named as "module:Class" strings so that looking one up imports only that loader (and
pypdfium2 or python-docx only when a file of that kind is read).
"""

from __future__ import annotations

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
}
_SNIFF_BYTES = 64 * 1024
# PDF readers accept the header anywhere in the first KiB (some files start with junk).
_PDF_MAGIC_WINDOW = 1024


def supported_extensions() -> list[str]:
    """File extensions with a loader, sorted, with their leading dot ('.docx', '.md', ...)."""
    return sorted(_LOADERS)


def _instantiate(target: str) -> Loader:
    module_name, _, class_name = target.partition(":")
    loader_class = getattr(import_module(module_name), class_name)
    return cast(Loader, loader_class())


def _is_docx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as package:
            return "word/document.xml" in package.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _looks_like_text(head: bytes) -> bool:
    from kb_app.ingest.loaders.encoding import decode_bytes

    try:
        decode_bytes(head)  # a multi-byte character cut at the end only makes it guess harder
    except CorruptDocument:
        return False
    return True


def sniff_loader_target(path: Path) -> str | None:
    """The loader target for a file judged by its content, or None if no loader fits."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"%PDF-" in head[:_PDF_MAGIC_WINDOW]:
        return _LOADERS[".pdf"]
    if head.startswith(b"PK\x03\x04"):
        return _LOADERS[".docx"] if _is_docx(path) else None
    if head.strip() and _looks_like_text(head):
        return _LOADERS[".txt"]
    return None


def loader_for(path: Path) -> Loader:
    """A new loader for `path`, chosen by extension, or by content where the extension is unknown.

    Raises:
        UnsupportedFileType: no loader fits; the message lists the supported extensions.
    """
    target = _LOADERS.get(path.suffix.lower())
    if target is None and path.is_file():
        target = sniff_loader_target(path)
    if target is None:
        known = ", ".join(supported_extensions())
        raise UnsupportedFileType(
            f"'{path.name}' is not a supported file type. Supported: {known} "
            "(or any plain-text file). Convert it to one of these and upload again."
        )
    return _instantiate(target)
