"""Any sentence-transformers model from a local directory (text2vec-base-chinese, bge-*-zh, bge-m3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.embedders.base import Calibration, embed_in_batches
from kb_app.errors import ModelNotFound

# bge Chinese models were trained with this instruction on queries (not passages).
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded with `local_files_only=True`: never reaches a hub."""

    calibration = Calibration(floor=0.30, ceiling=0.80)

    def __init__(
        self, model_path: Path | None, query_instruction: str | None = None, batch_size: int = 32, **_: Any
    ) -> None:
        if model_path is None or not (Path(model_path) / "config.json").is_file():
            raise ModelNotFound(
                f"No sentence-transformers model found at '{model_path}'. Set KB_EMBEDDER__MODEL_PATH to a "
                "local model folder (one holding config.json, e.g. a downloaded bge-small-zh-v1.5)."
            )
        self._path = Path(model_path)
        if query_instruction is None and "bge" in self._path.name.lower() and "zh" in self._path.name.lower():
            query_instruction = BGE_ZH_QUERY_INSTRUCTION
        self._query_instruction = query_instruction or ""
        self._batch_size = batch_size
        self._model: Any = None
        self.embedder_id = "st-" + re.sub(r"[^A-Za-z0-9._-]+", "-", self._path.name).strip("-").lower()

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self._path), device="cpu", local_files_only=True)
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._load().encode(texts, batch_size=self._batch_size, normalize_embeddings=True))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return embed_in_batches(texts, self._batch_size, self._encode, self.dimension)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([self._query_instruction + text])[0]
