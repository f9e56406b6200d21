"""Fit the relevance model and the default "not found" threshold; report both on held-out questions.

Every dev question's candidates (query vector, FAISS top 50, BM25 top 50) are gathered once and cached
in bench/out/. Even-numbered questions fit the logistic model over the four relevance signals
(kb_app.relevance) and choose the threshold; odd-numbered questions are held out and report:

- ranking: hit@1/5/10 and MRR@10 when ranking by the fitted relevance vs the fixed "weighted" blend;
- "relevant content found": answerable = the question asked of the full KB (its best relevance);
  unanswerable = the same question against the KB without its gold article (best relevance of the rest).
  Precision/recall of "found" per threshold, and at the threshold chosen on the even half.

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/fit_relevance.py
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.container import Container
from kb_app.evaluation import load_questions
from kb_app.relevance import DEFAULT_MODEL, SIGNALS, RelevanceModel
from kb_app.retrieval import HybridRetriever

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval"
CACHE = Path(__file__).resolve().parent / "out" / "dev_candidates.pkl"
FIELDS = SIGNALS


def gathered(retriever: HybridRetriever) -> list[tuple[dict[str, Any], Any]]:
    if CACHE.exists():
        return pickle.loads(CACHE.read_bytes())  # type: ignore[no-any-return]
    rows = [(q, retriever.gather(q["question"])) for q in load_questions(EVAL / "dev_questions.jsonl", None)]
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(pickle.dumps([(q, type(f)(f.query_vector, f.dense, f.keyword)) for q, f in rows]))
    return rows


def table(retriever: HybridRetriever, rows: list[tuple[dict[str, Any], Any]]) -> list[dict[str, Any]]:
    """Per question: ids, features, labels (hit) and whether each chunk is from the gold article."""
    out = []
    for q, f in rows:
        found = retriever.collect(q["question"], f.query_vector, f.dense, f.keyword)
        gold = f"{q['doc_id']}.txt"
        answers = [re.sub(r"\s+", "", a) for a in q["answers"] if a.strip()]
        ids = list(found.signals)
        chunks = [found.chunks[i] for i in ids]
        out.append(
            {
                "x": np.array([[getattr(found.signals[i], k) for k in FIELDS] for i in ids]).reshape(
                    -1, len(FIELDS)
                ),
                "gold": np.array([c.source == gold for c in chunks], dtype=bool),
                "hit": np.array(
                    [
                        c.source == gold and any(a in re.sub(r"\s+", "", c.text) for a in answers)
                        for c in chunks
                    ],
                    dtype=bool,
                ),
            }
        )
    return out


def fit(rows: list[dict[str, Any]]) -> RelevanceModel:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([r["x"] for r in rows])
    y = np.concatenate([r["hit"] for r in rows])
    m = LogisticRegression(max_iter=3000).fit(x, y)
    return RelevanceModel(*(round(float(w), 2) for w in m.coef_[0]), bias=round(float(m.intercept_[0]), 2))


def ranking(rows: list[dict[str, Any]], score: Any) -> tuple[float, float, float, float]:
    ranks = []
    for r in rows:
        order = np.argsort(-np.array([score(x) for x in r["x"]]), kind="stable")
        hits = np.flatnonzero(r["hit"][order][:10])
        ranks.append(int(hits[0]) if len(hits) else None)
    n = len(ranks)
    return (
        sum(r == 0 for r in ranks) / n,
        sum(r is not None and r < 5 for r in ranks) / n,
        sum(r is not None for r in ranks) / n,
        sum(1 / (r + 1) for r in ranks if r is not None) / n,
    )


def found_scores(rows: list[dict[str, Any]], model: RelevanceModel) -> tuple[np.ndarray, np.ndarray]:
    from kb_app.relevance import Signals

    pos, neg = [], []
    for r in rows:
        s = np.array([model(Signals(*x)) for x in r["x"]])
        pos.append(s.max(initial=0.0))
        neg.append(s[~r["gold"]].max(initial=0.0))
    return np.array(pos), np.array(neg)


def threshold_for(pos: np.ndarray, recall: float) -> float:
    """The highest 2-decimal threshold that keeps `recall` of the answerable questions."""
    return max(t / 100 for t in range(101) if (pos >= t / 100).mean() >= recall)


def main() -> None:
    container = Container()
    retriever = container.retriever(container.open_kb("eval-corpus"))
    rows = table(retriever, gathered(retriever))
    train, held = rows[0::2], rows[1::2]
    model = fit(train)
    print(f"fitted on {len(train)} questions: {model}\n(shipped: {DEFAULT_MODEL})\n")
    print(f"held-out {len(held)} questions{'':<8}{'hit@1':>8}{'hit@5':>8}{'hit@10':>8}{'mrr@10':>8}")
    from kb_app.relevance import Signals

    for name, score in (
        ("relevance (fitted)", lambda x: model(Signals(*x))),
        ("shipped DEFAULT_MODEL", lambda x: DEFAULT_MODEL(Signals(*x))),
        ("weighted 0.4/0.6", lambda x: 0.4 * x[0] + 0.6 * x[1]),
    ):
        print(f"{name:<34}" + "".join(f"{v:>8.4f}" for v in ranking(held, score)))
    pos_t, _ = found_scores(train, model)
    pos, neg = found_scores(held, model)
    print(f"\n'found' on held-out: {len(pos)} answerable + {len(neg)} unanswerable (gold article removed)")
    print(f"{'threshold':>10}{'precision':>11}{'recall':>9}{'refused-unanswerable':>22}")
    for t in sorted(
        {*np.round(np.arange(0.05, 1.0, 0.05), 2), threshold_for(pos_t, 0.95), threshold_for(pos_t, 0.9)}
    ):
        tp, fp = (pos >= t).sum(), (neg >= t).sum()
        print(f"{t:>10.2f}{tp / max(1, tp + fp):>11.3f}{(pos >= t).mean():>9.3f}{(neg < t).mean():>22.3f}")
    print(
        f"threshold for recall 0.95 on the fitting half: {threshold_for(pos_t, 0.95):.2f}; "
        f"0.90: {threshold_for(pos_t, 0.9):.2f}"
    )


if __name__ == "__main__":
    main()
