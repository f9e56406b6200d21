"""The ChatGLM-compatible API over HTTP (TestClient): `POST /` as ChatGLM's api.py, the /chat +
/get_response poll flow, auth, history round trips, footnotes and the poll queue's limits."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ScriptedGenerator
from fastapi.testclient import TestClient

from api.conftest import Api

QUESTION = "年假需要提前几天申请？"
ANSWER = "年假需要提前三天在系统中申请。"
FOOTNOTE = "\n\n来源：[1] 年假制度.txt"


@pytest.fixture(autouse=True)
def _chatglm_settings(fast_container: Any) -> None:
    fast_container.settings.default_kb = "hr"
    fast_container.settings.chatglm_queue = 2


class GatedGenerator(ScriptedGenerator):
    """Writes `text` two characters a piece: the first at once, the rest once `release` is set (or after
    `wait_s`), `delay_s` apart. `log` records "finished" or "closed" (stopped early)."""

    def __init__(self, text: str, wait_s: float = 10.0, delay_s: float = 0.0) -> None:
        super().__init__()
        self.text, self.wait_s, self.delay_s = text, wait_s, delay_s
        self.release = threading.Event()
        self.log: list[str] = []

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Iterator[str]:
        self.calls.append(messages)
        finished = False
        try:
            yield self.text[:2]
            self.release.wait(self.wait_s)
            for i in range(2, len(self.text), 2):
                time.sleep(self.delay_s)
                yield self.text[i : i + 2]
            finished = True
        finally:
            self.log.append("finished" if finished else "closed")


def poll(api: Api, request_id: str, until: Any, user: str = "admin", timeout_s: float = 20) -> list[Any]:
    """Poll /get_response until `until(body)`; returns every body seen."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = api.call("POST", "/get_response", user=user, json={"request_id": request_id})
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if until(seen[-1]):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"gave up polling; last: {seen[-1:]}")


def test_post_root_answers_like_chatglm_api_py_with_footnotes(api: Api) -> None:
    api.container.generator.enqueue(ANSWER)
    old_turn = ["你好", "你好！" + FOOTNOTE]
    body = {"prompt": QUESTION, "history": [old_turn], "max_length": 2048, "top_p": 0.7, "temperature": 0.95}
    reply = api.call("POST", "/", json=body)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["response"] == ANSWER + FOOTNOTE and data["status"] == 200
    assert data["history"] == [old_turn, [QUESTION, ANSWER]]  # the new turn without the footnote
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", data["time"])
    assert [sorted(c) for c in data["citations"]] == [["file", "page", "score", "text"]]
    assert data["citations"][0]["file"] == "年假制度.txt" and "三天" in data["citations"][0]["text"]
    assert {"role": "assistant", "content": "你好！"} in api.container.generator.calls[-1]


def test_history_round_trips_in_both_shapes(api: Api) -> None:
    api.container.generator.enqueue(ANSWER, "报销需要发票原件。")
    first = api.call("POST", "/", json={"prompt": QUESTION, "history": []}).json()
    second = api.call(
        "POST", "/", json={"prompt": "差旅报销需要提交什么？", "history": first["history"]}
    ).json()
    assert second["history"] == [[QUESTION, ANSWER], ["差旅报销需要提交什么？", "报销需要发票原件。"]]
    prompt = api.container.generator.calls[-1]
    assert prompt[-3:-1] == [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": ANSWER}]
    glm3 = [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}]
    third = api.call("POST", "/", json={"prompt": QUESTION, "history": glm3}).json()
    assert third["history"][:2] == glm3 and third["history"][2]["role"] == "user"
    reply = third["history"][3]
    assert reply["role"] == "assistant" and reply["content"] and reply["content"] in third["response"]
    bad = api.call("POST", "/", json={"prompt": QUESTION, "history": [["only one"]]})
    assert bad.status_code == 400 and "pair" in bad.json()["detail"]


def test_kb_choice_and_a_missing_default_kb(api: Api) -> None:
    empty = api.call("POST", "/", json={"prompt": QUESTION, "history": [], "kb": "wiki"}).json()
    assert empty["response"] == "知识库中没有找到相关信息。" and empty["refused"] is True  # no footnote
    api.container.settings.default_kb = "nope"
    missing = api.call("POST", "/", json={"prompt": QUESTION, "history": []})
    assert missing.status_code == 404 and "KB_DEFAULT_KB" in missing.json()["detail"]


