"""Input checks every vector store applies the same way: unit rows of the right width, last id wins."""

from __future__ import annotations

import numpy as np

from kb_app.errors import IndexInconsistent


def as_unit_rows(vectors: np.ndarray, dimension: int, where: object) -> np.ndarray:
    """Return `vectors` as a C-contiguous float32 matrix of L2-normalised rows (a copy).

    Re-normalising keeps scores true cosines even if an embedder forgot to; zero rows stay zero.

    Args:
        vectors: One vector (1-D) or a matrix of row vectors.
        dimension: The width the store was built for.
        where: The store's location, named in the error message.

    Raises:
        IndexInconsistent: when the width differs (the embedder changed).
    """
    matrix = np.array(vectors, dtype=np.float32, ndmin=2, order="C")
    if matrix.ndim != 2:
        raise ValueError(f"Expected a 1-D or 2-D array of vectors, got shape {matrix.shape}")
    if matrix.shape[1] != dimension:
        raise IndexInconsistent(
            f"Got vectors of shape {matrix.shape} but the index at {where} holds "
            f"{dimension}-dimensional vectors. The embedder has changed: re-index the knowledge "
            "base with the embedder it was built with, or rebuild its index for the new one."
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


def last_occurrences(ids: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop all but the last row of each repeated id (a batch may re-add an id), keeping batch order.

    Raises:
        ValueError: when the number of ids and rows differ.
    """
    id_array = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    if len(id_array) != matrix.shape[0]:
        raise ValueError(f"Got {len(id_array)} ids for {matrix.shape[0]} vectors.")
    _, first_in_reversed = np.unique(id_array[::-1], return_index=True)
    keep = np.sort(len(id_array) - 1 - first_in_reversed)
    return id_array[keep], matrix[keep]


def clip_scores(ids: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    """(id, score) pairs without the -1 padding a backend adds when it finds fewer than k.

    Float rounding can push a self-match a hair above 1; the contract promises [-1, 1].
    """
    return [(int(i), float(np.clip(s, -1.0, 1.0))) for i, s in zip(ids, scores, strict=True) if int(i) != -1]
