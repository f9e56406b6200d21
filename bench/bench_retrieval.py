"""Retrieval quality and latency on the CMRC 2018 + DRCD dev set, one table: our fusions (via
`kb eval retrieval`) and, in the same run, the Langchain-Chatchat-style baseline (LangChain FAISS +
250/50 recursive Chinese splitter + the same embedder, no BM25; bench/chatchat_baseline.py).

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/bench_retrieval.py [--limit N] [--no-chatchat]
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
from kb_app.evaluation import Tally, first_hit, format_table, load_questions, run_retrieval_eval

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval"


def chatchat_tally(container: Container, questions: list[dict]) -> tuple[Tally, float]:
    kb = container.open_kb("eval-corpus")
    store, build_s = build_or_load(EVAL / "corpus.jsonl", kb.embedder)
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
    parser.add_argument("--no-chatchat", action="store_true")
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
    if not args.no_chatchat:
        tally, build_s = chatchat_tally(container, load_questions(EVAL / "dev_questions.jsonl", args.limit))
        result["by_config"]["chatchat-baseline"] = tally.metrics()
        result["chatchat_build_s"] = round(build_s, 1)
        result["table"] = format_table(result)
    print(json.dumps(result, ensure_ascii=False) if args.json else result["table"])


if __name__ == "__main__":
    main()
