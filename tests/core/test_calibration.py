"""`kb calibrate`: a KB's refusal threshold fitted from labelled questions and stored per KB."""

from __future__ import annotations

import json

import pytest
from conftest import write_files
from typer.testing import CliRunner

from kb_app.calibration import choose_threshold
from kb_app.cli import app
from kb_app.errors import KBError

ROUTER = "星河路由器的默认管理地址是 192.168.8.1。"
LEAVE = "员工每年享有十五天带薪年假。"


def test_threshold_keeps_the_required_recall_and_stops_the_rest():
    fit = choose_threshold([0.62, 0.55, 0.48, 0.71], [0.20, 0.31, 0.60], min_recall=0.75)
    assert fit.threshold == 0.55
    assert fit.recall == 0.75 and fit.refused_unanswerable == pytest.approx(2 / 3)
    assert choose_threshold([0.62, 0.55, 0.48, 0.71], [], min_recall=1.0).threshold == 0.48


def test_no_answerable_question_is_an_error():
    with pytest.raises(KBError, match="answerable"):
        choose_threshold([], [0.3])


def test_cli_stores_the_threshold_and_the_qa_service_uses_it(fast_container, tmp_path):
    docs = write_files(tmp_path / "docs", {"router.txt": ROUTER, "leave.txt": LEAVE})
    fast_container.ingest("hr", [docs])
    labelled = tmp_path / "labelled.jsonl"
    rows = [
        {"question": "星河路由器的默认管理地址", "answerable": True},
        {"question": "员工每年享有几天带薪年假", "source": "leave.txt"},
        {"question": "量子色动力学的渐近自由", "answerable": False},
    ]
    labelled.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        app, ["calibrate", "--kb", "hr", "--questions", str(labelled), "--min-recall", "1.0"]
    )
    assert result.exit_code == 0, result.output
    assert "threshold" in result.output and "100% of 2 answerable" in result.output
    stored = fast_container.catalog.get_kb("hr").threshold
    assert stored is not None and 0 < stored <= 1
    assert fast_container.qa("hr").threshold == stored
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n", encoding="utf-8")
    failed = runner.invoke(app, ["calibrate", "--kb", "hr", "--questions", str(bad)])
    assert failed.exit_code == 2 and "bad.jsonl:1" in failed.output
    reset = runner.invoke(app, ["calibrate", "--kb", "hr", "--reset"])
    assert reset.exit_code == 0 and fast_container.catalog.get_kb("hr").threshold is None
