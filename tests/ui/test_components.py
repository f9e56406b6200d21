"""The UI's pure helpers, and the Streamlit app itself through AppTest with fast fake models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kb_app import registry
from kb_app.schema import Citation, FileReport
from kb_app.ui import components
from kb_app.ui.i18n import STRINGS, status_label, t

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
HOSTILE = "<script>alert(1)</script>"
ROUTER_DOC = (
    "星河路由器使用说明。星河路由器的默认管理地址是 192.168.8.1。出厂密码印在机身背面的标签上。\n"
    f"备注：{HOSTILE} [点我](http://evil.example) ![x](http://evil.example/x.png)\n"
)
ANSWER = "星河路由器的默认管理地址是 192.168.8.1。<img src=x onerror=alert(1)>"


# -- pure helpers ---------------------------------------------------------------------------------
def test_lookup_falls_back_to_chinese_then_to_the_key(monkeypatch):
    monkeypatch.setitem(STRINGS, "only_zh", {"zh": "只有中文"})
    assert t("tab_chat", "en") == "Chat"
    assert t("only_zh", "en") == "只有中文"
    assert t("tab_chat", "fr") == "问答"
    assert t("no_such_key", "en") == "no_such_key"
    assert t("page", "zh", page=3) == "第3页"


def test_every_string_has_chinese_and_english():
    missing = [key for key, entry in STRINGS.items() if not entry.get("zh") or not entry.get("en")]
    assert missing == []


def test_status_labels_translate_known_and_keep_unknown():
    assert status_label("done") == "完成"
    assert status_label("failed", "en") == "failed"
    assert status_label("weird") == "weird"


def test_citation_title_has_file_page_and_two_decimal_score():
    cite = Citation(source="手册.pdf", page=3, chunk_id="c1", score=0.87654, text="正文")
    assert components.citation_title(cite, 2, "zh") == "[2] 手册.pdf · 第3页 · 相关度 0.88"
    no_page = Citation(source="说明.txt", page=None, chunk_id="c2", score=0.5, text="正文")
    assert components.citation_title(no_page, 1, "en") == "[1] 说明.txt · relevance 0.50"


def test_escape_markdown_neutralises_html_links_and_images():
    escaped = components.escape_markdown(f"{HOSTILE} [a](http://x) ![i](y.png) **b** $x$ :red[c]")
    # every markdown/HTML-significant character is backslash-escaped, so nothing is interpreted
    assert re.search(r"(?<!\\)[<>\[\]()*$:!]", escaped) is None
    assert components.escape_markdown("星河路由器") == "星河路由器"


def test_escape_multiline_keeps_line_breaks():
    assert components.escape_multiline("第一行\n第二行 1.") == "第一行  \n第二行 1\\."


def test_snippet_collapses_whitespace_and_truncates():
    assert components.snippet("甲  乙\n丙") == "甲 乙 丙"
    cut = components.snippet("字" * 500, limit=10)
    assert len(cut) == 10 and cut.endswith("…")


def test_report_line_says_outcome_chunks_and_error():
    assert components.report_line(FileReport("a.txt", "done", chunks=3), "zh") == "✅ a.txt：完成（3 个片段）"
    failed = components.report_line(FileReport("b.pdf", "failed", error="file is encrypted"), "en")
    assert failed.startswith("❌ b.pdf：failed") and failed.endswith("file is encrypted")


def test_file_table_uses_language_specific_columns():
    row = SimpleNamespace(name="a.txt", status="done", pages=None, chunks=2, error=None)
    assert components.file_table([row], "zh") == [
        {"文件": "a.txt", "状态": "完成", "页数": None, "片段数": 2, "错误": ""}
    ]
    assert next(iter(components.file_table([row], "en")[0])) == "File"


def test_save_uploads_keeps_only_a_clean_base_name(tmp_path):
    upload = SimpleNamespace(name="../../etc/\u202epasswd.txt", getvalue=lambda: b"data")
    (path,) = components.save_uploads([upload], tmp_path)
    assert path.parent == tmp_path and path.name == "passwd.txt" and path.read_bytes() == b"data"


def test_save_uploads_lists_a_name_twice_only_once(tmp_path):
    first = SimpleNamespace(name="a.txt", getvalue=lambda: b"old")
    second = SimpleNamespace(name="dir/a.txt", getvalue=lambda: b"new")
    (path,) = components.save_uploads([first, second], tmp_path)
    assert path.read_bytes() == b"new"


# -- the app through AppTest ----------------------------------------------------------------------
class _FixedAnswerGenerator:
    name = "ui-test"

    def __init__(self, **_: object) -> None:
        pass

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 512) -> str:
        return ANSWER

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Iterator[str]:
        for i in range(0, len(ANSWER), 4):
            yield ANSWER[i : i + 4]


@pytest.fixture
def app(kb_home, tmp_path, monkeypatch) -> Iterator[AppTest]:
    from conftest import HashingEmbedder

    registry.register("embedder", "ui-test-hash", HashingEmbedder)
    registry.register("generator", "ui-test-fixed", _FixedAnswerGenerator)
    monkeypatch.setenv("KB_EMBEDDER__BACKEND", "ui-test-hash")
    monkeypatch.setenv("KB_LLM__BACKEND", "ui-test-fixed")
    monkeypatch.chdir(tmp_path)  # no stray kb.toml
    st.cache_resource.clear()  # the Container is cached per process; each test has its own KB_HOME
    yield AppTest.from_file(str(APP), default_timeout=60).run()
    st.cache_resource.clear()


def _create_kb(at: AppTest, name: str) -> None:
    at.sidebar.text_input(key="new_kb_name").set_value(name)
    at.sidebar.button(key="kb_create").click().run()


def _all_text(at: AppTest) -> list[str]:
    return [e.value for kind in (at.markdown, at.caption, at.warning, at.success, at.error) for e in kind]


def test_app_renders_in_chinese_and_creates_a_kb(app):
    assert not app.exception
    assert app.title[0].value == "本地知识库问答"
    assert "还没有知识库，请先新建一个。" in [e.value for e in app.info]
    _create_kb(app, "测试库")
    assert not app.exception
    assert app.sidebar.selectbox(key="kb_choice").value == "测试库"
    assert [tab.label for tab in app.tabs] == ["问答", "文件"]
    assert app.sidebar.text_input(key="new_kb_name").value == ""


def test_invalid_kb_name_shows_the_error(app):
    _create_kb(app, "../evil")
    assert app.sidebar.error and "Invalid knowledge" in app.sidebar.error[0].value
    assert not app.sidebar.selectbox


def test_english_switch_changes_labels(app):
    _create_kb(app, "docs")
    app.sidebar.radio(key="lang").set_value("en").run()
    assert app.title[0].value == "Local knowledge-base QA"
    assert [tab.label for tab in app.tabs] == ["Chat", "Files"]
    assert app.sidebar.button(key="kb_create").label == "Create"


def test_upload_then_ask_shows_escaped_answer_and_citation(app):
    _create_kb(app, "测试库")
    app.file_uploader(key="uploads").set_value(("../星河.txt", ROUTER_DOC.encode(), "text/plain"))
    next(b for b in app.button if b.label == "导入").click().run()  # the upload form's submit button
    assert not app.exception
    assert any("星河\\.txt：完成" in e.value for e in app.success), [e.value for e in app.success]
    assert app.dataframe[0].value.iloc[0].to_dict()["状态"] == "完成"

    app.chat_input(key="chat_input").set_value("星河路由器的默认管理地址是什么？").run()
    assert not app.exception
    texts = _all_text(app)
    assert any("192\\.168\\.8\\.1" in text for text in texts)
    assert any(text.startswith("**\\[1\\] 星河\\.txt") and "相关度 " in text for text in texts)
    for text in texts:
        assert re.search(r"(?<!\\)<(script|img)", text) is None, text
        assert "](http" not in text, text

    app.chat_input(key="chat_input").set_value("今天火星的天气怎么样？").run()
    assert [e.value for e in app.warning] == ["知识库中没有找到相关信息。"]
    assert len(app.chat_message) == 4  # both questions and both answers stay in the conversation
