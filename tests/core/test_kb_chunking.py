"""A knowledge base's own chunk size, chosen at creation in the UI, the API or `kb ingest`, and used
for every file ingested or re-indexed into it; other KBs keep the configured size."""

from __future__ import annotations

import pytest
from conftest import write_files
from typer.testing import CliRunner

from kb_app import curation
from kb_app.auth import Principal, Role
from kb_app.cli import app
from kb_app.errors import KBError
from kb_app.kb_chunking import kb_chunking, set_kb_chunking
from kb_app.ui import actions

SENTENCES = "".join(
    f"第{i}条：员工出差须提前{i % 7 + 1}天提交申请，并由部门负责人审批后方可报销。" for i in range(60)
)
ADMIN = Principal("admin", Role.ADMIN, frozenset())


def _longest_chunk(container, kb_name: str) -> int:
    _, texts = container.catalog.chunk_texts(container.open_kb(kb_name).kb_id)
    return max(len(text) for text in texts)


def test_ui_action_creates_a_kb_with_its_own_chunk_size(fast_container, tmp_path):
    docs = write_files(tmp_path / "docs", {"出差制度.txt": SENTENCES})
    actions.create_kb(fast_container, ADMIN, "small", chunk_size=120, chunk_overlap=20)
    fast_container.ingest("small", [docs])
    fast_container.ingest("default", [docs])  # created with the configured 300
    assert kb_chunking(fast_container, fast_container.open_kb("small").kb_id).chunk_size == 120
    small, default = _longest_chunk(fast_container, "small"), _longest_chunk(fast_container, "default")
    assert small <= 120 + 40 < default, (small, default)  # one sentence may run over the target
    stats = {s["name"]: s for s in curation.kb_stats(fast_container)}
    assert (stats["small"]["chunk_size"], stats["default"]["chunk_size"]) == (120, 300)


def test_reindex_keeps_the_kb_chunk_size(fast_container, tmp_path):
    docs = write_files(tmp_path / "docs", {"出差制度.txt": SENTENCES})
    kb = fast_container.open_kb("hr", create=True)
    set_kb_chunking(fast_container, kb.kb_id, 100)
    fast_container.ingest("hr", [docs])
    before = _longest_chunk(fast_container, "hr")
    curation.reindex_file(fast_container, "hr", "出差制度.txt")
    assert _longest_chunk(fast_container, "hr") == before <= 140


@pytest.mark.parametrize(("size", "overlap"), [(10, 0), (9000, 0), (200, 150)])
def test_unusable_sizes_are_refused_before_anything_is_created(fast_container, size, overlap):
    with pytest.raises(KBError, match=r"Chunk (size|overlap)"):
        actions.create_kb(fast_container, ADMIN, "bad", chunk_size=size, chunk_overlap=overlap)
    assert fast_container.catalog.find_kb("bad") is None


def test_cli_ingest_sets_the_size_of_a_new_kb_only(fast_container, tmp_path):
    docs = write_files(tmp_path / "docs", {"出差制度.txt": SENTENCES})
    runner = CliRunner()
    made = runner.invoke(app, ["ingest", "--kb", "faq", "--chunk-size", "150", str(docs)])
    assert made.exit_code == 0, made.output
    assert kb_chunking(fast_container, fast_container.catalog.get_kb("faq").id).chunk_size == 150
    again = runner.invoke(app, ["ingest", "--kb", "faq", "--chunk-size", "150", str(docs)])
    assert again.exit_code == 0, again.output
    other = runner.invoke(app, ["ingest", "--kb", "faq", "--chunk-size", "400", str(docs)])
    assert other.exit_code == 2 and "already splits at 150" in other.output
