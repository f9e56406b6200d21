"""Hybrid retrieval: dense (FAISS) + keyword (BM25 over jieba tokens), ranked by one 0..1 relevance.

Every candidate either search finds is scored by `kb_app.relevance`: the estimated probability that it
answers the query. The default fusion ("relevance") ranks by that same number, so the order users see,
the scores they see and the "not found" threshold always agree. "weighted" (a fixed blend of the dense
and BM25 scores), "rrf", "dense" and "bm25" remain for comparison in `kb eval retrieval`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb_app.embedders.base import Calibration
from kb_app.knowledge_base import KnowledgeBase
from kb_app.relevance import DEFAULT_MODEL, QueryProfile, RelevanceModel, Signals, with_document_signals
from kb_app.schema import Chunk, ScoredChunk

FUSIONS = ("relevance", "weighted", "rrf", "dense", "bm25")


@dataclass(frozen=True)
class Candidates:
    """What one query found: its vector, dense and keyword hits (id, score), and for every candidate its
    chunk and relevance signals (filled by `HybridRetriever.gather`)."""

    query_vector: np.ndarray
    dense: list[tuple[int, float]]
    keyword: list[tuple[int, float]]
    chunks: dict[int, Chunk] = field(default_factory=dict)
    signals: dict[int, Signals] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrievalConfig:
    """Knobs of one retrieval run (see `kb_app.settings.RetrievalSettings` for meanings)."""

    top_k: int = 5
    candidates: int = 50
    fusion: str = "relevance"
    dense_weight: float = 0.4
    rrf_k: int = 20


class HybridRetriever:
    """Finds the chunks of one knowledge base that answer a query."""

    def __init__(
        self,
        kb: KnowledgeBase,
        config: RetrievalConfig | None = None,
        model: RelevanceModel = DEFAULT_MODEL,
        reranker: Any = None,
    ) -> None:
        self.kb = kb
        self.config = config or RetrievalConfig()
        self.model = model
        self.reranker = reranker  # kb_app.rerank.CrossEncoderReranker, optional
        self.calibration: Calibration = getattr(kb.embedder, "calibration", Calibration(0.0, 1.0))

    def gather(self, query: str, fusion: str = "relevance") -> Candidates:
        """Embed the query, collect dense and keyword candidates, and compute their relevance signals."""
        query_vector = self.kb.embedder.embed_query(query)
        dense = self.kb.store.search(query_vector, self.config.candidates) if fusion != "bm25" else []
        index = self.kb.keyword_index()
        keyword = index.search(query, self.config.candidates) if fusion != "dense" else []
        return self.collect(query, query_vector, dense, keyword, index)

    def collect(
        self,
        query: str,
        query_vector: np.ndarray,
        dense: list[tuple[int, float]],
        keyword: list[tuple[int, float]],
        index: Any = None,
    ) -> Candidates:
        """Fetch the candidates' chunks and compute their signals (benchmarks reuse cached searches).

        `index` is the KB's keyword index when the caller already holds it (one catalog lookup less).
        """
        index = self.kb.keyword_index() if index is None else index
        ids = list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in keyword]))
        chunks = self.kb.catalog.chunks_by_vector_ids(self.kb.kb_id, ids)  # disabled chunks drop out
        cosines = dict(dense)
        missing = [i for i in chunks if i not in cosines]
        if missing:
            vectors = self.kb.store.reconstruct(missing)  # type: ignore[attr-defined]
            cosines.update(zip(missing, (vectors @ query_vector).tolist(), strict=True))
        profile = QueryProfile.build(query, index.query_terms(query), index.tokenizer.fold)
        bm25 = dict(keyword)
        signals = {
            i: Signals(
                dense=self.calibration(cosines[i]),
                keyword=min(1.0, bm25.get(i, 0.0)),
                coverage=profile.coverage(chunk.text),
                phrase=profile.phrase(chunk.text),
            )
            for i, chunk in chunks.items()
        }
        signals = with_document_signals(signals, {i: chunk.source for i, chunk in chunks.items()})
        return Candidates(query_vector, dense, keyword, chunks, signals)

    def search(self, query: str, top_k: int | None = None, fusion: str | None = None) -> list[ScoredChunk]:
        """Return up to `top_k` chunks, best first, each with a 0..1 relevance score."""
        fusion = fusion or self.config.fusion
        if fusion not in FUSIONS:
            raise ValueError(f"Unknown fusion '{fusion}'; choose one of {', '.join(FUSIONS)}.")
        top_k = top_k or self.config.top_k
        if self.reranker is None:
            return self.score(self.gather(query, fusion), fusion, top_k)
        pool = self.score(self.gather(query, fusion), fusion, max(top_k, self.reranker.candidates))
        return self.reranker.rerank(query, pool)[:top_k]

    def score(self, found: Candidates, fusion: str, top_k: int) -> list[ScoredChunk]:
        """Fuse candidates, keep `top_k`, and attach chunks and relevance scores."""
        ranked = self.rank(fusion, found)[:top_k]
        cosines = dict(found.dense)
        return [
            ScoredChunk(
                chunk=found.chunks[i],
                score=self.model(found.signals[i]),
                dense_score=float(cosines.get(i, found.signals[i].dense)),
                keyword_score=found.signals[i].keyword,
            )
            for i in ranked
        ]

    def weighted(self, signals: Signals) -> float:
        """The fixed dense/BM25 blend of the "weighted" fusion (kept for comparison)."""
        w = self.config.dense_weight
        return w * signals.dense + (1 - w) * signals.keyword

    def rank(self, fusion: str, found: Candidates) -> list[int]:
        """Vector ids in fused order (cheap: the signals are already computed, so one gather serves every
        fusion in `kb eval retrieval`)."""
        known = found.signals
        if fusion == "dense":
            return [i for i, _ in found.dense if i in known]
        if fusion == "bm25":
            return [i for i, _ in found.keyword if i in known]
        if fusion == "rrf":
            w, k = self.config.dense_weight, self.config.rrf_k
            scores: dict[int, float] = {}
            for weight, hits in ((w, found.dense), (1 - w, found.keyword)):
                for rank, (i, _) in enumerate(hits):
                    if i in known:
                        scores[i] = scores.get(i, 0.0) + weight / (k + rank + 1)
            return sorted(scores, key=lambda i: -scores[i])
        ids = list(known)
        measure = self.model if fusion == "relevance" else self.weighted
        combined = np.array([measure(known[i]) for i in ids])
        return [ids[j] for j in np.argsort(-combined, kind="stable")]
