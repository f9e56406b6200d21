"""Detect the encoding of a text file whose author never said which one it used.

Chinese text files in the wild are UTF-8, UTF-16 (Windows Notepad), GBK/GB18030 (mainland) or Big5
(Taiwan, Hong Kong). GB18030 accepts almost any byte sequence, so "it decodes" proves nothing;
charset-normalizer alone often mixes up GBK and Big5 on short texts. We therefore decode strictly with
each candidate and keep the one whose characters look most like real Chinese: the share of frequently
used hanzi and CJK punctuation among the non-ASCII characters. A file with a few damaged bytes is
decoded with U+FFFD in their place rather than rejected.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re

from kb_app.errors import CorruptDocument

logger = logging.getLogger(__name__)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # checked before UTF-16: both start with FF FE
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Big5 variants from strict to lenient: cp950 and HKSCS add characters plain big5 rejects.
_CHINESE_CANDIDATES = ("gb18030", "big5", "cp950", "big5hkscs")
_MIN_CHINESE_SCORE = 0.6
_MAX_NUL_SHARE = 0.01
_MAX_DAMAGED_SHARE = 0.01
_CJK_TEXT = re.compile("[\u3400-\u9fff]")
# Text has tabs and line ends; many other C0 characters mean we are decoding a binary file.
_MAX_CONTROL_SHARE = 0.05
_NOT_TEXT = "This file is not a text file (binary content); save it as UTF-8 text and upload again."


@functools.cache
def _common_hanzi() -> frozenset[str]:
    """GB2312 level 1 (3,755 common simplified) plus Big5 level 1 (5,401 common traditional) hanzi."""
    chars: set[str] = set()
    tables = [
        ("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)),
        ("big5", range(0xA4, 0xC7), range(0x40, 0xFF)),
    ]
    for codec, leads, trails in tables:
        for lead in leads:
            for trail in trails:
                try:
                    chars.add(bytes((lead, trail)).decode(codec))
                except UnicodeDecodeError:
                    continue
    return frozenset(chars)


def _is_cjk_punctuation(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF5E or char in "“”‘’…—·"


def chinese_score(text: str) -> float:
    """Share of non-ASCII characters that are common hanzi or CJK punctuation (1.0 if none).

    A wrong Chinese codec turns text into rare hanzi, kana, box drawing and private-use characters,
    which drive the score down.
    """
    common = _common_hanzi()
    good = bad = 0
    for char in text:
        if char < "\x80":
            continue
        if char in common or _is_cjk_punctuation(char):
            good += 1
        else:
            bad += 1
    return 1.0 if good + bad == 0 else good / (good + bad)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _best_chinese(data: bytes) -> tuple[str, str, float] | None:
    best: tuple[str, str, float] | None = None
    for encoding in _CHINESE_CANDIDATES:
        text = _strict(data, encoding)
        if text is None:
            continue
        score = chinese_score(text)
        # Strictly greater: on a tie GB18030, listed first, wins (the more common encoding).
        if best is None or score > best[2]:
            best = (text, encoding, score)
    return best


def _charset_normalizer(data: bytes) -> tuple[str, str] | None:
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None or match.encoding is None:
        return None
    return str(match), match.encoding


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode the bytes of a text file, guessing its encoding.

    Returns:
        The text (without a BOM) and the Python name of the encoding used.

    Raises:
        CorruptDocument: if the bytes do not look like text in any supported encoding.
    """
    text, encoding = _decode(data)
    controls = sum(1 for char in text if char < " " and char not in "\t\n\r\x0c")
    if controls > _MAX_CONTROL_SHARE * len(text):
        raise CorruptDocument(_NOT_TEXT)
    return text, encoding


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data, encoding)
            if text is not None:
                return text, encoding
    text = _strict(data, "utf-8")
    if text is not None and "\x00" not in text:
        return text, "utf-8"
    if data.count(0) > _MAX_NUL_SHARE * len(data):
        guess = _charset_normalizer(data)  # UTF-16/32 without a BOM is the one text with many NULs
        if guess is not None and guess[1].startswith("utf_"):
            return guess
        raise CorruptDocument(_NOT_TEXT)
    best = _best_chinese(data)
    if best is not None and best[2] >= _MIN_CHINESE_SCORE:
        return best[0], best[1]
    damaged = _least_damaged(data)
    if damaged is not None:
        return damaged
    guess = _charset_normalizer(data)
    if guess is not None:
        logger.debug("encoding guessed by charset-normalizer: %s", guess[1])
        return guess
    if best is not None:
        return best[0], best[1]
    raise CorruptDocument(_NOT_TEXT)


def _least_damaged(data: bytes) -> tuple[str, str] | None:
    """Chinese text with U+FFFD for a few bad bytes: one broken character must not lose a whole file."""
    best: tuple[str, str, float] | None = None
    for encoding in ("utf-8", *_CHINESE_CANDIDATES):
        text = data.decode(encoding, errors="replace")
        intact = text.replace("\ufffd", "")
        if len(text) - len(intact) > _MAX_DAMAGED_SHARE * len(text) or not _CJK_TEXT.search(intact):
            continue
        score = chinese_score(intact)
        if best is None or score > best[2]:
            best = (text, encoding, score)
    return None if best is None or best[2] < _MIN_CHINESE_SCORE else (best[0], best[1])
