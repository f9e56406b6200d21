"""Vector stores and the keyword index (shipped as `kb_app.vectorstores`).

- `faiss_store.FaissVectorStore`: the default `VectorStore`; exact search for small KBs, IVF-Flat above
  `faiss_layout.EXACT_LIMIT` vectors, memory-mapped when large (`faiss_layout`, `faiss_io`).
- `milvus_store.MilvusVectorStore`: the same contract on a Milvus server or Milvus Lite.
- `store_record`: which of the two a KB uses (`<kb>/store.json`); `kb migrate` moves a KB between them.
- `keyword_index.KeywordIndex`: BM25 over jieba tokens, scores normalised to 0..1 per query.
- `contract.VectorStoreContract`: the tests every `VectorStore` backend must pass.
- `atomic`: crash-safe file replacement used by both; `rows`: input checks shared by the stores.

Importing this package stays cheap: faiss, pymilvus, jieba and bm25s load on first use.
"""

from kb_app.vectorstores.faiss_store import FaissVectorStore
from kb_app.vectorstores.keyword_index import KeywordIndex, tokenize_chinese
from kb_app.vectorstores.milvus_store import MilvusVectorStore

__all__ = ["FaissVectorStore", "KeywordIndex", "MilvusVectorStore", "tokenize_chinese"]
