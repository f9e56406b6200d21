"""Shared fixtures: no network, offline hubs, fast fakes for unit tests, real models where marked."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DOCS = SHARED / "docs"


def write_files(folder: Path, files: dict[str, str]) -> Path:
    """Create `folder` holding UTF-8 text files {name: text}; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return True  # unix sockets and the like
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to loopback servers only; anything else fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise RuntimeError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


class HashingEmbedder:
    """Deterministic character-bigram hashing embedder: lexical similarity in microseconds (tests only)."""

    embedder_id = "test-hash-256"
    dimension = 256

    def __init__(self, **_: object) -> None:
        from kb_app.embedders.base import Calibration

        self.calibration = Calibration(0.0, 0.6)

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        clean = "".join(text.split())
        for i in range(max(1, len(clean) - 1)):
            h = int(hashlib.md5(clean[i : i + 2].encode()).hexdigest()[:8], 16)
            vec[h % self.dimension] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)


class ScriptedGenerator:
    """Returns queued answers (or echoes a sentence of the first source) and records its prompts."""

    name = "scripted"

    def __init__(self) -> None:
        self.queue: list[str] = []
        self.calls: list[list[dict[str, str]]] = []

    def enqueue(self, *answers: str) -> None:
        self.queue.extend(answers)

    def _answer(self, messages: list[dict[str, str]]) -> str:
        self.calls.append(messages)
        return self.queue.pop(0) if self.queue else self._echo(messages[-1]["content"])

    @staticmethod
    def _echo(prompt: str) -> str:
        """The first sentence of the prompt's first source (a supported answer), else a fixed line."""
        import re

        found = re.search(r"\[1\]（[^）\n]*）\n([^\n]+)", prompt)
        if found is None:
            return "这是脚本回答。"
        return re.split(r"(?<=[。！？])", found.group(1).strip())[0]

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 512) -> str:
        return self._answer(messages)

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Iterator[str]:
        text = self._answer(messages)
        for i in range(0, len(text), 3):
            yield text[i : i + 3]


@pytest.fixture
def kb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kbhome"
    monkeypatch.setenv("KB_HOME", str(home))
    return home


@pytest.fixture
def fast_container(kb_home: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """A Container with the hashing embedder and a scripted generator (unit-test speed)."""
    from kb_app import registry
    from kb_app.container import Container
    from kb_app.settings import Settings

    registry.register("embedder", "test-hash", HashingEmbedder)
    monkeypatch.setenv("KB_EMBEDDER__BACKEND", "test-hash")
    monkeypatch.setenv("KB_RETRIEVAL__THRESHOLD", "0.05")  # the hashing embedder's own scale
    monkeypatch.setenv("KB_INGEST_WORKERS", "1")  # worker processes are tested on their own
    container = Container(Settings())
    generator = ScriptedGenerator()
    container.__dict__["generator"] = generator  # cached_property slot: the composition root's own seam
    return container
