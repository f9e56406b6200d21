"""Catalog backends: ingest thousands of small Chinese text files with the catalog on SQLite and on
PostgreSQL (same run, same files, same fast hashing embedder, FAISS vectors), then re-scan them unchanged.

PostgreSQL is a throwaway local server (tests/pg.py, needs the `postgresql` package) with fsync on, like
SQLite's WAL default; or any server given with --pg-url (its database is used as is).

    .venv/bin/python bench/bench_catalog.py [--files 10000] [--pg-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SUBJECTS = ["公司", "学校", "医院", "图书馆", "研究所", "工厂", "银行", "博物馆", "社区", "车站"]
TOPICS = ["年假", "报销", "安全培训", "设备维护", "会议安排", "考勤", "采购", "档案管理", "值班", "节能"]
RULES = ["须提前三天申请", "由部门负责人审批", "每月最后一个工作日汇总", "逾期不予受理", "记录保存五年"]


class BenchHashEmbedder:
    """Character-bigram hashing, vectorised: the catalog, not the model, dominates the timings."""

    embedder_id = "bench-hash-128"
    dimension = 128

    def __init__(self, **_: object) -> None:
        from kb_app.embedders.base import Calibration

        self.calibration = Calibration(0.0, 0.6)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
            np.add.at(out[row], (codes[:-1] * 31 + codes[1:]) % self.dimension, 1.0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def write_corpus(folder: Path, count: int) -> None:
    """`count` small, distinct Chinese notices (one or two chunks each), in 100 sub-folders."""
    rng = random.Random(7)
    for i in range(count):
        sub = folder / f"部门{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        lines = [f"第{i}号通知：{rng.choice(SUBJECTS)}关于{rng.choice(TOPICS)}的规定。"]
        lines += [
            f"{rng.choice(TOPICS)}事项{rng.choice(RULES)}，编号{rng.randrange(10**6)}。" for _ in range(6)
        ]
        (sub / f"通知{i:05d}.txt").write_text("\n".join(lines), encoding="utf-8")


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    sys.path.insert(0, str(REPO / "tests"))
    from pg import running_postgres  # the tests' throwaway server

    with running_postgres(durable=True) as server:
        yield server.create_database()


def measure(name: str, url: str, home: Path, corpus: Path) -> tuple[str, int, int, float, float]:
    """(backend, files, chunks, ingest seconds, unchanged re-scan seconds) for one catalog URL."""
    from kb_app import registry
    from kb_app.container import Container
    from kb_app.settings import Settings

    registry.register("embedder", "bench-hash", BenchHashEmbedder)
    settings = Settings(home=home, database_url=url, ingest_workers=1, vector_store="faiss")
    settings.embedder.backend = "bench-hash"
    container = Container(settings)
    started = time.perf_counter()
    reports = container.ingest("bench", [corpus])
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    rescan = container.ingest("bench", [corpus])
    rescan_s = time.perf_counter() - started
    failed = [r for r in reports if r.status != "done"] + [r for r in rescan if r.status != "skipped"]
    assert not failed, failed[:3]
    container.catalog.close()
    return name, len(reports), sum(r.chunks for r in reports), ingest_s, rescan_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--pg-url", help="an existing PostgreSQL database instead of a throwaway server")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, postgres(args.pg_url) as pg_url:
        corpus = Path(tmp) / "corpus"
        write_corpus(corpus, args.files)
        sqlite_url = f"sqlite:///{Path(tmp) / 'sqlite-home' / 'catalog.db'}"
        for name, url in (("SQLite", sqlite_url), ("PostgreSQL", pg_url)):
            rows.append(measure(name, url, Path(tmp) / f"{name.lower()}-home", corpus))
    print(f"{'catalog':<12}{'files':>7}{'chunks':>8}{'ingest s':>10}{'files/s':>9}{'re-scan files/s':>17}")
    for name, files, chunks, ingest_s, rescan_s in rows:
        rates = f"{files / ingest_s:>9.1f}{files / rescan_s:>17.1f}"
        print(f"{name:<12}{files:>7}{chunks:>8}{ingest_s:>10.1f}{rates}")


if __name__ == "__main__":
    main()
