"""Optional reranking: a cross-encoder re-orders the best candidates of a search.

No reranker weights ship in any package this app can install offline, so reranking is off until
`KB_RETRIEVAL__RERANKER_PATH` names a local sentence-transformers CrossEncoder directory (for example
BAAI/bge-reranker-base or -v2-m3, downloaded once on a connected machine). The stage has a time budget:
candidates are scored best-first in small batches until the budget runs out, and the scored ones are
re-ordered ahead of the rest. When the top hit is already confident (its relevance is high and well
clear of the runner-up) the model is not called at all.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from kb_app.errors import ModelNotFound
from kb_app.schema import ScoredChunk

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Re-orders search hits with a local cross-encoder, within a time budget."""

    def __init__(
        self,
        model_path: Path,
        candidates: int = 30,
        budget_ms: float = 2000.0,
        skip_score: float = 0.9,
        skip_margin: float = 0.2,
        batch_size: int = 8,
    ) -> None:
        self.model_path = Path(model_path)
        self.candidates = candidates
        self.budget_s = budget_ms / 1000
        self.skip_score = skip_score
        self.skip_margin = skip_margin
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            if not (self.model_path / "config.json").exists():
                raise ModelNotFound(
                    f"No cross-encoder in {self.model_path} (config.json missing). Put a local reranker "
                    "there (e.g. bge-reranker-base) or unset KB_RETRIEVAL__RERANKER_PATH to search "
                    "without one."
                )
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(str(self.model_path), local_files_only=True, device="cpu")
        return self._model

    def confident(self, hits: list[ScoredChunk]) -> bool:
        """Whether the top hit is clear enough that reranking cannot help."""
        if not hits or hits[0].score < self.skip_score:
            return False
        return len(hits) == 1 or hits[0].score - hits[1].score >= self.skip_margin

    def rerank(self, query: str, hits: list[ScoredChunk]) -> list[ScoredChunk]:
        """`hits` re-ordered: the scored prefix by cross-encoder score, the unscored rest as it was."""
        if len(hits) < 2 or self.confident(hits):
            return hits
        model = self._load()
        pool = hits[: self.candidates]
        scores: list[float] = []
        started = time.perf_counter()
        for start in range(0, len(pool), self.batch_size):
            batch = pool[start : start + self.batch_size]
            scores.extend(float(s) for s in model.predict([(query, h.chunk.text) for h in batch]))
            if time.perf_counter() - started > self.budget_s:
                log.info("Reranking stopped at %d of %d candidates (time budget).", len(scores), len(pool))
                break
        scored = [replace(h, rerank_score=s) for h, s in zip(pool, scores, strict=False)]
        scored.sort(key=lambda h: -(h.rerank_score or 0.0))
        return scored + hits[len(scored) :]
