"""Retrieval quality and latency on the CMRC 2018 + DRCD dev set: BM25 (the baseline), dense and hybrid
in one run, via `kb eval retrieval`. Prints a table; with --json the full result.

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/bench_retrieval.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kb_app.container import Container
from kb_app.evaluation import run_retrieval_eval

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run_retrieval_eval(
        Container(),
        EVAL / "corpus.jsonl",
        EVAL / "dev_questions.jsonl",
        kb_name="eval-corpus",
        limit=args.limit,
    )
    print(json.dumps(result, ensure_ascii=False) if args.json else result["table"])


if __name__ == "__main__":
    main()
