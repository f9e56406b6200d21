"""HTML main-content fidelity on mozilla/readability's Chinese test pages (gmw, qq, youth).

For each page, the text of expected.html (readability's hand-checked main content) is compared with
  - ours:        HtmlLoader (trafilatura + headings put back), all sections joined;
  - trafilatura: trafilatura.extract(include_tables=True) alone;
  - baseline:    all visible text of the page (BeautifulSoup get_text without script/style).
Score: character F1 = F1 of the multisets of non-whitespace characters (order-free; precision says
how much boilerplate got in, recall how much content got lost).

    .venv/bin/python bench/bench_fidelity_html.py
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bs4 import BeautifulSoup

from kb_app.ingest.loaders.html_loader import HtmlLoader, decode_html

READABILITY = Path(__file__).resolve().parents[1].parent / "shared" / "docs" / "readability"
PAGES = ("gmw", "qq", "youth")


def char_scores(predicted: str, expected: str) -> tuple[float, float, float]:
    """(F1, precision, recall) of the non-whitespace character multisets."""
    ours = Counter(char for char in predicted if not char.isspace())
    theirs = Counter(char for char in expected if not char.isspace())
    overlap = sum((ours & theirs).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    precision, recall = overlap / sum(ours.values()), overlap / sum(theirs.values())
    return 2 * precision * recall / (precision + recall), precision, recall


def visible_text(html: str) -> str:
    soup = BeautifulSoup(html, "lxml")
    for hidden in soup(["script", "style", "noscript"]):
        hidden.decompose()
    return soup.get_text()


def ours_text(path: Path) -> str:
    return "\n".join(document.text for document in HtmlLoader().load(path, path.name))


def trafilatura_text(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_tables=True) or ""


def main() -> None:
    header = f"{'page':<7} {'method':<12} {'F1':>6} {'prec':>6} {'recall':>6} {'chars':>6} {'ms':>6}"
    print(header)
    print("-" * len(header))
    for page in PAGES:
        source = READABILITY / page / "source.html"
        expected = BeautifulSoup((READABILITY / page / "expected.html").read_text("utf-8"), "lxml").get_text()
        html, _ = decode_html(source.read_bytes())
        methods: dict[str, Callable[[], str]] = {
            "ours": partial(ours_text, source),
            "trafilatura": partial(trafilatura_text, html),
            "baseline": partial(visible_text, html),
        }
        for name, extract in methods.items():
            start = time.perf_counter()
            text = extract()
            elapsed = (time.perf_counter() - start) * 1000
            f1, precision, recall = char_scores(text, expected)
            chars = sum(1 for char in text if not char.isspace())
            print(f"{page:<7} {name:<12} {f1:6.3f} {precision:6.3f} {recall:6.3f} {chars:6d} {elapsed:6.0f}")


if __name__ == "__main__":
    main()
