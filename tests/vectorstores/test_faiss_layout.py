"""The FAISS store's size-dependent layout (exact -> IVF -> exact), its recall, and lazy mapped opening."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kb_app.vectorstores import faiss_layout
from kb_app.vectorstores.contract import make_ids, unit_vectors
from kb_app.vectorstores.faiss_layout import Layout, needs_relayout, nlist_for
from kb_app.vectorstores.faiss_store import META_FILE, FaissVectorStore

DIM = 32


def clustered(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres: IVF's real use case, where uniform noise would be its worst."""
    rng = np.random.default_rng(seed)
    centres = unit_vectors(40, DIM, seed=100)
    points = centres[rng.integers(0, 40, count)] + rng.standard_normal((count, DIM)).astype(np.float32) * 0.15
    return points / np.linalg.norm(points, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def ivf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A persisted store of 6,000 vectors with a limit of 2,000: IVF on disk."""
    directory = tmp_path_factory.mktemp("ivf")
    store = FaissVectorStore(directory, DIM, exact_limit=2000)
    store.add(make_ids(6000), clustered(6000))
    store.persist()
    return directory


def test_nlist_grows_like_four_square_roots_but_keeps_lists_trainable() -> None:
    assert nlist_for(1_000_000) == 4000
    assert nlist_for(100_000) == 1265
    assert nlist_for(2000) == 2000 // faiss_layout.MIN_POINTS_PER_LIST
    assert nlist_for(10) == 1


def test_relayout_rules_have_hysteresis() -> None:
    assert not needs_relayout(Layout(), 99, exact_limit=100)
    assert needs_relayout(Layout(), 100, exact_limit=100)
    ivf = Layout("ivf", nlist=40, nprobe=8, trained_for=100)
    assert not needs_relayout(ivf, 60, exact_limit=100)  # between half the limit and the limit: stays
    assert needs_relayout(ivf, 49, exact_limit=100)  # back to exact
    assert not needs_relayout(ivf, 400, exact_limit=100)
    assert needs_relayout(ivf, 401, exact_limit=100)  # grew fourfold: re-train


def test_crossing_the_limit_at_persist_switches_to_ivf_with_meta(ivf_dir: Path) -> None:
    store = FaissVectorStore(ivf_dir, DIM, exact_limit=2000)
    layout = store.layout
    assert layout.kind == "ivf" and layout.nlist == nlist_for(6000) and 1 <= layout.nprobe < layout.nlist
    meta = json.loads((ivf_dir / META_FILE).read_text())
    assert meta["index_type"] == f"IVF{layout.nlist},Flat" and meta["nprobe"] == layout.nprobe
    assert meta["trained_for"] == 6000 and meta["count"] == 6000


def test_ivf_recall_at_10_against_exact_search(ivf_dir: Path) -> None:
    vectors = clustered(6000)
    ids = make_ids(6000)
    store = FaissVectorStore(ivf_dir, DIM, exact_limit=2000)
    queries = clustered(100, seed=7)  # new points of the same distribution, not stored ones
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recalls = [
        len({i for i, _ in store.search(q, 10)} & set(ids[row].tolist())) / 10
        for q, row in zip(queries, exact, strict=True)
    ]
    assert np.mean(recalls) >= 0.95


def test_ivf_scores_reconstruct_and_ids_stay_exact(ivf_dir: Path) -> None:
    vectors, ids = clustered(6000), make_ids(6000)
    store = FaissVectorStore(ivf_dir, DIM, exact_limit=2000)
    best_id, best_score = store.search(vectors[123], 1)[0]
    assert best_id == int(ids[123]) and best_score == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(store.reconstruct(ids[[9, 4000]].tolist()), vectors[[9, 4000]], atol=1e-6)
    assert store.ids() == set(ids.tolist())
    with pytest.raises(KeyError):
        store.reconstruct([int(ids[0]) + 1])


def test_large_index_opens_lazily_memory_mapped_and_reads_fully_on_first_write(ivf_dir: Path) -> None:
    store = FaissVectorStore(ivf_dir, DIM, exact_limit=2000, mmap_min_bytes=0)
    assert not store.memory_mapped  # nothing read yet
    assert store.count() == 6000 and store.memory_mapped
    ids = make_ids(6000)
    assert store.delete(ids[:10].tolist()) == 10
    assert not store.memory_mapped and store.count() == 5990
    store.add(ids[:1], clustered(1, seed=3))
    assert store.count() == 5991 and store.search(clustered(1, seed=3)[0], 1)[0][0] == int(ids[0])


def test_shrinking_below_half_the_limit_goes_back_to_exact(tmp_path: Path) -> None:
    store = FaissVectorStore(tmp_path, DIM, exact_limit=400)
    ids = make_ids(800)
    store.add(ids, clustered(800))
    store.persist()
    assert store.layout.kind == "ivf"
    store.delete(ids[:700].tolist())
    store.persist()
    reopened = FaissVectorStore(tmp_path, DIM, exact_limit=400)
    assert reopened.layout.kind == "flat" and reopened.ids() == set(ids[700:].tolist())


def test_drop_removes_the_index(tmp_path: Path) -> None:
    store = FaissVectorStore(tmp_path, DIM)
    store.add(make_ids(3), unit_vectors(3, DIM, seed=1))
    store.persist()
    store.drop()
    assert store.count() == 0 and not store.index_path.exists()
    assert FaissVectorStore(tmp_path, DIM).count() == 0


def test_only_ivf_indexes_are_memory_mapped(tmp_path: Path) -> None:
    """A flat search touches every page anyway, so mapping it would only slow each search."""
    store = FaissVectorStore(tmp_path, DIM, mmap_min_bytes=0)
    store.add(make_ids(50), unit_vectors(50, DIM, seed=4))
    store.persist()
    reopened = FaissVectorStore(tmp_path, DIM, mmap_min_bytes=0)
    assert reopened.count() == 50 and not reopened.memory_mapped


def test_memory_mapped_open_reads_almost_nothing_into_memory(tmp_path: Path) -> None:
    """Cold open + first search in a fresh process: a mapped IVF index leaves its lists in the page cache."""
    store = FaissVectorStore(tmp_path, 128, exact_limit=1000)
    store.add(make_ids(20_000), unit_vectors(20_000, 128, seed=2))  # 10 MB of vectors
    store.persist()
    code = (
        "import sys, faiss, numpy as np\n"
        "from kb_app.vectorstores.faiss_store import FaissVectorStore\n"
        "def anon_kb():\n"
        "    status = open('/proc/self/status').read().split('RssAnon:')[1]\n"
        "    return int(status.split()[0])\n"
        "s = FaissVectorStore(sys.argv[1], 128, mmap_min_bytes=int(sys.argv[2]))\n"
        "before = anon_kb()\n"
        "s.search(np.ones(128, dtype=np.float32), 3)\n"
        "print(anon_kb() - before, s.memory_mapped)\n"
    )
    growth = {}
    for threshold in (0, 2**40):
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path), str(threshold)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        growth[threshold] = (int(out[0]), out[1])
    assert growth[0][1] == "True" and growth[2**40][1] == "False"
    assert growth[2**40][0] > 9_000  # kB: a full read copies the 10 MB of vectors into the process
    assert growth[0][0] < 3_000


def test_search_runs_single_threaded_and_restores_the_thread_count(tmp_path: Path) -> None:
    import faiss

    store = FaissVectorStore(tmp_path, DIM)
    store.add(make_ids(10), unit_vectors(10, DIM, seed=5))
    before = faiss.omp_get_max_threads()
    seen: list[int] = []
    index = store._load()
    real_search = index.search

    def spy(*args: object) -> object:
        seen.append(faiss.omp_get_max_threads())
        return real_search(*args)

    index.search = spy
    store.search(unit_vectors(1, DIM, seed=6)[0], 3)
    assert seen == [1] and faiss.omp_get_max_threads() == before
