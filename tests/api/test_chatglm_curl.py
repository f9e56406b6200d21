"""ChatGLM clients against a real `kb serve` (KB_AUTH=off), driven by the real `curl`: the exact command of
the ChatGLM-6B README, and the stream_api.py poll flow.

The server uses the fast fakes (`core.fake_backends` via KB_PLUGINS), so it starts in seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.live import live_kb_serve

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command"),
]
QUESTION = "年假需要提前几天申请？"
FOOTNOTE = "来源：[1] 年假制度.txt"


def curl(*args: str) -> Any:
    """Run curl (no proxy, 30 s at most) and decode its JSON output."""
    done = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "--max-time", "30", *args], capture_output=True, timeout=40
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("glm-live")
    with live_kb_serve(root, KB_AUTH="off", KB_DEFAULT_KB="hr") as (base_url, _):
        yield base_url


def test_the_chatglm_readme_curl_works_unchanged(url: str) -> None:
    # Verbatim from the ChatGLM-6B README (host and port aside): no trailing slash, no token.
    reply = curl(
        "-X", "POST", url, "-H", "Content-Type: application/json", "-d", '{"prompt": "你好", "history": []}'
    )
    assert reply["status"] == 200 and isinstance(reply["response"], str) and reply["response"]
    assert reply["history"] == [["你好", reply["response"]]]  # nothing to cite: no footnote to strip
    answered = curl(
        "-X",
        "POST",
        url,
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({"prompt": QUESTION, "history": reply["history"]}),
    )
    assert answered["response"].startswith("年假需要提前三天") and answered["response"].endswith(FOOTNOTE)
    assert answered["history"][-1] == [QUESTION, answered["response"].removesuffix("\n\n" + FOOTNOTE)]
    assert answered["citations"][0]["file"] == "年假制度.txt"


def test_poll_flow_with_curl(url: str) -> None:
    def post(path: str, body: dict[str, Any]) -> Any:
        return curl("-X", "POST", url + path, "-H", "Content-Type: application/json", "-d", json.dumps(body))

    assert post("/chat", {"request_id": "q1", "prompt": QUESTION, "history": []}) == {
        "request_id": "q1",
        "status": "started",
    }
    seen = [post("/get_response", {"request_id": "q1"})]
    while not seen[-1]["finished"]:
        assert len(seen) < 200, seen[-1]
        time.sleep(0.05)
        seen.append(post("/get_response", {"request_id": "q1"}))
    final = seen[-1]
    assert final["status"] == 200 and final["response"].endswith(FOOTNOTE)
    assert final["citations"][0]["file"] == "年假制度.txt"
    assert any(0 < len(s["response"]) < len(final["response"]) for s in seen[:-1])  # it grew piece by piece
    assert all(final["response"].startswith(s["response"]) for s in seen)
    missing = subprocess.run(
        [
            "curl",
            "-s",
            "--noproxy",
            "*",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            url + "/get_response",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"request_id": "nope"}',
        ],
        capture_output=True,
        text=True,
        timeout=40,
    )
    assert missing.stdout == "404"
