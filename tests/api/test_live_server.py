"""A real `kb serve` process on a loopback port, driven by the official `openai` client.

The server uses the fast fakes (`core.fake_backends`, registered through KB_PLUGINS) so that it starts in
seconds; everything else (uvicorn, auth, the first-run admin password, SSE) is the product as shipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.live import live_kb_serve

pytestmark = pytest.mark.integration
QUESTION = "年假需要提前几天申请？"


@dataclass
class Server:
    url: str
    token: str
    log: Path
    generator_log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("live")
    with live_kb_serve(root, KBTEST_GENERATOR_LOG=str(root / "generator.log")) as (url, stderr):
        found = re.search(r"one-time password (\S+)", stderr.read_text())
        assert found, stderr.read_text()
        login = httpx.post(f"{url}/auth/login", json={"username": "admin", "password": found.group(1)})
        assert login.status_code == 200, login.text
        yield Server(url, login.json()["access_token"], stderr, root / "generator.log")


def _client(server: Server) -> object:
    from openai import OpenAI

    return OpenAI(base_url=f"{server.url}/v1", api_key=server.token, max_retries=0, timeout=30)


def test_openai_client_lists_models_and_answers_with_citations(server: Server) -> None:
    client = _client(server)
    assert [m.id for m in client.models.list()] == ["hr"]  # type: ignore[attr-defined]
    reply = client.chat.completions.create(  # type: ignore[attr-defined]
        model="hr", messages=[{"role": "user", "content": QUESTION}]
    )
    content = reply.choices[0].message.content
    assert content.startswith("年假需要提前三天") and content.endswith("来源：[1] 年假制度.txt")
    assert reply.model_extra["citations"][0]["source"] == "年假制度.txt"


def test_openai_client_streams_and_the_last_chunk_carries_citations(server: Server) -> None:
    client = _client(server)
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model="kb:hr", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    assert len([p for p in pieces if p]) > 3  # streamed, not one block
    assert "".join(pieces).endswith("来源：[1] 年假制度.txt")
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"][0]["source"] == "年假制度.txt"


def test_openai_client_errors_are_readable(server: Server) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        _client(server).chat.completions.create(  # type: ignore[attr-defined]
            model="nope", messages=[{"role": "user", "content": QUESTION}]
        )


def test_closing_a_stream_stops_the_model(server: Server) -> None:
    server.generator_log.unlink(missing_ok=True)
    headers = {"Authorization": f"Bearer {server.token}"}
    body = {"question": QUESTION, "stream": True}
    with httpx.stream("POST", f"{server.url}/kbs/hr/ask", json=body, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: delta"):
                break  # leave after the first piece: the connection closes
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not server.generator_log.exists():
        time.sleep(0.1)
    assert server.generator_log.read_text() == "closed\n"
