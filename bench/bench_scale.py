"""Vector stores at scale: FAISS exact (the baseline), FAISS as kb-app lays out a large KB (IVF-Flat with
tuned nprobe), and Milvus Lite, on n synthetic chunks shaped like real e5 embeddings (see scale_data.py).

For each store, one fresh process builds it through the store's own API (add in batches, persist) and
another opens it cold and runs the queries, so that build memory does not blur the serving numbers.
IVF-SQ8 (not used by kb-app) is measured beside them to show what quantising would save. Reports build
time, serving RSS growth (total and anonymous: a memory-mapped index shows as page cache, not anonymous
memory), disk size, cold open (construct + first search), p50/p95 search latency with one thread and the
default threads, and recall@10 against exact search. Results JSON: bench/out/.

    .venv/bin/python bench/bench_scale.py [--n 1000000] [--queries 1000] [--stores faiss-flat,milvus]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scale_data

STORES = ("faiss-flat", "faiss-ivf", "faiss-ivf-inmem", "faiss-ivfsq8", "milvus")
BATCH = 50_000


class IvfSq8:
    """IVF with 8-bit scalar quantisation (a quarter of the memory, lossy scores), for comparison only:
    kb-app does not use it. Same nlist and nprobe tuning as the store's IVF-Flat."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "ivfsq8.faiss"
        self.index: Any = None

    def build(self, ids: np.ndarray, vectors: np.ndarray) -> str:
        import faiss

        from kb_app.vectorstores import faiss_layout

        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        nlist = faiss_layout.nlist_for(len(ids))
        quantizer = faiss.IndexFlatIP(matrix.shape[1])
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, matrix.shape[1], nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        rng = np.random.default_rng(0)
        index.train(matrix[np.sort(rng.choice(len(ids), min(len(ids), nlist * 64), replace=False))])
        index.add_with_ids(matrix, ids)
        index.nprobe = faiss_layout.tune_nprobe(index, faiss, ids, matrix, rng)
        faiss.write_index(index, str(self.path))
        return f"IVF{nlist},SQ8 nprobe={index.nprobe}"

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        import faiss

        if self.index is None:
            flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
            self.index = faiss.read_index(str(self.path), flags)
        scores, found = self.index.search(query.reshape(1, -1).astype(np.float32), k)
        return list(zip(found[0].tolist(), scores[0].tolist(), strict=True))


def make_store(kind: str, directory: Path, dimension: int, n: int) -> Any:
    from kb_app.vectorstores.faiss_layout import EXACT_LIMIT
    from kb_app.vectorstores.faiss_store import FaissVectorStore
    from kb_app.vectorstores.milvus_store import MilvusVectorStore

    if kind == "faiss-flat":
        return FaissVectorStore(directory, dimension, exact_limit=n + 1)
    if kind == "faiss-ivfsq8":
        return IvfSq8(directory)
    if kind == "faiss-ivf":
        return FaissVectorStore(directory, dimension, exact_limit=min(EXACT_LIMIT, n))
    if kind == "faiss-ivf-inmem":  # the same index as faiss-ivf, read whole instead of mapped
        return FaissVectorStore(directory.parent / "faiss-ivf", dimension, mmap_min_bytes=2**62)
    return MilvusVectorStore(
        str(directory / "milvus.db"), "kb_1_bench", dimension, exact_limit=min(EXACT_LIMIT, n)
    )


