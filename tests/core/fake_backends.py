"""Fast fake backends for tests that start a real `kb` process: `KB_PLUGINS='["core.fake_backends"]'`
(with tests/ on PYTHONPATH) registers them; select them with KB_EMBEDDER__BACKEND=test-hash and
KB_LLM__BACKEND=echo.

The echo generator answers with the first sentence of source [1], so answers get real citations.
KBTEST_PIECE_DELAY slows its stream (seconds per piece) and KBTEST_GENERATOR_LOG names a file where each
stream writes "finished" or "closed" (cancelled before the end).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Generator

from conftest import HashingEmbedder

from kb_app import registry

_FIRST_SOURCE = re.compile(r"\[1\]（[^）]*）\n(.*?)(?:\n\n\[2\]|\n\n【问题】)", re.S)


class EchoGenerator:
    """Answers with the first sentence of source [1], two characters per piece."""

    name = "echo"

    def __init__(self, **_: object) -> None:
        self.delay = float(os.environ.get("KBTEST_PIECE_DELAY", "0"))
        self.log = os.environ.get("KBTEST_GENERATOR_LOG")

    @staticmethod
    def _answer(messages: list[dict[str, str]]) -> str:
        found = _FIRST_SOURCE.search(messages[-1]["content"])
        if found is None:
            return "知识库中没有找到相关信息。"
        text = found.group(1).strip()
        return text[: text.find("。") + 1] if "。" in text else text[:80]

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 512) -> str:
        return self._answer(messages)

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Generator[str, None, None]:
        text, finished = self._answer(messages), False
        try:
            for i in range(0, len(text), 2):
                time.sleep(self.delay)
                yield text[i : i + 2]
            finished = True
        finally:
            if self.log:
                with open(self.log, "a", encoding="utf-8") as f:
                    f.write("finished\n" if finished else "closed\n")


registry.register("embedder", "test-hash", HashingEmbedder)
registry.register("generator", "echo", EchoGenerator)
