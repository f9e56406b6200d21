"""GGUF chat formatting: the template comes from the file's metadata, for GLM GGUFs as for the default model,
and the fixed system prompt's KV cache is reused from one question to the next."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb_app.llms.gguf_chat import CHAT_TEMPLATE_KEY, common_prefix_length, prompt_tokens
from kb_app.llms.llamacpp import LlamaCppGenerator
from kb_app.prompting import SYSTEM_PROMPT, build_messages
from kb_app.schema import Chunk, ScoredChunk

from .tiny_models import GLM4_TEMPLATE, render

MESSAGES = [
    {"role": "system", "content": "只用资料回答。"},
    {"role": "user", "content": "北京是哪个国家的首都？"},
]


def _record_evaluated_tokens(llama: Any, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Spy on Llama.eval: one list of token ids per call, i.e. what llama.cpp actually computed."""
    calls: list[list[int]] = []
    real_eval = llama.eval

    def spy(tokens: Any) -> Any:
        calls.append(list(tokens))
        return real_eval(tokens)

    monkeypatch.setattr(llama, "eval", spy)
    return calls


def test_common_prefix_length() -> None:
    assert common_prefix_length([1, 2, 3, 4], [1, 2, 9]) == 2
    assert common_prefix_length([], [1]) == 0
    assert common_prefix_length([1, 2], [1, 2, 3]) == 2


@pytest.mark.parametrize("architecture", ["glm4", "chatglm"])
def test_glm_gguf_uses_its_metadata_template(
    architecture: str, tiny_glm_gguf: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = LlamaCppGenerator(tiny_glm_gguf(architecture), context_tokens=512, temperature=0.0)
    prompt = generator.render_prompt(MESSAGES)
    assert prompt == render(GLM4_TEMPLATE, MESSAGES)
    assert prompt.startswith("[gMASK]<sop><|system|>\n只用资料回答。<|user|>\n")
    llama = generator._model()
    assert llama.metadata["general.architecture"] == architecture
    assert llama.metadata[CHAT_TEMPLATE_KEY] == GLM4_TEMPLATE
    evaluated = _record_evaluated_tokens(llama, monkeypatch)
    answer = generator.generate(MESSAGES, max_tokens=6)
    assert isinstance(answer, str)
    assert evaluated[0] == prompt_tokens(llama, prompt), "llama.cpp must be fed the rendered template"
    special = {llama.tokenize(text.encode(), add_bos=False, special=True)[0] for text in ("[gMASK]", "<sop>")}
    assert set(evaluated[0][:2]) == special, "GLM control tokens are parsed as tokens, not as text"
    assert "".join(generator.stream(MESSAGES, max_tokens=6)) == answer


def _hit(text: str, source: str) -> ScoredChunk:
    return ScoredChunk(Chunk(chunk_id=source, text=text, source=source), 0.9)


QUESTION_1 = build_messages(
    "星河公司的总部在哪里？", [_hit("星河公司成立于2003年，总部位于杭州市西湖区。", "a.txt")]
)
QUESTION_2 = build_messages("年假有几天？", [_hit("员工入职满一年后，每年享有十天带薪年假。", "b.txt")])


@pytest.fixture(scope="module")
def default_model(default_gguf: Path) -> LlamaCppGenerator:
    return LlamaCppGenerator(default_gguf, context_tokens=2048, temperature=0.0, seed=0)


@pytest.mark.slow
def test_default_gguf_prompt_comes_from_its_metadata(default_model: LlamaCppGenerator) -> None:
    llama = default_model._model()
    template = llama.metadata[CHAT_TEMPLATE_KEY]
    prompt = default_model.render_prompt(QUESTION_1)
    assert prompt == render(template, QUESTION_1)
    # Qwen's template, taken from the file: nothing in kb_app writes these markers.
    assert prompt.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n")
    assert prompt.endswith("<|im_start|>assistant\n")
    assert llama.chat_handler is not None, "our metadata formatter, not llama-cpp-python's guess"


@pytest.mark.slow
def test_system_prompt_kv_cache_is_reused_across_questions(
    default_model: LlamaCppGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    llama = default_model._model()
    llama.reset()  # start cold, whatever ran before
    evaluated = _record_evaluated_tokens(llama, monkeypatch)
    total_1, cached_1 = default_model.cached_prompt_tokens(QUESTION_1)
    assert cached_1 == 0
    first = default_model.generate(QUESTION_1, max_tokens=8)
    assert "杭州" in first, first
    assert len(evaluated[0]) == total_1
    total_2, cached_2 = default_model.cached_prompt_tokens(QUESTION_2)
    system_tokens = len(prompt_tokens(llama, f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n"))
    assert cached_2 >= system_tokens, "the whole system message should already be in the KV cache"
    evaluated.clear()
    assert "十" in default_model.generate(QUESTION_2, max_tokens=8)
    assert len(evaluated[0]) == total_2 - cached_2, "only the part after the shared prefix is evaluated"
