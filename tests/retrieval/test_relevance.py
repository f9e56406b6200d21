"""The 0..1 relevance: its signals, its model, and the retriever ranking by it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kb_app.evaluation import run_retrieval_eval
from kb_app.relevance import DEFAULT_MODEL, SIGNALS, QueryProfile, Signals, with_document_signals
from kb_app.retrieval import FUSIONS
from kb_app.vectorstores.keyword_index import Tokenizer

DOCS = {
    "router.txt": "星河路由器说明。星河路由器的默认管理地址是 192.168.8.1。出厂密码印在机身背面的标签上。",
    "camera.txt": "云眸摄像头使用说明。云眸摄像头的默认管理地址是 10.0.0.2。夜视距离为十米。",
    "taiwan.txt": "臺灣的經濟發展以電子產業為主，半導體出口佔比很高。",
}


def test_model_is_a_probability_that_grows_with_every_signal() -> None:
    middle = Signals(*[0.5] * len(SIGNALS))
    assert 0.0 <= DEFAULT_MODEL(Signals(*[0.1] * len(SIGNALS))) < 0.05
    for name in SIGNALS:
        assert DEFAULT_MODEL(replace(middle, **{name: 0.9})) >= DEFAULT_MODEL(middle)
    assert DEFAULT_MODEL(Signals(*[1.0] * len(SIGNALS))) > 0.99


def test_document_signals_take_the_best_chunk_of_the_same_file() -> None:
    signals = {1: Signals(0.5, 0.5, 0.9, 0.8), 2: Signals(0.5, 0.5, 0.1, 0.2), 3: Signals(0.5, 0.5, 0.3, 0.3)}
    filled = with_document_signals(signals, {1: "a.txt", 2: "a.txt", 3: "b.txt"})
    assert (filled[2].doc_coverage, filled[2].doc_phrase) == (0.9, 0.8)
    assert (filled[3].doc_coverage, filled[3].doc_phrase) == (0.3, 0.3)


def test_coverage_weighs_rare_words_and_folds_traditional_characters() -> None:
    fold = Tokenizer().fold
    profile = QueryProfile.build("台湾经济", [("台湾", 5.0), ("经济", 1.0)], fold)
    assert profile.coverage("臺灣的電子產業") == pytest.approx(5 / 6)
    assert profile.coverage("中国经济") == pytest.approx(1 / 6)
    assert (
        QueryProfile.build("台湾经济", [("台湾", 5.0)], Tokenizer(simplify=False).fold).coverage("臺灣") == 0
    )


def test_phrase_finds_the_window_that_mirrors_the_question() -> None:
    profile = QueryProfile.build("默认管理地址是什么", [], Tokenizer().fold)
    close = profile.phrase("星河路由器的默认管理地址是 192.168.8.1。出厂密码在背面。")
    scattered = profile.phrase("默认设置。管理员。地址簿。")
    assert close > 0.6 > scattered


@pytest.fixture
def devices(fast_container, write_files_to, tmp_path: Path):
    fast_container.ingest("devices", [write_files_to(tmp_path / "docs", DOCS)])
    return fast_container


@pytest.fixture
def write_files_to():
    from conftest import write_files

    return write_files


def test_the_named_product_wins_and_scores_agree_with_the_order(devices) -> None:
    retriever = devices.retriever(devices.open_kb("devices"))
    hits = retriever.search("云眸摄像头的默认管理地址是什么？", top_k=3)
    assert hits[0].chunk.source == "camera.txt"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_every_fusion_ranks_the_same_candidates(devices) -> None:
    retriever = devices.retriever(devices.open_kb("devices"))
    found = retriever.gather("星河路由器出厂密码")
    for fusion in FUSIONS:
        ranked = retriever.rank(fusion, found)
        assert ranked and set(ranked) <= set(found.chunks)
    assert found.chunks[retriever.rank("relevance", found)[0]].source == "router.txt"


def test_simplified_question_finds_a_traditional_document(devices) -> None:
    hits = devices.retriever(devices.open_kb("devices")).search("台湾经济以什么产业为主？", top_k=1)
    assert hits[0].chunk.source == "taiwan.txt" and hits[0].keyword_score > 0


def test_eval_compares_fusions_and_tokenizers_in_one_table(fast_container, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"doc_id": name.removesuffix(".txt"), "title": "", "text": text}, ensure_ascii=False)
            for name, text in DOCS.items()
        ),
        encoding="utf-8",
    )
    questions = tmp_path / "q.jsonl"
    rows = [
        {"question": "云眸摄像头的默认管理地址是什么？", "answers": ["10.0.0.2"], "doc_id": "camera"},
        {"question": "星河路由器的出厂密码在哪里？", "answers": ["机身背面"], "doc_id": "router"},
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = run_retrieval_eval(
        fast_container, corpus, questions, tokenizers=["precise", "search-t2s-off"], chunkings=["40/10"]
    )
    variants = {"precise:relevance", "search-t2s-off:relevance", "subset/default", "subset/chunks 40/10"}
    assert set(result["by_config"]) == {*FUSIONS, *variants}
    assert result["by_config"]["subset/chunks 40/10"]["n"] == 2
    assert result["default_config"] == "relevance" and result["hit@1"] == 1.0
    assert "precise:relevance" in result["table"] and "mrr@10" in result["table"]
    with pytest.raises(ValueError, match="Unknown fusion"):
        run_retrieval_eval(fast_container, corpus, questions, fusions=["magic"])