def memory_kb() -> tuple[int, int]:
    """(VmRSS, RssAnon) of this process in kB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["RssAnon"].split()[0])


def build(kind: str, n: int, directory: Path) -> dict[str, Any]:
    """Worker: build the store from the cached dataset."""
    seed_data = scale_data.seeds()
    ids, vectors = scale_data.dataset(n, seed_data)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    store = make_store(kind, directory, vectors.shape[1], n)
    started = time.perf_counter()
    if isinstance(store, IvfSq8):
        index = store.build(ids, vectors)
        return {"build_s": time.perf_counter() - started, "index": index}
    for start in range(0, n, BATCH):
        store.add(ids[start : start + BATCH], np.asarray(vectors[start : start + BATCH]))
    added = time.perf_counter() - started
    store.persist()
    layout = getattr(store, "layout", None)
    index = layout.index_type if layout else store._index_type()
    if layout and layout.kind == "ivf":
        index += f" nprobe={layout.nprobe}"
    return {"build_s": time.perf_counter() - started, "add_s": added, "index": index}


def query(kind: str, n: int, directory: Path, count: int) -> dict[str, Any]:
    """Worker: open the built store cold, search, time it and compare with exact search."""
    import faiss
    import pymilvus  # noqa: F401  (imported before timing: the app has its libraries loaded)

    seed_data = scale_data.seeds()
    queries = seed_data["queries"][:count]
    ids, vectors = scale_data.dataset(n, seed_data)
    truth = scale_data.ground_truth(seed_data["queries"], vectors, ids)[:count]
    del ids, vectors
    rss0, anon0 = memory_kb()
    started = time.perf_counter()
    store = make_store(kind, directory, queries.shape[1], n)
    store.search(queries[0], 10)
    result: dict[str, Any] = {"cold_open_s": time.perf_counter() - started}
    for label, threads in (("default", 0), ("1thread", 1)):
        # The FAISS stores take it per search; Milvus Lite searches in its server's threads, which a
        # setting made here does not reach (its two columns measure the same thing twice).
        store.search_threads = threads
        faiss.omp_set_num_threads(threads or faiss.omp_get_max_threads())
        latencies, found = [], []
        for q in queries:
            t0 = time.perf_counter()
            found.append([i for i, _ in store.search(q, 10)])
            latencies.append((time.perf_counter() - t0) * 1000)
        result[f"p50_ms_{label}"] = float(np.percentile(latencies, 50))
        result[f"p95_ms_{label}"] = float(np.percentile(latencies, 95))
    recall = [len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)]
    result["recall_at_10"] = float(np.mean(recall))
    rss1, anon1 = memory_kb()
    result.update(rss_delta_mb=(rss1 - rss0) / 1024, anon_delta_mb=(anon1 - anon0) / 1024)
    return result


def run_worker(args: list[str]) -> dict[str, Any]:
    command = [sys.executable, __file__, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def disk_mb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 2**20


def table(n: int, rows: dict[str, dict[str, Any]]) -> str:
    columns = [
        ("store", "index", "{}"), ("build s", "build_s", "{:.0f}"), ("disk MB", "disk_mb", "{:.0f}"),
        ("RSS +MB", "rss_delta_mb", "{:.0f}"), ("anon +MB", "anon_delta_mb", "{:.0f}"),
        ("B/vec", "bytes_per_vector", "{:.0f}"), ("open s", "cold_open_s", "{:.2f}"),
        ("p50 ms", "p50_ms_default", "{:.2f}"), ("p95 ms", "p95_ms_default", "{:.2f}"),
        ("p50 1t", "p50_ms_1thread", "{:.2f}"), ("p95 1t", "p95_ms_1thread", "{:.2f}"),
        ("recall@10", "recall_at_10", "{:.3f}"),
    ]  # fmt: skip
    lines = [f"n = {n:,} vectors", " | ".join(["kind".ljust(15)] + [c[0] for c in columns])]
    for kind, row in rows.items():
        cells = [fmt.format(row[key]) if key in row else "-" for _, key, fmt in columns]
        lines.append(" | ".join([kind.ljust(15), *cells]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument(
        "--milvus-queries",
        type=int,
        default=200,
        help="queries for Milvus Lite, whose search scans a per-row deletion mask in Python (~1 s at 1M)",
    )
    parser.add_argument("--worker", choices=["build", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = scale_data.OUT / f"work_{args.n}"
    if args.worker:
        worker = build(args.store, args.n, work / args.store) if args.worker == "build" else None
        worker = worker or query(args.store, args.n, work / args.store, args.queries)
        print(json.dumps(worker))
        return
    seed_data = scale_data.seeds()
    ids, vectors = scale_data.dataset(args.n, seed_data)
    scale_data.ground_truth(seed_data["queries"], vectors, ids)
    rows: dict[str, dict[str, Any]] = {}
    for kind in args.stores.split(","):
        queries = min(args.queries, args.milvus_queries) if kind == "milvus" else args.queries
        common = ["--n", str(args.n), "--queries", str(queries), "--store", kind]
        if kind == "faiss-ivf-inmem":
            row = {k: v for k, v in rows.get("faiss-ivf", {}).items() if k in ("index", "disk_mb", "build_s")}
        else:
            row = run_worker([*common, "--worker", "build"])
            row["disk_mb"] = disk_mb(work / kind)
        row.update(run_worker([*common, "--worker", "query"]))
        row["bytes_per_vector"] = row["rss_delta_mb"] * 2**20 / args.n
        row["queries"] = queries
        rows[kind] = row
        print(f"{kind}: {json.dumps(row)}", file=sys.stderr, flush=True)
    print(table(args.n, rows))
    out = scale_data.OUT.parent / f"bench_scale_{args.n}.json"
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(), "cpus": os.cpu_count()}
    out.write_text(json.dumps({**meta, "n": args.n, "queries": args.queries, "results": rows}, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
