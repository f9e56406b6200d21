"""The scale-out wiring without Docker: the catalog on a real PostgreSQL server, vectors in Milvus (Lite:
the real engine, embedded), answers from llama.cpp's OpenAI-compatible server running the default GGUF.
The same settings the compose file's `.env.example` sets; no code path differs from the embedded default.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_DOCS, ScriptedGenerator
from llms.conftest import SERVER_MODEL_ALIAS, llama_server, llama_server_log  # noqa: F401  (fixtures)
from pg import postgres_server, postgres_url  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

DOC = "langchain-chatchat/md/大模型推理优化策略.md"


@pytest.fixture
def scaled(postgres_url: str, llama_server: str, fast_container: Any, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    from kb_app.container import Container
    from kb_app.settings import Settings

    monkeypatch.setenv("KB_DATABASE_URL", postgres_url)
    monkeypatch.setenv("KB_VECTOR_STORE", "milvus")
    monkeypatch.setenv("KB_LLM__BACKEND", "openai")
    monkeypatch.setenv("KB_LLM__BASE_URL", llama_server)
    monkeypatch.setenv("KB_LLM__MODEL_NAME", SERVER_MODEL_ALIAS)
    monkeypatch.setenv("KB_LLM__MAX_NEW_TOKENS", "96")
    container = Container(Settings())  # the hashing embedder registered by fast_container; real servers
    yield container
    container.catalog.close()


def test_ingest_search_and_ask_on_postgresql_milvus_and_an_llm_server(scaled: Any, tmp_path: Path) -> None:
    assert scaled.catalog.engine.dialect.name == "postgresql"
    assert not isinstance(scaled.generator, ScriptedGenerator)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy2(SHARED_DOCS / DOC, docs / Path(DOC).name)
    reports = scaled.ingest("推理", [docs])
    assert [r.status for r in reports] == ["done"]
    kb = scaled.open_kb("推理")
    assert type(kb.store).__name__.lower().startswith("milvus")
    assert kb.store.count() == sum(r.chunks for r in reports)
    question = "大模型推理优化有哪些策略？"
    hits = scaled.retriever(kb).search(question)
    assert hits and hits[0].chunk.source == Path(DOC).name
    answer = scaled.qa("推理").ask(question)
    assert answer.text and (answer.refused or answer.citations[0].source == Path(DOC).name)
    assert [r.status for r in scaled.ingest("推理", [docs])] == ["skipped"]
