"""TransformersGenerator on tiny random-weight GLM models built in the test (no hub access)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from kb_app import registry
from kb_app.errors import KBError, ModelNotFound
from kb_app.llms.transformers_lm import TransformersGenerator
from kb_app.protocols import Generator

SPECIAL_TOKENS = [
    "<pad>",
    "<unk>",
    "<|endoftext|>",
    "[gMASK]",
    "<sop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
]
CORPUS = (
    "知识库问答系统根据上传的文档回答用户的问题，并给出引用。北京是中华人民共和国的首都，位于华北平原。"
    "请只用资料中的内容回答；如果资料里没有答案，就说不知道。模型在本地运行，不需要联网。"
    "Hello world, answer in Chinese 123."
)
GLM4_TEMPLATE = (
    "[gMASK]<sop>{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
MESSAGES = [
    {"role": "system", "content": "请只用资料回答。"},
    {"role": "user", "content": "北京是哪个国家的首都？"},
]


def _tiny_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + sorted(set(CORPUS + " \n")))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # one token per char
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(SPECIAL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|endoftext|>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
    )
    tokenizer.chat_template = GLM4_TEMPLATE
    return tokenizer


def _save_tiny_model(directory: Path, architecture: str) -> Path:
    import torch
    from transformers import Glm4Config, Glm4ForCausalLM, GlmConfig, GlmForCausalLM

    tokenizer = _tiny_tokenizer()
    config_class, model_class = {"glm": (GlmConfig, GlmForCausalLM), "glm4": (Glm4Config, Glm4ForCausalLM)}[
        architecture
    ]
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        pad_token_id=0,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model_class(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def glm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_tiny_model(tmp_path_factory.mktemp("tiny-glm"), "glm")


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
    assert set(answer) <= set(CORPUS + " \n"), "decoded text must come from the tokenizer's vocabulary"
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
    assert set(answer) <= set(CORPUS + " \n")


def test_glm4_architecture_streams_like_it_generates(tmp_path: Path) -> None:
    generator = TransformersGenerator(_save_tiny_model(tmp_path / "glm4", "glm4"), temperature=0.0)
    answer = generator.generate(MESSAGES, max_tokens=10)
    assert answer
    assert "".join(generator.stream(MESSAGES, max_tokens=10)) == answer


def test_int4_on_cpu_explains_what_to_do(glm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    generator = TransformersGenerator(glm_dir, quantization="int4")
    with pytest.raises(KBError, match="CUDA") as caught:
        generator.generate(MESSAGES, max_tokens=4)
    assert "llama-cpp" in str(caught.value) and "GGUF" in str(caught.value)


def test_unknown_quantization_is_rejected(glm_dir: Path) -> None:
    with pytest.raises(KBError, match="KB_LLM__QUANTIZATION"):
        TransformersGenerator(glm_dir, quantization="int3")


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
