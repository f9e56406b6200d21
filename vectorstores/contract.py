"""What every `VectorStore` must do, as a reusable pytest base class.

A backend's test module subclasses `VectorStoreContract` and implements `make_store`:

    class TestFaissContract(VectorStoreContract):
        def make_store(self, directory: Path, dimension: int | None = None) -> VectorStore:
            return FaissVectorStore(directory, dimension or self.dimension)

pytest then runs every `test_*` method below against it. `make_store` is called with a fresh
`tmp_path` per test; `reopen_store` (by default `make_store` again) opens the same directory to check
persistence, and a backend with a server process overrides it to restart that server first. Plain asserts
only, so this module needs no pytest at import time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb_app.errors import IndexInconsistent
from kb_app.protocols import VectorStore

# 60-bit ids like `kb_app.schema.vector_id_of` produces, to catch int32 truncation in a backend.
ID_BASE = 0x0FEDCBA987654321
SCORE_TOLERANCE = 1e-4


def unit_vectors(count: int, dimension: int, seed: int) -> np.ndarray:
    """Deterministic random L2-normalised float32 rows."""
    matrix = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def make_ids(count: int, start: int = 0) -> np.ndarray:
    return ID_BASE + np.arange(start, start + count, dtype=np.int64) * 7919


class VectorStoreContract:
    """Behaviour shared by all vector stores; subclasses provide `make_store`."""

    dimension = 16
    size = 40

    def make_store(self, directory: Path, dimension: int | None = None) -> VectorStore:
        raise NotImplementedError

    def reopen_store(self, directory: Path, dimension: int | None = None) -> VectorStore:
        return self.make_store(directory, dimension)

    def filled_store(self, directory: Path) -> tuple[VectorStore, np.ndarray, np.ndarray]:
        store = self.make_store(directory)
        ids, vectors = make_ids(self.size), unit_vectors(self.size, self.dimension, seed=1)
        store.add(ids, vectors)
        return store, ids, vectors

    def test_satisfies_protocol(self, tmp_path: Path) -> None:
        assert isinstance(self.make_store(tmp_path), VectorStore)

    def test_empty_store(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        assert store.count() == 0
        assert store.ids() == set()
        assert store.search(unit_vectors(1, self.dimension, seed=2)[0], 5) == []

    def test_own_vector_ranks_first_with_cosine_one(self, tmp_path: Path) -> None:
        store, ids, vectors = self.filled_store(tmp_path)
        for vector_id, vector in zip(ids, vectors, strict=True):
            best_id, best_score = store.search(vector, 3)[0]
            assert best_id == int(vector_id)
            assert abs(best_score - 1.0) < SCORE_TOLERANCE

    def test_scores_are_cosines_best_first(self, tmp_path: Path) -> None:
        store, ids, vectors = self.filled_store(tmp_path)
        query = unit_vectors(1, self.dimension, seed=3)
        hits = store.search(query, 10)
        assert len(hits) == 10
        scores = [score for _, score in hits]
        assert all(-1.0 <= s <= 1.0 for s in scores)
        assert scores == sorted(scores, reverse=True)
        expected = dict(zip(ids.tolist(), (vectors @ query[0]).tolist(), strict=True))
        assert [i for i, _ in hits] == sorted(expected, key=lambda i: -expected[i])[:10]
        for hit_id, score in hits:
            assert abs(score - expected[hit_id]) < SCORE_TOLERANCE

    def test_k_larger_than_count_returns_all_real_ids(self, tmp_path: Path) -> None:
        store, ids, _ = self.filled_store(tmp_path)
        hits = store.search(unit_vectors(1, self.dimension, seed=4)[0], self.size * 3)
        assert sorted(i for i, _ in hits) == sorted(ids.tolist())

    def test_delete_removes_from_count_ids_and_search(self, tmp_path: Path) -> None:
        store, ids, vectors = self.filled_store(tmp_path)
        doomed = ids[::3].tolist()
        assert store.delete([*doomed, int(ID_BASE - 1)]) == len(doomed)
        assert store.count() == self.size - len(doomed)
        assert store.ids() == set(ids.tolist()) - set(doomed)
        for vector in vectors[::3]:
            assert not {i for i, _ in store.search(vector, self.size)} & set(doomed)
        assert store.delete([]) == 0
        assert store.delete(doomed) == 0

    def test_re_adding_an_id_replaces_it(self, tmp_path: Path) -> None:
        store, ids, vectors = self.filled_store(tmp_path)
        replacement = unit_vectors(1, self.dimension, seed=5)
        store.add(ids[:1], replacement)
        assert store.count() == self.size
        assert store.ids() == set(ids.tolist())
        best_id, best_score = store.search(replacement[0], 1)[0]
        assert best_id == int(ids[0]) and abs(best_score - 1.0) < SCORE_TOLERANCE
        old_score = dict(store.search(vectors[0], self.size))[int(ids[0])]
        assert abs(old_score - float(vectors[0] @ replacement[0])) < SCORE_TOLERANCE

    def test_persist_and_reopen_gives_identical_results(self, tmp_path: Path) -> None:
        store, ids, _ = self.filled_store(tmp_path)
        store.delete(ids[:5].tolist())
        queries = unit_vectors(5, self.dimension, seed=6)
        before = [store.search(q, 8) for q in queries]
        store.persist()
        reopened = self.reopen_store(tmp_path)
        assert reopened.count() == self.size - 5
        assert reopened.ids() == set(ids[5:].tolist())
        for query, expected in zip(queries, before, strict=True):
            got = reopened.search(query, 8)
            assert [i for i, _ in got] == [i for i, _ in expected]
            assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-6)

    def test_ids_track_adds_and_deletes(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        first, second = make_ids(10), make_ids(10, start=10)
        store.add(first, unit_vectors(10, self.dimension, seed=7))
        store.add(second, unit_vectors(10, self.dimension, seed=8))
        store.delete(first[:4].tolist())
        assert store.ids() == set(first[4:].tolist()) | set(second.tolist())
        assert store.count() == 16

    def test_reconstruct_returns_stored_vectors_in_order(self, tmp_path: Path) -> None:
        store, ids, vectors = self.filled_store(tmp_path)
        got = store.reconstruct(ids[[5, 0, 17]].tolist())  # type: ignore[attr-defined]
        assert np.allclose(got, vectors[[5, 0, 17]], atol=1e-6)
        assert store.reconstruct([]).shape == (0, self.dimension)  # type: ignore[attr-defined]
        try:
            store.reconstruct([int(ids[0]), int(ID_BASE - 1)])  # type: ignore[attr-defined]
        except KeyError:
            pass
        else:
            raise AssertionError("reconstruct of an unknown id must raise KeyError")

    def test_vectors_of_another_width_are_refused(self, tmp_path: Path) -> None:
        store, _, _ = self.filled_store(tmp_path)
        for call in (
            lambda: store.add(make_ids(1, start=900), unit_vectors(1, self.dimension + 1, seed=9)),
            lambda: store.search(unit_vectors(1, self.dimension - 1, seed=9)[0], 3),
        ):
            try:
                call()
            except IndexInconsistent:
                continue
            raise AssertionError("a vector of the wrong width must raise IndexInconsistent")
        store.persist()
        try:
            self.reopen_store(tmp_path, self.dimension * 2).count()
        except IndexInconsistent as exc:
            assert "embedder" in str(exc)
        else:
            raise AssertionError("reopening with another dimension must raise IndexInconsistent")

    def test_delete_of_one_files_ids_leaves_the_others(self, tmp_path: Path) -> None:
        """What `KnowledgeBase.remove_files` asks of a store: drop one file's ids, keep every other."""
        store, ids, vectors = self.filled_store(tmp_path)
        file_a, file_b = ids[:25].tolist(), ids[25:].tolist()
        assert store.delete(file_a) == 25
        store.persist()
        reopened = self.reopen_store(tmp_path)
        assert reopened.ids() == set(file_b)
        hits = reopened.search(vectors[30], 5)
        assert hits[0][0] == int(ids[30]) and not {i for i, _ in hits} & set(file_a)
