"""Fitting a knowledge base's refusal threshold from a few labelled questions (`kb calibrate`).

Labelled questions are JSON lines: `{"question": "...", "answerable": true}` (or a `"source"` naming
the file that answers it, which implies answerable). Each question's best retrieval relevance is
compared with the threshold: at or above means "relevant content found". The chosen threshold is the
highest one that still finds content for `min_recall` of the answerable questions, so the model is
skipped for as many unanswerable questions as possible without refusing answerable ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb_app.errors import KBError


@dataclass(frozen=True)
class ThresholdFit:
    """The result: threshold and how it does on the labelled questions."""

    threshold: float
    recall: float  # answerable questions that pass
    refused_unanswerable: float | None  # unanswerable questions stopped before the model (None: none given)
    answerable: int
    unanswerable: int


def load_labelled(path: Path) -> list[tuple[str, bool]]:
    """(question, answerable) pairs from a JSON-lines file."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            pairs.append(
                (str(record["question"]), bool(record.get("answerable", bool(record.get("source")))))
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise KBError(
                f'{path}:{number}: expected {{"question": ..., "answerable": true|false}}; fix that line'
            ) from exc
    return pairs


def choose_threshold(
    positives: Sequence[float], negatives: Sequence[float], min_recall: float = 0.95
) -> ThresholdFit:
    """The highest threshold (2 decimals) that keeps `min_recall` of the answerable questions.

    Raises:
        KBError: when no answerable question is given.
    """
    if not positives:
        raise KBError('Calibration needs at least one answerable question ("answerable": true).')
    threshold = 0.0
    for candidate in (step / 100 for step in range(100, -1, -1)):
        recall = sum(s >= candidate for s in positives) / len(positives)
        if recall >= min_recall:
            threshold = candidate
            break
    refused = sum(s < threshold for s in negatives) / len(negatives) if negatives else None
    return ThresholdFit(
        threshold=threshold,
        recall=sum(s >= threshold for s in positives) / len(positives),
        refused_unanswerable=refused,
        answerable=len(positives),
        unanswerable=len(negatives),
    )


def calibrate(retriever: Any, labelled: Sequence[tuple[str, bool]], min_recall: float = 0.95) -> ThresholdFit:
    """Score each labelled question with `retriever` and choose the threshold."""
    positives: list[float] = []
    negatives: list[float] = []
    for question, answerable in labelled:
        best = max((hit.score for hit in retriever.search(question)), default=0.0)
        (positives if answerable else negatives).append(best)
    return choose_threshold(positives, negatives, min_recall)
