"""Cosine search over L2-normalised vectors with FAISS, persisted crash-safely, exact or IVF by size.

On disk, in the store's directory: `index.faiss` and `meta.json` (format version, dimension, count,
generation, layout). Small KBs keep an exact `IndexIDMap2` over `IndexFlatIP`; when a persist finds the
KB past `exact_limit` vectors it rebuilds it as IVF-Flat (see `faiss_layout`), and back when it shrinks.
Inner product of unit vectors is their cosine either way. The index file is the truth; `meta.json` is
advisory and cheap to read without importing faiss.

Opening is lazy (first call, not the constructor), and a large IVF index is memory-mapped read-only: a
search reads only the lists it probes, and processes share the pages; the first write reads it whole.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.vectorstores import faiss_layout
from kb_app.vectorstores.atomic import replace_atomically, write_bytes_atomically
from kb_app.vectorstores.rows import as_unit_rows, clip_scores, last_occurrences

logger = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
META_FILE = "meta.json"
FORMAT_VERSION = 1
# Smaller files load faster whole than mapped. Windows cannot replace a file another process maps.
MMAP_MIN_BYTES = 32 * 2**20 if os.name != "nt" else 2**62


class FaissVectorStore:
    """A `kb_app.protocols.VectorStore` backed by a FAISS inner-product index.

    The constructor touches neither faiss nor the disk; the index is read on first use.
    Methods are serialised by a lock so that searches may run while another thread adds.

    Args:
        directory: Where `index.faiss` and `meta.json` live.
        dimension: Width of the embedder's vectors.
        exact_limit: Vector count from which a persist switches to the approximate IVF layout.
        mmap_min_bytes: IVF index files at least this big are memory-mapped for reading. Exact ones
            are always read whole: every search touches all of them, so mapping only slows it.
        search_threads: OpenMP threads per search (0: faiss's default, all cores). One query gains
            little from two threads and, on a busy machine, runs 5-8x slower (bench/bench_scale.py).
    """

    def __init__(
        self,
        directory: Path,
        dimension: int,
        exact_limit: int = faiss_layout.EXACT_LIMIT,
        mmap_min_bytes: int = MMAP_MIN_BYTES,
        search_threads: int = 1,
    ) -> None:
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.directory = Path(directory)
        self.dimension = dimension
        self.exact_limit = exact_limit
        self.mmap_min_bytes = mmap_min_bytes
        self.search_threads = search_threads
        self._index: Any = None
        self._mapped = False
        self._trained_for = 0
        self._generation = 0
        self._dirty = False
        self._lock = threading.RLock()

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_FILE

    @property
    def generation(self) -> int:
        """How many times this index has been persisted (0 for a new one)."""
        with self._lock:
            self._load()
            return self._generation

    @property
    def layout(self) -> faiss_layout.Layout:
        """The current index layout (exact "flat" or "ivf" with its parameters)."""
        import faiss

        with self._lock:
            return faiss_layout.layout_of(self._load(), faiss, self._trained_for)

    @property
    def memory_mapped(self) -> bool:
        """Whether the index is currently a read-only memory map of the file."""
        return self._mapped

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; an id already present is replaced, never duplicated (last one in a batch wins)."""
        id_array, matrix = last_occurrences(ids, as_unit_rows(vectors, self.dimension, self.directory))
        if len(id_array) == 0:
            return
        with self._lock:
            index = self._writable()
            _remove(index, id_array)
            index.add_with_ids(matrix, id_array)
            self._dirty = True

    def delete(self, ids: Sequence[int]) -> int:
        """Remove vectors by id; unknown ids are ignored. Returns how many were removed."""
        id_array = np.asarray(list(ids), dtype=np.int64)
        if id_array.size == 0:
            return 0
        with self._lock:
            removed = _remove(self._writable(), id_array)
            self._dirty = self._dirty or removed > 0
            return removed

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Return up to `k` (id, cosine similarity) pairs, best first."""
        matrix = as_unit_rows(query, self.dimension, self.directory)
        if matrix.shape[0] != 1:
            raise ValueError(f"search takes one query vector, got {matrix.shape[0]}")
        with self._lock:
            index = self._load()
            if k <= 0 or index.ntotal == 0:
                return []
            with _omp_threads(self.search_threads):
                scores, found = index.search(matrix, min(k, int(index.ntotal)))
        return clip_scores(found[0], scores[0])

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """Return the stored vectors for `ids`, one row each, in the order given.

        Raises:
            KeyError: if an id is not in the store.
        """
        id_array = np.asarray(list(ids), dtype=np.int64)
        if id_array.size == 0:
            return np.empty((0, self.dimension), dtype=np.float32)
        with self._lock:
            index = self._load()
            try:
                return np.asarray(index.reconstruct_batch(id_array), dtype=np.float32)
            except RuntimeError:  # faiss reports an unknown id as a RuntimeError
                missing = set(id_array.tolist()) - set(self.ids())
                raise KeyError(f"Ids not in the vector index: {sorted(missing)[:10]}") from None

    def ids(self) -> set[int]:
        import faiss

        with self._lock:
            return set(faiss_layout.index_ids(self._load(), faiss).tolist())

    def count(self) -> int:
        with self._lock:
            return int(self._load().ntotal)

    def persist(self) -> None:
        """Write the index and meta.json atomically; a no-op when nothing changed since the last write.

        This is where a KB that crossed the size limit changes layout (which can take a minute at a
        million vectors); searches wait for it.
        """
        with self._lock:
            if self._index is None or (not self._dirty and self.index_path.exists()):
                return
            if faiss_layout.needs_relayout(self.layout, int(self._index.ntotal), self.exact_limit):
                self._relayout()
            self._write()

    def rebuild(self) -> None:
        """Rebuild the index in the layout its size calls for (re-training IVF), then persist it."""
        with self._lock:
            self._relayout()
            self._write()

    def drop(self) -> None:
        """Delete the index files and forget the in-memory index (the store is empty afterwards)."""
        with self._lock:
            self._index, self._mapped, self._dirty, self._trained_for = None, False, False, 0
            for name in (INDEX_FILE, META_FILE):
                (self.directory / name).unlink(missing_ok=True)

    def _relayout(self) -> None:
        import faiss

        ids, vectors = faiss_layout.entries(self._load(), faiss)
        before = self.layout.index_type
        self._index, layout = faiss_layout.build(faiss, ids, vectors, self.exact_limit)
        self._mapped, self._dirty, self._trained_for = False, True, layout.trained_for
        logger.info(
            "Vector index %s: %s -> %s (%d vectors).", self.directory, before, layout.index_type, len(ids)
        )

    def _write(self) -> None:
        import faiss

        self.directory.mkdir(parents=True, exist_ok=True)
        index = self._index
        replace_atomically(self.index_path, lambda tmp: faiss.write_index(index, str(tmp)))
        self._generation += 1
        layout = self.layout
        meta = {
            "format_version": FORMAT_VERSION,
            "dimension": self.dimension,
            "count": int(index.ntotal),
            "generation": self._generation,
            "index_type": layout.index_type,
            "nlist": layout.nlist,
            "nprobe": layout.nprobe,
            "trained_for": layout.trained_for,
        }
        write_bytes_atomically(self.directory / META_FILE, json.dumps(meta, indent=2).encode())
        self._dirty = False

    def _load(self) -> Any:
        if self._index is not None:
            return self._index
        import faiss

        if self.index_path.exists():
            from kb_app.vectorstores.faiss_io import is_ivf_file, read_index

            mapped = self.index_path.stat().st_size >= self.mmap_min_bytes and is_ivf_file(self.index_path)
            self._index = read_index(faiss, self.index_path, self.dimension, mapped)
            self._mapped = mapped
            self._generation, self._trained_for = self._read_meta()
        else:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
        return self._index

    def _writable(self) -> Any:
        """The index, read fully into memory first if it is a read-only map."""
        index = self._load()
        if self._mapped:
            import faiss

            from kb_app.vectorstores.faiss_io import read_index

            self._index = index = read_index(faiss, self.index_path, self.dimension, mapped=False)
            self._mapped = False
        return index

    def _read_meta(self) -> tuple[int, int]:
        try:
            meta = json.loads((self.directory / META_FILE).read_text(encoding="utf-8"))
            return int(meta["generation"]), int(meta.get("trained_for", 0))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("Ignoring unreadable %s in %s: %s", META_FILE, self.directory, exc)
            return 0, 0


@contextmanager
def _omp_threads(threads: int) -> Iterator[None]:
    """Run faiss with `threads` OpenMP threads (0: leave as is). The setting is per calling thread."""
    import faiss

    previous = faiss.omp_get_max_threads()
    if threads:
        faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _remove(index: Any, ids: np.ndarray) -> int:
    import faiss

    if isinstance(index, faiss.IndexIVF):  # an array selector lets the hash map skip the full scan
        return int(index.remove_ids(faiss.IDSelectorArray(ids.size, faiss.swig_ptr(ids))))
    return int(index.remove_ids(ids))
