"""TransformersGenerator on tiny random-weight GLM models built in the test (no hub access).

"glm" is GlmForCausalLM (glm-4-9b-chat-hf, GLM-Edge), "glm4" is Glm4ForCausalLM (GLM-4-0414); each is
saved with its own chat template and loaded back through the real loader with local_files_only.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb_app import registry
from kb_app.errors import KBError, ModelNotFound
from kb_app.llms.transformers_lm import TransformersGenerator
from kb_app.protocols import Generator

from .tiny_models import CORPUS, SPECIAL_TOKENS, TEMPLATES, render

MESSAGES = [
    {"role": "system", "content": "请只用资料回答。"},
    {"role": "user", "content": "北京是哪个国家的首都？"},
]
VOCABULARY = set(CORPUS + " \n")


@pytest.fixture(scope="session")
def glm_dir(tiny_glm: Callable[[str], Path]) -> Path:
    return tiny_glm("glm")


@pytest.fixture(scope="session")
def glm_without_eos_dir(glm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model, but it can never stop by itself: only max_tokens or cancellation end a reply."""
    directory = tmp_path_factory.mktemp("tiny-glm-no-eos") / "model"
    shutil.copytree(glm_dir, directory)
    (directory / "generation_config.json").write_text(json.dumps({"pad_token_id": 0}), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def greedy_glm(glm_dir: Path) -> TransformersGenerator:
    return TransformersGenerator(glm_dir, temperature=0.0)


def test_registry_and_protocol(glm_dir: Path) -> None:
    generator = registry.resolve("generator", "transformers")(model_path=glm_dir)
    assert isinstance(generator, Generator)
    assert generator.name == f"transformers:{glm_dir.name}"


def test_generate_returns_decoded_text(greedy_glm: TransformersGenerator) -> None:
    answer = greedy_glm.generate(MESSAGES, max_tokens=12)
    assert isinstance(answer, str) and answer
    assert set(answer) <= VOCABULARY, "decoded text must come from the tokenizer's vocabulary"
    assert 0 < greedy_glm.count_tokens(answer) <= 12
    assert not any(token in answer for token in SPECIAL_TOKENS), "special tokens are skipped"
    assert greedy_glm.generate(MESSAGES, max_tokens=12) == answer, "temperature 0 decodes greedily"


def test_stream_concatenates_to_greedy_generate(greedy_glm: TransformersGenerator) -> None:
    pieces = list(greedy_glm.stream(MESSAGES, max_tokens=24))
    assert len(pieces) >= 2
    assert "".join(pieces) == greedy_glm.generate(MESSAGES, max_tokens=24)


def test_count_tokens_uses_real_tokenizer(greedy_glm: TransformersGenerator) -> None:
    assert greedy_glm.count_tokens("北京是首都") == 5
    assert greedy_glm.count_tokens("") == 0


@pytest.mark.parametrize("architecture", ["glm", "glm4"])
def test_prompt_is_the_tokenizers_own_chat_template(
    architecture: str, tiny_glm: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tiny_glm(architecture)
    saved_template = (directory / "chat_template.jinja").read_text(encoding="utf-8")
    assert saved_template == TEMPLATES[architecture]
    expected = render(saved_template, MESSAGES)
    generator = TransformersGenerator(directory, temperature=0.0)
    assert generator.render_prompt(MESSAGES) == expected
    model, tokenizer = generator._components()
    seen: list[Any] = []
    real_generate = model.generate

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs["input_ids"])
        return real_generate(**kwargs)

    monkeypatch.setattr(model, "generate", spy)
    answer = generator.generate(MESSAGES, max_tokens=6)
    streamed = "".join(generator.stream(MESSAGES, max_tokens=6))
    assert answer == streamed and set(answer) <= VOCABULARY
    expected_ids = tokenizer(expected, add_special_tokens=False)["input_ids"]
    assert len(seen) == 2
    for input_ids in seen:  # what the model was actually fed, for generate and for stream
        assert input_ids[0].tolist() == expected_ids


def test_the_two_architectures_format_prompts_differently(tiny_glm: Callable[[str], Path]) -> None:
    glm4 = TransformersGenerator(tiny_glm("glm4")).render_prompt(MESSAGES)
    edge = TransformersGenerator(tiny_glm("glm")).render_prompt(MESSAGES)
    assert glm4.startswith("[gMASK]<sop><|system|>") and not edge.startswith("[gMASK]")
    assert glm4.endswith("<|assistant|>\n") and edge.endswith("<|assistant|>\n")


def _generation_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kb-transformers-generate" and t.is_alive()]


def test_closing_the_stream_stops_generation(glm_without_eos_dir: Path) -> None:
    generator = TransformersGenerator(glm_without_eos_dir, temperature=0.0)
    stream = generator.stream(MESSAGES, max_tokens=100_000)  # minutes of work if nothing stops it
    first, second = next(stream), next(stream)
    assert first and second
    assert _generation_threads(), "generation should still be running in the background"
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 5
    assert not _generation_threads()


def test_sampling_with_temperature_returns_text(glm_dir: Path) -> None:
    answer = TransformersGenerator(glm_dir, temperature=0.7).generate(MESSAGES, max_tokens=8)
    assert isinstance(answer, str)
    assert set(answer) <= VOCABULARY


def test_int8_cpu_quantized_model_generates_and_streams(tiny_glm: Callable[[str], Path]) -> None:
    import torch

    generator = TransformersGenerator(tiny_glm("glm4"), quantization="int8-cpu", temperature=0.0)
    answer = generator.generate(MESSAGES, max_tokens=8)
    assert answer and set(answer) <= VOCABULARY
    assert "".join(generator.stream(MESSAGES, max_tokens=8)) == answer
    model, _ = generator._components()
    assert model.device.type == "cpu"
    dynamic = torch.ao.nn.quantized.dynamic.Linear
    assert isinstance(model.model.layers[0].self_attn.q_proj, dynamic)
    assert isinstance(model.model.layers[-1].mlp.gate_up_proj, dynamic)
    assert type(model.model.layers[-1].mlp.down_proj) is torch.nn.Linear, "outlier-prone input: float32"
    assert type(model.lm_head) is torch.nn.Linear, "the output head stays float32"


@pytest.mark.parametrize("quantization", ["int8", "int4"])
def test_bitsandbytes_without_cuda_explains_what_to_do(
    quantization: str, glm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    generator = TransformersGenerator(glm_dir, quantization=quantization)
    with pytest.raises(KBError, match="CUDA") as caught:
        generator.generate(MESSAGES, max_tokens=4)
    message = str(caught.value)
    assert "int8-cpu" in message and "llama-cpp" in message and "GGUF" in message


def test_unknown_quantization_is_rejected(glm_dir: Path) -> None:
    with pytest.raises(KBError, match="KB_LLM__QUANTIZATION") as caught:
        TransformersGenerator(glm_dir, quantization="int3")
    assert "int8-cpu" in str(caught.value)


def test_missing_model_dir_names_the_setting(tmp_path: Path) -> None:
    generator = TransformersGenerator(tmp_path / "nowhere")  # constructing is cheap and does not check
    with pytest.raises(ModelNotFound, match="KB_LLM__MODEL_PATH") as caught:
        generator.generate(MESSAGES)
    assert "nowhere" in str(caught.value)


def test_dir_without_config_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"config\.json"):
        TransformersGenerator(tmp_path).count_tokens("你好")


def test_tokenizer_without_chat_template_is_a_clear_error(glm_dir: Path, tmp_path: Path) -> None:
    directory = tmp_path / "no-template"
    shutil.copytree(glm_dir, directory)
    (directory / "chat_template.jinja").unlink()
    config_file = directory / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    config_file.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(KBError, match="chat template"):
        TransformersGenerator(directory).generate(MESSAGES, max_tokens=4)
