"""A real `kb serve` process on a loopback port, driven by the official `openai` client.

The server uses the fast fakes (`core.fake_backends`, registered through KB_PLUGINS) so that it starts in
seconds; everything else (uvicorn, auth, the first-run admin password, SSE) is the product as shipped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import REPO, write_files

pytestmark = pytest.mark.integration
QUESTION = "年假需要提前几天申请？"


@dataclass
class Server:
    url: str
    token: str
    log: Path
    generator_log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kb serve exited with {process.returncode}: {stderr.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"kb serve did not start: {stderr.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import core.fake_backends  # noqa: F401  (registers test-hash and echo in this process too)

    from kb_app.container import Container
    from kb_app.settings import Settings

    root = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "KB_HOME": str(root / "kbhome"),
        "KB_PLUGINS": json.dumps(["core.fake_backends"]),
        "PYTHONPATH": str(REPO / "tests"),
        "KB_EMBEDDER__BACKEND": "test-hash",
        "KB_LLM__BACKEND": "echo",
        "KB_RETRIEVAL__THRESHOLD": "0.25",
        "KB_INGEST_WORKERS": "1",
        "KBTEST_PIECE_DELAY": "0.05",
        "KBTEST_GENERATOR_LOG": str(root / "generator.log"),
    }
    env.pop("KB_ADMIN_PASSWORD", None)
    docs = write_files(root / "docs", {"年假制度.txt": "年假需要提前三天在系统中申请，由直属领导审批。"})
    settings = Settings(home=root / "kbhome", embedder={"backend": "test-hash"}, ingest_workers=1)
    Container(settings).ingest("hr", sorted(docs.iterdir()))
    port, stderr = _free_port(), root / "serve.log"
    with stderr.open("wb") as err:
        command = [sys.executable, "-m", "kb_app.cli", "serve", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, stderr)
        found = re.search(r"one-time password (\S+)", stderr.read_text())
        assert found, stderr.read_text()
        login = httpx.post(f"{url}/auth/login", json={"username": "admin", "password": found.group(1)})
        assert login.status_code == 200, login.text
        yield Server(url, login.json()["access_token"], stderr, root / "generator.log")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


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
