"""HTML loader: the main content of a web page (no menus, ads or footers), cut at its h1-h3 headings.

trafilatura finds the main content; headings it dropped are put back from the page (see
`html_blocks.restore_headings`); a page where it finds nothing is read whole.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.ingest.cleaning import join_cjk_line_breaks, remove_control_chars
from kb_app.ingest.loaders.encoding import decode_bytes
from kb_app.ingest.loaders.html_blocks import Block, dom_blocks, main_blocks, restore_headings
from kb_app.schema import SourceDocument

_HEAD_BYTES = 4096
_DECLARED = re.compile(rb"""<(?:meta[^>]*?charset|\?xml[^>]*?encoding)\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# Browsers read these labels as their supersets; a page labelled gb2312 often holds GBK-only hanzi.
_SUPERSETS = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "big5": ("cp950", "big5hkscs"),
}
_MAX_SECTION_LEVEL = 3


class HtmlLoader:
    """One SourceDocument per h1-h3 section of the page's main content (page=None).

    heading_path starts with the page title (the h1 when the <title> only adds a site name to it);
    each section's text starts with its own heading. Table rows become lines `列名：值；列名：值`.
    """

    extensions: tuple[str, ...] = (".html", ".htm", ".xhtml")

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read, decode and extract `path`.

        Raises:
            CorruptDocument: the file is binary, not HTML.
            EmptyDocument: the page has no text.
        """
        try:
            html, encoding = decode_html(path.read_bytes())
            title, blocks = extract_blocks(html)
        except CorruptDocument as error:
            raise CorruptDocument(
                f"'{source}' is not a readable HTML page ({error}); save it again."
            ) from error
        metadata = {"encoding": encoding}
        documents = [
            SourceDocument(text="\n".join(lines), source=source, heading_path=headings, metadata=metadata)
            for headings, lines in _sections(title, blocks)
            if len(lines) > (1 if headings else 0)  # a heading with nothing under it is not a section
        ]
        if not documents:
            raise EmptyDocument(
                f"'{source}' holds no text (an empty page or only scripts); nothing to index."
            )
        return documents


def decode_html(data: bytes) -> tuple[str, str]:
    """Decode an HTML file: a BOM, else valid UTF-8, else its declared charset, else a guess.

    Valid UTF-8 beats the declaration because editors re-save pages as UTF-8 and keep the old
    `<meta charset=gb2312>`; GBK or Big5 text is practically never valid UTF-8 by accident.
    """
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-8"]
        match = _DECLARED.search(data[:_HEAD_BYTES])
        if match:
            label = match.group(1).decode("ascii").lower()
            candidates.extend(_SUPERSETS.get(label, (label,)))
        for encoding in candidates:
            try:
                return remove_control_chars(data.decode(encoding)), encoding
            except (UnicodeDecodeError, LookupError):
                continue
    text, encoding = decode_bytes(data)
    return remove_control_chars(text), encoding


def extract_blocks(html: str) -> tuple[str, list[Block]]:
    """The page title and its main-content blocks (see `html_blocks`).

    Raises:
        CorruptDocument: lxml finds no document in the text.
    """
    import lxml.etree
    import lxml.html

    html = join_cjk_line_breaks(html)  # a line break inside Chinese text is no space in a browser
    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError) as error:
        raise CorruptDocument(str(error)) from error
    title = " ".join(str(root.findtext(".//title", default="")).split())
    page = dom_blocks(root)
    h1 = max((text for level, text in page if level == 1 and text in title), key=len, default="")
    if len(h1) * 3 >= len(title):
        title = h1  # the title without its "_频道_网站名" suffix (but not a logo's h1 "网站名")
    main = main_blocks(html)
    return title, restore_headings(main, page) if main else page


def _sections(title: str, blocks: list[Block]) -> list[tuple[tuple[str, ...], list[str]]]:
    """(heading path, lines) per section; a section's first line is its own heading."""
    sections: list[tuple[tuple[str, ...], list[str]]] = [((title,), [title]) if title else ((), [])]
    stack: list[tuple[int, str]] = []
    for level, text in blocks:
        if level == 0 or level > _MAX_SECTION_LEVEL:
            sections[-1][1].append(text)
        elif not (stack or len(sections) > 1) and text == title:
            continue  # the h1 that is the title
        else:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
            sections.append(((*sections[0][0], *(name for _, name in stack)), [text]))
    return sections
