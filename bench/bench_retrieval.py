"""Retrieval quality and latency on the CMRC 2018 + DRCD dev set, one table: our fusions and BM25
tokenizers on the full corpus (via `kb eval retrieval`) and, in the same run, the
Langchain-Chatchat-style baseline (LangChain FAISS + 250/50 recursive Chinese splitter + the same
embedder, no BM25; bench/chatchat_baseline.py) against our default pipeline on one corpus subset
(the gold articles of the first --subset questions plus as many distractors: embedding the whole
corpus twice more costs ~45 min on 2 cores).

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/bench_retrieval.py [--limit N] [--subset 300]
        [--tokenizers precise,search-t2s-off] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

from chatchat_baseline import build_or_load, search

from kb_app.container import Container
from kb_app.eval_variants import score_variant, subset_corpus
from kb_app.evaluation import Tally, first_hit, format_table, load_questions, run_retrieval_eval

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval"


def chatchat_tally(container: Container, corpus: Path, questions: list[dict]) -> tuple[Tally, float]:
    store, build_s = build_or_load(corpus, container.embedder())
    tally = Tally([], [])
    for q in questions:
        started = time.perf_counter()
        found = search(store, q["question"], k=10)
        tally.latencies.append(time.perf_counter() - started)
        tally.ranks.append(first_hit([SimpleNamespace(source=s, text=t) for s, t in found], q))
    return tally, build_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--tokenizers", default="", help="BM25 tokenizer variants to add")
    parser.add_argument("--subset", type=int, default=300, help="questions for the baseline (0: skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    container = Container()
    result = run_retrieval_eval(
        container,
        EVAL / "corpus.jsonl",
        EVAL / "dev_questions.jsonl",
        kb_name="eval-corpus",
        limit=args.limit,
        tokenizers=[t for t in args.tokenizers.split(",") if t],
    )
    if args.subset:
        questions = load_questions(EVAL / "dev_questions.jsonl", args.subset)
        subset = subset_corpus(
            EVAL / "corpus.jsonl", questions, container.settings.home / ".eval-sources" / "variants.jsonl"
        )
        ours = score_variant(container, subset, questions, "default")
        result["by_config"]["subset/ours (default)"] = ours.metrics()
        tally, build_s = chatchat_tally(container, subset, questions)
        result["by_config"]["subset/chatchat-baseline"] = tally.metrics()
        result["chatchat_build_s"] = round(build_s, 1)
        result["table"] = format_table(result)
    print(json.dumps(result, ensure_ascii=False) if args.json else result["table"])


if __name__ == "__main__":
    main()
