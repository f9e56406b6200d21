"""The "plain prompt" baseline of `kb eval answers`: the same model, handed the passages in one Chinese
prompt, with no retrieval threshold, no citation step and no refusal rule of ours."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from kb_app.citations import is_refusal
from kb_app.prompting import estimate_tokens

PLAIN_SYSTEM_PROMPT = "根据以下资料回答问题。"
PASSAGE_CHARS = 400


def baseline_refused(text: str) -> bool:
    """Our refusal phrases, or a plain "can't tell" answer ("无法…信息", "没有…资料").

    "资料" is counted besides "信息" because the plain prompt calls its passages 资料.
    """
    if not text.strip() or is_refusal(text):
        return True
    return ("无法" in text or "没有" in text) and ("信息" in text or "资料" in text)


def plain_messages(question: str, passages: Sequence[str]) -> list[dict[str, str]]:
    blocks = "\n\n".join(f"资料{i}：{p.strip()}" for i, p in enumerate(passages, 1))
    return [
        {"role": "system", "content": PLAIN_SYSTEM_PROMPT},
        {"role": "user", "content": f"{blocks}\n\n问题：{question}"},
    ]


def ask_plain(generator: Any, question: str, passages: Sequence[str], max_tokens: int) -> dict[str, Any]:
    """One baseline answer, with the same timing fields as a pipeline answer.

    Streams (rather than `generate`) only to time the first token; the text is the same.
    """
    messages = plain_messages(question, passages)
    count = getattr(generator, "count_tokens", estimate_tokens)
    started = time.perf_counter()
    first: float | None = None
    pieces: list[str] = []
    for piece in generator.stream(messages, max_tokens=max_tokens):
        if first is None:
            first = time.perf_counter() - started
        pieces.append(piece)
    text = "".join(pieces).strip()
    return {
        "text": text,
        "refused": baseline_refused(text),
        "no_model": False,
        "citations": [],
        "first_token_s": first,
        "total_s": time.perf_counter() - started,
        "answer_tokens": count(text) if text else 0,
        "prompt_tokens": sum(count(m["content"]) for m in messages),
    }


def answer_window(text: str, answers: Sequence[str], size: int = PASSAGE_CHARS) -> str:
    """`size` characters of `text` centred on the first gold answer found (the start when none is)."""
    at = next((i for i in (text.find(a) for a in answers if a) if i >= 0), -1)
    if at < 0:
        return text[:size]
    start = max(0, min(at - size // 2, len(text) - size))
    return text[start : start + size]


def cmrc_passages(
    item: dict[str, Any], articles: dict[str, str], rng: random.Random, distractors: int = 3
) -> list[str]:
    """The gold article's window around the answer plus the first 400 characters of `distractors` other
    articles, the gold one at a random place."""
    others = sorted(doc for doc in articles if doc != item["doc_id"])
    chosen = [articles[doc][:PASSAGE_CHARS] for doc in rng.sample(others, min(distractors, len(others)))]
    gold = answer_window(articles.get(item["doc_id"], item.get("passage", "")), item["answers"])
    chosen.insert(rng.randint(0, len(chosen)), gold)
    return chosen
