"""`kb ask` speed on the sample KB with the default models: time to first token, decode tokens/s,
total; baseline in the same run: the bare generator on the same prompt (no retrieval).

    .venv/bin/python bench/bench_ask.py   (ingests knowledge_base/samples/content into a temp KB_HOME)
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from kb_app.container import Container
from kb_app.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "knowledge_base" / "samples" / "content"
QUESTIONS = [
    "ChatGLM-6B 基于什么架构？",
    "ChatGLM-6B 在 INT4 量化下需要多少显存？",
    "2024年北京市地区生产总值的增长目标是多少？",
    "2023年北京市一般公共预算收入增长了多少？",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("KB_HOME", str(Path(tmp) / "home"))
        container = Container(Settings())
        container.ingest("samples", [SAMPLES])
        qa = container.qa("samples")
        generator = container.generator
        generator.generate([{"role": "user", "content": "你好"}], max_tokens=4)  # load outside the timings
        print(
            f"{'question':<36}{'retrieve s':>11}{'TTFT s':>9}{'total s':>9}{'tokens':>8}{'decode tok/s':>14}"
        )
        rates = []
        for question in QUESTIONS:
            answer, stats = None, None
            for event in qa.stream(question):
                answer, stats = event.answer or answer, event.stats or stats
            assert answer is not None and stats is not None
            tokens = generator.count_tokens(answer.text) if not answer.refused else 0
            decode_s = stats.total_s - (stats.first_token_s or stats.total_s)
            rate = tokens / decode_s if decode_s > 0 else 0.0
            rates.append(rate)
            print(
                f"{question[:34]:<36}{stats.retrieval_s:>11.2f}{stats.first_token_s or 0:>9.2f}"
                f"{stats.total_s:>9.2f}{tokens:>8}{rate:>14.1f}"
            )
        messages = [{"role": "user", "content": "用三句话介绍一下北京。"}]
        started, first, pieces = time.perf_counter(), None, []
        for piece in generator.stream(messages, max_tokens=128):
            first = first or time.perf_counter() - started
            pieces.append(piece)
        total = time.perf_counter() - started
        base_rate = generator.count_tokens("".join(pieces)) / (total - (first or 0))
        print(f"baseline: bare generator, short prompt: TTFT {first:.2f} s, decode {base_rate:.1f} tok/s")
        print(f"median decode in kb ask: {statistics.median(rates):.1f} tok/s")


if __name__ == "__main__":
    main()
