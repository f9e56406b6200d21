"""Prompts that a 1.5B-9B local model follows: Chinese instructions, numbered sources, token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from kb_app.ingest.splitters.chinese import split_chinese_sentences
from kb_app.schema import ScoredChunk

REFUSAL_TEXT = "知识库中没有找到相关信息。"

SYSTEM_PROMPT = (
    "你是企业知识库问答助手。请只根据用户提供的【资料】回答问题，不要使用资料以外的知识，不要编造。"
    "回答要简洁、准确，使用中文，先直接给出答案，尽量沿用资料中的原话；"
    "可以在句末用 [1]、[2] 这样的编号标出所依据的资料。"
    f"如果资料中没有答案，就只回答：“{REFUSAL_TEXT}”"
)

TokenCounter = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """Rough count for models without a tokenizer at hand: ~1 token per CJK char, ~4 latin chars."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    return cjk + (len(text) - cjk) // 4 + 1


def format_source(number: int, hit: ScoredChunk) -> str:
    chunk = hit.chunk
    where = chunk.source + (f"，第{chunk.page}页" if chunk.page else "")
    return f"[{number}]（{where}）\n{chunk.text.strip()}"


MIN_PART_TOKENS = 60  # a trimmed passage shorter than this rarely holds a whole answer


def best_window(text: str, question: str, max_tokens: int, count: TokenCounter) -> str:
    """The run of whole sentences of `text` that fits `max_tokens` and shares the most character
    bigrams with the question (where its answer most likely is)."""
    sentences = split_chinese_sentences(text)
    wanted = {question[i : i + 2] for i in range(len(question) - 1)}
    best, best_score = "", -1.0
    for start in range(len(sentences)):
        window = ""
        for sentence in sentences[start:]:
            if count(window + sentence) > max_tokens:
                break
            window += sentence
        score = sum(1 for i in range(len(window) - 1) if window[i : i + 2] in wanted)
        if window and score > best_score:
            best, best_score = window, score
    return best


def select_sources(
    hits: Sequence[ScoredChunk], budget_tokens: int, count: TokenCounter, question: str = ""
) -> list[ScoredChunk]:
    """The best hits, in order, while they fit in `budget_tokens`; the first always, whole.

    A hit that does not fit whole is cut to its sentences nearest the question when at least
    MIN_PART_TOKENS remain, then selection stops: prefill time grows with every token, and the
    first passages are the likely ones.
    """
    chosen: list[ScoredChunk] = []
    used = 0
    for hit in hits:
        cost = count(format_source(len(chosen) + 1, hit)) + 2
        if chosen and used + cost > budget_tokens:
            room = budget_tokens - used - (cost - count(hit.chunk.text))
            part = best_window(hit.chunk.text, question, room, count) if room >= MIN_PART_TOKENS else ""
            if part:
                chosen.append(replace(hit, chunk=replace(hit.chunk, text=part)))
            break
        chosen.append(hit)
        used += cost
    return chosen


def trim_history(
    history: Sequence[tuple[str, str]], budget_tokens: int, count: TokenCounter
) -> list[tuple[str, str]]:
    """The most recent turns that fit in `budget_tokens` (older turns are dropped first)."""
    kept: list[tuple[str, str]] = []
    used = 0
    for asked, answered in reversed(history):
        used += count(asked) + count(answered) + 8
        if used > budget_tokens:
            break
        kept.insert(0, (asked, answered))
    return kept


def build_messages(
    question: str,
    sources: Sequence[ScoredChunk],
    history: Sequence[tuple[str, str]] = (),
) -> list[dict[str, str]]:
    """Chat messages: system rules, earlier turns, then the numbered sources and the question."""
    blocks = "\n\n".join(format_source(i + 1, hit) for i, hit in enumerate(sources))
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for asked, answered in history:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
    messages.append({"role": "user", "content": f"【资料】\n{blocks}\n\n【问题】{question}"})
    return messages
