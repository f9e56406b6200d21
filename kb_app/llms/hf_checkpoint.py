"""Checks on a local Hugging Face model directory before transformers is asked to load it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kb_app.errors import ModelNotFound

# ChatGLM-6B/2/3 and the original glm-4-9b-chat ship their own modeling_chatglm.py. That code overrides
# generation internals (`_extract_past_from_model_output`, tuple KV caches) which transformers removed in
# 4.49; transformers 5.x, which kb-app pins, cannot run it. glm-4-9b-chat-hf and GLM-Edge are the same
# models ported into transformers itself (GlmForCausalLM / Glm4ForCausalLM) and load natively.
_LEGACY_CHATGLM_HINT = (
    "Options: (1) use a GGUF conversion of the model with KB_LLM__BACKEND=llama-cpp and KB_LLM__MODEL_PATH "
    "pointing at the .gguf file (llama.cpp runs the chatglm and glm4 architectures); (2) download the "
    "transformers-native port instead (THUDM/glm-4-9b-chat-hf, THUDM/GLM-4-9B-0414 or "
    "THUDM/glm-edge-*-chat) and point KB_LLM__MODEL_PATH at it; (3) serve the model with vLLM, Xinference or "
    "Ollama and use KB_LLM__BACKEND=openai with KB_LLM__BASE_URL."
)


def read_model_config(model_dir: Path) -> dict[str, Any]:
    """Return config.json of a model directory.

    Raises:
        ModelNotFound: the directory or its config.json is missing or unreadable.
    """
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        what = "directory not found" if not model_dir.is_dir() else "no config.json in it"
        raise ModelNotFound(
            f"Transformers model {model_dir}: {what}. Set KB_LLM__MODEL_PATH to a local Hugging Face model "
            "directory (with config.json, tokenizer and weights), or use KB_LLM__BACKEND=llama-cpp."
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelNotFound(
            f"{config_file} is not valid JSON ({exc}); the download may be incomplete."
        ) from exc
    if not isinstance(config, dict):
        raise ModelNotFound(f"{config_file} does not hold a JSON object; is this a model directory?")
    return config


def is_legacy_chatglm(config: dict[str, Any]) -> bool:
    """True for checkpoints that need THUDM's own modeling_chatglm.py (ChatGLM-6B/2/3, glm-4-9b-chat)."""
    if config.get("model_type") == "chatglm":
        return True
    auto_map = config.get("auto_map") or {}
    return any("modeling_chatglm" in str(target) for target in auto_map.values())


def remote_code_files(config: dict[str, Any]) -> set[str]:
    """Python files an `auto_map` refers to, e.g. {"modeling_foo.py"} for "modeling_foo.FooModel"."""
    files = set()
    for target in (config.get("auto_map") or {}).values():
        for reference in target if isinstance(target, list) else [target]:
            if isinstance(reference, str) and "--" not in reference:  # "repo--module.Class" lives elsewhere
                files.add(reference.rsplit(".", 1)[0] + ".py")
    return files


def check_loadable(model_dir: Path, config: dict[str, Any], transformers_version: str) -> bool:
    """Refuse directories transformers cannot load here; return whether remote code must be trusted.

    Raises:
        ModelNotFound: for ChatGLM checkpoints on transformers >= 4.49, or when code files named in
            config.json's auto_map are missing from the directory.
    """
    major, minor = (int(part) for part in transformers_version.split(".")[:2])
    if is_legacy_chatglm(config) and (major, minor) >= (4, 49):
        raise ModelNotFound(
            f"{model_dir} is a ChatGLM checkpoint (model_type 'chatglm', custom modeling_chatglm.py) such as "
            f"ChatGLM3-6B or glm-4-9b-chat. Its bundled code does not run on transformers "
            f"{transformers_version} (it was written for transformers 4.3x-4.48). {_LEGACY_CHATGLM_HINT}"
        )
    needed = remote_code_files(config)
    missing = sorted(name for name in needed if not (model_dir / name).is_file())
    if missing:
        raise ModelNotFound(
            f"{model_dir}/config.json refers to custom code {', '.join(missing)}, which is not in the "
            "directory (kb-app never downloads code). Copy the complete model directory, or use a model that "
            "transformers supports natively."
        )
    return bool(needed)
