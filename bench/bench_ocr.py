"""OCR of a scanned Chinese book (mineru/small_ocr.pdf, 8 pages): speed and character accuracy.

  - ours:     PdfLoader defaults: chi_sim, pages rendered at their scan's own resolution (~96 dpi
              here, 1634x2400 px), one tesseract thread;
  - baseline: the usual recipe, 300 dpi renders (5105x7500 px) and chi_sim+eng, same thread limit.
Accuracy: 1 - edit distance / length on a passage of page 1 typed by hand (hanzi and Chinese
punctuation only; the passage is matched against its best-fitting stretch of the page's text).
"Latin words" counts runs of 2+ ASCII letters: the pages hold 5 real ones ("worth", "value",
"contradictio in adjecto"); the rest is Chinese misread as Latin.

    .venv/bin/python bench/bench_ocr.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from kb_app.evaluation import passage_accuracy
from kb_app.ingest.loaders.pdf import PdfLoader
from kb_app.ingest.loaders.pdf_ocr import render_page_for_ocr
from kb_app.ingest.ocr import TesseractOcr

SCANNED = Path(__file__).resolve().parents[1].parent / "shared" / "docs" / "mineru" / "small_ocr.pdf"
# Hand-typed ground truth shared with tests/ingest/test_ocr.py (page 1, second paragraph).
PAGE_1_PASSAGE = (
    (Path(__file__).resolve().parents[1] / "tests" / "data" / "small_ocr_page1.txt")
    .read_text(encoding="utf-8")
    .strip()
)


def run_ours() -> list[str]:
    documents = PdfLoader().load(SCANNED, SCANNED.name)
    return [document.text for document in documents]


def run_baseline() -> list[str]:
    import pypdfium2

    engine = TesseractOcr(languages="chi_sim+eng")
    pdf = pypdfium2.PdfDocument(str(SCANNED))
    try:
        return [
            "\n".join(engine.recognize(render_page_for_ocr(pdf[i], scale=300 / 72))) for i in range(len(pdf))
        ]
    finally:
        pdf.close()


def main() -> None:
    columns = ("pages", "seconds", "pages/s", "p1 acc", "hanzi", "Latin words")
    header = f"{'method':<9} " + " ".join(f"{column:>8}" for column in columns)
    print(header)
    print("-" * len(header))
    for name, run in (("ours", run_ours), ("baseline", run_baseline)):
        start = time.perf_counter()
        pages = run()
        elapsed = time.perf_counter() - start
        text = "\n".join(pages)
        hanzi = len(re.findall(r"[\u4e00-\u9fff]", text))
        latin = len(re.findall(r"[A-Za-z]{2,}", text))
        accuracy = passage_accuracy(PAGE_1_PASSAGE, pages[0])
        values = (
            f"{len(pages)}",
            f"{elapsed:.1f}",
            f"{len(pages) / elapsed:.2f}",
            f"{accuracy:.3f}",
            f"{hanzi}",
        )
        print(f"{name:<9} " + " ".join(f"{value:>8}" for value in (*values, f"{latin:>11}")))


if __name__ == "__main__":
    main()
