"""The sentence-transformers embedder, loaded through the real loader from a tiny model built here
(random weights, real classes: BERT + mean pooling + a WordPiece tokenizer), as a user's local dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb_app.embedders.st_embedder import BGE_ZH_QUERY_INSTRUCTION, SentenceTransformerEmbedder
from kb_app.errors import ModelNotFound

TEXT = "星河路由器的默认管理地址是。员工每年享有十五天带薪年假。知识库问答系统 ChatGLM model 0123456789"


def build_tiny_model(directory: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    directory.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(TEXT.lower()) - {" "})]
    (directory / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt")).save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    word = models.Transformer(str(directory), max_seq_length=64)
    pooling = models.Pooling(config.hidden_size, pooling_mode="mean")
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(directory))
    return directory


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("st") / "tiny-bge-small-zh")


def test_embeddings_are_normalised_and_deterministic(tiny_dir):
    embedder = SentenceTransformerEmbedder(tiny_dir)
    docs = embedder.embed_documents(["星河路由器", "带薪年假", "星河路由器"])
    assert docs.shape == (3, embedder.dimension) == (3, 32)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.allclose(docs[0], docs[2]) and not np.allclose(docs[0], docs[1])
    assert embedder.embedder_id == "st-tiny-bge-small-zh"


def test_bge_zh_dirs_get_the_query_instruction_on_queries_only(tiny_dir):
    embedder = SentenceTransformerEmbedder(tiny_dir)
    assert embedder._query_instruction == BGE_ZH_QUERY_INSTRUCTION
    query = embedder.embed_query("星河路由器")
    plain = embedder.embed_documents(["星河路由器"])[0]
    assert not np.allclose(query, plain)
    explicit = SentenceTransformerEmbedder(tiny_dir, query_instruction="")
    assert np.allclose(explicit.embed_query("星河路由器"), plain, atol=1e-6)


def test_missing_model_dir_names_the_setting(tmp_path):
    with pytest.raises(ModelNotFound, match="KB_EMBEDDER__MODEL_PATH"):
        SentenceTransformerEmbedder(tmp_path / "nowhere")


def test_a_kb_indexes_and_searches_with_it_through_the_container(tiny_dir, kb_home, tmp_path, monkeypatch):
    from kb_app.container import Container
    from kb_app.settings import Settings

    monkeypatch.setenv("KB_EMBEDDER__BACKEND", "sentence-transformers")
    monkeypatch.setenv("KB_EMBEDDER__MODEL_PATH", str(tiny_dir))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("星河路由器的默认管理地址。", encoding="utf-8")
    (docs / "b.txt").write_text("员工每年享有十五天带薪年假。", encoding="utf-8")
    container = Container(Settings())
    assert [r.status for r in container.ingest("st", [docs])] == ["done", "done"]
    kb = container.open_kb("st")
    assert kb.index_dir.name == "st-tiny-bge-small-zh" and kb.store.count() == 2
    hits = container.retriever(kb).search("带薪年假", top_k=2)
    assert hits[0].chunk.source == "b.txt"
