"""Text recognition (OCR) with the Tesseract command-line tool, for scanned PDF pages and images.

The `tesseract` binary is run in a subprocess (no Python binding to install or crash the worker);
images go in on stdin. Language "chi_sim" alone, measured on a scanned Chinese book
(bench/bench_ocr.py): adding "eng" turned whole Chinese lines into Latin garbage (74 vs 8 Latin
"words" on 8 pages), was 50% slower, and chi_sim still reads embedded English words. "chi_tra" in the
mix lowered accuracy on simplified text from 0.99 to 0.84-0.90.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from kb_app.errors import CorruptDocument, KBError
from kb_app.ingest.cleaning import remove_cjk_spaces, remove_control_chars

logger = logging.getLogger(__name__)

DEFAULT_LANGUAGES = "chi_sim"
_INSTALL_HINT = "install it with: apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra"
_CJK = "\u3400-\u9fff\uf900-\ufaff"
# Tesseract often reads a full-width comma between hanzi as an ASCII one: "尺度, 也是".
_ASCII_PUNCTUATION = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_ASCII_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\s*([,;:?!])\\s*(?=[{_CJK}])")


class OcrUnavailable(KBError):
    """The tesseract program or one of its language packs is not installed."""


class OcrTimeout(KBError):
    """Tesseract took longer than the per-page time limit."""


def clean_ocr_text(text: str) -> str:
    """Tesseract output made to look like typed Chinese: no spaces between hanzi, full-width punctuation.

    Line breaks are kept (callers join wrapped lines after removing running headers).
    """
    lines = []
    for line in remove_control_chars(text).split("\n"):
        line = _ASCII_BETWEEN_CJK.sub(lambda match: _ASCII_PUNCTUATION[match.group(1)], line)
        lines.append(remove_cjk_spaces(" ".join(line.split())))
    return "\n".join(lines).strip()


class TesseractOcr:
    """Recognise the text of images with the `tesseract` program.

    Args:
        languages: Tesseract language packs joined by "+", e.g. "chi_sim" or "chi_sim+eng".
        psm: Page segmentation mode; 3 (automatic layout) reads book pages with footnotes best.
        timeout_s: Limit per image, so that one pathological page cannot stall an ingest.
    """

    def __init__(self, languages: str = DEFAULT_LANGUAGES, psm: int = 3, timeout_s: float = 120.0) -> None:
        self.languages = languages
        self.psm = psm
        self.timeout_s = timeout_s
        self._checked = False

    def check(self) -> None:
        """Make sure tesseract and the language packs exist.

        Raises:
            OcrUnavailable: with the command that installs what is missing.
        """
        if self._checked:
            return
        binary = shutil.which("tesseract")
        if binary is None:
            raise OcrUnavailable(f"Text recognition (OCR) needs the 'tesseract' program; {_INSTALL_HINT}")
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30)
        available = set((listed.stdout + listed.stderr).split())
        missing = [name for name in self.languages.split("+") if name not in available]
        if missing:
            raise OcrUnavailable(
                f"Tesseract has no language data for {', '.join(missing)}; {_INSTALL_HINT} "
                "(tesseract-ocr-<language> for other languages)."
            )
        self._checked = True

    def recognize(self, image: bytes | Path) -> list[str]:
        """The cleaned text of each page of an image (a TIFF can hold several), see `clean_ocr_text`.

        Args:
            image: An image file, or the bytes of an image in a format Leptonica reads (PNG, JPEG,
                TIFF, BMP, WebP, PNM).

        Raises:
            OcrUnavailable: tesseract or a language pack is missing.
            OcrTimeout: recognition took longer than `timeout_s`.
            CorruptDocument: tesseract could not read the image.
        """
        self.check()
        source = str(Path(image).resolve()) if isinstance(image, Path) else "stdin"
        command = ["tesseract", source, "stdout", "-l", self.languages, "--psm", str(self.psm)]
        # One thread: a second OpenMP thread cut a page from 2.0 to 1.75 s but cost 37% more CPU time,
        # which parallel ingest workers need.
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        stdin = image if isinstance(image, bytes) else None
        try:
            result = subprocess.run(
                command, input=stdin, capture_output=True, timeout=self.timeout_s, env=env
            )
        except subprocess.TimeoutExpired as error:
            raise OcrTimeout(f"text recognition took over {self.timeout_s:.0f} s on one page") from error
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise CorruptDocument(f"the image could not be read for text recognition ({detail[0]})")
        pages = result.stdout.decode("utf-8", "replace").split("\f")  # tesseract ends each page with \f
        if len(pages) > 1 and not pages[-1].strip():
            pages.pop()
        return [clean_ocr_text(page) for page in pages]
