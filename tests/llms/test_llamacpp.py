"""LlamaCppGenerator: fast checks of the model-file validation, and the real bundled GGUF (slow)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb_app import registry
from kb_app.errors import GeneratorError, ModelNotFound
from kb_app.llms.llamacpp import LlamaCppGenerator
from kb_app.protocols import Generator

MESSAGES = [
    {"role": "system", "content": "你是一个乐于助人的助手，请用中文简短回答。"},
    {"role": "user", "content": "中国的首都是哪座城市？"},
]
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_registry_builds_a_generator_without_loading(tmp_path: Path) -> None:
    generator = registry.resolve("generator", "llama-cpp")(model_path=tmp_path / "absent.gguf")
    assert isinstance(generator, Generator)
    assert generator.name == "llama-cpp:absent.gguf"


def test_missing_file_names_path_setting_and_fetch_command(tmp_path: Path) -> None:
    missing = tmp_path / "absent.gguf"
    with pytest.raises(ModelNotFound) as caught:
        LlamaCppGenerator(missing).generate(MESSAGES)
    message = str(caught.value)
    assert str(missing) in message and "KB_LLM__MODEL_PATH" in message and "kb models fetch" in message


def test_file_that_is_not_gguf_is_model_not_found(tmp_path: Path) -> None:
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(ModelNotFound, match="not a GGUF"):
        list(LlamaCppGenerator(not_gguf).stream(MESSAGES))


def test_directory_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="KB_LLM__BACKEND=transformers"):
        LlamaCppGenerator(tmp_path).count_tokens("你好")


def test_damaged_gguf_is_a_generator_error_not_a_crash(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 64)
    with pytest.raises(GeneratorError, match="could not load"):
        LlamaCppGenerator(damaged).generate(MESSAGES)


@pytest.fixture(scope="module")
def real_gguf(default_gguf: Path) -> LlamaCppGenerator:
    return LlamaCppGenerator(default_gguf, context_tokens=2048, temperature=0.1, seed=0)


@pytest.mark.slow
def test_real_gguf_answers_in_chinese(real_gguf: LlamaCppGenerator) -> None:
    answer = real_gguf.generate(MESSAGES, max_tokens=16)
    assert CJK.search(answer), answer
    assert "北京" in answer, answer


@pytest.mark.slow
def test_real_gguf_streams_pieces_and_can_be_cancelled(real_gguf: LlamaCppGenerator) -> None:
    pieces = list(real_gguf.stream(MESSAGES, max_tokens=16))
    assert len(pieces) >= 2 and CJK.search("".join(pieces)), pieces
    stream = real_gguf.stream(MESSAGES, max_tokens=256)
    assert next(stream)
    stream.close()  # must release the model: the next call would otherwise block on its lock
    assert real_gguf.generate(MESSAGES, max_tokens=4)


@pytest.mark.slow
def test_real_gguf_counts_tokens_with_its_tokenizer(real_gguf: LlamaCppGenerator) -> None:
    count = real_gguf.count_tokens("北京是中国的首都")
    assert 0 < count < len("北京是中国的首都")
    assert real_gguf.count_tokens("") == 0


def test_backend_modules_import_no_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kb_app.llms.llamacpp, kb_app.llms.transformers_lm, kb_app.llms.openai_compat, "
        "kb_app.llms.gguf_chat, kb_app.llms.hf_checkpoint, kb_app.llms.quantization, kb_app.models_fetch; "
        "print(sorted({'torch', 'transformers', 'llama_cpp'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
