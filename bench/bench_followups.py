"""Follow-up questions: retrieval hit@1/hit@5 with and without condensing, one table.

The set (bench/data/followups.jsonl, written by hand) holds a first turn and a follow-up that only makes
sense after it ("那它需要多少显存？"), over the sample KB and the CMRC/DRCD eval corpus. A hit is a
top-k chunk from the gold file that holds a gold answer string. Modes: `off` (the follow-up as typed),
`previous+question` (the naive fix: search the previous question and the follow-up together), `rules`
(kb_app.condense.RuleCondenser, the default) and `llm` (the local model rewrites; --llm to include).

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/bench_followups.py [--llm]
(needs KBs `samples` (knowledge_base/samples/content) and `eval-corpus` (bench/bench_retrieval.py) there)
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from kb_app.condense import LLMCondenser, RuleCondenser
from kb_app.container import Container

DATA = Path(__file__).resolve().parent / "data" / "followups.jsonl"


def _hit_rank(hits: list[Any], item: dict[str, Any]) -> int | None:
    answers = [re.sub(r"\s+", "", a) for a in item["answers"]]
    for rank, hit in enumerate(hits):
        text = re.sub(r"\s+", "", hit.chunk.text)
        if hit.chunk.source == item["gold"] and any(a in text for a in answers):
            return rank
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", action="store_true", help="also measure the LLM condenser (slow)")
    args = parser.parse_args()
    container = Container()
    items = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    modes: dict[str, Any] = {
        "off": lambda q, h: q,
        "previous+question": lambda q, h: f"{h[-1][0]} {q}",
        "rules": RuleCondenser(),
    }
    if args.llm:
        modes["llm"] = LLMCondenser(container.generator)
    retrievers = {
        name: container.retriever(container.open_kb(name), top_k=5) for name in {i["kb"] for i in items}
    }
    print(f"{len(items)} follow-up questions ({', '.join(sorted(retrievers))})")
    print(f"{'mode':<20}{'hit@1':>8}{'hit@5':>8}{'condense ms (p50)':>20}")
    for name, condense in modes.items():
        ranks, costs = [], []
        for item in items:
            history = [tuple(turn) for turn in item["history"]]
            started = time.perf_counter()
            query = condense(item["question"], history)
            costs.append(time.perf_counter() - started)
            ranks.append(_hit_rank(retrievers[item["kb"]].search(query), item))
        hit1 = sum(r == 0 for r in ranks) / len(ranks)
        hit5 = sum(r is not None for r in ranks) / len(ranks)
        p50 = sorted(costs)[len(costs) // 2] * 1000
        print(f"{name:<20}{hit1:>8.3f}{hit5:>8.3f}{p50:>20.1f}")


if __name__ == "__main__":
    main()
