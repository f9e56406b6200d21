"""Vector stores and the keyword index (shipped as `kb_app.vectorstores`).

- `faiss_store.FaissVectorStore`: exact cosine search, the default `VectorStore`.
- `keyword_index.KeywordIndex`: BM25 over jieba tokens, scores normalised to 0..1 per query.
- `contract.VectorStoreContract`: the tests every `VectorStore` backend must pass.
- `atomic`: crash-safe file replacement used by both.

Importing this package stays cheap: faiss, jieba and bm25s load on first use.
"""

from kb_app.vectorstores.faiss_store import FaissVectorStore
from kb_app.vectorstores.keyword_index import KeywordIndex, tokenize_chinese

__all__ = ["FaissVectorStore", "KeywordIndex", "tokenize_chinese"]
