"""Each page through Streamlit's AppTest with the fast fakes: what it shows, what its buttons do, and
that it shows and allows only what the signed-in user may."""

from __future__ import annotations

import re
import shutil
import tomllib
from types import SimpleNamespace

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

from kb_app.auth import Principal, Role
from kb_app.errors import KBError
from kb_app.faq_mode import faq_settings
from kb_app.schema import Chunk, ScoredChunk
from kb_app.ui import actions
from kb_app.ui.views.chat import CONVERSATION_KEY
from kb_app.ui.views.hit_test import hit_rows
from ui.conftest import PASSWORD, ROUTER_DOC, run_jobs

ANSWER = "星河路由器的默认管理地址是 192.168.8.1。<img src=x onerror=alert(1)>"
QUESTION = "星河路由器的默认管理地址是什么？"
SAMPLE_PDF = REPO / "knowledge_base" / "samples" / "content" / "2024年北京市政府工作报告.pdf"


def _texts(at: AppTest) -> list[str]:
    kinds = (at.markdown, at.caption, at.warning, at.success, at.error, at.info)
    return [e.value for kind in kinds for e in kind]


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _ingest_router(ui, user: str = "editor") -> None:
    upload = SimpleNamespace(name="星河.txt", getvalue=lambda: ROUTER_DOC.encode())
    actions.upload(ui, Principal(user, Role.EDITOR, frozenset({"docs"})), "docs", [upload])
    run_jobs(ui)


# -- sign-in and navigation -----------------------------------------------------------------------
def test_login_gate_then_navigation(whole_app):
    at = whole_app()
    assert at.title[0].value == "本地知识库问答" and not at.sidebar.button
    at.text_input(key="login_username").set_value("admin")
    at.text_input(key="login_password").set_value("wrong-password")
    _button(at, "登录").click().run()
    assert [e.value for e in at.error] == ["用户名或密码错误。"]
    at.text_input(key="login_password").set_value(PASSWORD)
    _button(at, "登录").click().run()
    assert not at.exception
    assert at.title[0].value == "问答"
    assert "已登录：admin（管理员）" in [e.value for e in at.sidebar.caption]
    _button(at, "退出登录").click().run()
    assert at.title[0].value == "本地知识库问答" and at.text_input(key="login_username").value == ""


def test_auth_off_needs_no_login_and_says_so(whole_app, ui):
    ui.auth.mode = "off"
    at = whole_app()
    assert at.title[0].value == "问答"
    assert any("KB_AUTH=off" in e.value for e in at.sidebar.info)
    assert not [b for b in at.sidebar.button if b.label == "退出登录"]


def test_admin_pages_are_listed_for_admins_only(ui):
    def script(username: str) -> None:
        import streamlit as st

        from kb_app.ui.app import pages_for

        user = st.session_state["_kb_container"].auth.principal(username)
        for section, pages in pages_for(user).items():
            st.markdown(f"{section}: {' '.join(page.url_path for page in pages)}")

    for username, admin_pages in (("admin", True), ("viewer", False)):
        at = AppTest.from_function(script, args=(username,))
        at.session_state["_kb_container"] = ui
        shown = " ".join(e.value for e in at.run().markdown)
        assert ("settings" in shown and "users" in shown) is admin_pages
        assert "kbs files chunks hit_test" in shown


def test_english_switch(whole_app):
    at = whole_app("admin")
    at.sidebar.radio(key="lang").set_value("en").run()
    assert at.title[0].value == "Chat"
    assert _button(at, "Sign out")


def test_a_removed_user_is_signed_out_at_once(whole_app, ui):
    at = whole_app("viewer")
    assert at.title[0].value == "问答"
    ui.auth.set_disabled("viewer")
    at.run()
    assert at.title[0].value == "本地知识库问答"  # back at the sign-in page


