"""ChatGLM-era checkpoints and custom code: refused with advice, and their code is never executed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_app.errors import ModelNotFound
from kb_app.llms.hf_checkpoint import check_loadable, is_legacy_chatglm, read_model_config, remote_code_files
from kb_app.llms.transformers_lm import TransformersGenerator

# The shape of THUDM/chatglm3-6b's config.json (sizes shrunk; nothing here is loaded).
CHATGLM3_CONFIG = {
    "_name_or_path": "THUDM/chatglm3-6b",
    "model_type": "chatglm",
    "architectures": ["ChatGLMModel"],
    "auto_map": {
        "AutoConfig": "configuration_chatglm.ChatGLMConfig",
        "AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration",
        "AutoModelForCausalLM": "modeling_chatglm.ChatGLMForConditionalGeneration",
        "AutoModelForSeq2SeqLM": "modeling_chatglm.ChatGLMForConditionalGeneration",
    },
    "num_layers": 2,
    "hidden_size": 64,
    "padded_vocab_size": 128,
    "transformers_version": "4.30.2",
}
MESSAGES = [{"role": "user", "content": "你好"}]


def _chatglm3_dir(root: Path, config: dict[str, object]) -> tuple[Path, Path]:
    """A ChatGLM3-like directory whose Python files leave a marker behind if anything imports them."""
    directory = root / "chatglm3-6b"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    marker = root / "code-was-executed"
    for name in ("configuration_chatglm.py", "modeling_chatglm.py", "tokenization_chatglm.py"):
        (directory / name).write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]}}),
        encoding="utf-8",
    )
    return directory, marker


def test_chatglm3_dir_is_refused_with_three_ways_forward(tmp_path: Path) -> None:
    directory, marker = _chatglm3_dir(tmp_path, CHATGLM3_CONFIG)
    generator = TransformersGenerator(directory)
    with pytest.raises(ModelNotFound) as caught:
        generator.generate(MESSAGES, max_tokens=4)
    message = str(caught.value)
    assert str(directory) in message and "ChatGLM" in message
    assert "KB_LLM__BACKEND=llama-cpp" in message and ".gguf" in message
    assert "glm-4-9b-chat-hf" in message
    assert "KB_LLM__BACKEND=openai" in message and "vLLM" in message
    assert not marker.exists(), "the checkpoint's own Python code must not run"
    with pytest.raises(ModelNotFound, match="ChatGLM"):  # every entry point, not only generate
        list(generator.stream(MESSAGES))


def test_chatglm_is_recognised_by_auto_map_alone(tmp_path: Path) -> None:
    config = {key: value for key, value in CHATGLM3_CONFIG.items() if key != "model_type"}
    assert is_legacy_chatglm(config)
    directory, marker = _chatglm3_dir(tmp_path, config)
    with pytest.raises(ModelNotFound, match="ChatGLM"):
        TransformersGenerator(directory).count_tokens("你好")
    assert not marker.exists()


def test_native_glm_configs_are_not_chatglm() -> None:
    assert not is_legacy_chatglm({"model_type": "glm", "architectures": ["GlmForCausalLM"]})
    assert not is_legacy_chatglm({"model_type": "glm4", "architectures": ["Glm4ForCausalLM"]})


def test_chatglm_would_be_trusted_on_the_transformers_it_was_written_for(tmp_path: Path) -> None:
    directory, _ = _chatglm3_dir(tmp_path, CHATGLM3_CONFIG)
    assert check_loadable(directory, CHATGLM3_CONFIG, "4.40.2") is True
    with pytest.raises(ModelNotFound):
        check_loadable(directory, CHATGLM3_CONFIG, "4.49.0")


def test_custom_code_missing_from_the_dir_is_named(tmp_path: Path) -> None:
    config = {"model_type": "my-lm", "auto_map": {"AutoModelForCausalLM": "modeling_my.MyLM"}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelNotFound, match=r"modeling_my\.py") as caught:
        TransformersGenerator(tmp_path).generate(MESSAGES)
    assert "never downloads code" in str(caught.value)
    (tmp_path / "modeling_my.py").write_text("", encoding="utf-8")
    assert check_loadable(tmp_path, config, "5.0.0") is True


def test_models_without_auto_map_need_no_remote_code(tmp_path: Path) -> None:
    assert check_loadable(tmp_path, {"model_type": "glm4"}, "5.0.0") is False


def test_remote_code_files_reads_lists_and_skips_other_repos() -> None:
    config = {
        "auto_map": {
            "AutoConfig": "configuration_x.XConfig",
            "AutoTokenizer": ["tokenization_x.XTokenizer", None],
            "AutoModel": "other/repo--modeling_y.Y",
        }
    }
    assert remote_code_files(config) == {"configuration_x.py", "tokenization_x.py"}


def test_broken_config_json_is_model_not_found(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelNotFound, match="not valid JSON"):
        read_model_config(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ModelNotFound, match="JSON object"):
        read_model_config(tmp_path)
