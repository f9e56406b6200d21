"""The ChatGLM-shaped Python API (`from kb_app import open_kb`), including the README's example run as is."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SHARED_DOCS

from kb_app.errors import InvalidName, KnowledgeBaseNotFound
from kb_app.prompting import REFUSAL_TEXT
from kb_app.python_api import KBSession, open_kb

CHATCHAT_MD = SHARED_DOCS / "langchain-chatchat" / "md"
REAL_DOCS = ("大模型推理优化策略.md", "大模型技术栈-实战与应用.md", "大模型指令对齐训练原理.md")


@pytest.fixture
def fake_models(kb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every Container built from here on uses the hashing embedder and the echo generator."""
    import core.fake_backends  # noqa: F401  (registers test-hash and echo)

    monkeypatch.setenv("KB_EMBEDDER__BACKEND", "test-hash")
    monkeypatch.setenv("KB_LLM__BACKEND", "echo")
    monkeypatch.setenv("KB_RETRIEVAL__THRESHOLD", "0.25")
    monkeypatch.setenv("KB_INGEST_WORKERS", "1")
    return kb_home


@pytest.fixture
def my_docs(tmp_path: Path) -> Path:
    folder = tmp_path / "my-docs"
    folder.mkdir()
    for name in REAL_DOCS:
        shutil.copy(CHATCHAT_MD / name, folder / name)
    return folder


@pytest.fixture
def hr(fast_container, tmp_path: Path) -> KBSession:
    folder = tmp_path / "hr"
    folder.mkdir()
    (folder / "leave.md").write_text(
        "# 请假制度\n\n员工每年享有十五天带薪年假。病假需要提供医院证明。", "utf-8"
    )
    session = KBSession(fast_container, "hr")
    assert [r.status for r in session.ingest(folder)] == ["done"]
    return session


def readme_python_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs_on_real_documents(fake_models, my_docs, monkeypatch, capsys):
    monkeypatch.chdir(my_docs.parent)
    exec(compile(readme_python_block(), "README.md", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    answer, footnote = out.split("\n\n", 1)
    assert footnote.startswith("来源：[1] 大模型推理优化策略.md\n")  # chat() put the sources under the answer
    document = (CHATCHAT_MD / "大模型推理优化策略.md").read_text(encoding="utf-8")
    assert len(answer) > 10 and answer in document  # the (echoed) answer came from the cited file
    assert re.search(r"^[01]\.\d\d 大模型推理优化策略\.md ", out, re.M)  # search() printed scored hits
    files = open_kb("demo").container.open_kb("demo").files()
    assert sorted(f.name for f in files) == sorted(REAL_DOCS) and {f.status for f in files} == {"done"}


def test_chat_returns_footnoted_response_and_history_the_model_sees_clean(hr):
    hr.container.generator.enqueue("员工每年享有十五天带薪年假。", "病假需要提供医院证明。")
    response, history = hr.chat("员工每年有几天带薪年假？", history=[])
    assert response == "员工每年享有十五天带薪年假。\n\n来源：[1] leave.md"
    assert history == [("员工每年有几天带薪年假？", response)]
    as_json = [list(turn) for turn in history]  # histories often come back from JSON as lists
    response2, history2 = hr.chat("病假需要什么？", history=as_json)
    assert response2.endswith("来源：[1] leave.md") and len(history2) == 2
    sent = hr.container.generator.calls[-1]
    assert {"role": "assistant", "content": "员工每年享有十五天带薪年假。"} in sent  # footnote stripped


def test_stream_chat_yields_growing_responses_then_the_footnoted_one(hr):
    hr.container.generator.enqueue("员工每年享有十五天带薪年假。")
    items = list(hr.stream_chat("员工每年有几天带薪年假？", history=[("你好", "你好！")]))
    partials = [p for p, _ in items]
    assert len(partials) > 2
    assert all(b.startswith(a) for a, b in itertools.pairwise(partials))
    assert partials[-1] == "员工每年享有十五天带薪年假。\n\n来源：[1] leave.md"
    assert items[-1][1] == [("你好", "你好！"), ("员工每年有几天带薪年假？", partials[-1])]
    assert all(h[-1] == ("员工每年有几天带薪年假？", p) for p, h in items)


def test_leaving_stream_chat_early_stops_the_model(fake_models, my_docs, tmp_path, monkeypatch):
    log = tmp_path / "generator.log"
    monkeypatch.setenv("KBTEST_GENERATOR_LOG", str(log))
    kb = open_kb("demo")
    kb.ingest(my_docs)
    stream = kb.stream_chat("PagedAttention 是怎样管理 KV cache 的？")
    first, _ = next(stream)
    stream.close()
    assert first and log.read_text() == "closed\n"
    list(kb.stream_chat("PagedAttention 是怎样管理 KV cache 的？"))
    assert log.read_text() == "closed\nfinished\n"


def test_refusal_has_no_footnote_and_ask_keeps_the_closest_passages(hr):
    response, history = hr.chat("量子色动力学的渐近自由是谁发现的？")
    assert response == REFUSAL_TEXT and history[-1][1] == REFUSAL_TEXT
    assert hr.container.generator.calls == []
    hr.container.generator.enqueue("员工每年享有十五天带薪年假。")
    answer = hr.ask("员工每年有几天带薪年假？")
    assert not answer.refused and answer.citations[0].source == "leave.md"


def test_chatglm3_message_history_comes_back_as_messages(hr):
    hr.container.generator.enqueue("病假需要提供医院证明。")
    past = [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}]
    _, history = hr.chat("病假需要什么证明？", history=past)
    assert history[-2:] == [
        {"role": "user", "content": "病假需要什么证明？"},
        {"role": "assistant", "content": "病假需要提供医院证明。\n\n来源：[1] leave.md"},
    ]


def test_open_kb_overrides_settings_and_checks_the_name(fake_models, my_docs, tmp_path):
    kb = open_kb("调优", home=tmp_path / "other-home", retrieval={"top_k": 2}, lang="en")
    assert kb.container.settings.home == tmp_path / "other-home"
    assert kb.container.settings.retrieval.top_k == 2
    assert kb.container.settings.embedder.backend == "test-hash"  # the environment still applies
    kb.ingest([str(my_docs)])
    assert (tmp_path / "other-home" / "调优" / "content" / REAL_DOCS[0]).is_file()
    hits = kb.search("PagedAttention KV cache")
    assert len(hits) == 2 and hits[0].chunk.source == "大模型推理优化策略.md"
    assert 0.0 <= hits[1].score <= hits[0].score <= 1.0
    response, _ = kb.chat("PagedAttention 是怎样管理 KV cache 的？")
    assert "\n\nSources: [1] 大模型推理优化策略.md" in response
    with pytest.raises(InvalidName):
        open_kb("../evil")
    with pytest.raises(KnowledgeBaseNotFound):
        open_kb("never-ingested").chat("你好")


def test_import_kb_app_and_open_kb_stay_cheap():
    code = (
        "import sys; from kb_app import open_kb; open_kb('x');"
        "heavy = ('torch', 'faiss', 'llama_cpp', 'streamlit', 'transformers', 'jieba', 'kb_app.ingest');"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
