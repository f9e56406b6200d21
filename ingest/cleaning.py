"""Pure text clean-up shared by the loaders: control characters, running headers, hard-wrapped lines.

PDF text layers give one line per printed line. Chinese has no spaces between words, so joining two
wrapped lines with a space (what most tools do) puts a bogus space into the middle of a word and hurts
both keyword search and embeddings.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence

_CJK_CHARS = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u31c0-\u31ef\u3200-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff“”‘’…—·"
)
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u00ad\ufeff]")
_SENTENCE_END = re.compile(r"[。！？：；!?:;][”’」』）)\]】]*$")
# A line that starts a list item or a numbered heading, e.g. "一、", "（二）", "3.", "•".
_NEW_BLOCK = re.compile(
    r"^(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十\d]+[）)]|\d+(?:\.\d+)*(?:[、)）]|[.．](?!\d))\s*\S"
    r"|[•·●○■□▪◆◇\-–*]\s|第[一二三四五六七八九十百\d]+[章节条部分篇])"
)
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—\s]*\d{1,4}[-–—\s]*|第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+"
    r"|page\s*\d+(?:\s*(?:of|/)\s*\d+)?)$",
    re.IGNORECASE,
)
_SPACED_CJK = re.compile(f"(?<=[{_CJK_CHARS}]) (?=[{_CJK_CHARS}])")
_SPACES_BETWEEN_CJK = re.compile(f"(?<=[{_CJK_CHARS}])[ \t]+(?=[{_CJK_CHARS}])")
_LINE_BREAK_BETWEEN_CJK = re.compile(f"(?<=[{_CJK_CHARS}])[ \t]*\r?\n\\s*(?=[{_CJK_CHARS}])")
_EDGE_LINES = 3
_WRAP_REMNANT = re.compile(f"^[{_CJK_CHARS}]{{1,2}}[，。、；：！？）」』”]?$")
_SHORT_LINE = 0.7
_MIN_LINES_FOR_WIDTH = 4


def is_cjk(char: str) -> bool:
    """True for hanzi, kana, CJK and full-width punctuation."""
    return bool(_CJK.match(char))


def remove_control_chars(text: str) -> str:
    """Normalise line ends to '\\n' and drop control, zero-width and soft-hyphen characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def collapse_spaced_cjk(line: str) -> str:
    """Undo letter-spacing such as '开 票 通 知 单' (a space after every hanzi) within one line."""
    gaps = len(_SPACED_CJK.findall(line))
    hanzi = sum(1 for char in line if is_cjk(char))
    if gaps >= 3 and gaps * 2 >= hanzi:
        return _SPACED_CJK.sub("", line)
    return line


def remove_cjk_spaces(text: str) -> str:
    """Drop all spaces between two CJK characters: OCR engines put one between every recognised hanzi."""
    return _SPACES_BETWEEN_CJK.sub("", text)


def join_cjk_line_breaks(text: str) -> str:
    """Remove line breaks (and the indentation around them) between two CJK characters.

    HTML source wraps long Chinese lines; a browser shows no gap there, but parsers that collapse
    whitespace would turn each break into a space inside a word.
    """
    return _LINE_BREAK_BETWEEN_CJK.sub("", text)


def _width(line: str) -> int:
    return sum(2 if is_cjk(char) else 1 for char in line)


def _ends_paragraph(line: str, next_line: str, full_width: float | None) -> bool:
    if _SENTENCE_END.search(line) or _NEW_BLOCK.match(next_line):
        return True
    if is_cjk(line[-1]) and _WRAP_REMNANT.match(next_line):
        return False  # "人工智能研" + "究": a word cut by a narrow table cell or figure label
    short = full_width is not None and _width(line) < _SHORT_LINE * full_width
    # A short line can still be a wrap: PDF text layers split lines at links and font changes
    # ("安德烈亚斯·卡普" + "兰和…"). Trust the line break only where it does not cut a word in two.
    return short and not (is_cjk(line[-1]) and is_cjk(next_line[0]) and cuts_a_word(line, next_line))


def cuts_a_word(left: str, right: str) -> bool:
    """Whether jieba reads the end of `left` and the start of `right` as one word across the break."""
    import jieba

    head, tail = left[-4:], right[:4]
    position = 0
    for word in jieba.lcut(head + tail):
        if position < len(head) < position + len(word):
            return True
        position += len(word)
    return False


def _glue(left: str, right: str) -> str:
    if left.endswith("-") or is_cjk(left[-1]) or is_cjk(right[0]):
        return ""
    return " "


def join_wrapped_lines(text: str) -> str:
    """Join hard-wrapped lines into paragraphs, one paragraph per line.

    Two lines are joined without a space when either side of the break is CJK; other text (English)
    gets one space. A paragraph ends at a blank line, after sentence-final punctuation, before a list
    item or numbered heading, and after a line clearly shorter than the text's full line width.
    """
    lines = [collapse_spaced_cjk(line.strip()) for line in remove_control_chars(text).split("\n")]
    widths = [_width(line) for line in lines if line]
    full_width = None
    if len(widths) >= _MIN_LINES_FOR_WIDTH:
        full_width = statistics.quantiles(widths, n=10)[-1]  # 90th percentile: a full line
    paragraphs: list[str] = []
    current = ""
    for index, line in enumerate(lines):
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        current = current + _glue(current, line) + line if current else line
        next_line = lines[index + 1] if index + 1 < len(lines) else ""
        if not next_line or _ends_paragraph(line, next_line, full_width):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)


def _header_key(line: str) -> str:
    return re.sub(r"[\d\s]+", "", line).lower()


def _edge_indexes(count: int) -> set[int]:
    # Never more than a third of a page at each edge, so that a short page keeps its body.
    edge = min(_EDGE_LINES, count // 3)
    return set(range(edge)) | set(range(count - edge, count))


def strip_repeated_lines(pages: Sequence[str]) -> list[str]:
    """Remove running headers/footers and bare page numbers from the pages of one document.

    A header or footer is a line near the top or bottom of a page that, ignoring digits and spaces,
    appears near the top or bottom of at least half of the pages of a document of three pages or more.
    A page number ('3', '- 3 -', '第3页', '3/13', 'Page 3 of 13') is removed near any page edge.
    """
    split_pages = [[line for line in page.split("\n") if line.strip()] for page in pages]
    counts: Counter[str] = Counter()
    for lines in split_pages:
        counts.update({_header_key(lines[i]) for i in _edge_indexes(len(lines))} - {""})
    threshold = max(2, (len(pages) + 1) // 2)
    repeated = {key for key, n in counts.items() if n >= threshold} if len(pages) >= 3 else set()
    cleaned = []
    for lines in split_pages:
        edges = _edge_indexes(len(lines))
        kept = [
            line
            for i, line in enumerate(lines)
            if i not in edges or (_header_key(line) not in repeated and not _PAGE_NUMBER.match(line.strip()))
        ]
        cleaned.append("\n".join(kept))
    return cleaned
