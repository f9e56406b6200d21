"""Sweep fusion settings on the retrieval dev set without re-running the expensive part.

Gathers each dev question's candidates once (query embedding, FAISS top 50, BM25 top 50; cached in
bench/out/), then scores many fusion settings in seconds. Dev questions only: the final check uses the
product's defaults through `kb eval retrieval`.

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/tune_fusion.py
"""

from __future__ import annotations

import itertools
import pickle
import re
from pathlib import Path

from kb_app.container import Container
from kb_app.embedders.base import Calibration
from kb_app.evaluation import load_questions
from kb_app.retrieval import Candidates, HybridRetriever, RetrievalConfig

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval"
CACHE = Path(__file__).resolve().parent / "out" / "dev_candidates.pkl"


def gather_all(retriever: HybridRetriever) -> list[tuple[dict, Candidates]]:
    if CACHE.exists():
        return pickle.loads(CACHE.read_bytes())
    rows = [(q, retriever.gather(q["question"])) for q in load_questions(EVAL / "dev_questions.jsonl", None)]
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(pickle.dumps(rows))
    return rows


def evaluate(retriever: HybridRetriever, fusion: str, rows, sources) -> tuple[float, float, float]:
    hit1 = hit5 = mrr = 0.0
    for q, found in rows:
        gold = f"{q['doc_id']}.txt"
        answers = [re.sub(r"\s+", "", a) for a in q["answers"] if a.strip()]
        for rank, vid in enumerate(retriever.rank(fusion, found)[:10]):
            source, text = sources[vid]
            if source == gold and any(a in re.sub(r"\s+", "", text) for a in answers):
                hit1 += rank == 0
                hit5 += rank < 5
                mrr += 1 / (rank + 1)
                break
    n = len(rows)
    return hit1 / n, hit5 / n, mrr / n


def main() -> None:
    container = Container()
    kb = container.open_kb("eval-corpus")
    sources = kb.catalog.chunk_sources(kb.kb_id)
    rows = gather_all(container.retriever(kb))
    print(f"{'fusion':<10}{'w_dense':>8}{'floor':>7}{'ceil':>6}{'hit@1':>8}{'hit@5':>8}{'mrr@10':>8}")
    for w, k in itertools.product((0.3, 0.4, 0.5, 0.6), (20, 60)):
        r = HybridRetriever(kb, RetrievalConfig(fusion="rrf", dense_weight=w, rrf_k=k))
        h1, h5, m = evaluate(r, "rrf", rows, sources)
        print(f"{'rrf k=' + str(k):<10}{w:>8}{'':>7}{'':>6}{h1:>8.4f}{h5:>8.4f}{m:>8.4f}")
    for w, floor, ceil in itertools.product((0.3, 0.4, 0.5, 0.6), (0.70, 0.75, 0.80), (0.90, 0.95)):
        r = HybridRetriever(kb, RetrievalConfig(fusion="weighted", dense_weight=w))
        r.calibration = Calibration(floor, ceil)
        h1, h5, m = evaluate(r, "weighted", rows, sources)
        print(f"{'weighted':<10}{w:>8}{floor:>7}{ceil:>6}{h1:>8.4f}{h5:>8.4f}{m:>8.4f}")


if __name__ == "__main__":
    main()
