"""OpenAICompatGenerator against a real OpenAI-compatible server (llama-cpp-python's, on 127.0.0.1), the
stand-in for vLLM / Xinference / Ollama: generate, stream, cancel, and the whole QA pipeline on top."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import HashingEmbedder, write_files

from kb_app import registry
from kb_app.container import Container
from kb_app.llms.openai_compat import OpenAICompatGenerator
from kb_app.settings import Settings

from .conftest import SERVER_MODEL_ALIAS

pytestmark = pytest.mark.integration

CJK = re.compile(r"[\u4e00-\u9fff]")
MESSAGES = [
    {"role": "system", "content": "你是一个乐于助人的助手，请用中文简短回答。"},
    {"role": "user", "content": "中国的首都是哪座城市？"},
]
ESSAY = [{"role": "user", "content": "请写一篇三千字的文章，详细介绍中国从古代到现代的历史。"}]


@pytest.fixture
def server_generator(llama_server: str) -> OpenAICompatGenerator:
    return OpenAICompatGenerator(
        llama_server, api_key="EMPTY", model_name=SERVER_MODEL_ALIAS, temperature=0.0
    )


def test_generate_answers_in_chinese(server_generator: OpenAICompatGenerator) -> None:
    answer = server_generator.generate(MESSAGES, max_tokens=16)
    assert "北京" in answer, answer


def test_stream_yields_several_pieces(server_generator: OpenAICompatGenerator) -> None:
    pieces = list(server_generator.stream(MESSAGES, max_tokens=16))
    assert len(pieces) >= 2 and all(pieces), pieces
    assert "北京" in "".join(pieces)


def test_closing_the_stream_cancels_the_request_on_the_server(
    server_generator: OpenAICompatGenerator, llama_server_log: Path
) -> None:
    stream = server_generator.stream(ESSAY, max_tokens=1500)  # a minute or more if left running
    assert next(stream) and next(stream)
    stream.close()
    deadline = time.monotonic() + 20
    while "Disconnected from client" not in llama_server_log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the server never noticed the client hung up"
        time.sleep(0.2)
    # The server runs one request at a time and does not interrupt (see the fixture): this one can only
    # start because the essay stopped.
    started = time.monotonic()
    assert CJK.search(server_generator.generate(MESSAGES, max_tokens=4))
    assert time.monotonic() - started < 90  # vs. minutes for the rest of a 1500-token essay


def test_qa_service_answers_with_citations_through_the_server(
    llama_server: str, kb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.register("embedder", "test-hash", HashingEmbedder)
    for name, value in {
        "KB_EMBEDDER__BACKEND": "test-hash",
        "KB_RETRIEVAL__THRESHOLD": "0.25",
        "KB_INGEST_WORKERS": "1",
        "KB_LLM__BACKEND": "openai",
        "KB_LLM__BASE_URL": llama_server,
        "KB_LLM__MODEL_NAME": SERVER_MODEL_ALIAS,
        "KB_LLM__TEMPERATURE": "0",
        "KB_LLM__CONTEXT_TOKENS": "2048",
        "KB_LLM__MAX_NEW_TOKENS": "48",
    }.items():
        monkeypatch.setenv(name, value)
    docs = write_files(
        tmp_path / "docs",
        {
            "company.txt": "星河科技有限公司成立于2003年，总部位于杭州市西湖区，员工约八百人。",
            "leave.txt": "员工入职满一年后，每年享有十天带薪年假；满十年后增加到十五天。",
        },
    )
    container = Container(Settings())
    assert isinstance(container.generator, OpenAICompatGenerator)
    container.ingest("demo", sorted(docs.iterdir()))
    service = container.qa("demo")
    events = list(service.stream("星河科技有限公司的总部位于哪个城市？"))
    answer = events[-1].answer
    assert answer is not None and not answer.refused, answer
    assert "杭州" in answer.text, answer.text
    assert "".join(event.text for event in events[:-1]).strip() == answer.text
    assert answer.citations and answer.citations[0].source == "company.txt"
    assert events[-1].stats is not None and events[-1].stats.first_token_s is not None
