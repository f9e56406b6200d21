"""Benchmark the keyword (BM25) index on the CMRC 2018 + DRCD retrieval set.

Cuts every article of ../shared/eval/retrieval/corpus.jsonl into fixed-size character windows
(default 300 chars every 240, ~6,000 chunks), builds `KeywordIndex` and, as the baseline measured in
the same run, plain bm25s over unfiltered `jieba.lcut_for_search` tokens. Prints build time, query
latency and hit@k / MRR@10 on the dev questions (a hit: a chunk of the gold article that contains an
answer, whitespace removed).

    .venv/bin/python bench/bench_keyword.py [--questions 1000] [--size 300] [--stride 240]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb_app.vectorstores.keyword_index import KeywordIndex

EVAL_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "retrieval"
Search = Callable[[str, int], list[tuple[int, float]]]


def load_chunks(size: int, stride: int) -> tuple[list[str], list[str]]:
    """Return (chunk texts, doc id of each chunk)."""
    texts, doc_ids = [], []
    with open(EVAL_DIR / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            text = record["text"]
            for start in range(0, max(len(text) - size + stride, 1), stride):
                texts.append(text[start : start + size])
                doc_ids.append(record["doc_id"])
    return texts, doc_ids


def load_questions(limit: int) -> list[dict[str, object]]:
    with open(EVAL_DIR / "dev_questions.jsonl", encoding="utf-8") as handle:
        questions = [json.loads(line) for line in handle]
    # Every n-th question, so a limited run still mixes CMRC (simplified) and DRCD (traditional).
    step = max(1, len(questions) // limit) if limit else 1
    return questions[::step][:limit] if limit else questions


def build_baseline(texts: list[str]) -> Search:
    import bm25s
    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    retriever = bm25s.BM25(backend="numpy")
    retriever.index([jieba.lcut_for_search(t) for t in texts], show_progress=False)

    def search(query: str, k: int) -> list[tuple[int, float]]:
        tokens = [t for t in jieba.lcut_for_search(query) if t in retriever.vocab_dict]
        if not tokens:
            return []
        scores = retriever.get_scores(tokens)
        top = np.argsort(-scores)[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    return search


def evaluate(search: Search, questions: list[dict], texts: list[str], doc_ids: list[str]) -> dict[str, float]:
    latencies, ranks = [], []
    for question in questions:
        started = time.perf_counter()
        hits = search(str(question["question"]), 10)
        latencies.append((time.perf_counter() - started) * 1000)
        answers = ["".join(a.split()) for a in question["answers"]]
        rank = next(
            (
                r
                for r, (i, _) in enumerate(hits, 1)
                if doc_ids[i] == question["doc_id"] and any(a in "".join(texts[i].split()) for a in answers)
            ),
            None,
        )
        ranks.append(rank)
    n = len(questions)
    return {
        "p50_ms": statistics.median(latencies),
        "p95_ms": float(np.percentile(latencies, 95)),
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "hit@10": sum(r is not None for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1000, help="0 = all 4,526")
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--stride", type=int, default=240)
    args = parser.parse_args()

    texts, doc_ids = load_chunks(args.size, args.stride)
    questions = load_questions(args.questions)
    print(f"{len(texts)} chunks of <= {args.size} chars, {len(questions)} questions")

    rows = []
    started = time.perf_counter()
    index = KeywordIndex.build(list(range(len(texts))), texts)
    rows.append(("KeywordIndex", time.perf_counter() - started, index.search))
    started = time.perf_counter()
    baseline = build_baseline(texts)
    rows.append(("baseline bm25s+jieba", time.perf_counter() - started, baseline))

    header = f"{'variant':<22}{'build s':>9}{'p50 ms':>8}{'p95 ms':>8}"
    header += "".join(f"{m:>8}" for m in ("hit@1", "hit@5", "hit@10", "mrr@10"))
    print(header)
    for name, build_s, search in rows:
        m = evaluate(search, questions, texts, doc_ids)
        line = f"{name:<22}{build_s:>9.1f}{m['p50_ms']:>8.2f}{m['p95_ms']:>8.2f}"
        line += "".join(f"{m[k]:>8.3f}" for k in ("hit@1", "hit@5", "hit@10", "mrr@10"))
        print(line)


if __name__ == "__main__":
    main()
