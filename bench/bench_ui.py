"""UI time to first token: questions typed into the chat page of a live `streamlit run ui/app.py` (the
default offline models) in headless Chromium, timed from pressing Enter to the first streamed answer text
on the page, and to the finished answer (sources drawn).

Baselines in the same run: (1) the same question in-process through `QAService.stream` (no browser, no
Streamlit), asked right before the browser asks it, so both see the same machine load; (2) the server's
own first-token time for the very same request, which the chat page prints under each answer ("首字 …秒"):
"UI overhead" = first text seen in the browser - that server-side time (websocket, reruns, rendering).

    .venv/bin/python bench/bench_ui.py                  # 3 questions
    .venv/bin/python bench/bench_ui.py --questions 1    # a quick check

The sample PDF (knowledge_base/samples/content/2024年北京市政府工作报告.pdf) is ingested into a temporary
KB_HOME first. Answers are capped at 128 new tokens on both sides (first-token times do not depend on it).
One warm-up question per side (not counted) loads the models. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PDF = REPO / "knowledge_base" / "samples" / "content" / "2024年北京市政府工作报告.pdf"
KB = "samples"
WARM_UP = "2024年北京市的主要预期目标有哪些？"
QUESTIONS = [
    "老旧小区综合整治计划新开工多少个？",
    "2024年计划新增中小学学位多少个？",
    "2024年老楼加装电梯计划新开工多少部？",
    "2023年北京普惠性幼儿园覆盖率达到多少？",
]
SETTINGS = {"KB_AUTH": "off", "KB_LLM__MAX_NEW_TOKENS": "128", "HF_HUB_OFFLINE": "1"}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
_LAST_MESSAGE = """() => {
  const all = document.querySelectorAll('[data-testid=stChatMessage]');
  return [all.length, all.length ? all[all.length - 1].innerText : ''];
}"""
_SERVER_FIRST = re.compile(r"首字 ([\d.]+) 秒")


def ask_in_process(container: Any, question: str) -> float:
    """Seconds to the first streamed piece of the answer (the rest is not generated: leaving the loop
    closes the stream)."""
    started = time.perf_counter()
    for event in container.qa(KB).stream(question):
        if event.text:
            return time.perf_counter() - started
    return time.perf_counter() - started  # refused without the model


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "ui" / "app.py"), "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    env = {**os.environ, "KB_HOME": str(home)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return server, url
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("streamlit did not start within 60 s")


def ask_in_browser(page: Any, question: str, timeout_s: float = 900) -> tuple[float, float, float]:
    """(first answer text s, answer finished s, the server's own first-token s), polling every 20 ms."""
    count = page.evaluate(_LAST_MESSAGE)[0]
    box = page.get_by_placeholder("输入你的问题，按回车发送")
    box.fill(question)
    started, first = time.perf_counter(), None
    box.press("Enter")
    while time.perf_counter() - started < timeout_s:
        messages, text = page.evaluate(_LAST_MESSAGE)
        if messages >= count + 2:
            if first is None and "▌" in text:
                first = time.perf_counter() - started
            server_first = _SERVER_FIRST.search(text)
            if server_first:  # drawn with the finished answer
                done = time.perf_counter() - started
                return (first if first is not None else done), done, float(server_first.group(1))
        page.wait_for_timeout(20)
    raise SystemExit(f"no answer to {question!r} within {timeout_s:.0f} s")


def run(home: Path, questions: list[str]) -> list[tuple[float, float, float, float]]:
    """Per question: (in-process first token, UI first text, UI done, server-side first token)."""
    from playwright.sync_api import sync_playwright

    from kb_app.container import Container

    container = Container()
    container.ingest(KB, [PDF])
    server, url = start_server(home)
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_placeholder("输入你的问题，按回车发送").wait_for(timeout=60_000)
            ask_in_process(container, WARM_UP)
            ask_in_browser(page, WARM_UP)
            for question in questions:
                baseline = ask_in_process(container, question)
                rows.append((baseline, *ask_in_browser(page, question)))
                print(f"{question}: " + ", ".join(f"{x:.2f} s" for x in rows[-1]), flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=3, help=f"how many (1-{len(QUESTIONS)})")
    questions = QUESTIONS[: max(1, parser.parse_args().questions)]
    os.environ.update(SETTINGS)
    with tempfile.TemporaryDirectory(prefix="kb-bench-ui-") as folder:
        home = Path(folder) / "kbhome"
        os.environ["KB_HOME"] = str(home)
        rows = run(home, questions)
    load = os.getloadavg()[0]
    print(f"\nUI time to first token: {len(questions)} questions, default models, {os.cpu_count()} CPUs,")
    print(f"load average {load:.1f} at the end")
    header = (
        "question",
        "in-process first",
        "UI first text",
        "UI answer done",
        "server first",
        "UI overhead",
    )
    table = [(q, p, u, d, s, u - s) for q, (p, u, d, s) in zip(questions, rows, strict=True)]
    medians = [statistics.median(column) for column in list(zip(*table, strict=True))[1:]]
    print("\n| " + " | ".join(header) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in header) + "|")
    for question, *seconds in [*table, ("median", *medians)]:
        print(f"| {question} | " + " | ".join(f"{s:.2f} s" for s in seconds) + " |")


if __name__ == "__main__":
    main()
