"""The real app in a real browser: `streamlit run` + headless Chromium, the default offline models.

Creates a KB, uploads a file, asks an answerable and an unanswerable question. Needs the system
Chromium (`apt-get install chromium`) and the default GGUF (`kb models fetch`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb_app.settings import DEFAULT_GGUF_NAME, default_models_dir

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(tempfile.gettempdir()) / "kb-app-ui-artifacts"
DOC_NAME = "星河路由器.txt"
DOC_TEXT = (
    "星河路由器使用说明。\n"
    "星河路由器的默认管理地址是 192.168.8.1。\n"
    "出厂密码印在机身背面的标签上。\n"
    "星河路由器支持双频无线网络，最多可连接六十四台设备。\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"streamlit exited with {server.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(
        f"streamlit did not become healthy in {timeout_s:.0f}s:\n{log.read_text(errors='replace')[-3000:]}"
    )


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    gguf = default_models_dir() / DEFAULT_GGUF_NAME
    if not gguf.is_file():
        pytest.fail(f"default model missing at {gguf}: run `kb models fetch` (the setup script does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_HOME=str(tmp_path / "kbhome"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    port = _free_port()
    log = tmp_path / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "ui" / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `apt-get install chromium` (the setup script installs it)")
    return CHROMIUM


@pytest.fixture
def page(chromium: Path, server_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page.set_default_timeout(30_000)
        page.goto(server_url)
        try:
            yield page
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)  # kept for a look at the layout
            browser.close()


def _ask(page, question: str) -> None:
    box = page.get_by_placeholder("输入你的问题，按回车发送")
    box.fill(question)
    box.press("Enter")


def test_create_upload_ask_and_refuse_in_a_browser(page, tmp_path):
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="本地知识库问答")).to_be_visible()
    page.get_by_label("名称").fill("测试库")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_text("已创建并切换到知识库“测试库”。")).to_be_visible()

    doc = tmp_path / DOC_NAME
    doc.write_text(DOC_TEXT, encoding="utf-8")
    page.get_by_role("tab", name="文件").click()
    page.locator("input[type=file]").set_input_files(str(doc))
    expect(page.get_by_text(DOC_NAME).first).to_be_visible()
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_text(f"{DOC_NAME}：完成")).to_be_visible(timeout=120_000)

    page.get_by_role("tab", name="问答").click()
    _ask(page, "星河路由器的默认管理地址是什么？")
    messages = page.get_by_test_id("stChatMessage")
    answer = messages.nth(1)
    expect(answer.get_by_text(f"[1] {DOC_NAME} · 相关度")).to_be_visible(timeout=180_000)
    answer_text = answer.get_by_test_id("stMarkdownContainer").first  # the snippet below repeats the fact
    expect(answer_text).to_contain_text("192.168.8.1")
    expect(answer.get_by_text("知识库中没有找到相关信息")).to_have_count(0)

    _ask(page, "今天火星的天气怎么样？")
    refusal = messages.nth(3)
    expect(refusal.get_by_text("知识库中没有找到相关信息。")).to_be_visible(timeout=180_000)
    expect(refusal.get_by_text("最接近的段落：")).to_be_visible()
    expect(messages).to_have_count(4)
