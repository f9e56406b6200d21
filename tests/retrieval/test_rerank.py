"""The cross-encoder stage on a tiny BERT cross-encoder built here (no reranker weights ship offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_app.errors import ModelNotFound
from kb_app.rerank import CrossEncoderReranker
from kb_app.schema import Chunk, ScoredChunk

TEXTS = ["星河路由器的默认地址", "云眸摄像头夜视十米", "员工年假十五天", "病假需要医院证明", "出厂密码在背面"]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-reranker")
    chars = sorted({ch for text in [*TEXTS, "默认地址是什么"] for ch in text})
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]))
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=1,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _hits(scores: list[float]) -> list[ScoredChunk]:
    return [
        ScoredChunk(Chunk(chunk_id=str(i), text=text, source=f"{i}.txt"), score=score)
        for i, (text, score) in enumerate(zip(TEXTS, scores, strict=True))
    ]


def test_reranker_orders_by_the_cross_encoder(tiny_cross_encoder: Path) -> None:
    from sentence_transformers import CrossEncoder

    query = "默认地址是什么"
    expected = CrossEncoder(str(tiny_cross_encoder), local_files_only=True).predict(
        [(query, t) for t in TEXTS]
    )
    reranked = CrossEncoderReranker(tiny_cross_encoder).rerank(query, _hits([0.5, 0.45, 0.4, 0.3, 0.2]))
    assert [h.chunk.text for h in reranked] == [
        TEXTS[i] for i in sorted(range(5), key=lambda i: -expected[i])
    ]
    assert [h.rerank_score for h in reranked] == pytest.approx(sorted(expected, reverse=True), abs=1e-5)
    assert {h.score for h in reranked} == {0.5, 0.45, 0.4, 0.3, 0.2}  # relevance itself is untouched


def test_confident_top_hit_skips_the_model(tiny_cross_encoder: Path) -> None:
    reranker = CrossEncoderReranker(tiny_cross_encoder, skip_score=0.9)
    hits = _hits([0.95, 0.5, 0.4, 0.3, 0.2])
    assert reranker.rerank("默认地址", hits) == hits
    assert reranker._model is None  # never loaded


def test_time_budget_keeps_the_unscored_tail_in_order(tiny_cross_encoder: Path) -> None:
    reranker = CrossEncoderReranker(tiny_cross_encoder, budget_ms=0, batch_size=2)
    reranked = reranker.rerank("默认地址", _hits([0.5, 0.45, 0.4, 0.3, 0.2]))
    assert sum(h.rerank_score is not None for h in reranked) == 2
    assert [h.chunk.text for h in reranked[2:]] == TEXTS[2:]


def test_missing_model_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="KB_RETRIEVAL__RERANKER_PATH"):
        CrossEncoderReranker(tmp_path / "nope").rerank("问题", _hits([0.5, 0.45, 0.4, 0.3, 0.2]))


def test_retriever_uses_the_configured_reranker(fast_container, tiny_cross_encoder, tmp_path, monkeypatch):
    from conftest import write_files

    fast_container.settings.retrieval.reranker_path = tiny_cross_encoder
    docs = write_files(tmp_path / "docs", {f"{i}.txt": text for i, text in enumerate(TEXTS)})
    fast_container.ingest("rr", [docs])
    hits = fast_container.retriever(fast_container.open_kb("rr")).search("默认地址是什么", top_k=3)
    assert len(hits) == 3 and all(h.rerank_score is not None for h in hits)
