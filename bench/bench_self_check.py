"""Can the model tell its own ungrounded answers apart? A yes/no self-check vs the lexical checks, on RGB.

Each RGB zh_refine item is asked twice with the pipeline's prompt (`build_messages`, passages capped by
`select_sources`): with only negative passages (a right answer is a refusal) and with positives +
negatives (a right answer holds the gold). After each answer the same model is asked a yes/no question
about it, reusing the KV cache (only the question is new), and P(否) is read from the first token's
logits. The table compares what each check refuses:

- model: the model's own refusal only;
- + citations: also refuse when no sentence is supported by a passage (`kb_app.citations`);
- + question match: also refuse when the supporting passages are not about the question
  (`kb_app.question_match`), which is what the pipeline does;
- self-check X@p: the model's own refusal, or P(否) >= p for judge prompt X.

The default items (240-299) are ones `kb eval answers --rgb 200` does not use.

    .venv/bin/python bench/bench_self_check.py [--start 240] [--end 300]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from kb_app.answer_eval import default_data_dir, load_rgb, rgb_correct
from kb_app.answer_eval_run import rgb_conditions
from kb_app.citations import is_refusal, verify_answer
from kb_app.prompting import build_messages, select_sources
from kb_app.question_match import matches_question
from kb_app.schema import Chunk, ScoredChunk

JUDGES = {
    "A": "请判断：【资料】中是否明确写有【问题】的答案？只回答“是”或“否”。",
    "B": "请检查上面的回答：其中的关键信息（人名、地名、时间、数字）是否都能在【资料】中找到原文，"
    "并且确实回答了【问题】？只回答“是”或“否”。",
}
THRESHOLDS = (0.1, 0.15, 0.2, 0.3, 0.5)


def p_no(llama: Any, messages: list[dict[str, str]], yes: int, no: int) -> float:
    """P(否) against P(是) at the first token of the reply to `messages`."""
    from llama_cpp import LogitsProcessorList

    seen: dict[str, Any] = {}

    def capture(_ids: Any, scores: Any) -> Any:
        seen.setdefault("scores", scores.copy())
        return scores

    llama.create_chat_completion(
        messages=messages, max_tokens=1, temperature=0, logits_processor=LogitsProcessorList([capture])
    )
    scores = seen["scores"]
    return 1 / (1 + math.exp(float(scores[yes]) - float(scores[no])))


def ask(generator: Any, item: dict[str, Any], condition: str, passages: list[str]) -> dict[str, Any]:
    llama = generator._model()
    yes, no = (llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in ("是", "否"))
    question = item["query"]
    hits = [ScoredChunk(Chunk(f"c{k}", p, f"p{k}.txt"), 1.0) for k, p in enumerate(passages, 1)]
    sources = select_sources(hits, 450, generator.count_tokens, question)
    messages = build_messages(question, sources)
    answer = generator.generate(messages, 200).strip()
    record: dict[str, Any] = {"condition": condition, "refused": is_refusal(answer) or not answer}
    record["right"] = (
        record["refused"]
        if condition == "neg"
        else rgb_correct(answer, item["answer"]) and not record["refused"]
    )
    citations, _ = verify_answer(answer, sources, question)
    record["cited"] = bool(citations)
    texts = [
        f"{h.chunk.source}\n{h.chunk.text}"
        for h in sources
        if h.chunk.source in {c.source for c in citations}
    ]
    record["matches"] = bool(citations) and matches_question(question, texts)
    followed = [*messages, {"role": "assistant", "content": answer}]
    for name, judge in JUDGES.items():
        started = time.perf_counter()
        record[f"p_no_{name}"] = p_no(llama, [*followed, {"role": "user", "content": judge}], yes, no)
        record[f"judge_s_{name}"] = time.perf_counter() - started
    return record


def table(records: list[dict[str, Any]]) -> str:
    neg = [r for r in records if r["condition"] == "neg"]
    mix = [r for r in records if r["condition"] == "mix"]
    rows = [
        ("model", lambda r: r["refused"]),
        ("+ citations", lambda r: r["refused"] or not r["cited"]),
        ("+ question match", lambda r: r["refused"] or not r["matches"]),
    ]
    for name in JUDGES:
        rows += [
            (f"self-check {name}@{p}", lambda r, n=name, p=p: r["refused"] or r[f"p_no_{n}"] >= p)
            for p in THRESHOLDS
        ]
    out = [
        f"RGB zh_refine, {len(neg)} items: answers refused with negative passages only (want all) and "
        "right answers kept with positive + negative passages",
        f"{'check':<22}{'neg refused':>12}{'mix right kept':>16}",
    ]
    for label, refuses in rows:
        refused = sum(1 for r in neg if refuses(r)) / len(neg)
        kept = sum(1 for r in mix if r["right"] and not refuses(r)) / len(mix)
        out.append(f"{label:<22}{refused:>12.3f}{kept:>16.3f}")
    for name in JUDGES:
        judge_ms = sorted(r[f"judge_s_{name}"] for r in records)[len(records) // 2] * 1000
        out.append(
            f"self-check {name}: median extra latency {judge_ms:.0f} ms (KV cache of the answer reused)"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--start", type=int, default=240)
    parser.add_argument("--end", type=int, default=300)
    args = parser.parse_args()
    from kb_app.cli_eval_answers import make_container

    generator = make_container(None, None, None).generator
    items = load_rgb(args.data_dir / "answers" / "rgb" / "zh_refine.json", args.end)[args.start : args.end]
    records = [
        ask(generator, item, condition, passages)
        for item in items
        for condition, passages in rgb_conditions(item, False).items()
    ]
    print(table(records))


if __name__ == "__main__":
    main()
