"""Small helpers shared by the generator backends: message checks and a token estimate."""

from __future__ import annotations

import math
from collections.abc import Sequence

from kb_app.errors import GeneratorError

_ROLES = frozenset({"system", "user", "assistant"})


def check_messages(messages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Return the messages as plain dicts after checking their shape.

    Raises:
        GeneratorError: when the list is empty or a message has an unknown role or non-text content;
            this is a programming error in the caller, reported before any model is loaded.
    """
    if not messages:
        raise GeneratorError("No messages to send to the language model.")
    checked = []
    for index, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in _ROLES or not isinstance(content, str):
            raise GeneratorError(
                f"Message {index} is malformed: expected role in {sorted(_ROLES)} and text content, "
                f"got role={role!r}, content type {type(content).__name__}."
            )
        checked.append({"role": role, "content": content})
    return checked


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x2FFFF  # extensions B..F
    )


def estimate_tokens(text: str) -> int:
    """Rough token count for when no tokenizer is at hand (remote models).

    Modern BPE vocabularies (Qwen, GLM, Llama-3) spend about one token per 1.5 Chinese characters and
    one per 4 Latin characters; whitespace is counted with the Latin text. It is a budget, not a count:
    keep a margin when filling a context window with it.
    """
    cjk = sum(1 for char in text if _is_cjk(char))
    other = len(text) - cjk
    return math.ceil(cjk / 1.5 + other / 4)