# -- knowledge bases ------------------------------------------------------------------------------
def test_admin_creates_and_deletes_a_kb_with_confirmation(page, ui):
    at = page("kbs")
    at.text_input(key="new_kb_name").set_value("手册")
    at.text_area(key="new_kb_description").set_value("员工手册")
    assert at.number_input(key="new_kb_chunk_size").value == 300  # the configured size by default
    at.number_input(key="new_kb_chunk_size").set_value(200)
    _button(at, "创建").click().run()
    assert "已创建知识库“手册”。" in [e.value for e in at.success]
    assert list(at.dataframe[0].value["知识库"]) == ["docs", "手册"]
    assert list(at.dataframe[0].value["片段长度"]) == [300, 200]
    assert ui.catalog.get_kb("手册").description == "员工手册"

    at.sidebar.selectbox(key="kb_picker").set_value("手册").run()
    _button(at, "删除知识库…").click().run()
    at.text_input(key="typed_手册").set_value("手 册")
    _button(at, "确认删除").click().run()
    assert [e.value for e in at.error] == ["输入的名称与知识库名称不一致，未删除。"]
    assert ui.catalog.find_kb("手册") is not None
    at.text_input(key="typed_手册").set_value("手册")
    _button(at, "确认删除").click().run()
    assert "已删除知识库“手册”。" in [e.value for e in at.success]
    assert [row.name for row in ui.catalog.list_kbs()] == ["docs"]


def test_editor_sees_counts_but_cannot_create_or_delete(page, ui):
    _ingest_router(ui)
    ui.open_kb("secret", create=True)
    at = page("kbs", user="editor")
    table = at.dataframe[0].value
    assert list(table["知识库"]) == ["docs"]  # not 'secret'
    assert table["文件数"][0] == 1 and table["片段数"][0] >= 1
    labels = [b.label for b in at.button]
    assert "创建" not in labels and "删除知识库…" not in labels
    assert "只有管理员可以新建、重命名或删除知识库。" in [e.value for e in at.caption]


def test_viewer_without_grants_sees_no_kb(page, ui):
    ui.auth.revoke("viewer", "docs")
    for name in ("kbs", "files", "chat"):
        at = page(name, user="viewer")
        assert not at.exception
        assert "你还没有可用的知识库，请联系管理员授权。" in [e.value for e in at.info]


def test_a_signed_out_session_sees_no_page(page):
    at = page("files", user=None)
    assert [e.value for e in at.error] == ["你没有执行此操作的权限，请联系管理员。"]


# -- files ----------------------------------------------------------------------------------------
def test_upload_queues_the_files_and_the_page_shows_their_progress(page, ui):
    at = page("files", user="editor")
    at.file_uploader(key="uploads").set_value([("../星河.txt", ROUTER_DOC.encode(), "text/plain")])
    _button(at, "导入").click().run()
    assert not at.exception
    assert "已提交 1 个文件，正在后台处理，可以继续使用本页面。" in [e.value for e in at.info]
    assert [job.status for job in ui.jobs.jobs("docs")] == ["queued"]
    assert at.get("progress")  # the queued job's bar

    run_jobs(ui)
    at.run()
    table = at.dataframe[0].value
    assert table.iloc[0].to_dict() | {"更新时间": ""} == {
        "文件": "星河.txt",
        "大小": f"{len(ROUTER_DOC.encode())} B",
        "页数": None,
        "片段数": 1,
        "状态": "完成",
        "更新时间": "",
        "错误": "",
    }
    assert at.get("download_button")


def test_viewer_gets_the_table_and_download_but_no_upload_or_delete(page, ui):
    _ingest_router(ui)
    at = page("files", user="viewer")
    assert not at.file_uploader
    assert "你对该知识库只有只读权限。" in [e.value for e in at.caption]
    assert at.dataframe[0].value["文件"][0] == "星河.txt"
    assert not [b for b in at.button if b.label == "重新索引"] and not at.toggle


def test_editor_deletes_a_file_after_confirming(page, ui):
    _ingest_router(ui)
    at = page("files", user="editor")
    at.toggle(key="file_delete_星河.txt").set_value(True).run()
    _button(at, "确认删除 星河\\.txt").click().run()  # the file name is escaped in the label
    assert ui.open_kb("docs").files() == []
    assert "已删除 星河.txt（1 个片段）。" in [e.value.replace("\\", "") for e in at.success]


