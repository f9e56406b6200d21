"""The `kb` command line, driven the way a user types it (fast embedder; real models in tests/e2e)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb_app.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(fast_container, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "router.txt").write_text("星河路由器的默认管理地址是 192.168.8.1。", encoding="utf-8")
    (folder / "notes.md").write_text("# 说明\n\n这是一份说明文档。", encoding="utf-8")
    (folder / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    return folder


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["ingest"],
        ["ask"],
        ["list"],
        ["files"],
        ["rm"],
        ["doctor"],
        ["ui"],
        ["eval", "retrieval"],
        ["models", "fetch"],
    ],
)
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_ingest_list_files_rm_round_trip(cli_env):
    result = runner.invoke(app, ["ingest", "--kb", "docs", str(cli_env)])
    assert result.exit_code == 1  # one file failed, the others were ingested
    assert "done: 2" in result.output and "failed: 1" in result.output
    listed = json.loads(runner.invoke(app, ["list", "--json"]).output)
    assert listed[0]["name"] == "docs" and listed[0]["files"] == 3
    files = json.loads(runner.invoke(app, ["files", "--kb", "docs", "--json"]).output)
    assert {f["name"]: f["status"] for f in files} == {
        "bad.pdf": "failed",
        "notes.md": "done",
        "router.txt": "done",
    }
    assert all(set(f) == {"name", "status", "error", "pages", "chunks"} for f in files)
    shown = runner.invoke(app, ["chunks", "--kb", "docs", "router.txt"])
    assert shown.exit_code == 0 and "192.168.8.1" in shown.output and "[1/1]" in shown.output
    assert runner.invoke(app, ["chunks", "--kb", "docs", "nope.txt"]).exit_code == 2
    assert runner.invoke(app, ["rm", "--kb", "docs", "router.txt"]).exit_code == 0
    files = json.loads(runner.invoke(app, ["files", "--kb", "docs", "--json"]).output)
    assert "router.txt" not in {f["name"] for f in files}
    assert runner.invoke(app, ["rm", "--kb", "docs", "--yes"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["list", "--json"]).output) == []


def test_errors_are_one_clear_line_and_exit_2(cli_env):
    missing = runner.invoke(app, ["files", "--kb", "nope"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_name = runner.invoke(app, ["ingest", "--kb", "../evil", str(cli_env)])
    assert bad_name.exit_code == 2 and "Invalid knowledge-base name" in bad_name.output
    no_path = runner.invoke(app, ["ingest", "--kb", "docs", str(cli_env / "missing")])
    assert no_path.exit_code == 2 and "No such file or folder" in no_path.output


def test_doctor_names_the_missing_model_and_the_setting(kb_home, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_LLM__MODEL_PATH", str(tmp_path / "absent.gguf"))
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "absent.gguf" in result.output and "KB_LLM__MODEL_PATH" in result.output


def test_import_kb_app_is_cheap():
    code = (
        "import sys, kb_app, kb_app.cli, kb_app.container, kb_app.qa, kb_app.retrieval;"
        "mods = ('torch', 'faiss', 'llama_cpp', 'streamlit', 'transformers', 'jieba');"
        "heavy = [m for m in mods if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing kb_app pulled in heavy modules: {out}"


def test_kb_entry_point_is_installed():
    kb = Path(sys.executable).parent / "kb"
    result = subprocess.run([str(kb), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "kb ingest" in result.stdout
