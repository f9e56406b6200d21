"""Encoding detection on real GB2312/GB18030 and Big5 files and on generated edge cases."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from kb_app.errors import CorruptDocument
from kb_app.ingest.loaders.encoding import chinese_score, decode_bytes

ENCODINGS = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs" / "encodings"
GB_FAMILY = {"gb2312", "gbk", "gb18030"}
BIG5_FAMILY = {"big5", "cp950", "big5hkscs"}


def _real_files() -> list[tuple[Path, set[str]]]:
    files = [(path, GB_FAMILY) for path in sorted((ENCODINGS / "chardet" / "GB2312").glob("*"))]
    files += [(path, BIG5_FAMILY) for path in sorted((ENCODINGS / "chardet" / "Big5").glob("*"))]
    files.append((ENCODINGS / "charset_normalizer" / "sample-chinese.txt", BIG5_FAMILY))
    return [(path, family) for path, family in files if path.is_file()]


REAL_FILES = _real_files()


def _chinese_share(text: str) -> float:
    """Share of hanzi and CJK/full-width punctuation among the non-ASCII characters."""
    non_ascii = [char for char in text if ord(char) > 127]
    chinese = [char for char in non_ascii if re.match("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", char)]
    return len(chinese) / max(1, len(non_ascii))


def test_real_encoding_samples_are_present() -> None:
    if not ENCODINGS.is_dir():
        pytest.skip(f"shared test documents not found at {ENCODINGS}")
    assert len(REAL_FILES) >= 40


@pytest.mark.parametrize(("path", "family"), REAL_FILES, ids=lambda value: getattr(value, "name", ""))
def test_real_chinese_files_decode_to_readable_chinese(path: Path, family: set[str]) -> None:
    text, encoding = decode_bytes(path.read_bytes())
    assert codecs.lookup(encoding).name in {codecs.lookup(name).name for name in family}
    assert "\ufffd" not in text
    assert _chinese_share(text) > 0.9
    assert chinese_score(text) > 0.9


def test_wrong_codec_scores_low_on_real_big5() -> None:
    path = ENCODINGS / "charset_normalizer" / "sample-chinese.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    data = path.read_bytes()
    assert chinese_score(data.decode("gb18030")) < 0.5 < chinese_score(data.decode("big5"))


@pytest.mark.parametrize(
    ("text", "encoding", "family"),
    [
        ("这是一个简体中文的句子，用来测试编码。", "gbk", GB_FAMILY),
        ("北京市政府工作报告", "gb2312", GB_FAMILY),
        ("這是一個繁體中文的句子，用來測試編碼。", "big5", BIG5_FAMILY),
        ("臺灣的學校", "big5", BIG5_FAMILY),
        ("繁體字也能用國標擴展編碼", "gb18030", GB_FAMILY),
    ],
)
def test_short_chinese_round_trips(text: str, encoding: str, family: set[str]) -> None:
    decoded, detected = decode_bytes(text.encode(encoding))
    assert decoded == text
    assert codecs.lookup(detected).name in {codecs.lookup(name).name for name in family}


@pytest.mark.parametrize(
    ("data", "expected_encoding"),
    [
        ("中文 UTF-8 文本".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "带 BOM 的中文".encode(), "utf-8-sig"),
        ("UTF-16 中文".encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + "大端序".encode("utf-16-be"), "utf-16"),
        (b"plain ascii", "utf-8"),
    ],
)
def test_utf_variants(data: bytes, expected_encoding: str) -> None:
    text, encoding = decode_bytes(data)
    assert encoding == expected_encoding
    assert "\ufeff" not in text
    assert text.strip()


def test_binary_with_nul_bytes_is_not_text() -> None:
    with pytest.raises(CorruptDocument, match="not a text file"):
        decode_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" * 50)


def test_random_bytes_are_not_text() -> None:
    import random

    generator = random.Random(7)
    data = bytes(generator.getrandbits(8) for _ in range(4000))
    with pytest.raises(CorruptDocument):
        decode_bytes(data)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("北京市政府工作报告。\n", "utf-8"), ("北京市政府工作报告。\n", "gbk"), ("這是繁體中文。\n", "big5")],
)
def test_a_few_damaged_bytes_do_not_lose_the_file(text: str, encoding: str) -> None:
    # A stray byte can shift a double-byte codec out of step until the next ASCII byte (the line end).
    data = (text * 300).encode(encoding)
    damaged = data[:901] + b"\xff" + data[901:-1]  # one bad byte inside, one character cut at the end
    decoded, detected = decode_bytes(damaged)
    assert codecs.lookup(detected).name == codecs.lookup("gb18030" if encoding == "gbk" else encoding).name
    assert decoded.count(text) >= 290
    assert 0 < decoded.count("\ufffd") <= 6
