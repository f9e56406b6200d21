"""Re-ingesting an unchanged knowledge base: 1,000 small files, second run must take <= 5 s and make no
embedding calls. Baseline in the same run: the first (full) ingest of the same files.

    .venv/bin/python bench/bench_reingest.py [--files 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from kb_app.container import Container
from kb_app.settings import Settings


class CountingEmbedder:
    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> Any:
        self.calls += 1
        return self.inner.embed_documents(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KB_HOME"] = str(Path(tmp) / "home")
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i in range(args.files):
            (folder / f"note-{i:04d}.txt").write_text(
                f"第{i}号通知：请于{i % 28 + 1}日前提交材料。", encoding="utf-8"
            )
        print(f"{'run':<26}{'seconds':>9}{'embed calls':>13}{'done':>7}{'skipped':>9}")
        for label in ("first ingest (baseline)", "unchanged re-ingest"):
            container = Container(Settings())  # a fresh process-like start each time
            kb = container.open_kb("notes", create=True)
            counter = CountingEmbedder(kb.embedder)
            kb.embedder = counter
            started = time.perf_counter()
            reports = container.ingestor(kb).run([folder])
            seconds = time.perf_counter() - started
            done = sum(r.status == "done" for r in reports)
            skipped = sum(r.status == "skipped" for r in reports)
            print(f"{label:<26}{seconds:>9.2f}{counter.calls:>13}{done:>7}{skipped:>9}")


if __name__ == "__main__":
    main()
