"""Ingestion throughput: the pipeline's embedding stage against the embedder's own standalone throughput
on the same chunks, plus whole-pipeline chunks/s. Target: stage >= 90% of standalone.

    .venv/bin/python bench/bench_ingest.py [--docs 60]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from kb_app.container import Container
from kb_app.settings import Settings

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval" / "corpus.jsonl"


class TimedEmbedder:
    """Wraps an embedder and adds up the time spent in embed_documents."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.texts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> Any:
        started = time.perf_counter()
        out = self.inner.embed_documents(texts)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return out


def _time(fn: Any, arg: Any) -> float:
    started = time.perf_counter()
    fn(arg)
    return time.perf_counter() - started


def _chunk_texts(container: Container, folder: Path) -> list[str]:
    """The chunks the pipeline will embed, made by the same loader and splitter."""
    from kb_app.ingest.loaders import loader_for

    splitter = container.splitter()
    texts = []
    for path in sorted(folder.iterdir()):
        texts += [c.text for c in splitter.split("bench", loader_for(path).load(path, path.name))]
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=60, help="corpus articles to ingest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KB_HOME"] = str(Path(tmp) / "home")
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines()[: args.docs]):
            record = json.loads(line)
            (folder / f"{i:04d}.txt").write_text(f"{record['title']}\n\n{record['text']}", encoding="utf-8")
        container = Container(Settings())
        kb = container.open_kb("bench", create=True)
        timed = TimedEmbedder(kb.embedder)
        kb.embedder = timed
        texts = _chunk_texts(container, folder)
        timed.inner.embed_documents(["预热"])  # load the model outside the timings
        before = _time(timed.inner.embed_documents, texts)
        started = time.perf_counter()
        reports = container.ingestor(kb).run([folder])
        total_s = time.perf_counter() - started
        # Baseline: the faster of two standalone runs, one before and one after (machine noise).
        standalone_s = min(before, _time(timed.inner.embed_documents, texts))
    chunks = sum(r.chunks for r in reports)
    rows = [
        ("embedder standalone (baseline)", len(texts) / standalone_s),
        ("pipeline embedding stage", timed.texts / timed.seconds),
        ("pipeline end to end", chunks / total_s),
    ]
    print(f"{'measure':<34}{'chunks/s':>10}{'vs baseline':>14}")
    for name, rate in rows:
        print(f"{name:<34}{rate:>10.2f}{rate / rows[0][1]:>13.0%}")
    print(
        f"{args.docs} articles, {chunks} chunks, ingest {total_s:.1f} s, "
        f"standalone embed {standalone_s:.1f} s"
    )


if __name__ == "__main__":
    main()
