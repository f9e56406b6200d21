"""The vector-store contract (`kb_app.vectorstores.contract`), run against every backend.

FAISS twice: as small KBs use it (exact) and with a size limit of 1, so every persist rebuilds it as IVF
and every reopen memory-maps it. Milvus through Milvus Lite, whose in-process server is restarted on
reopen so persistence is read back from disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb_app.protocols import VectorStore
from kb_app.vectorstores.contract import VectorStoreContract
from kb_app.vectorstores.faiss_store import FaissVectorStore
from kb_app.vectorstores.milvus_store import MilvusVectorStore, collection_name


class TestFaissContract(VectorStoreContract):
    def make_store(self, directory: Path, dimension: int | None = None) -> VectorStore:
        return FaissVectorStore(directory, dimension or self.dimension)


class TestFaissIvfContract(VectorStoreContract):
    def make_store(self, directory: Path, dimension: int | None = None) -> VectorStore:
        return FaissVectorStore(directory, dimension or self.dimension, exact_limit=1, mmap_min_bytes=0)

    def test_persist_switched_to_ivf_and_reopen_maps_it(self, tmp_path: Path) -> None:
        store, _, _ = self.filled_store(tmp_path)
        store.persist()
        reopened = self.make_store(tmp_path)
        assert isinstance(reopened, FaissVectorStore)
        assert reopened.layout.kind == "ivf" and reopened.memory_mapped


class TestMilvusContract(VectorStoreContract):
    @pytest.fixture(autouse=True)
    def _lite_servers(self) -> Iterator[None]:
        self.opened: list[MilvusVectorStore] = []
        yield
        self._stop_servers()

    def make_store(self, directory: Path, dimension: int | None = None) -> VectorStore:
        store = MilvusVectorStore(
            str(directory / "milvus.db"), collection_name(7, "test-hash-256"), dimension or self.dimension
        )
        self.opened.append(store)
        return store

    def reopen_store(self, directory: Path, dimension: int | None = None) -> VectorStore:
        self._stop_servers()
        return self.make_store(directory, dimension)

    def _stop_servers(self) -> None:
        from milvus_lite.server_manager import server_manager_instance

        for store in self.opened:
            store.close()
            server_manager_instance.release_server(store.uri)
        self.opened.clear()
