"""Asking over HTTP: JSON answers, server-sent events, history, the OpenAI shape, and stopping the
model when the client goes away."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.conftest import Api

QUESTION = "年假需要提前几天申请？"


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream body; data JSON-decoded where it is JSON."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = fields.get("data", "")
        events.append((fields.get("event", "message"), data if data == "[DONE]" else json.loads(data)))
    return events


def test_ask_answers_with_citations_and_uses_history(api: Api) -> None:
    api.container.generator.enqueue("年假需要提前三天在系统中申请。")
    history = [{"question": "你好", "answer": "你好！\n\n来源：[1] 年假制度.txt"}]
    response = api.call(
        "POST", "/kbs/hr/ask", user="viewer_hr", json={"question": QUESTION, "history": history}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == "年假需要提前三天在系统中申请。" and not body["refused"]
    assert body["kind"] == "generated"
    assert [c["source"] for c in body["citations"]] == ["年假制度.txt"]
    prompt = api.container.generator.calls[-1]
    assert {"role": "assistant", "content": "你好！"} in prompt  # our footnote was stripped from history


def test_unrelated_questions_are_refused_without_the_model(api: Api) -> None:
    response = api.call("POST", "/kbs/hr/ask", json={"question": "量子色动力学的渐近自由是什么意思？"})
    assert response.json()["refused"] is True
    assert api.container.generator.calls == []


def test_ask_streams_deltas_then_the_answer(api: Api) -> None:
    api.container.generator.enqueue("年假需要提前三天在系统中申请。")
    response = api.call("POST", "/kbs/hr/ask", json={"question": QUESTION, "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 3 and "".join(deltas) == "年假需要提前三天在系统中申请。"
    assert events[-1][0] == "answer" and events[-1][1]["citations"][0]["source"] == "年假制度.txt"


def test_bad_questions_are_400_before_any_streaming(api: Api) -> None:
    empty = api.call("POST", "/kbs/hr/ask", json={"question": " ", "stream": True})
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    api.container.settings.max_question_chars = 10
    long = api.call("POST", "/kbs/hr/ask", json={"question": "问" * 50})
    assert long.status_code == 400 and "limit is 10" in long.json()["detail"]


def test_generator_failure_mid_stream_becomes_an_error_event(api: Api) -> None:
    from kb_app.errors import GeneratorError

    class Broken:
        def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Iterator[str]:
            yield "年假"
            raise GeneratorError("The model server stopped answering; restart it.")

    api.container.__dict__["generator"] = Broken()
    events = sse_events(api.call("POST", "/kbs/hr/ask", json={"question": QUESTION, "stream": True}).text)
    assert events[0] == ("delta", {"text": "年假"})
    assert events[-1] == ("error", {"detail": "The model server stopped answering; restart it."})
    plain = api.call("POST", "/kbs/hr/ask", json={"question": QUESTION})
    assert plain.status_code == 503 and "restart it" in plain.json()["detail"]


def test_openai_chat_completion_shape(api: Api) -> None:
    api.container.generator.enqueue("年假需要提前三天申请。")
    messages = [
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "你好！"},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
    ]
    body = api.call("POST", "/v1/chat/completions", json={"model": "kb:hr", "messages": messages}).json()
    assert body["object"] == "chat.completion" and body["model"] == "kb:hr"
    content = body["choices"][0]["message"]["content"]
    assert content == "年假需要提前三天申请。\n\n来源：[1] 年假制度.txt"
    assert body["citations"][0]["source"] == "年假制度.txt"
    assert api.container.generator.calls[-1][-2] == {"role": "assistant", "content": "你好！"}
    bad = api.call("POST", "/v1/chat/completions", json={"model": "hr", "messages": [messages[2]]})
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("The last message")


def test_openai_stream_refusal_sends_the_refusal_text_and_done(api: Api) -> None:
    request = {
        "model": "hr",
        "stream": True,
        "messages": [{"role": "user", "content": "量子色动力学是什么？"}],
    }
    events = sse_events(api.call("POST", "/v1/chat/completions", json=request).text)
    assert events[-1] == ("message", "[DONE]")
    chunks = [data for _, data in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "知识库中没有找到相关信息。"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["refused"] is True


class SlowGenerator:
    """Writes 200 pieces, 20 ms apart; records whether its stream was closed early."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.pieces = 0
        self.finished = False

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Iterator[str]:
        try:
            for _ in range(200):
                time.sleep(0.02)
                self.pieces += 1
                yield "字"
            self.finished = True
        finally:
            self.closed.set()


async def _ask_then_disconnect(app: Any, token: str) -> list[dict[str, Any]]:
    body = json.dumps({"question": QUESTION, "stream": True}).encode()
    first_piece_sent, received = asyncio.Event(), list[bool]()

    async def receive() -> dict[str, Any]:
        if not received:
            received.append(True)
            return {"type": "http.request", "body": body, "more_body": False}
        await first_piece_sent.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and b"delta" in message.get("body", b""):
            first_piece_sent.set()

    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/kbs/hr/ask",
        "raw_path": b"/kbs/hr/ask",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return sent


def test_client_disconnect_stops_the_model(api: Api) -> None:
    slow = SlowGenerator()
    api.container.__dict__["generator"] = slow
    app = api.client.app
    asyncio.run(_ask_then_disconnect(app, api.tokens["viewer_hr"]))
    assert slow.closed.wait(5), "the model's stream was not closed"
    assert not slow.finished and slow.pieces < 200
    assert not app.state.answer_slot.locked()


def test_faq_mode_answers_with_the_stored_answer(api: Api, tmp_path: Path) -> None:
    import openpyxl

    from kb_app.faq_mode import set_faq_mode

    book = openpyxl.Workbook()
    book.active.append(["标准问", "标准答"])
    book.active.append(["如何重置登录密码？", "在登录页点击“忘记密码”，按邮件里的链接设置新密码。"])
    book.save(tmp_path / "faq.xlsx")
    api.container.ingest("hr", [tmp_path / "faq.xlsx"])
    set_faq_mode(api.container, "hr", True)
    body = api.call("POST", "/kbs/hr/ask", json={"question": "如何重置登录密码？"}).json()
    assert body["kind"] == "faq" and body["answer"].startswith("在登录页点击")
    assert api.container.generator.calls == []
    events = sse_events(
        api.call("POST", "/kbs/hr/ask", json={"question": "如何重置登录密码？", "stream": True}).text
    )
    assert [name for name, _ in events] == ["answer"] and events[0][1]["kind"] == "faq"
