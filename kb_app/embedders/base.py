"""What all embedders share: batching, normalisation and score calibration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Maps an embedder's raw cosine similarity onto the shared 0..1 relevance scale.

    Cosine similarities of one embedder sit in a narrow, model-specific band (multilingual-e5 scores
    unrelated Chinese text around 0.80), so a fixed threshold on raw cosine means nothing across
    models. `floor` is the cosine of clearly unrelated text (maps to 0) and `ceiling` the cosine of a
    clear match (maps to 1); both were measured on the CMRC/DRCD dev set (see docs/benchmarks.md).
    """

    floor: float
    ceiling: float

    def __call__(self, cosine: float) -> float:
        span = self.ceiling - self.floor
        return float(min(1.0, max(0.0, (cosine - self.floor) / span)))


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row (float32); zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def embed_in_batches(
    texts: Sequence[str], batch_size: int, encode: Callable[[list[str]], np.ndarray], dimension: int
) -> np.ndarray:
    """Run `encode` over `texts` in batches and stack the normalised results."""
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    parts = [
        normalise_rows(encode(list(texts[i : i + batch_size]))) for i in range(0, len(texts), batch_size)
    ]
    return np.vstack(parts)