def test_auth_rules_are_the_apis(api: Api) -> None:
    anonymous = api.call("POST", "/", user=None, json={"prompt": QUESTION, "history": []})
    assert anonymous.status_code == 401 and "Authorization: Bearer" in anonymous.json()["detail"]
    assert api.call("POST", "/chat", user=None, json={"prompt": QUESTION}).status_code == 401
    assert api.call("POST", "/get_response", user=None, json={"request_id": "x"}).status_code == 401
    outsider = api.call("POST", "/", user="viewer_other", json={"prompt": QUESTION, "history": []})
    assert outsider.status_code == 403
    granted = api.call("POST", "/", user="viewer_hr", json={"prompt": QUESTION, "history": []})
    assert granted.status_code == 200 and granted.json()["response"].endswith(FOOTNOTE)


def test_poll_flow_shows_the_text_growing_then_the_cited_answer(api: Api) -> None:
    generator = GatedGenerator(ANSWER)
    api.container.__dict__["generator"] = generator
    start = api.call("POST", "/chat", user="viewer_hr", json={"request_id": "r1", "prompt": QUESTION})
    assert start.json() == {"request_id": "r1", "status": "started"}
    partial = poll(api, "r1", lambda b: b["response"], user="viewer_hr")[-1]
    assert partial["finished"] is False and partial["response"] == ANSWER[:2] and "citations" not in partial
    assert partial["history"] == [[QUESTION, ANSWER[:2]]]
    again = api.call("POST", "/chat", user="viewer_hr", json={"request_id": "r1", "prompt": QUESTION})
    assert again.status_code == 409  # still running
    assert api.call("POST", "/get_response", user="editor_hr", json={"request_id": "r1"}).status_code == 404
    generator.release.set()
    seen = poll(api, "r1", lambda b: b["finished"], user="viewer_hr")
    texts = [b["response"] for b in seen]
    assert all(ANSWER.startswith(t) for t in texts[:-1]) and texts[-1] == ANSWER + FOOTNOTE
    assert seen[-1]["history"] == [[QUESTION, ANSWER]] and seen[-1]["citations"][0]["file"] == "年假制度.txt"
    assert generator.log == ["finished"]


def test_queue_bound_unknown_ids_and_generated_ids(api: Api) -> None:
    unknown = api.call("POST", "/get_response", json={"request_id": "never"})
    assert unknown.status_code == 404 and "POST /chat" in unknown.json()["detail"]
    first = api.call("POST", "/chat", json={"prompt": QUESTION}).json()["request_id"]
    assert api.call("POST", "/chat", json={"request_id": "b", "prompt": QUESTION}).status_code == 200
    full = api.call("POST", "/chat", json={"request_id": "c", "prompt": QUESTION})
    assert full.status_code == 429 and "KB_CHATGLM_QUEUE" in full.json()["detail"]
    poll(api, first, lambda b: b["finished"])  # collected: its place is free again
    assert api.call("POST", "/chat", json={"request_id": "c", "prompt": QUESTION}).status_code == 200
    bad = api.call("POST", "/chat", json={"prompt": " "})
    assert bad.status_code == 400  # checked before anything runs


def test_shutdown_stops_background_answers(fast_container: Any, seeded_home: tuple[Path, Any]) -> None:
    from kb_app.api import create_app

    template, tokens = seeded_home
    shutil.copytree(template, fast_container.settings.home)
    generator = GatedGenerator("年" * 400, wait_s=0, delay_s=0.05)  # 10 s if nobody stops it
    fast_container.__dict__["generator"] = generator
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    with TestClient(create_app(fast_container)) as client:
        client.post("/chat", headers=headers, json={"request_id": "long", "prompt": QUESTION})
        while not client.post("/get_response", headers=headers, json={"request_id": "long"}).json()[
            "response"
        ]:
            time.sleep(0.01)
        stopping = time.monotonic()
    fast_container.jobs.stop_worker()
    assert generator.log == ["closed"] and time.monotonic() - stopping < 3


def test_finished_answers_expire_and_free_their_place() -> None:
    from kb_app.api.chatglm_polls import PollEntry, PollRegistry
    from kb_app.errors import NotFound
    from kb_app.qa import StreamEvent
    from kb_app.schema import Answer

    now = [0.0]
    polls = PollRegistry(capacity=1, expire_s=60, clock=lambda: now[0])

    async def events() -> AsyncGenerator[StreamEvent, None]:
        yield StreamEvent(text="好")
        yield StreamEvent(answer=Answer("好"))

    async def scenario() -> None:
        polls.start(PollEntry("ann", "a", QUESTION, []), events())
        task = polls.get("ann", "a").task
        assert task is not None
        await asyncio.wait_for(task, 5)
        now[0] = 59.0
        assert polls.get("ann", "a").answer == Answer("好")
        with pytest.raises(NotFound):
            polls.get("bob", "a")  # another owner's id is unknown to them
        now[0] = 61.0
        with pytest.raises(NotFound):
            polls.get("ann", "a")
        polls.start(PollEntry("ann", "b", QUESTION, []), events())
        assert len(polls) == 1
        await polls.close()

    asyncio.run(scenario())