# -- chunks and hit test --------------------------------------------------------------------------
def test_editor_edits_and_disables_a_chunk(page, ui):
    _ingest_router(ui)
    at = page("chunks", user="editor")
    (area,) = at.text_area
    area.set_value("月光打印机的默认纸张是 A4。")
    _button(at, "保存修改").click().run()
    (row,) = actions.file_chunks(ui, ui.auth.principal("editor"), "docs", "星河.txt")
    assert row.text == "月光打印机的默认纸张是 A4。"
    _button(at, "停用").click().run()
    (row,) = actions.file_chunks(ui, ui.auth.principal("editor"), "docs", "星河.txt")
    assert not row.enabled
    assert any("已停用" in text for text in _texts(at))


def test_viewer_reads_chunks_as_plain_text(page, ui):
    _ingest_router(ui)
    at = page("chunks", user="viewer")
    assert not at.text_area and at.text[0].value.startswith("星河路由器使用说明")


def test_hit_test_shows_scores_and_the_threshold(page, ui):
    _ingest_router(ui)
    at = page("hit_test", user="viewer")
    at.text_input(key="hit_query").set_value("默认管理地址")
    _button(at, "检索").click().run()
    (row,) = at.dataframe[0].value.to_dict("records")
    assert row["文件"] == "星河.txt" and 0.0 <= row["相关度"] <= 1.0
    assert row["通过阈值"] == ("✓" if row["相关度"] >= 0.25 else "—")
    assert any(re.search(r":orange-background\[[^\]]*管理", text) for text in _texts(at))


def test_hit_rows_mark_what_passes_the_threshold():
    hits = [ScoredChunk(Chunk("a", "甲", "x.pdf", page=2), 0.6), ScoredChunk(Chunk("b", "乙", "y.txt"), 0.2)]
    rows = hit_rows(hits, 0.35, "en")
    assert [(r["Rank"], r["Passes"], r["Page"]) for r in rows] == [(1, "✓", 2), (2, "—", None)]


# -- chat -----------------------------------------------------------------------------------------
def test_chat_streams_an_escaped_answer_with_citation_cards_and_keeps_history(page, ui):
    _ingest_router(ui)
    ui.generator.enqueue(ANSWER)
    at = page("chat", user="viewer")
    at.chat_input(key="chat_input").set_value(QUESTION).run()
    assert not at.exception
    texts = _texts(at)
    assert any("192\\.168\\.8\\.1" in text for text in texts)
    assert any(text.startswith("**\\[1\\] 星河\\.txt") and "相关度 " in text for text in texts)
    marked = re.compile(r":orange-background\[[^\]]*默认")  # the question's words, highlighted
    assert any(marked.search(text) for text in texts)
    for text in texts:
        assert re.search(r"(?<!\\)<(script|img)", text) is None, text
        assert "](http" not in text, text
    assert at.code[0].value == ANSWER  # the copy box holds the raw answer
    (conversation,) = ui.conversations.list("viewer")
    assert conversation.title == QUESTION
    assert [m.role for m in ui.conversations.messages(conversation.id, "viewer")] == ["user", "assistant"]

    at.chat_input(key="chat_input").set_value("今天火星的天气怎么样？").run()
    assert [e.value for e in at.warning] == ["知识库中没有找到相关信息。"]
    assert len(at.chat_message) == 4


def test_thumbs_are_stored_and_a_chat_can_be_cleared(page, ui):
    _ingest_router(ui)
    at = page("chat", user="viewer")
    at.chat_input(key="chat_input").set_value(QUESTION).run()
    conversation_id = at.session_state[CONVERSATION_KEY]
    answer = ui.conversations.messages(conversation_id, "viewer")[-1]
    at.feedback[0].set_value(1).run()
    assert ui.conversations.messages(conversation_id, "viewer")[-1].feedback == 1
    at.feedback[0].set_value(0).run()
    assert ui.conversations.messages(conversation_id, "viewer")[-1].feedback == -1
    assert answer.id is not None

    _button(at, "清空").click().run()
    assert ui.conversations.messages(conversation_id, "viewer") == []
    assert not at.chat_message


