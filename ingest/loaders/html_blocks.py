"""Text blocks of an HTML page: all of it (a DOM walk) or its main content (trafilatura).

A block is (level, text): level 1-6 for an h1-h6 heading, 0 for body text. Tables become one block
per row so that a retrieved row can be understood on its own.
"""

from __future__ import annotations

import bisect
import itertools
import re
from typing import Any

Block = tuple[int, str]

_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "nav", "footer", "aside", "form", "iframe", "svg"}
    | {"button", "select", "textarea", "head"}
)
_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "pre", "blockquote", "dd", "dt", "section", "article", "main", "br", "ul", "ol"}
    | {"figcaption", "caption", "address", "hr", "tr", "td", "th", "body"}
)
_HEADING_TAG = re.compile(r"h[1-6]")
# A heading is matched to the main-content block that holds the start of the text under it.
_MATCH_CHARS = 20
_MAX_RESTORED_LEVEL = 3


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _key(text: str) -> str:
    return "".join(text.split())


def table_lines(rows: list[list[tuple[str, bool]]]) -> list[str]:
    """Lines `列名：值；列名：值` when the first row is all header cells (th), else `值；值`.

    Args:
        rows: Per row, (cell text, is a header cell) per cell.
    """
    rows = [row for row in rows if any(text for text, _ in row)]
    header: list[str] = []
    if len(rows) > 1 and all(is_header for _, is_header in rows[0]):
        header, rows = [text for text, _ in rows[0]], rows[1:]
    lines = []
    for row in rows:
        names = header + [""] * (len(row) - len(header))
        cells = [
            f"{name}：{text}" if name else text for name, (text, _) in zip(names, row, strict=False) if text
        ]
        lines.append("；".join(cells))
    return [line for line in lines if line]


def _is_data_table(table: Any) -> bool:
    # Old sites lay out whole pages with tables; a table holding blocks is a layout, not data.
    return not table.xpath(".//table|.//div|.//p|.//ul|.//ol|.//h1|.//h2|.//h3")


def _is_page_header(element: Any) -> bool:
    # The page's <header> holds the logo and menu; an <article>'s own <header> holds its h1.
    return element.tag == "header" and not element.xpath("ancestor::article|ancestor::main|ancestor::section")


def dom_blocks(root: Any) -> list[Block]:
    """All visible text of an lxml.html document in reading order, minus scripts, menus and forms."""
    blocks: list[Block] = []
    buffer: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buffer).split())
        if text:
            blocks.append((0, text))
        buffer.clear()

    def visit(element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""  # comments have a function as tag
        if tag and tag not in _SKIPPED_TAGS and not _is_page_header(element):
            is_table = tag == "table" and _is_data_table(element)
            if _HEADING_TAG.fullmatch(tag) or is_table or tag in _BLOCK_TAGS:
                flush()
            if _HEADING_TAG.fullmatch(tag):
                blocks.append((int(tag[1]), _text(element)))
            elif is_table:
                cells = (
                    [(_text(c), c.tag == "th") for c in tr if c.tag in ("td", "th")]
                    for tr in element.iter("tr")
                )
                blocks.extend((0, line) for line in table_lines(list(cells)))
            else:
                buffer.append(element.text or "")
                for child in element:
                    visit(child)
                if tag in _BLOCK_TAGS:
                    flush()
        buffer.append(element.tail or "")

    visit(root)
    flush()
    return [(level, text) for level, text in blocks if text]


def _code_lines(element: Any) -> str:
    return "\n".join(line.rstrip() for line in str(element.xpath("string()")).split("\n") if line.strip())


def main_blocks(html: str) -> list[Block]:
    """The main content as trafilatura sees it (its XML output), or [] when it finds none."""
    import lxml.etree
    import trafilatura

    # favor_recall keeps lists on small pages but lets boilerplate in on news pages (qq: F1 0.93 -> 0.90).
    xml = trafilatura.extract(html, output_format="xml", include_tables=True, include_comments=False)
    if not xml:
        return []
    blocks: list[Block] = []
    for element in lxml.etree.fromstring(xml.encode("utf-8")).iterfind("main/*"):
        if element.tag == "head":
            level = str(element.get("rend", "h2"))[1:]
            blocks.append((int(level) if level.isdigit() else 2, _text(element)))
        elif element.tag == "table":
            rows = [
                [(_text(cell), cell.get("role") == "head") for cell in row] for row in element.iter("row")
            ]
            blocks.extend((0, line) for line in table_lines(rows))
        elif element.tag == "list":
            blocks.extend((0, _text(item)) for item in element.iterfind("item"))
        else:
            blocks.append((0, _code_lines(element) if element.tag == "code" else _text(element)))
    return [(level, text) for level, text in blocks if text]


def restore_headings(main: list[Block], page: list[Block]) -> list[Block]:
    """Put back each h1-h3 page heading whose following text block is part of the main content.

    trafilatura drops short headings on simple pages; a heading followed by boilerplate (a sidebar's
    "热门评论") stays out because its next block is not in the main content.
    """
    keys = [_key(text) for _, text in main]
    present = {key for key, (level, _) in zip(keys, main, strict=True) if level}
    # One string searched by str.find keeps long pages linear; "\0" stops a match spanning two blocks.
    joined = "\0".join(keys)
    offsets = list(itertools.accumulate((len(key) + 1 for key in keys[:-1]), initial=0))
    inserts: dict[int, list[Block]] = {}
    pending: list[Block] = []
    position = 0
    for level, text in page:
        if 1 <= level <= _MAX_RESTORED_LEVEL:
            if _key(text) not in present:
                pending.append((level, text))
            continue
        start = _key(text)[:_MATCH_CHARS]
        found_at = joined.find(start, offsets[position]) if start else -1
        if found_at >= 0:
            position = bisect.bisect_right(offsets, found_at) - 1
            inserts.setdefault(position, []).extend(pending)
        pending = []
    return [block for i, original in enumerate(main) for block in (*inserts.get(i, ()), original)]
