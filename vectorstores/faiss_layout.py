"""Which FAISS index a store uses: exact search for small KBs, IVF-Flat above a size limit.

Exact (`IndexIDMap2` over `IndexFlatIP`) costs O(n * d) per query; at the limit below that is ~15 ms
for 384 dimensions on one core. Above it, `IndexIVFFlat` scans only `nprobe` of `nlist` clusters.
IVF-Flat rather than HNSW because it removes ids natively (HNSW cannot delete), keeps vectors exact so
scores and `reconstruct` stay true cosines, and trains in seconds where HNSW takes minutes on a laptop
(bench/bench_scale.py). `nprobe` is tuned at build time until recall@10 against exact search reaches
`TARGET_RECALL` on probe queries drawn from the KB itself. faiss is passed in, never imported here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EXACT_LIMIT = 100_000
TARGET_RECALL = 0.95
NPROBES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024, 1536)
MIN_POINTS_PER_LIST = 39  # below this k-means training is unreliable (faiss warns)
TRAIN_POINTS_PER_LIST = 64
PROBE_QUERIES = 200


@dataclass(frozen=True)
class Layout:
    """The shape of an index: "flat", or "ivf" with its cluster count, probes and training size."""

    kind: str = "flat"
    nlist: int = 0
    nprobe: int = 0
    trained_for: int = 0

    @property
    def index_type(self) -> str:
        return "IDMap2,Flat" if self.kind == "flat" else f"IVF{self.nlist},Flat"


def nlist_for(count: int) -> int:
    """Clusters for `count` vectors: ~4·sqrt(n), fewer when lists would get too small to train."""
    return max(1, min(round(4 * math.sqrt(count)), count // MIN_POINTS_PER_LIST))


def needs_relayout(layout: Layout, count: int, exact_limit: int) -> bool:
    """Whether persisting `count` vectors should rebuild the index in another layout.

    Exact turns IVF at `exact_limit`; IVF turns back exact only below half of it (so a KB hovering at
    the limit is not rebuilt on every ingest), and is re-trained once the KB grew or shrank fourfold.
    """
    if layout.kind == "flat":
        return count >= exact_limit
    if count < exact_limit // 2:
        return True
    return not layout.trained_for / 4 <= count <= layout.trained_for * 4


def layout_of(index: Any, faiss: Any, trained_for: int = 0) -> Layout:
    """Describe a loaded index (`trained_for` comes from meta.json; the index cannot tell)."""
    if isinstance(index, faiss.IndexIVF):
        return Layout("ivf", int(index.nlist), int(index.nprobe), trained_for or int(index.ntotal))
    return Layout()


def index_ids(index: Any, faiss: Any) -> np.ndarray:
    """All ids in a flat or IVF index."""
    if not isinstance(index, faiss.IndexIVF):
        return faiss.vector_to_array(index.id_map)
    lists = index.invlists
    parts = [_list_array(lists, i, faiss, codes=False) for i in range(index.nlist) if lists.list_size(i)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def entries(index: Any, faiss: Any) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of every entry of a flat or IVF-Flat index (for a flat one, a view into it)."""
    if not isinstance(index, faiss.IndexIVF):
        # A view of the flat index's storage, not a copy: valid while `index` lives (the caller keeps it).
        count = int(index.ntotal)
        flat = faiss.downcast_index(index.index)
        vectors = faiss.rev_swig_ptr(flat.get_xb(), count * index.d) if count else np.empty(0, np.float32)
        return faiss.vector_to_array(index.id_map), np.asarray(vectors).reshape(count, index.d)
    lists = index.invlists
    full = [i for i in range(index.nlist) if lists.list_size(i)]
    if not full:
        return np.empty(0, dtype=np.int64), np.empty((0, index.d), dtype=np.float32)
    ids = np.concatenate([_list_array(lists, i, faiss, codes=False) for i in full])
    codes = np.concatenate([_list_array(lists, i, faiss, codes=True) for i in full])
    return ids, codes.view(np.float32).reshape(len(ids), index.d)


def build(faiss: Any, ids: np.ndarray, vectors: np.ndarray, exact_limit: int) -> tuple[Any, Layout]:
    """A new index holding `vectors` under `ids`, in the layout their count calls for."""
    dimension, count = vectors.shape[1], len(ids)
    if count < exact_limit:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        if count:
            index.add_with_ids(vectors, ids)
        return index, Layout()
    nlist = nlist_for(count)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = rng.choice(count, size=min(count, nlist * TRAIN_POINTS_PER_LIST), replace=False)
    index.train(vectors[np.sort(sample)])
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct(id) and cheap remove_ids
    index.add_with_ids(vectors, ids)
    index.nprobe = tune_nprobe(index, faiss, ids, vectors, rng)
    log.info("Built IVF%d,Flat over %d vectors; nprobe=%d.", nlist, count, index.nprobe)
    return index, Layout("ivf", nlist, int(index.nprobe), count)


def tune_nprobe(index: Any, faiss: Any, ids: np.ndarray, vectors: np.ndarray, rng: Any) -> int:
    """Smallest probe count whose recall@10 against exact search reaches `TARGET_RECALL` on two probe
    sets: normalised sums of two and of four random stored vectors.

    Such queries fall between clusters, where IVF misses neighbours most. On e5 embeddings of Chinese
    text, real questions' recall lay between the two sets' at 100k and at 1M vectors; the harder of the
    two decides, so real queries meet the target with a margin (bench/bench_scale.py).
    """
    count = min(PROBE_QUERIES, len(ids))
    probes = [_sums_of(vectors, parts, count, rng) for parts in (2, 4)]
    truths = [_top10(faiss, queries, vectors, ids) for queries in probes]
    for nprobe in (p for p in NPROBES if p < index.nlist):
        index.nprobe = nprobe
        recalls = [_recall(t, _top10(faiss, q, index, None)) for q, t in zip(probes, truths, strict=True)]
        if min(recalls) >= TARGET_RECALL:
            return nprobe
    return int(index.nlist)


def _sums_of(vectors: np.ndarray, parts: int, count: int, rng: Any) -> np.ndarray:
    total = sum(vectors[rng.integers(0, len(vectors), size=count)] for _ in range(parts))
    norms = np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(total / norms, dtype=np.float32)


def _top10(faiss: Any, queries: np.ndarray, data: Any, ids: np.ndarray | None) -> list[set[int]]:
    """Top-10 ids per query from an index (`ids` None) or by brute force over the rows of `data`."""
    if ids is None:
        _, found = data.search(queries, 10)
    else:
        _, rows = faiss.knn(queries, data, 10, metric=faiss.METRIC_INNER_PRODUCT)
        found = ids[rows]
    return [set(row.tolist()) for row in found]


def _recall(truth: list[set[int]], found: list[set[int]]) -> float:
    return float(np.mean([len(t & f) / max(1, len(t)) for t, f in zip(truth, found, strict=True)]))


def _list_array(lists: Any, list_no: int, faiss: Any, codes: bool) -> np.ndarray:
    size = lists.list_size(list_no)
    if codes:
        pointer = lists.get_codes(list_no)
        array = faiss.rev_swig_ptr(pointer, size * lists.code_size).copy()
        lists.release_codes(list_no, pointer)
        return np.asarray(array, dtype=np.uint8)
    pointer = lists.get_ids(list_no)
    array = faiss.rev_swig_ptr(pointer, size).copy()
    lists.release_ids(list_no, pointer)
    return np.asarray(array, dtype=np.int64)