def test_opening_a_past_conversation_shows_its_messages(page, ui):
    _ingest_router(ui)
    conversation_id = ui.conversations.create("viewer", ["docs"])
    ui.conversations.append(conversation_id, "viewer", "user", "旧问题")
    at = page("chat", user="viewer")
    assert not at.chat_message
    _button(at, "旧问题").click().run()
    assert [m.markdown[0].value for m in at.chat_message] == ["旧问题"]
    # another user's conversation is never listed
    ui.conversations.create("editor", ["docs"], title="别人的对话")
    assert not [b for b in at.run().button if b.label == "别人的对话"]


def test_source_viewer_shows_the_passage_in_context(ui):
    _ingest_router(ui)

    def script() -> None:
        import streamlit as st

        from kb_app.schema import Citation
        from kb_app.ui.source_viewer import render_source

        app = st.session_state["_kb_container"]
        user = app.auth.principal("viewer")
        chunk = app.catalog.file_chunks(app.open_kb("docs").kb_id, app.open_kb("docs").files()[0].id)[0]
        citation = Citation(chunk.source, chunk.page, chunk.chunk_id, 0.9, chunk.text)
        render_source(app, user, citation, ["管理"], "zh")

    at = AppTest.from_function(script)
    at.session_state["_kb_container"] = ui
    at.run()
    assert not at.exception
    texts = _texts(at)
    assert "**docs · 星河\\.txt**" in texts
    assert any(":orange-background[管理]" in text for text in texts)
    assert at.get("download_button")


def test_a_pdf_citation_opens_its_page_as_an_image(tmp_path):
    from kb_app.ui.source_viewer import pdf_page_png

    pdf = tmp_path / "sample.pdf"
    shutil.copy(SAMPLE_PDF, pdf)
    png = pdf_page_png(str(pdf), pdf.stat().st_mtime, 3)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    with pytest.raises(KBError, match="13 pages"):
        pdf_page_png(str(pdf), pdf.stat().st_mtime, 14)


# -- administration -------------------------------------------------------------------------------
def test_settings_save_to_kb_toml_and_per_kb_threshold(page, ui):
    at = page("settings")
    assert not at.exception
    at.number_input(key="set_top_k").set_value(7)
    at.number_input(key="set_chunk_size").set_value(400)
    _button(at, "保存").click().run()
    saved = tomllib.loads((ui.settings.home / "kb.toml").read_text(encoding="utf-8"))
    assert saved["retrieval"]["top_k"] == 7 and saved["chunking"]["chunk_size"] == 400
    assert any("KB_RETRIEVAL__THRESHOLD" in e.value.replace("\\", "") for e in at.warning)  # fixture's

    at.checkbox(key="kb_own_threshold").set_value(True)
    at.slider(key="kb_threshold").set_value(0.5)
    at.toggle(key="kb_faq_mode").set_value(True)
    next(b for b in at.button if b.label == "保存" and b.form_id == "kb_settings_form").click().run()
    assert ui.catalog.get_kb("docs").threshold == 0.5
    assert faq_settings(ui, "docs").enabled
    assert at.dataframe[0].value["检查项"][0] == "data root (KB_HOME)"  # the doctor tab


def test_users_page_creates_a_user_with_grants_and_changes_roles(page, ui):
    at = page("users")
    at.text_input(key="new_user_name").set_value("lisi")
    at.text_input(key="new_user_password").set_value("another-long-password")
    at.selectbox(key="new_user_role").set_value("editor")
    at.multiselect(key="new_user_grants").set_value(["docs"])
    _button(at, "创建用户").click().run()
    lisi = ui.auth.principal("lisi")
    assert lisi.can_edit("docs") and not lisi.is_admin

    at.selectbox(key="edit_user").set_value("lisi").run()
    at.selectbox(key="edit_role_lisi").set_value("viewer")
    at.multiselect(key="edit_grants_lisi").set_value([])
    next(b for b in at.button if b.label == "保存").click().run()
    lisi = ui.auth.principal("lisi")
    assert lisi.role.value == "viewer" and not lisi.can_read("docs")


def test_admin_pages_refuse_non_admins(page):
    for name in ("settings", "users"):
        at = page(name, user="editor")
        assert [e.value for e in at.error] == ["你没有执行此操作的权限，请联系管理员。"]
        assert not at.button
