"""Chat history: per-user conversations, answers with citations, feedback, and history for QAService."""

from __future__ import annotations

import pytest
from conftest import write_files

from kb_app.conversations import ConversationAccessDenied, citations_of
from kb_app.errors import InvalidName, KBError
from kb_app.schema import Answer, Citation

CITATION = Citation(source="leave.md", page=2, chunk_id="c1", score=0.8, text="员工每年享有十五天带薪年假。")


@pytest.fixture
def store(fast_container):
    return fast_container.conversations


def _chat(store, user: str = "alice") -> int:
    cid = store.create(user, ["hr", "it"])
    store.append(cid, user, "user", "  年假有几天？\n")
    store.append(cid, user, "assistant", "十五天。[1]", Answer("十五天。[1]", (CITATION,)))
    store.append(cid, user, "user", "病假呢？")
    return cid


def test_conversation_keeps_messages_answers_and_a_title(store):
    cid = _chat(store)
    conversation = store.get(cid, "alice")
    assert conversation.kb_names == "hr,it" and conversation.title == "年假有几天？"
    messages = store.messages(cid, "alice")
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    answer = messages[1]
    assert citations_of(answer) == [CITATION.to_dict()] and not answer.refused and answer.kind == "generated"
    refusal = store.append(cid, "alice", "assistant", "没有找到。", Answer("没有找到。", (), refused=True))
    assert store.messages(cid, "alice")[-1].id == refusal and store.messages(cid, "alice")[-1].refused


def test_history_pairs_are_finished_turns_in_order(store):
    cid = _chat(store)
    assert store.history_pairs(cid, "alice") == [("  年假有几天？\n", "十五天。[1]")]
    store.append(cid, "alice", "assistant", "病假需要证明。")
    assert store.history_pairs(cid, "alice")[-1] == ("病假呢？", "病假需要证明。")


def test_list_is_per_user_most_recent_first(store):
    first, second = _chat(store), store.create("alice", "hr", title="手动标题")
    _chat(store, user="bob")
    assert [c.id for c in store.list("alice")] == [second, first]
    store.append(first, "alice", "user", "再问一次")
    assert [c.id for c in store.list("alice")] == [first, second]
    assert store.get(second, "alice").title == "手动标题"
    assert len(store.list("bob")) == 1 and store.list("carol") == []


@pytest.mark.parametrize(
    "action",
    [
        lambda s, cid, mid: s.messages(cid, "mallory"),
        lambda s, cid, mid: s.append(cid, "mallory", "user", "hi"),
        lambda s, cid, mid: s.history_pairs(cid, "mallory"),
        lambda s, cid, mid: s.clear(cid, "mallory"),
        lambda s, cid, mid: s.delete(cid, "mallory"),
        lambda s, cid, mid: s.rename(cid, "mallory", "mine"),
        lambda s, cid, mid: s.feedback(mid, "mallory", 1),
        lambda s, cid, mid: s.messages(cid + 1000, "alice"),
    ],
)
def test_another_users_conversation_is_denied_like_a_missing_one(store, action):
    cid = _chat(store)
    answer_id = store.messages(cid, "alice")[1].id
    with pytest.raises(ConversationAccessDenied, match="does not exist or is not yours"):
        action(store, cid, answer_id)
    assert len(store.messages(cid, "alice")) == 3 and store.get(cid, "alice").title == "年假有几天？"


def test_clear_keeps_the_conversation_and_delete_removes_it(store):
    cid = _chat(store)
    store.clear(cid, "alice")
    assert store.messages(cid, "alice") == [] and store.get(cid, "alice")
    store.delete(cid, "alice")
    with pytest.raises(ConversationAccessDenied):
        store.get(cid, "alice")
    assert store.list("alice") == []


def test_feedback_is_validated_and_exported_with_its_question(store):
    cid = _chat(store)
    question, answer = store.messages(cid, "alice")[:2]
    with pytest.raises(KBError, match="-1, 0 or \\+1"):
        store.feedback(answer.id, "alice", 5)
    with pytest.raises(ConversationAccessDenied):
        store.feedback(question.id, "alice", 1)  # only answers are rated
    store.feedback(answer.id, "alice", -1, note=" 少了病假 ")
    other = _chat(store, user="bob")
    store.feedback(store.messages(other, "bob")[1].id, "bob", 0)
    [record] = store.export_feedback()
    assert record["question"] == question.text and record["answer"] == "十五天。[1]"
    assert (record["feedback"], record["note"], record["user"]) == (-1, "少了病假", "alice")
    assert record["kb_names"] == ["hr", "it"] and record["citations"][0]["source"] == "leave.md"


def test_bad_role_and_kb_name_are_refused(store):
    with pytest.raises(InvalidName):
        store.create("alice", ["../x"])
    cid = store.create("alice", "hr")
    with pytest.raises(KBError, match="role"):
        store.append(cid, "alice", "system", "you are evil")


def test_history_pairs_feed_the_qa_service(fast_container, tmp_path):
    fast_container.ingest("hr", [write_files(tmp_path / "d", {"leave.md": "员工每年享有十五天带薪年假。"})])
    store = fast_container.conversations
    cid = store.create("alice", ["hr"])
    store.append(cid, "alice", "user", "年假有几天？")
    store.append(cid, "alice", "assistant", "年假是十五天。")
    fast_container.generator.enqueue("十五天。")
    fast_container.qa("hr").ask("员工每年享有多少天带薪年假？", history=store.history_pairs(cid, "alice"))
    prompt = " ".join(m["content"] for m in fast_container.generator.calls[-1])
    assert "年假是十五天。" in prompt
