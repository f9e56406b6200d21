"""The prompt's token budgets: passages best first up to `source_tokens` (the last one cut to its
sentences nearest the question), and the newest chat turns up to `history_tokens`."""

from __future__ import annotations

from kb_app.prompting import best_window, estimate_tokens, select_sources, trim_history
from kb_app.schema import Chunk, ScoredChunk

FILLER = "本章介绍公司的组织结构和各部门的职责划分。"
ANSWER = "差旅报销需要提交发票原件和行程单。"


def _hit(text: str, score: float, name: str) -> ScoredChunk:
    return ScoredChunk(Chunk(name, text, f"{name}.txt"), score)


def test_best_window_keeps_the_sentences_nearest_the_question():
    text = FILLER * 3 + ANSWER + FILLER * 3
    window = best_window(text, "差旅报销需要提交什么？", 40, estimate_tokens)
    assert ANSWER in window and estimate_tokens(window) <= 40


def test_sources_fill_the_budget_best_first_and_cut_the_last():
    hits = [
        _hit(FILLER * 4, 0.9, "a"),
        _hit(FILLER * 2 + ANSWER + FILLER * 2, 0.8, "b"),
        _hit(FILLER, 0.7, "c"),
    ]
    whole = estimate_tokens(hits[0].chunk.text)
    chosen = select_sources(hits, whole + 90, estimate_tokens, "差旅报销需要提交什么？")
    assert [h.chunk.chunk_id for h in chosen] == ["a", "b"]  # c is never reached
    assert chosen[0].chunk.text == hits[0].chunk.text
    assert ANSWER in chosen[1].chunk.text and len(chosen[1].chunk.text) < len(hits[1].chunk.text)
    assert select_sources(hits, 10, estimate_tokens, "问题") == hits[:1]  # the best is always kept whole


def test_history_keeps_the_newest_turns_that_fit():
    history = [(f"问题{i}" * 10, f"回答{i}" * 20) for i in range(5)]
    kept = trim_history(history, 200, estimate_tokens)
    assert kept == history[-len(kept) :] and 0 < len(kept) < 5
    assert trim_history(history, 10_000, estimate_tokens) == history
    assert trim_history(history, 5, estimate_tokens) == []
