"""Hybrid retrieval: dense (FAISS) + keyword (BM25 over jieba tokens), fused, on one 0..1 scale.

Relevance, the number users see and the refusal threshold compares against, blends the embedder's
calibrated cosine with the BM25 score normalised by the query's best possible BM25 score; both parts are
0..1 and higher is better. The default ("weighted") ranks by that same relevance, so the order and the
scores users see always agree; it beat reciprocal rank fusion on the dev set (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb_app.embedders.base import Calibration
from kb_app.knowledge_base import KnowledgeBase
from kb_app.schema import ScoredChunk

FUSIONS = ("rrf", "weighted", "dense", "bm25")


@dataclass(frozen=True)
class Candidates:
    """What one query found before fusion: its vector, dense hits and keyword hits (id, score)."""

    query_vector: np.ndarray
    dense: list[tuple[int, float]]
    keyword: list[tuple[int, float]]


@dataclass(frozen=True)
class RetrievalConfig:
    """Knobs of one retrieval run (see `kb_app.settings.RetrievalSettings` for meanings)."""

    top_k: int = 5
    candidates: int = 50
    fusion: str = "weighted"
    dense_weight: float = 0.4
    rrf_k: int = 20


class HybridRetriever:
    """Finds the chunks of one knowledge base that answer a query."""

    def __init__(self, kb: KnowledgeBase, config: RetrievalConfig | None = None) -> None:
        self.kb = kb
        self.config = config or RetrievalConfig()
        self.calibration: Calibration = getattr(kb.embedder, "calibration", Calibration(0.0, 1.0))

    def gather(self, query: str, fusion: str = "weighted") -> Candidates:
        """Embed the query and collect dense and keyword candidates (the expensive part of a search)."""
        query_vector = self.kb.embedder.embed_query(query)
        dense = self.kb.store.search(query_vector, self.config.candidates) if fusion != "bm25" else []
        keyword = self.kb.keyword_index().search(query, self.config.candidates) if fusion != "dense" else []
        return Candidates(query_vector, dense, keyword)

    def search(self, query: str, top_k: int | None = None, fusion: str | None = None) -> list[ScoredChunk]:
        """Return up to `top_k` chunks, best first, each with a 0..1 relevance score."""
        fusion = fusion or self.config.fusion
        if fusion not in FUSIONS:
            raise ValueError(f"Unknown fusion '{fusion}'; choose one of {', '.join(FUSIONS)}.")
        return self.score(self.gather(query, fusion), fusion, top_k or self.config.top_k)

    def score(self, found: Candidates, fusion: str, top_k: int) -> list[ScoredChunk]:
        """Fuse candidates, keep `top_k`, and attach chunks and relevance scores."""
        cosines, bm25 = dict(found.dense), dict(found.keyword)
        ranked = self.rank(fusion, found)[:top_k]
        missing = [i for i in ranked if i not in cosines]
        if missing:
            vectors = self.kb.store.reconstruct(missing)  # type: ignore[attr-defined]
            cosines.update(zip(missing, (vectors @ found.query_vector).tolist(), strict=True))
        chunks = self.kb.catalog.chunks_by_vector_ids(self.kb.kb_id, ranked)
        return [
            ScoredChunk(
                chunk=chunks[i],
                score=self.relevance(cosines[i], bm25.get(i, 0.0)),
                dense_score=float(cosines[i]),
                keyword_score=float(bm25.get(i, 0.0)),
            )
            for i in ranked
            if i in chunks
        ]

    def relevance(self, cosine: float, keyword: float) -> float:
        """The 0..1 score shown to users and compared with the refusal threshold."""
        w = self.config.dense_weight
        return round(w * self.calibration(cosine) + (1 - w) * min(1.0, keyword), 4)

    def rank(self, fusion: str, found: Candidates) -> list[int]:
        """Vector ids in fused order (no chunk lookups: cheap enough to run per configuration)."""
        dense, keyword = found.dense, found.keyword
        if fusion == "dense":
            return [i for i, _ in dense]
        if fusion == "bm25":
            return [i for i, _ in keyword]
        if fusion == "rrf":
            w, k = self.config.dense_weight, self.config.rrf_k
            scores: dict[int, float] = {}
            for weight, hits in ((w, dense), (1 - w, keyword)):
                for rank, (i, _) in enumerate(hits):
                    scores[i] = scores.get(i, 0.0) + weight / (k + rank + 1)
            return sorted(scores, key=lambda i: -scores[i])
        cosines, bm25 = dict(dense), dict(keyword)
        ids = list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in keyword]))
        floor = min(cosines.values(), default=0.0)
        combined = np.array([self.relevance(cosines.get(i, floor), bm25.get(i, 0.0)) for i in ids])
        return [ids[j] for j in np.argsort(-combined, kind="stable")]
