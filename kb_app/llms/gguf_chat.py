"""Chat formatting and prompt-cache helpers for GGUF models loaded with llama-cpp-python.

The chat template always comes from the GGUF's own metadata (`tokenizer.chat_template`), so Qwen, GLM-4,
ChatGLM3 or Llama files are formatted the way they were trained, with no per-family code here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CHAT_TEMPLATE_KEY = "tokenizer.chat_template"


def token_text(llama: Any, token_id: int) -> str:
    """The vocabulary text of one token ('' for -1, i.e. "this model has no such token")."""
    if token_id < 0:
        return ""
    return bytes(llama.detokenize([token_id], special=True)).decode("utf-8", errors="replace")


def metadata_chat_formatter(llama: Any) -> Any | None:
    """A llama-cpp-python Jinja2ChatFormatter for the template in the GGUF metadata, or None if absent.

    llama-cpp-python would otherwise guess: a template that matches one of its built-in formats byte for
    byte is swapped for that format's hand-written code. Building the formatter ourselves keeps the
    model's template authoritative and lets `render_prompt` show exactly what is sent.
    """
    template = llama.metadata.get(CHAT_TEMPLATE_KEY)
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos_id, bos_id = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama, eos_id),
        bos_token=token_text(llama, bos_id),
        stop_token_ids=[eos_id],
    )


def prompt_tokens(llama: Any, prompt: str) -> list[int]:
    """Tokens of a rendered chat prompt, tokenized as llama-cpp-python's chat handler does it."""
    # The template writes BOS/special tokens itself, so no extra BOS; special tokens are parsed.
    return list(llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))


def common_prefix_length(cached: Sequence[int], tokens: Sequence[int]) -> int:
    """How many leading tokens two sequences share."""
    length = 0
    for old, new in zip(cached, tokens, strict=False):
        if old != new:
            break
        length += 1
    return length


def cached_prefix(llama: Any, tokens: Sequence[int]) -> int:
    """Prompt tokens whose keys/values llama.cpp already holds from the previous call.

    llama-cpp-python (0.3.x) keeps the last prompt and reply in the context and, on the next call,
    evaluates only the tokens after the longest common prefix. Our prompts start with the same system
    message for every question, so that part is evaluated once per process, not once per question.
    """
    return common_prefix_length(list(llama.input_ids[: llama.n_tokens]), tokens)
