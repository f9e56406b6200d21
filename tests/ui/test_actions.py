"""The UI's actions refuse what a principal may not do, and do the rest through the core services."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import write_files

from kb_app.auth import Principal, Role
from kb_app.errors import KBError, PermissionDenied
from kb_app.ui import actions
from kb_app.ui.chat_service import MergedRetriever, answer_events
from ui.conftest import ROUTER_DOC, run_jobs

ADMIN = Principal("admin", Role.ADMIN)
EDITOR = Principal("editor", Role.EDITOR, frozenset({"docs"}))
VIEWER = Principal("viewer", Role.VIEWER, frozenset({"docs"}))


def _upload(name: str, text: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, getvalue=lambda: text.encode("utf-8"))


@pytest.fixture
def docs(ui):
    """The `docs` KB with the router manual ingested through the queue, as an editor would."""
    actions.upload(ui, EDITOR, "docs", [_upload("../星河.txt", ROUTER_DOC)])
    run_jobs(ui)
    return ui


@pytest.mark.parametrize(
    "call",
    [
        lambda app, who: actions.create_kb(app, who, "new"),
        lambda app, who: actions.rename_kb(app, who, "docs", "renamed"),
        lambda app, who: actions.delete_kb(app, who, "docs"),
        lambda app, who: actions.set_threshold(app, who, "docs", 0.5),
        lambda app, who: actions.set_faq(app, who, "docs", True, 0.9),
    ],
)
def test_only_admins_manage_knowledge_bases(ui, call):
    with pytest.raises(PermissionDenied):
        call(ui, EDITOR)
    assert [row.name for row in ui.catalog.list_kbs()] == ["docs"]
    assert ui.catalog.get_kb("docs").threshold is None


def test_viewers_cannot_change_content_and_nobody_reads_ungranted_kbs(docs):
    (row,) = actions.file_chunks(docs, VIEWER, "docs", "星河.txt")
    for call in (
        lambda: actions.upload(docs, VIEWER, "docs", [_upload("x.txt", "新内容")]),
        lambda: actions.delete_file(docs, VIEWER, "docs", "星河.txt"),
        lambda: actions.reindex_file(docs, VIEWER, "docs", "星河.txt"),
        lambda: actions.edit_chunk(docs, VIEWER, "docs", row.chunk_id, "改写"),
        lambda: actions.set_chunk_enabled(docs, VIEWER, "docs", row.chunk_id, False),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert [f.name for f in docs.open_kb("docs").files()] == ["星河.txt"]
    assert docs.jobs.jobs("docs")[0].filename == "星河.txt"  # no second job was queued
    docs.open_kb("secret", create=True)
    outsider = Principal("viewer", Role.VIEWER, frozenset({"docs"}))
    with pytest.raises(PermissionDenied):
        actions.list_files(docs, outsider, "secret")
    with pytest.raises(PermissionDenied):
        actions.search(docs, outsider, "secret", "路由器", 3)
    with pytest.raises(PermissionDenied):
        list(answer_events(docs, outsider, ["docs", "secret"], "路由器"))


def test_upload_is_queued_then_ingested_under_a_clean_name(docs):
    (job,) = actions.jobs(docs, VIEWER, "docs")
    assert (job.status, job.filename, job.user) == ("done", "星河.txt", "editor")
    (row,) = actions.list_files(docs, VIEWER, "docs")
    assert row.status == "done" and row.chunks >= 1
    assert actions.original(docs, VIEWER, "docs", "星河.txt").read_text(encoding="utf-8") == ROUTER_DOC


def test_edit_and_disable_a_chunk_change_what_search_finds(docs):
    (row,) = actions.file_chunks(docs, EDITOR, "docs", "星河.txt")
    actions.edit_chunk(docs, EDITOR, "docs", row.chunk_id, "月光打印机的默认纸张是 A4。")
    hits, _ = actions.search(docs, VIEWER, "docs", "月光打印机的默认纸张", 3)
    assert hits and hits[0].chunk.text.startswith("月光打印机")
    actions.set_chunk_enabled(docs, EDITOR, "docs", row.chunk_id, False)
    assert actions.search(docs, VIEWER, "docs", "月光打印机的默认纸张", 3)[0] == []
    (disabled,) = actions.file_chunks(docs, EDITOR, "docs", "星河.txt")
    assert not disabled.enabled


def test_delete_and_reindex_a_file(docs):
    report = actions.reindex_file(docs, EDITOR, "docs", "星河.txt")
    assert report.status == "done" and report.chunks >= 1
    assert actions.delete_file(docs, EDITOR, "docs", "星河.txt") >= 1
    assert actions.list_files(docs, EDITOR, "docs") == []
    with pytest.raises(KBError):
        actions.original(docs, EDITOR, "docs", "星河.txt")


def test_admin_creates_renames_and_deletes_kbs(ui):
    assert actions.create_kb(ui, ADMIN, "手册", "说明书", "test-hash") == "手册"
    assert ui.catalog.get_kb("手册").description == "说明书"
    with pytest.raises(KBError, match="already exists"):
        actions.create_kb(ui, ADMIN, "手册")
    actions.rename_kb(ui, ADMIN, "手册", "新手册")
    actions.delete_kb(ui, ADMIN, "新手册")
    assert [row.name for row in ui.catalog.list_kbs()] == ["docs"]
    actions.set_threshold(ui, ADMIN, "docs", 0.42)
    assert ui.catalog.get_kb("docs").threshold == 0.42
    with pytest.raises(KBError, match="0 to 1"):
        actions.set_threshold(ui, ADMIN, "docs", 1.5)


def test_locate_chunk_finds_the_kb_and_file_of_a_citation(docs):
    (row,) = actions.file_chunks(docs, VIEWER, "docs", "星河.txt")
    kb_name, found, file_name = actions.locate_chunk(docs, VIEWER, row.chunk_id)
    assert (kb_name, found.chunk_id, file_name) == ("docs", row.chunk_id, "星河.txt")
    assert actions.locate_chunk(docs, VIEWER, "0" * 24) is None
    with pytest.raises(PermissionDenied):
        actions.locate_chunk(docs, Principal("x", Role.VIEWER), row.chunk_id)


# -- chat over one or several KBs -----------------------------------------------------------------
def test_merged_retriever_keeps_the_best_hits_of_all_kbs():
    def retriever(*scores: float) -> SimpleNamespace:
        hits = [SimpleNamespace(score=s) for s in scores]
        return SimpleNamespace(search=lambda query, top_k, fusion=None: hits[:top_k])

    merged = MergedRetriever([retriever(0.9, 0.2), retriever(0.5, 0.4)], top_k=3)
    assert [h.score for h in merged.search("q")] == [0.9, 0.5, 0.4]
    assert [h.score for h in merged.search("q", top_k=1)] == [0.9]


def test_a_question_over_two_kbs_cites_the_kb_that_knows(docs, tmp_path):
    folder = write_files(tmp_path / "p", {"月光.txt": "月光打印机的默认纸张是 A4。"})
    docs.ingest("printers", [folder / "月光.txt"])
    docs.generator.enqueue("月光打印机的默认纸张是 A4。")
    reader = Principal("admin", Role.ADMIN)
    events = list(answer_events(docs, reader, ["docs", "printers"], "月光打印机的默认纸张是什么？"))
    answer = events[-1].answer
    assert answer is not None and not answer.refused
    assert answer.citations[0].source == "月光.txt"
    assert {h.chunk.source for h in events[-1].hits} == {"月光.txt", "星河.txt"}


def test_faq_mode_answers_with_the_stored_answer(ui, tmp_path):
    faq = "问：年假有几天？\n答：入职满一年后每年 10 天。"
    ui.ingest("docs", [write_files(tmp_path / "f", {"faq.txt": faq}) / "faq.txt"])
    actions.set_faq(ui, ADMIN, "docs", True, 0.9)
    events = list(answer_events(ui, VIEWER, ["docs"], "年假有几天？"))
    assert events[-1].answer is not None and events[-1].answer.kind == "faq"
    assert events[-1].answer.text == "入职满一年后每年 10 天。"
    assert ui.generator.calls == []  # no model call
