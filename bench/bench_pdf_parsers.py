"""Which PDF text extractor? Raw extraction speed of the candidates on the same real text PDFs, in one
run (no cleaning, no splitting): pypdfium2 (ours), pdfminer.six (what unstructured uses), pypdf (what
LangChain's PyPDFLoader uses). PyMuPDF is left out on purpose: AGPL, not for a product companies install.

    .venv/bin/python bench/bench_pdf_parsers.py
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1].parent / "shared" / "docs"
PDFS = sorted(p for p in DOCS.rglob("*.pdf") if "ocr" not in p.parts and p.name != "small_ocr.pdf")


def pypdfium2_text(path: Path) -> list[str]:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def pdfminer_text(path: Path) -> list[str]:
    from pdfminer.high_level import extract_pages

    return [
        "".join(getattr(el, "get_text", lambda: "")() for el in page) for page in extract_pages(str(path))
    ]


def pypdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def main() -> None:
    extractors: dict[str, Any] = {
        "pypdfium2": pypdfium2_text,
        "pdfminer.six": pdfminer_text,
        "pypdf": pypdf_text,
    }
    print(f"{'extractor':<14}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'chars':>9}")
    for name, extract in extractors.items():
        pages = chars = 0
        started = time.perf_counter()
        for path in PDFS:
            texts = extract(path)
            pages += len(texts)
            chars += sum(len(t) for t in texts)
        seconds = time.perf_counter() - started
        print(f"{name:<14}{pages:>7}{seconds:>9.2f}{pages / seconds:>9.1f}{chars:>9}")


if __name__ == "__main__":
    main()
