"""OpenAICompatGenerator against a small real HTTP server on 127.0.0.1 started by the test."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kb_app import registry
from kb_app.errors import GeneratorError
from kb_app.llms.messages import estimate_tokens
from kb_app.llms.openai_compat import OpenAICompatGenerator
from kb_app.protocols import Generator

MESSAGES = [
    {"role": "system", "content": "只根据资料回答。"},
    {"role": "user", "content": "北京是哪个国家的首都？"},
]
STREAM_PIECES = ["北京", "是中国", "的首都。"]


class _FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.client_gone = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
        behaviour = body["model"]
        if behaviour == "broken":
            self._send(500, "application/json", b'{"error": "model crashed"}')
        elif behaviour == "slow":
            time.sleep(1.5)
            self._send(200, "application/json", b"{}")
        elif body["stream"]:
            self._stream(forever=behaviour == "endless")
        else:
            reply = {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "北京是中国的首都。"}}]
            }
            self._send(200, "application/json", json.dumps(reply).encode())

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, forever: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        first = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
        chunks = [first] + [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in STREAM_PIECES]
        lines = [": keep-alive\n\n"] + [f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks]
        try:
            for line in lines:
                self._write(line)
            while forever:  # until the client hangs up (bounded by the test's own timeout)
                time.sleep(0.05)
                self._write('data: {"choices": [{"index": 0, "delta": {"content": "再"}}]}\n\n')
            self._write('data: {"choices": [], "usage": {"total_tokens": 9}}\n\ndata: [DONE]\n\n')
        except (BrokenPipeError, ConnectionResetError):
            self.server.client_gone.set()

    def _write(self, text: str) -> None:
        self.wfile.write(text.encode("utf-8"))
        self.wfile.flush()


@pytest.fixture
def server() -> Iterator[_FakeServer]:
    fake = _FakeServer()
    thread = threading.Thread(target=fake.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()


def _generator(server: _FakeServer, model: str = "qwen", timeout_s: float = 10) -> OpenAICompatGenerator:
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1/"
    return OpenAICompatGenerator(
        base_url, api_key="sk-test", model_name=model, temperature=0.2, timeout_s=timeout_s
    )


def test_registry_and_protocol(server: _FakeServer) -> None:
    generator = registry.resolve("generator", "openai")(
        base_url="http://127.0.0.1:1/v1", api_key="x", model_name="glm4"
    )
    assert isinstance(generator, Generator)
    assert generator.name == "openai:glm4@http://127.0.0.1:1/v1"


def test_generate_posts_chat_completion(server: _FakeServer) -> None:
    answer = _generator(server).generate(MESSAGES, max_tokens=64)
    assert answer == "北京是中国的首都。"
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "qwen" and body["messages"] == MESSAGES
    assert body["stream"] is False and body["max_tokens"] == 64 and body["temperature"] == 0.2


def test_stream_parses_server_sent_events(server: _FakeServer) -> None:
    assert list(_generator(server).stream(MESSAGES, max_tokens=32)) == STREAM_PIECES
    assert server.requests[0]["body"]["stream"] is True


def test_closing_the_stream_hangs_up(server: _FakeServer) -> None:
    stream = _generator(server, model="endless").stream(MESSAGES)
    assert next(stream) == STREAM_PIECES[0]
    stream.close()
    assert server.client_gone.wait(5), "the server should notice the client went away"


def test_http_error_is_a_generator_error(server: _FakeServer) -> None:
    generator = _generator(server, model="broken")
    with pytest.raises(GeneratorError, match="HTTP 500") as caught:
        generator.generate(MESSAGES)
    assert "model crashed" in str(caught.value)
    with pytest.raises(GeneratorError, match="HTTP 500"):
        list(generator.stream(MESSAGES))


def test_timeout_is_a_generator_error(server: _FakeServer) -> None:
    with pytest.raises(GeneratorError, match="KB_LLM__TIMEOUT_S"):
        _generator(server, model="slow", timeout_s=0.3).generate(MESSAGES)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_names_url_and_setting() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    generator = OpenAICompatGenerator(url, api_key="x", model_name="m", timeout_s=5)
    for call in (lambda: generator.generate(MESSAGES), lambda: list(generator.stream(MESSAGES))):
        with pytest.raises(GeneratorError, match="KB_LLM__BASE_URL") as caught:
            call()
        assert f"{url}/chat/completions" in str(caught.value)
        assert "running" in str(caught.value)


def test_malformed_messages_are_rejected_before_sending(server: _FakeServer) -> None:
    with pytest.raises(GeneratorError, match="role"):
        _generator(server).generate([{"role": "tool", "content": "x"}])
    assert server.requests == []


def test_count_tokens_estimates_chinese_denser_than_latin() -> None:
    generator = OpenAICompatGenerator("http://127.0.0.1:1/v1", api_key="x", model_name="m")
    assert generator.count_tokens("北京是中国的首都") == estimate_tokens("北京是中国的首都") == 6
    assert generator.count_tokens("abcdefgh") == 2
    assert generator.count_tokens("") == 0
