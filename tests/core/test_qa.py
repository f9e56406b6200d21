"""Question answering with the scripted generator: refusal without the model, citations from use."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_app.errors import InvalidQuestion

DOCS = {
    "router.txt": "星河路由器的默认管理地址是 192.168.8.1。出厂密码印在机身背面的标签上。",
    "leave.md": "# 请假制度\n\n员工每年享有十五天带薪年假。病假需要提供医院证明。",
}


@pytest.fixture
def hr(fast_container, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    fast_container.ingest("hr", [folder])
    return fast_container


def test_answer_cites_the_source_it_uses_not_the_models_markers(hr):
    hr.generator.enqueue("星河路由器的默认管理地址是 192.168.8.1 [2]。")
    answer = hr.qa("hr").ask("星河路由器的默认管理地址是什么？")
    assert not answer.refused
    assert [c.source for c in answer.citations] == ["router.txt"]
    assert 0.0 <= answer.citations[0].score <= 1.0
    prompt = hr.generator.calls[-1][-1]["content"]
    assert "【资料】" in prompt and "[1]" in prompt and "星河路由器" in prompt


def test_nothing_relevant_refuses_without_calling_the_model(hr):
    answer = hr.qa("hr").ask("量子色动力学的渐近自由是谁发现的？")
    assert answer.refused
    assert "没有找到" in answer.text
    assert hr.generator.calls == []


def test_model_refusal_is_reported_as_refused(hr):
    hr.generator.enqueue("知识库中没有找到相关信息。")
    answer = hr.qa("hr").ask("星河路由器的出厂密码在哪里？")
    assert answer.refused


def test_stream_yields_pieces_then_the_final_answer(hr):
    hr.generator.enqueue("员工每年享有十五天带薪年假。")
    events = list(hr.qa("hr").stream("员工的带薪年假有几天？"))
    pieces = [e.text for e in events if e.text]
    assert len(pieces) > 1 and "".join(pieces) == "员工每年享有十五天带薪年假。"
    final = events[-1].answer
    assert final is not None and final.citations[0].source == "leave.md"
    assert events[-1].stats.first_token_s is not None


@pytest.mark.parametrize("question", ["", "   ", "问" * 100_000])
def test_empty_or_huge_questions_get_a_clear_error(hr, question):
    with pytest.raises(InvalidQuestion) as err:
        hr.qa("hr").ask(question)
    assert "question" in str(err.value).lower()


def test_answer_json_shape(hr):
    hr.generator.enqueue("星河路由器的默认管理地址是 192.168.8.1。")
    data = hr.qa("hr").ask("默认管理地址？").to_dict()
    assert set(data) == {"answer", "refused", "citations", "sentences", "refusal_reason"}
    assert data["refusal_reason"] is None
    assert set(data["citations"][0]) == {"source", "page", "chunk_id", "score", "text"}
    assert data["sentences"] == [
        {"text": "星河路由器的默认管理地址是 192.168.8.1。", "citations": [1], "supported": True}
    ]
