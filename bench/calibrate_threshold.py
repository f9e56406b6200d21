"""Where should "not found" start? Relevance scores of answerable vs unanswerable questions.

Answerable: a dev question asked of the eval-corpus KB (top relevance among the top 5). Unanswerable: the
same question with every chunk of its gold article removed from the candidates, i.e. a KB that lacks the
article. Prints precision/recall of "relevant content found" per threshold, and the threshold with the
best F1 (the product default, `kb_app.container.DEFAULT_THRESHOLD`, comes from this table).

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/calibrate_threshold.py [--limit 600]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kb_app.container import Container
from kb_app.evaluation import load_questions
from kb_app.retrieval import Candidates

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=600)
    args = parser.parse_args()
    container = Container()
    kb = container.open_kb("eval-corpus")
    retriever = container.retriever(kb, top_k=5)
    sources = kb.catalog.chunk_sources(kb.kb_id)
    questions = load_questions(EVAL / "dev_questions.jsonl", None)[:: max(1, 4526 // args.limit)][
        : args.limit
    ]
    positives, negatives = [], []
    for q in questions:
        gold = f"{q['doc_id']}.txt"
        found = retriever.gather(q["question"])
        with_gold = retriever.score(found, retriever.config.fusion, 5)
        positives.append(max((h.score for h in with_gold), default=0.0))
        keep = (
            [(i, s) for i, s in found.dense if sources[i][0] != gold],
            [(i, s) for i, s in found.keyword if sources[i][0] != gold],
        )
        without = retriever.score(Candidates(found.query_vector, *keep), retriever.config.fusion, 5)
        negatives.append(max((h.score for h in without), default=0.0))
    pos, neg = np.array(positives), np.array(negatives)
    print(f"{len(pos)} answerable + {len(neg)} unanswerable questions; fusion={retriever.config.fusion}")
    print(f"{'threshold':>10}{'precision':>11}{'recall':>9}{'F1':>7}{'refuse-unanswerable':>21}")
    best = (0.0, 0.0)
    for threshold in np.arange(0.20, 0.80, 0.025):
        tp, fp = float((pos >= threshold).sum()), float((neg >= threshold).sum())
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / len(pos)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        best = max(best, (f1, float(threshold)))
        print(
            f"{threshold:>10.3f}{precision:>11.3f}{recall:>9.3f}{f1:>7.3f}{(neg < threshold).mean():>21.3f}"
        )
    print(f"best F1 {best[0]:.3f} at threshold {best[1]:.3f}")


if __name__ == "__main__":
    main()
