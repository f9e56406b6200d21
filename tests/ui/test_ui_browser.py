"""The real app in a real browser: `streamlit run` + headless Chromium, the default offline models.

One server for the whole module. The admin signs in, creates a KB, uploads the 13-page Beijing work
report PDF, waits for the background job, asks a question answered on page 10 only, checks the citation card
(file and page) and opens the page; an unanswerable question gets the not-found state. Then an editor and
a viewer sign in (their own sessions) and see only what their roles and grants allow. Screenshots of the
main pages go to <tempdir>/kb-app-ui-artifacts.

Needs the system Chromium (`apt-get install chromium`) and the default GGUF (`kb models fetch`).
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
from typing import Any

import pytest

from kb_app.settings import DEFAULT_GGUF_NAME, default_models_dir

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(tempfile.gettempdir()) / "kb-app-ui-artifacts"
PDF = REPO / "knowledge_base" / "samples" / "content" / "2024年北京市政府工作报告.pdf"
PASSWORD = "correct-horse-battery"
QUESTION = "老旧小区综合整治计划新开工多少个？"  # page 10 only: 老旧小区综合整治新开工 300 个


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
    pytest.fail(f"streamlit not healthy in {timeout_s:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A Streamlit server with the default models; a short top-k and answer keep the test quick."""
    gguf = default_models_dir() / DEFAULT_GGUF_NAME
    if not gguf.is_file():
        pytest.fail(f"default model missing at {gguf}: run `kb models fetch` (the setup script does)")
    folder = tmp_path_factory.mktemp("ui-browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_HOME=str(folder / "kbhome"),
        KB_ADMIN_PASSWORD=PASSWORD,
        KB_RETRIEVAL__TOP_K="3",
        KB_LLM__MAX_NEW_TOKENS="96",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    port, log = _free_port(), folder / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "ui" / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield {"url": url, "home": folder / "kbhome", "log": log}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `apt-get install chromium` (the setup script installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nUI screenshots: {ARTIFACTS}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def _session(browser: Any, server: dict[str, Any], username: str, width: int = 1400) -> Any:
    """A new browser session (its own Streamlit session) signed in as `username`."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": 1000}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.goto(server["url"])
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="问答", exact=True)).to_be_visible()
    return page


def _go(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def _shot(page: Any, name: str) -> None:
    page.wait_for_timeout(1000)  # let the last rerun and the data grids settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _ask(page: Any, question: str) -> None:
    box = page.get_by_placeholder("输入你的问题，按回车发送")
    box.fill(question)
    box.press("Enter")


def test_admin_builds_a_kb_asks_and_opens_the_cited_page(browser, server):
    from playwright.sync_api import expect

    started = time.monotonic()
    page = _session(browser, server, "admin")
    _go(page, "知识库")
    page.get_by_label("名称").fill("北京")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_text("已创建知识库“北京”。")).to_be_visible()

    _go(page, "文件")
    page.locator("input[type=file]").set_input_files(str(PDF))
    expect(page.get_by_text(PDF.name).first).to_be_visible()
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_text("导入进度")).to_be_visible()
    _shot(page, "files-progress")
    expect(page.get_by_text("总进度：1/1 个文件已结束")).to_be_visible(timeout=240_000)
    expect(page.get_by_text(f"{PDF.name} — 完成")).to_be_visible()
    expect(page.get_by_role("button", name="下载原文件")).to_be_visible()  # the table below refreshed
    _shot(page, "files")
    ingested = time.monotonic()

    _go(page, "问答")
    _ask(page, QUESTION)
    answer = page.get_by_test_id("stChatMessage").nth(1)
    expect(answer.get_by_text("出处：")).to_be_visible(timeout=240_000)
    expect(answer.get_by_test_id("stMarkdownContainer").first).to_contain_text("300")
    card = answer.get_by_text(f"{PDF.name} · 第10页 · 相关度")
    expect(card.first).to_be_visible()
    _shot(page, "chat")
    answered = time.monotonic()

    card_box = answer.locator("[class*='_card_']").filter(has_text="第10页").first  # st.container keys
    card_box.get_by_role("button", name="查看原文").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("原文第 10 页")).to_be_visible()
    expect(dialog.get_by_role("img").first).to_be_visible()
    _shot(page, "source")
    page.keyboard.press("Escape")

    _ask(page, "今天火星的天气怎么样？")
    refusal = page.get_by_test_id("stChatMessage").nth(3)
    expect(refusal.get_by_test_id("stAlertContentWarning")).to_have_text(
        "知识库中没有找到相关信息。", timeout=240_000
    )

    _go(page, "命中测试")
    page.get_by_label("测试问题").fill("城镇新增就业")
    page.get_by_role("button", name="检索").click()
    expect(page.get_by_text("个高于阈值")).to_be_visible()
    _shot(page, "hit-test")
    for name, shot in (("片段", "chunks"), ("设置", "settings"), ("知识库", "kbs")):
        _go(page, name)
        _shot(page, shot)
    print(
        f"\nbrowser flow: ingest {ingested - started:.0f} s, first answer {answered - ingested:.0f} s, "
        f"total {time.monotonic() - started:.0f} s"
    )


def test_users_see_and_do_only_what_their_role_allows(browser, server):
    from playwright.sync_api import expect

    from kb_app.container import Container
    from kb_app.settings import Settings

    # Set up straight in the catalog the server uses: the UI for it is covered by the AppTest suite.
    seed = Container(Settings(home=server["home"]))
    for name in ("公开", "机密"):
        seed.open_kb(name, create=True)
    for username, role in (("zhangsan", "editor"), ("lisi", "viewer")):
        seed.auth.create_user(username, PASSWORD, role)
        seed.auth.grant(username, "公开")

    admin = _session(browser, server, "admin")
    _go(admin, "用户管理")
    expect(admin.get_by_text("修改用户")).to_be_visible()
    _shot(admin, "users")

    editor = _session(browser, server, "zhangsan")
    expect(editor.get_by_role("link", name="设置")).to_have_count(0)
    _go(editor, "知识库")
    expect(editor.get_by_text("只有管理员可以新建、重命名或删除知识库。")).to_be_visible()
    expect(editor.get_by_role("button", name="删除知识库…")).to_have_count(0)
    expect(editor.get_by_role("button", name="创建")).to_have_count(0)
    _go(editor, "文件")
    expect(editor.get_by_role("button", name="导入")).to_be_visible()  # editors upload to granted KBs

    viewer = _session(browser, server, "lisi", width=420)  # a phone-sized window: the layout still works
    _shot(viewer, "viewer-phone")
    viewer.get_by_test_id("stExpandSidebarButton").click()  # narrow screens start with it collapsed
    _go(viewer, "文件")
    expect(viewer.get_by_text("你对该知识库只有只读权限。")).to_be_visible()
    expect(viewer.get_by_role("button", name="导入")).to_have_count(0)
    viewer.get_by_test_id("stSidebar").get_by_role("combobox", name="当前知识库").click()
    expect(viewer.get_by_role("option")).to_have_text(["公开"])  # neither 机密 nor 北京


def test_a_reload_keeps_the_user_signed_in_until_they_sign_out(browser, server):
    from playwright.sync_api import expect

    page = _session(browser, server, "admin")
    cookie = [c for c in page.context.cookies() if c["name"] == "kb_session"]
    assert cookie and cookie[0]["sameSite"] == "Strict", page.context.cookies()
    page.reload()
    expect(page.get_by_role("heading", name="问答", exact=True)).to_be_visible()
    expect(page.get_by_text("已登录：admin")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    page.reload()  # the token behind the cookie was revoked: signing out sticks
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page.get_by_role("heading", name="问答", exact=True)).to_have_count(0)
