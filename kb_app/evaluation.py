"""`kb eval retrieval`: hit@k and MRR@10 of several retrieval configurations in one run.

A retrieved chunk is a hit when it comes from the gold document and contains a gold answer string
(whitespace removed on both sides), as defined in shared/eval/README.md.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.retrieval import Candidates, HybridRetriever

CONFIGS: dict[str, dict[str, Any]] = {
    "bm25": {"fusion": "bm25"},
    "dense": {"fusion": "dense"},
    "hybrid-rrf": {"fusion": "rrf"},
    "hybrid-weighted": {"fusion": "weighted"},
}
_WS = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _WS.sub("", text)


# Hanzi and Chinese punctuation: what OCR accuracy is measured on.
_CHINESE = re.compile(r"[\u4e00-\u9fff，。、；：？！“”《》]")


def passage_accuracy(passage: str, text: str) -> float:
    """OCR accuracy: 1 - (edit distance of `passage` to its best-matching stretch of `text`) / len(passage).

    Only hanzi and Chinese punctuation are compared. The stretch may start and end anywhere in the
    text (Sellers' approximate substring matching), so the rest of the page costs nothing.
    """
    target = "".join(_CHINESE.findall(text))
    previous = [0] * (len(target) + 1)
    for i, char in enumerate(passage, start=1):
        current = [i] + [0] * len(target)
        for j, other in enumerate(target, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
        previous = current
    return 1 - min(previous) / len(passage)


def write_corpus(corpus: Path, folder: Path) -> int:
    """Write each article as `<doc_id>.txt` (title first) so the real loader and splitter are measured.

    Files whose content is unchanged are not rewritten, so re-runs re-embed nothing.
    """
    count = 0
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        target = folder / f"{record['doc_id']}.txt"
        text = f"{record.get('title', '')}\n\n{record['text']}\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        count += 1
    return count


def load_questions(path: Path, limit: int | None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def _metrics(ranks: list[int | None], latencies: list[float]) -> dict[str, float]:
    n = len(ranks)

    def hit(k: int) -> float:
        return round(sum(1 for r in ranks if r is not None and r < k) / n, 4)

    mrr = sum(1.0 / (r + 1) for r in ranks if r is not None and r < 10) / n
    return {
        "hit@1": hit(1),
        "hit@5": hit(5),
        "hit@10": hit(10),
        "mrr@10": round(mrr, 4),
        "n": n,
        "latency_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 1),
        "latency_p95_ms": round(float(np.percentile(latencies, 95)) * 1000, 1),
    }


def run_retrieval_eval(
    container: Any, corpus: Path, questions: Path, kb_name: str = "eval-corpus", limit: int | None = None
) -> dict[str, Any]:
    """Build (or reuse) a KB of `corpus`, then score every configuration on `questions`."""
    source_dir = container.settings.home / ".eval-sources" / kb_name
    write_corpus(corpus, source_dir)
    started = time.perf_counter()
    reports = container.ingest(kb_name, [source_dir])
    build_s = time.perf_counter() - started
    kb = container.open_kb(kb_name)
    chunks = kb.catalog.chunk_sources(kb.kb_id)
    retriever: HybridRetriever = container.retriever(kb, top_k=10)
    kb.keyword_index()  # build outside the timed loop
    ranks: dict[str, list[int | None]] = {name: [] for name in CONFIGS}
    latencies: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for q in load_questions(questions, limit):
        gold_source = f"{q['doc_id']}.txt"
        answers = [_squash(a) for a in q["answers"] if a.strip()]
        t0 = time.perf_counter()
        vector = kb.embedder.embed_query(q["question"])
        dense = kb.store.search(vector, retriever.config.candidates)
        t1 = time.perf_counter()
        keyword = kb.keyword_index().search(q["question"], retriever.config.candidates)
        t2 = time.perf_counter()
        found = Candidates(vector, dense, keyword)
        for name, cfg in CONFIGS.items():
            t3 = time.perf_counter()
            ranked = retriever.rank(cfg["fusion"], found)[:10]
            fuse = time.perf_counter() - t3
            base = {"bm25": t2 - t1, "dense": t1 - t0}.get(name, t2 - t0)
            latencies[name].append(base + fuse)
            ranks[name].append(_first_hit(ranked, chunks, gold_source, answers))
    by_config = {name: _metrics(ranks[name], latencies[name]) for name in CONFIGS}
    default = _default_config_name(container)
    embedded = sum(r.chunks for r in reports if r.status == "done")
    result: dict[str, Any] = {
        **{k: v for k, v in by_config[default].items()},
        "default_config": default,
        "by_config": by_config,
        "index": {"chunks": len(chunks), "embedded_this_run": embedded, "ingest_s": round(build_s, 1)},
    }
    result["table"] = format_table(result)
    return result


def _default_config_name(container: Any) -> str:
    fusion = container.settings.retrieval.fusion
    return {"rrf": "hybrid-rrf", "weighted": "hybrid-weighted"}.get(fusion, fusion)


def _first_hit(
    ranked: list[int], chunks: dict[int, tuple[str, str]], gold: str, answers: list[str]
) -> int | None:
    for rank, vid in enumerate(ranked):
        source, text = chunks.get(vid, ("", ""))
        if source == gold and any(a in _squash(text) for a in answers):
            return rank
    return None


def format_table(result: dict[str, Any]) -> str:
    cols = ["hit@1", "hit@5", "hit@10", "mrr@10", "latency_p50_ms", "latency_p95_ms", "n"]
    lines = [f"{'config':<18}" + "".join(f"{c:>16}" for c in cols)]
    for name, m in result["by_config"].items():
        mark = " *" if name == result["default_config"] else ""
        lines.append(f"{name + mark:<18}" + "".join(f"{m[c]:>16}" for c in cols))
    idx = result["index"]
    lines.append(
        f"index: {idx['chunks']} chunks; this run embedded {idx['embedded_this_run']} in {idx['ingest_s']} s "
        "(* = default configuration)"
    )
    return "\n".join(lines)
