"""`kb import-chatchat` on a folder laid out the Langchain-Chatchat way, built from real documents."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import SHARED_DOCS
from typer.testing import CliRunner

from kb_app.chatchat_import import plan_import
from kb_app.cli import app
from kb_app.errors import KBError

runner = CliRunner()
RENAMED = "产品手册(2024)"  # parentheses are not allowed in our KB names


@pytest.fixture
def chatchat(tmp_path: Path) -> Path:
    """knowledge_base/ with two KBs (markdown + text PDF; docx + broken PDF), Chatchat's own index files,
    its info.db and a folder that is no knowledge base."""
    root = tmp_path / "chatchat" / "knowledge_base"
    samples = root / "samples"
    (samples / "content" / "test_files").mkdir(parents=True)
    shutil.copy(SHARED_DOCS / "langchain-chatchat/md/大模型推理优化策略.md", samples / "content")
    shutil.copy(SHARED_DOCS / "pdfjs/XiaoBiaoSong.pdf", samples / "content/test_files/目录.pdf")
    manuals = root / RENAMED
    (manuals / "content").mkdir(parents=True)
    shutil.copy(SHARED_DOCS / "llm-cookbook/大语言模型原理简介及高校训练实践.docx", manuals / "content")
    (manuals / "content" / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a real pdf")
    for kb in (samples, manuals):
        store = kb / "vector_store" / "bge-large-zh-v1.5"
        store.mkdir(parents=True)
        (store / "index.faiss").write_bytes(b"\x00not-a-faiss-index")
        (store / "index.pkl").write_bytes(b"\x80\x04junk")
    with sqlite3.connect(root / "info.db") as db:
        db.execute("CREATE TABLE knowledge_base (id INTEGER PRIMARY KEY, kb_name TEXT, vs_type TEXT)")
        db.execute("INSERT INTO knowledge_base VALUES (1, 'samples', 'faiss')")
    (root / "logs").mkdir()
    return root


def listed(command: list[str]) -> list[dict]:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_dry_run_lists_names_files_and_ignored_parts_and_writes_nothing(fast_container, kb_home, chatchat):
    result = runner.invoke(app, ["import-chatchat", str(chatchat.parent), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{RENAMED} -> 产品手册_2024  (renamed" in out and "samples -> samples\n" in out
    assert "ignored: info.db (Chatchat's catalog database" in out
    assert "ignored: samples/vector_store/ (Chatchat's vector index" in out and "ignored: logs/" in out
    assert "would ingest (new)  test_files/目录.pdf" in out and "would ingest (new)  broken.pdf" in out
    assert "index.faiss" not in out and "2 knowledge bases · new: 4" in out
    assert not kb_home.exists()


def test_import_reports_each_file_skips_unchanged_on_rerun_and_ignores_chatchat_indexes(
    fast_container, kb_home, chatchat
):
    first = runner.invoke(app, ["import-chatchat", str(chatchat)])
    assert first.exit_code == 1, first.output  # one broken file; everything else is imported
    out = first.output
    assert "[产品手册_2024]" in out and "[samples]" in out
    assert "ok  大语言模型原理简介及高校训练实践.docx  (" in out and "failed  broken.pdf  (" in out
    assert (
        "ok  test_files/目录.pdf" in out
        and "imported 2 knowledge bases · ok: 3 · skipped: 0 · failed: 1" in out
    )
    kbs = {kb["name"]: kb for kb in listed(["list", "--json"])}
    assert set(kbs) == {"samples", "产品手册_2024"} and kbs["samples"]["chunks"] > 0
    files = {f["name"]: f for f in listed(["files", "--kb", "samples", "--json"])}
    assert set(files) == {"大模型推理优化策略.md", "test_files/目录.pdf"}  # no vector_store/, no info.db
    assert files["test_files/目录.pdf"]["pages"] == 1 and files["test_files/目录.pdf"]["status"] == "done"
    broken = {f["name"]: f for f in listed(["files", "--kb", "产品手册_2024", "--json"])}["broken.pdf"]
    assert broken["status"] == "failed" and broken["error"]

    again = runner.invoke(app, ["import-chatchat", str(chatchat)])
    assert "ok: 0 · skipped: 3 · failed: 1" in again.output, again.output
    assert "skipped  大模型推理优化策略.md  (unchanged)" in again.output
    preview = runner.invoke(app, ["import-chatchat", str(chatchat), "--dry-run"]).output
    assert (
        "would skip (unchanged)  test_files/目录.pdf" in preview
        and "would re-ingest (changed)  broken.pdf" in preview
    )


def test_chatchat_03_root_and_single_kb_folder_are_found(tmp_path, chatchat):
    data_root = tmp_path / "chatchat03"
    shutil.copytree(chatchat, data_root / "data" / "knowledge_base")
    assert [kb.name for kb in plan_import(data_root).kbs] == ["samples", "产品手册_2024"]
    single = plan_import(chatchat / "samples")
    assert [(kb.source_name, kb.name) for kb in single.kbs] == [("samples", "samples")]
    assert single.kbs[0].ignored == ("vector_store/ (Chatchat's vector index; rebuilt from content/)",)
    with pytest.raises(KBError, match="No Langchain-Chatchat knowledge bases"):
        plan_import(tmp_path)  # holds Chatchat folders, but deeper than a Chatchat root


def test_clashing_names_keep_valid_ones_and_number_the_mapped(tmp_path):
    for name in ("a(1)", "a_1", "a[1]"):
        (tmp_path / "kb" / name / "content").mkdir(parents=True)
    plan = plan_import(tmp_path / "kb")
    assert {kb.source_name: kb.name for kb in plan.kbs} == {"a(1)": "a_1-2", "a_1": "a_1", "a[1]": "a_1-3"}


def test_missing_folder_is_one_clear_error(fast_container, tmp_path):
    result = runner.invoke(app, ["import-chatchat", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "No Langchain-Chatchat knowledge bases" in result.output


@pytest.mark.parametrize("command", ["import-chatchat", "chat"])
def test_new_commands_have_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
