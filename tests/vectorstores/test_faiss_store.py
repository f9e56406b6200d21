"""FaissVectorStore: persistence, crash safety, error handling (the shared contract: test_contract.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kb_app.errors import IndexInconsistent
from kb_app.vectorstores.contract import VectorStoreContract, make_ids, unit_vectors
from kb_app.vectorstores.faiss_store import INDEX_FILE, META_FILE, FaissVectorStore

DIM = VectorStoreContract.dimension


def saved_store(directory: Path, count: int = 20) -> tuple[FaissVectorStore, np.ndarray, np.ndarray]:
    store = FaissVectorStore(directory, DIM)
    ids, vectors = make_ids(count), unit_vectors(count, DIM, seed=11)
    store.add(ids, vectors)
    store.persist()
    return store, ids, vectors


def test_importing_the_module_does_not_import_faiss() -> None:
    code = "import sys, kb_app.vectorstores.faiss_store; assert 'faiss' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_constructor_touches_no_disk(tmp_path: Path) -> None:
    directory = tmp_path / "missing" / "index"
    FaissVectorStore(directory, DIM)
    assert not directory.parent.exists()
    (tmp_path / INDEX_FILE).write_bytes(b"not an index")
    store = FaissVectorStore(tmp_path, DIM)  # would raise here if it read the file eagerly
    with pytest.raises(IndexInconsistent):
        store.count()


def test_persist_writes_meta_and_counts_generations(tmp_path: Path) -> None:
    store, ids, _ = saved_store(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert (meta["dimension"], meta["count"], meta["format_version"], meta["generation"]) == (DIM, 20, 1, 1)
    store.delete(ids[:2].tolist())
    store.persist()
    assert json.loads((tmp_path / META_FILE).read_text())["count"] == 18
    assert FaissVectorStore(tmp_path, DIM).generation == 2


def test_persist_without_changes_writes_nothing(tmp_path: Path) -> None:
    FaissVectorStore(tmp_path / "new", DIM).persist()
    assert not (tmp_path / "new").exists()
    saved_store(tmp_path)
    reopened = FaissVectorStore(tmp_path, DIM)
    reopened.count()
    reopened.persist()
    assert reopened.generation == 1


def test_failed_index_write_keeps_previous_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import faiss

    store, ids, _ = saved_store(tmp_path)
    store.add(make_ids(5, start=100), unit_vectors(5, DIM, seed=12))

    def crash_midway(index: object, path: str) -> None:
        Path(path).write_bytes(b"IxM2 half of an index")
        raise RuntimeError("disk full")

    monkeypatch.setattr(faiss, "write_index", crash_midway)
    with pytest.raises(RuntimeError):
        store.persist()
    assert not (tmp_path / (INDEX_FILE + ".tmp")).exists()
    assert FaissVectorStore(tmp_path, DIM).ids() == set(ids.tolist())


def test_failed_rename_keeps_previous_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, ids, _ = saved_store(tmp_path)
    store.delete(ids[:10].tolist())

    def refuse(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        store.persist()
    monkeypatch.undo()
    assert FaissVectorStore(tmp_path, DIM).count() == 20


def test_stray_tmp_file_from_a_crash_is_ignored(tmp_path: Path) -> None:
    _, ids, vectors = saved_store(tmp_path)
    (tmp_path / (INDEX_FILE + ".tmp")).write_bytes(b"garbage left by a crash")
    reopened = FaissVectorStore(tmp_path, DIM)
    assert reopened.search(vectors[3], 1)[0][0] == int(ids[3])
    reopened.add(make_ids(1, start=500), unit_vectors(1, DIM, seed=13))
    reopened.persist()
    assert not (tmp_path / (INDEX_FILE + ".tmp")).exists()
    assert FaissVectorStore(tmp_path, DIM).count() == 21


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_index_raises_index_inconsistent(tmp_path: Path, damage: str) -> None:
    saved_store(tmp_path)
    path = tmp_path / INDEX_FILE
    content = path.read_bytes()
    path.write_bytes(
        {"garbage": b"\x00garbage" * 50, "truncated": content[: len(content) // 2], "empty": b""}[damage]
    )
    with pytest.raises(IndexInconsistent, match="rebuilt from the catalog"):
        FaissVectorStore(tmp_path, DIM).search(unit_vectors(1, DIM, seed=1), 3)


def test_dimension_mismatch_on_add(tmp_path: Path) -> None:
    store = FaissVectorStore(tmp_path, DIM)
    with pytest.raises(IndexInconsistent, match="re-index"):
        store.add(make_ids(2), unit_vectors(2, DIM * 2, seed=1))
    with pytest.raises(IndexInconsistent):
        store.search(unit_vectors(1, DIM + 1, seed=1), 3)


def test_dimension_mismatch_on_load(tmp_path: Path) -> None:
    saved_store(tmp_path)
    with pytest.raises(IndexInconsistent, match="Re-index the knowledge base with the right embedder"):
        FaissVectorStore(tmp_path, DIM * 2).count()


def test_duplicate_ids_in_one_batch_keep_the_last(tmp_path: Path) -> None:
    store = FaissVectorStore(tmp_path, DIM)
    ids = np.array([7, 8, 7], dtype=np.int64)
    vectors = unit_vectors(3, DIM, seed=14)
    store.add(ids, vectors)
    assert store.count() == 2
    assert np.allclose(store.reconstruct([7, 8]), vectors[[2, 1]], atol=1e-6)


def test_reconstruct_returns_stored_vectors(tmp_path: Path) -> None:
    _, ids, vectors = saved_store(tmp_path)
    reopened = FaissVectorStore(tmp_path, DIM)
    assert np.allclose(reopened.reconstruct(ids[[5, 0]].tolist()), vectors[[5, 0]], atol=1e-6)
    assert reopened.reconstruct([]).shape == (0, DIM)
    with pytest.raises(KeyError):
        reopened.reconstruct([int(ids[0]), 12345])


def test_unnormalised_vectors_still_give_cosines(tmp_path: Path) -> None:
    store = FaissVectorStore(tmp_path, DIM)
    vectors = unit_vectors(4, DIM, seed=15)
    store.add(make_ids(4), vectors * np.array([[3.0], [0.5], [10.0], [1.0]], dtype=np.float32))
    best_id, score = store.search(vectors[2] * 4, 1)[0]
    assert best_id == int(make_ids(4)[2])
    assert score == pytest.approx(1.0, abs=1e-5)
