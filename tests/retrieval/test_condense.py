"""Follow-up questions: the rule condenser, the LLM condenser, and QAService searching with them."""

from __future__ import annotations

import pytest

from kb_app.condense import LLMCondenser, RuleCondenser, is_follow_up, make_condenser, subject_of


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("ChatGLM-6B 是什么？", "ChatGLM-6B"),
        ("在中国，牡蒿分布在哪些省市？", "牡蒿"),
        ("《千年女王》的故事情节是什么？", "《千年女王》"),
        ("什么是内台航路？", "内台航路"),
        ("詹姆斯·史都華在1983年的時候是幾歲?", "詹姆斯·史都華"),
        ("2023年北京地区生产总值增长了多少？", "北京地区生产总值"),
    ],
)
def test_subject_of_a_question(question: str, subject: str) -> None:
    assert subject_of(question) == subject


def test_follow_ups_are_recognised_and_standalone_questions_are_not() -> None:
    assert (
        is_follow_up("那它需要多少显存？")
        and is_follow_up("一般公共预算收入呢？")
        and is_follow_up("也叫什么？")
    )
    assert is_follow_up("當時那裡哪一個行業十分盛行?")
    assert not is_follow_up("ChatGLM-6B 在 INT4 量化下需要多少显存？")


def test_rules_put_the_subject_where_the_pronoun_was() -> None:
    condense = RuleCondenser()
    history = [("ChatGLM-6B 是什么？", "一个开源的对话模型。")]
    assert condense("那它需要多少显存？", history) == "那ChatGLM-6B需要多少显存？"
    assert condense("也叫什么？", [("什么是内台航路？", "……")]) == "内台航路 也叫什么？"
    assert condense("那它需要多少显存？", []) == "那它需要多少显存？"
    standalone = "北京的常住人口是多少？"
    assert condense(standalone, history) == standalone


def test_rules_follow_a_chain_of_follow_ups() -> None:
    history = [("ChatGLM-6B 是什么？", "模型。"), ("它有多少参数？", "62 亿。")]
    assert RuleCondenser()("它需要多少显存？", history) == "ChatGLM-6B需要多少显存？"


class _Rewriter:
    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[list[dict[str, str]]] = []

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 64) -> str:
        self.calls.append(messages)
        return self.reply


def test_llm_condenser_uses_the_models_rewrite_and_falls_back_on_nonsense() -> None:
    history = [("ChatGLM-6B 是什么？", "模型。")]
    good = _Rewriter("ChatGLM-6B 需要多少显存？\n多余的解释")
    assert LLMCondenser(good)("那它需要多少显存？", history) == "ChatGLM-6B 需要多少显存？"
    assert "ChatGLM-6B 是什么？" in good.calls[0][-1]["content"]
    assert LLMCondenser(_Rewriter(""))("那它需要多少显存？", history) == "那ChatGLM-6B需要多少显存？"
    with pytest.raises(ValueError, match="KB_RETRIEVAL__CONDENSE"):
        make_condenser("magic")


def test_qa_searches_with_the_condensed_question_and_prompts_with_the_original(fast_container, tmp_path):
    from conftest import write_files

    docs = write_files(
        tmp_path / "docs",
        {
            "glm.txt": "ChatGLM-6B 在 INT4 量化级别下最低只需 6GB 显存。",
            "camera.txt": "云眸摄像头的夜视距离为十米，需要 12V 电源。",
        },
    )
    fast_container.ingest("kb", [docs])
    fast_container.generator.enqueue("最低只需 6GB 显存。")
    history = [("ChatGLM-6B 是什么？", "一个开源的对话模型。")]
    events = list(fast_container.qa("kb").stream("那它需要多少显存？", history))
    final = events[-1]
    assert final.stats.search_query == "那ChatGLM-6B需要多少显存？"
    assert final.hits[0].chunk.source == "glm.txt"
    prompt = fast_container.generator.calls[-1]
    assert (
        prompt[-1]["content"].endswith("那它需要多少显存？") or "那它需要多少显存？" in prompt[-1]["content"]
    )
