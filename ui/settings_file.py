"""The settings an administrator changes in the UI, saved to `<KB_HOME>/kb.toml`.

Only the keys the settings page edits are written; other keys already in the file are kept. Environment
variables (KB_...) and a KB_CONFIG / ./kb.toml file still take precedence over this file.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb_app.errors import KBError
from kb_app.settings import Settings

FILE_NAME = "kb.toml"


@dataclass(frozen=True)
class EditableSettings:
    """What the settings page edits; see `kb_app.settings` for each field's meaning."""

    llm_backend: str
    llm_model_path: str
    temperature: float
    embedder_backend: str
    top_k: int
    threshold: float | None
    chunk_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> EditableSettings:
        return cls(
            llm_backend=settings.llm.backend,
            llm_model_path=str(settings.llm.model_path or ""),
            temperature=settings.llm.temperature,
            embedder_backend=settings.embedder.backend,
            top_k=settings.retrieval.top_k,
            threshold=settings.retrieval.threshold,
            chunk_size=settings.chunking.chunk_size,
        )

    def validate(self) -> None:
        if not 1 <= self.top_k <= 50:
            raise KBError(f"top-k must be between 1 and 50, not {self.top_k}.")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise KBError(f"The threshold is a relevance from 0 to 1, not {self.threshold}.")
        if not 0.0 <= self.temperature <= 2.0:
            raise KBError(f"The temperature must be between 0 and 2, not {self.temperature}.")
        if not 50 <= self.chunk_size <= 4000:
            raise KBError(f"The chunk size must be between 50 and 4000 characters, not {self.chunk_size}.")

    def sections(self) -> dict[str, dict[str, Any]]:
        """The values as TOML tables; None (an empty model path, no threshold) removes the key."""
        return {
            "llm": {
                "backend": self.llm_backend,
                "model_path": self.llm_model_path.strip() or None,
                "temperature": self.temperature,
            },
            "embedder": {"backend": self.embedder_backend},
            "retrieval": {"top_k": self.top_k, "threshold": self.threshold},
            "chunking": {"chunk_size": self.chunk_size},
        }


def config_path(settings: Settings) -> Path:
    return settings.home / FILE_NAME


def dump_toml(data: dict[str, Any]) -> str:
    """TOML for top-level scalars and one level of tables (all a settings file needs). JSON string
    escapes are valid TOML basic-string escapes."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in scalars.items()]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{name}]"]
            lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in table.items()]
    return "\n".join(lines).lstrip() + "\n"


def save(settings: Settings, values: EditableSettings) -> Path:
    """Merge `values` into `<KB_HOME>/kb.toml` (written atomically); returns the file's path."""
    values.validate()
    path = config_path(settings)
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for section, fields in values.sections().items():
        table = data.setdefault(section, {})
        for key, value in fields.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".toml.tmp")
    temporary.write_text(dump_toml(data), encoding="utf-8")
    os.replace(temporary, path)
    return path


def overridden(values: EditableSettings) -> list[str]:
    """Environment variables that override a value saved here (the saved one would not apply)."""
    names = {
        "llm_backend": "KB_LLM__BACKEND",
        "llm_model_path": "KB_LLM__MODEL_PATH",
        "temperature": "KB_LLM__TEMPERATURE",
        "embedder_backend": "KB_EMBEDDER__BACKEND",
        "top_k": "KB_RETRIEVAL__TOP_K",
        "threshold": "KB_RETRIEVAL__THRESHOLD",
        "chunk_size": "KB_CHUNKING__CHUNK_SIZE",
    }
    return [env for field, env in names.items() if env in os.environ and hasattr(values, field)]
