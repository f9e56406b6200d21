"""Prompts that a 1.5B-9B local model follows: Chinese instructions, numbered sources, token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kb_app.schema import ScoredChunk

REFUSAL_TEXT = "知识库中没有找到相关信息。"

SYSTEM_PROMPT = (
    "你是企业知识库问答助手。请只根据用户提供的【资料】回答问题，不要使用资料以外的知识，不要编造。"
    "回答要简洁、准确，使用中文；可以在句末用 [编号] 标出所依据的资料。"
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


def select_sources(hits: Sequence[ScoredChunk], budget_tokens: int, count: TokenCounter) -> list[ScoredChunk]:
    """Keep the best hits, in order, while they fit in `budget_tokens`; always keep the first."""
    chosen: list[ScoredChunk] = []
    used = 0
    for hit in hits:
        cost = count(format_source(len(chosen) + 1, hit)) + 2
        if chosen and used + cost > budget_tokens:
            break
        chosen.append(hit)
        used += cost
    return chosen


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
