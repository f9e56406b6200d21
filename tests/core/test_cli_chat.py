"""`kb chat`: the loop with scripted input, then a real `kb chat` process driven through a pty."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest
from conftest import SHARED_DOCS

from kb_app.cli_chat import CLEAR_SCREEN, run_chat
from kb_app.python_api import KBSession

CHATCHAT_MD = SHARED_DOCS / "langchain-chatchat" / "md"
KB = Path(sys.executable).parent / "kb"
QUESTION = "PagedAttention 是怎样管理 KV cache 的？"


@pytest.fixture
def hr(fast_container, tmp_path: Path) -> KBSession:
    folder = tmp_path / "hr"
    folder.mkdir()
    (folder / "leave.md").write_text(
        "# 请假制度\n\n员工每年享有十五天带薪年假。病假需要提供医院证明。", "utf-8"
    )
    session = KBSession(fast_container, "hr")
    session.ingest(folder)
    return session


def scripted(*lines: str | type[BaseException]):
    """An input() stand-in: returns the lines in turn; an exception class is raised instead."""
    queue = list(lines)

    def read(prompt: str) -> str:
        item = queue.pop(0)
        if isinstance(item, type):
            raise item()
        return item

    return read


def test_turns_carry_history_until_clear_and_prompt_ctrl_c_does_not_quit(hr):
    gen = hr.container.generator
    gen.enqueue("员工每年享有十五天带薪年假。", "病假需要提供医院证明。", "员工每年享有十五天带薪年假。")
    out = io.StringIO()
    q1, q2 = "员工每年享有几天带薪年假？", "病假需要提供什么证明？"
    read = scripted(q1, KeyboardInterrupt, q2, "clear", q1, "stop", "never")
    run_chat(hr, "zh", read, out)
    text = out.getvalue()
    assert text.startswith("欢迎使用") and "clear" in text and "stop" in text and "Ctrl-C" in text
    assert text.count("来源：[1] leave.md") == 3 and "（输入 stop 退出）" in text
    histories = [[m["content"] for m in call[1:-1]] for call in gen.calls]
    assert histories == [[], [q1, "员工每年享有十五天带薪年假。"], []]  # clear forgot it


def test_ctrl_c_during_an_answer_cancels_only_that_answer(hr, monkeypatch):
    gen = hr.container.generator
    real_stream = gen.stream

    def interrupted(messages, max_tokens=512):
        yield from list(real_stream(messages, max_tokens))[:2]
        raise KeyboardInterrupt

    monkeypatch.setattr(gen, "stream", interrupted)
    out = io.StringIO()
    gen.enqueue("员工每年享有十五天带薪年假。")
    run_chat(hr, "en", scripted("员工每年享有几天带薪年假？", "stop"), out)
    assert "(interrupted)" in out.getvalue() and "Sources:" not in out.getvalue()
    monkeypatch.undo()
    gen.enqueue("病假需要提供医院证明。")
    out = io.StringIO()
    run_chat(hr, "zh", scripted("病假需要提供什么证明？", EOFError), out)
    assert out.getvalue().rstrip().endswith("来源：[1] leave.md")
    assert len(gen.calls[-1]) == 2  # the interrupted turn did not enter the history


def test_refusal_and_errors_are_shown_and_the_session_goes_on(hr):
    out = io.StringIO()
    run_chat(hr, "zh", scripted("量子色动力学是什么？", " ", "问" * 3000, "stop"), out)
    text = out.getvalue()
    assert "知识库中没有找到相关信息。" in text and "来源" not in text.split("kb：")[1]
    assert "error: The question is 3000 characters long" in text


@pytest.fixture
def demo_env(kb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A KB built from real documents, and the env that makes a `kb` process use the fast fakes."""
    import core.fake_backends  # noqa: F401  (registers test-hash and echo in this process too)

    fakes = {
        "KB_HOME": str(kb_home),
        "KB_PLUGINS": json.dumps(["core.fake_backends"]),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "KB_EMBEDDER__BACKEND": "test-hash",
        "KB_LLM__BACKEND": "echo",
        "KB_RETRIEVAL__THRESHOLD": "0.25",
        "KB_INGEST_WORKERS": "1",
        "KBTEST_PIECE_DELAY": "0.3",
        "KBTEST_GENERATOR_LOG": str(tmp_path / "generator.log"),
    }
    for key, value in fakes.items():
        monkeypatch.setenv(key, value)
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("大模型推理优化策略.md", "大模型技术栈-实战与应用.md"):
        shutil.copy(CHATCHAT_MD / name, folder / name)
    KBSession(__import__("kb_app.container").container.Container(), "demo").ingest(folder)
    return {**os.environ, "TERM": "dumb", "KB_LANG": "zh"}


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    return pexpect.spawn(str(KB), ["chat", "--kb", "demo", *args], env=env, encoding="utf-8", timeout=30)


def test_real_kb_chat_streams_cites_survives_ctrl_c_clears_and_stops(demo_env, tmp_path):
    log = tmp_path / "generator.log"
    child = spawn(demo_env)
    child.expect("欢迎使用.*clear.*stop.*Ctrl-C")
    child.expect("用户：")
    child.sendline(QUESTION)
    child.expect("kb：")
    child.expect(r"\S\S")  # the first piece is on screen ...
    assert "来源" not in child.before + child.after + child.buffer  # ... long before the answer is complete
    child.expect(r"来源：\[1\] 大模型推理优化策略\.md")
    child.expect("用户：")
    assert log.read_text() == "finished\n"

    child.sendline(QUESTION)
    child.expect("kb：")
    child.expect(r"\S\S")
    child.sendintr()  # Ctrl-C while the model is still writing
    child.expect("（已中断）")
    child.expect("用户：")
    deadline = time.monotonic() + 5
    while log.read_text() != "finished\nclosed\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text() == "finished\nclosed\n"  # the model's stream was closed, not left running

    child.sendline("vllm 和 llama-cpp 属于哪类框架？")  # the session is still alive
    child.expect(r"来源：\[1\] 大模型技术栈-实战与应用\.md")
    child.sendline("clear")
    child.expect_exact(CLEAR_SCREEN)
    child.expect("欢迎使用")
    child.sendline("stop")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_real_kb_chat_in_english_and_unknown_kb(demo_env):
    child = spawn({**demo_env, "KB_LANG": "en"})
    child.expect("Chatting with knowledge base 'demo'")
    child.sendline(QUESTION)
    child.expect(r"Sources: \[1\] 大模型推理优化策略\.md")
    child.sendeof()  # Ctrl-D ends the session too
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    missing = pexpect.spawn(str(KB), ["chat", "--kb", "nope"], env=demo_env, encoding="utf-8", timeout=30)
    missing.expect("does not exist")
    missing.expect(pexpect.EOF)
    missing.close()
    assert missing.exitstatus == 2
