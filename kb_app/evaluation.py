"""`kb eval retrieval`: hit@k and MRR@10 of several retrieval configurations in one run, one table.

A retrieved chunk is a hit when it comes from the gold document and contains a gold answer string
(whitespace removed on both sides), as defined in shared/eval/README.md. Fusions and BM25 tokenizers
are compared on the same index; splitter and embedder variants need their own index, built over a
subset of the corpus by `kb_app.eval_variants`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.retrieval import FUSIONS, HybridRetriever

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


@dataclass
class Tally:
    """Ranks of the first hit (None: no hit in the top 10) and per-question latencies of one config."""

    ranks: list[int | None]
    latencies: list[float]

    def metrics(self) -> dict[str, float]:
        n = max(1, len(self.ranks))

        def hit(k: int) -> float:
            return round(sum(1 for r in self.ranks if r is not None and r < k) / n, 4)

        mrr = sum(1.0 / (r + 1) for r in self.ranks if r is not None and r < 10) / n
        lat = self.latencies or [0.0]
        return {
            "hit@1": hit(1),
            "hit@5": hit(5),
            "hit@10": hit(10),
            "mrr@10": round(mrr, 4),
            "n": len(self.ranks),
            "latency_p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1),
            "latency_p95_ms": round(float(np.percentile(lat, 95)) * 1000, 1),
        }


def first_hit(ranked: Sequence[Any], question: dict[str, Any]) -> int | None:
    """Rank of the first chunk (with `.source` and `.text`) from the gold article holding a gold answer."""
    gold = f"{question['doc_id']}.txt"
    answers = [_squash(a) for a in question["answers"] if a.strip()]
    for rank, chunk in enumerate(ranked[:10]):
        if chunk.source == gold and any(a in _squash(chunk.text) for a in answers):
            return rank
    return None


def score_retriever(
    retriever: HybridRetriever, questions: Sequence[dict[str, Any]], fusions: Sequence[str], label: str = ""
) -> dict[str, Tally]:
    """Tallies per fusion for one retriever: one gather per question serves every fusion. Latency is the
    whole search (query embedding, both searches, chunk lookup, relevance signals, ranking)."""
    tallies = {f"{label}{f}": Tally([], []) for f in fusions}
    for q in questions:
        started = time.perf_counter()
        found = retriever.gather(q["question"])
        gathered = time.perf_counter() - started
        for fusion in fusions:
            t0 = time.perf_counter()
            ranked = [found.chunks[i] for i in retriever.rank(fusion, found)[:10]]
            tally = tallies[f"{label}{fusion}"]
            tally.latencies.append(gathered + time.perf_counter() - t0)
            tally.ranks.append(first_hit(ranked, q))
    return tallies


def run_retrieval_eval(
    container: Any,
    corpus: Path,
    questions: Path,
    kb_name: str = "eval-corpus",
    limit: int | None = None,
    fusions: Sequence[str] = FUSIONS,
    tokenizers: Sequence[str] = (),
    chunkings: Sequence[str] = (),
    embedders: Sequence[str] = (),
    variant_questions: int = 300,
) -> dict[str, Any]:
    """Build (or reuse) a KB of `corpus`, then score every fusion (and BM25 tokenizer variant, e.g.
    "precise" or "search-t2s-off", ranked by the default fusion) on `questions`. Splitter ("300/50") and
    embedder variants are scored on the first `variant_questions` questions over a corpus subset, with
    the default configuration on the same subset as their baseline (`kb_app.eval_variants`)."""
    unknown = sorted(set(fusions) - set(FUSIONS))
    if unknown:
        raise ValueError(f"Unknown fusion {', '.join(unknown)}: choose from {', '.join(FUSIONS)}.")
    source_dir = container.settings.home / ".eval-sources" / kb_name
    write_corpus(corpus, source_dir)
    started = time.perf_counter()
    reports = container.ingest(kb_name, [source_dir])
    build_s = time.perf_counter() - started
    kb = container.open_kb(kb_name)
    kb.keyword_index()  # build outside the timed loop
    retriever: HybridRetriever = container.retriever(kb, top_k=10)
    rows = load_questions(questions, limit)
    tallies = score_retriever(retriever, rows, fusions)
    for name in tokenizers:
        variant = replace(kb, tokenizer=parse_tokenizer(name))
        variant.keyword_index()
        tallies.update(
            score_retriever(
                container.retriever(variant, top_k=10), rows, [retriever.config.fusion], f"{name}:"
            )
        )
    if chunkings or embedders:
        from kb_app.eval_variants import run_variants

        tallies.update(run_variants(container, corpus, rows[:variant_questions], chunkings, embedders))
    by_config = {name: t.metrics() for name, t in tallies.items()}
    default = retriever.config.fusion
    embedded = sum(r.chunks for r in reports if r.status == "done")
    result: dict[str, Any] = {
        **by_config.get(default, {}),
        "default_config": default,
        "by_config": by_config,
        "index": {
            "chunks": len(kb.catalog.chunk_texts(kb.kb_id)[0]),
            "embedded_this_run": embedded,
            "ingest_s": round(build_s, 1),
        },
    }
    result["table"] = format_table(result)
    return result


def parse_tokenizer(name: str) -> Any:
    """ "search", "precise", "search-t2s-off", "precise-t2s-off" -> a keyword_index.Tokenizer."""
    from kb_app.vectorstores.keyword_index import Tokenizer

    mode, _, rest = name.partition("-")
    if mode not in ("search", "precise") or rest not in ("", "t2s-off"):
        raise ValueError(
            f"Unknown tokenizer '{name}': use search, precise, search-t2s-off or precise-t2s-off."
        )
    return Tokenizer(mode, simplify=rest != "t2s-off")


def format_table(result: dict[str, Any]) -> str:
    cols = ["hit@1", "hit@5", "hit@10", "mrr@10", "latency_p50_ms", "latency_p95_ms", "n"]
    width = max([24, *(len(name) + 3 for name in result["by_config"])])
    lines = [f"{'config':<{width}}" + "".join(f"{c:>16}" for c in cols)]
    for name, m in result["by_config"].items():
        mark = " *" if name == result["default_config"] else ""
        lines.append(f"{name + mark:<{width}}" + "".join(f"{m[c]:>16}" for c in cols))
    idx = result["index"]
    lines.append(
        f"index: {idx['chunks']} chunks; this run embedded {idx['embedded_this_run']} in {idx['ingest_s']} s "
        "(* = default configuration)"
    )
    return "\n".join(lines)
