"""A real `kb serve` process on a loopback port for the live API tests.

The server uses the fast fakes (`core.fake_backends`, registered through KB_PLUGINS) so that it starts in
seconds; everything else (uvicorn, auth, SSE) is the product as shipped. It serves one KB, `hr`, holding
one leave-policy file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from conftest import REPO, write_files

HR_DOCS = {"年假制度.txt": "年假需要提前三天在系统中申请，由直属领导审批。"}


def free_port() -> int:
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


@contextmanager
def live_kb_serve(root: Path, **extra_env: str) -> Iterator[tuple[str, Path]]:
    """Ingest the `hr` KB under `root`, start `kb serve` on it, yield (base URL, its stderr log)."""
    import core.fake_backends  # noqa: F401  (registers test-hash and echo in this process too)

    from kb_app.container import Container
    from kb_app.settings import Settings

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
        **extra_env,
    }
    env.pop("KB_ADMIN_PASSWORD", None)
    docs = write_files(root / "docs", HR_DOCS)
    settings = Settings(home=root / "kbhome", embedder={"backend": "test-hash"}, ingest_workers=1)
    Container(settings).ingest("hr", sorted(docs.iterdir()))
    port, stderr = free_port(), root / "serve.log"
    with stderr.open("wb") as err:
        command = [sys.executable, "-m", "kb_app.cli", "serve", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, stderr)
        yield url, stderr
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
