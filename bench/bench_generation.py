"""Generation speed of the llama.cpp backend against the machine's limits, and what reusing the fixed system
prompt's KV cache buys in time to first token (TTFT).

Baseline in the same run: memory read bandwidth (numpy copy, and a float32 GEMV, which reads memory the
way decoding does) / model bytes = the decode ceiling in tokens/s.
Prompts are real RAG prompts (kb_app.prompting.build_messages) over passages from the retrieval dev set.

    .venv/bin/python bench/bench_generation.py [--model PATH] [--questions 4] [--sources 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kb_app.llms.llamacpp import LlamaCppGenerator
from kb_app.prompting import build_messages
from kb_app.schema import Chunk, ScoredChunk
from kb_app.settings import DEFAULT_GGUF_NAME, default_models_dir

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "retrieval" / "dev_questions.jsonl"


def bandwidth_gbs(threads: int, megabytes: int = 512, repeats: int = 5) -> float:
    """Best-of-N copy bandwidth (bytes read + bytes written per second) with `threads` numpy copies."""
    source = np.ones(megabytes * 2**20 // 8)
    target = np.empty_like(source)
    parts = np.array_split(np.arange(source.size), threads)
    spans = [(int(p[0]), int(p[-1]) + 1) for p in parts]

    def copy(span: tuple[int, int]) -> None:
        np.copyto(target[span[0] : span[1]], source[span[0] : span[1]])  # releases the GIL

    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats):
            started = time.perf_counter()
            list(pool.map(copy, spans))
            best = min(best, time.perf_counter() - started)
    return 2 * source.nbytes / best / 1e9


def gemv_bandwidth_gbs(megabytes: int = 1024, repeats: int = 5) -> float:
    """Best-of-N read bandwidth of a float32 matrix-vector product over `megabytes` of matrix: the same
    access pattern as decoding (every weight read once per token), on numpy's threaded BLAS."""
    rows = megabytes * 2**20 // 4 // 4096
    matrix = np.ones((rows, 4096), dtype=np.float32)
    vector = np.ones(4096, dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        matrix @ vector
        best = min(best, time.perf_counter() - started)
    return matrix.nbytes / best / 1e9


def rag_prompts(count: int, sources: int) -> list[list[dict[str, str]]]:
    """`count` prompts about different documents: the question's passage first, then distractors."""
    rows, seen = [], set()
    for line in DEV.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["doc_id"] not in seen:  # one question per document: prompts share only the system part
            seen.add(row["doc_id"])
            rows.append(row)
        if len(rows) == count + sources:
            break
    prompts = []
    for i in range(count):
        passages = [rows[(i + j) % len(rows)]["passage"][:300] for j in range(sources)]
        hits = [
            ScoredChunk(
                Chunk(chunk_id=f"c{j}", text=text, source=f"{rows[(i + j) % len(rows)]['doc_id']}.txt"), 0.9
            )
            for j, text in enumerate(passages)
        ]
        prompts.append(build_messages(rows[i]["question"], hits))
    return prompts


def perf_counters(llama: object) -> tuple[float, int, float, int]:
    """(prompt ms, prompt tokens, decode ms, decode tokens) since the last reset of llama.cpp's counters."""
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama._ctx.ctx)  # type: ignore[attr-defined]
    return data.t_p_eval_ms, data.n_p_eval, data.t_eval_ms, data.n_eval


def ttft(generator: LlamaCppGenerator, messages: list[dict[str, str]], max_tokens: int = 1) -> float:
    started = time.perf_counter()
    stream = generator.stream(messages, max_tokens=max_tokens)
    next(stream, None)
    elapsed = time.perf_counter() - started
    stream.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_models_dir() / DEFAULT_GGUF_NAME)
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--decode-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads; 0 = all cores")
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    load_before = f"{os.getloadavg()[0]:.1f}"
    bw_one, bw_copy = bandwidth_gbs(1), bandwidth_gbs(threads)
    bw_all = max(bw_copy, gemv_bandwidth_gbs())  # the read rate decoding can reach
    model_bytes = args.model.stat().st_size
    generator = LlamaCppGenerator(
        args.model, context_tokens=4096, threads=args.threads, temperature=0.0, seed=0
    )
    llama = generator._model()
    import llama_cpp

    prompts = rag_prompts(args.questions + 1, args.sources)
    prompt_rates, decode_rates, cold, warm, cached, lengths = [], [], [], [], [], []
    for previous, messages in itertools.pairwise(prompts):
        llama.reset()
        llama_cpp.llama_perf_context_reset(llama._ctx.ctx)
        generator.generate(messages, max_tokens=args.decode_tokens)
        p_ms, p_n, e_ms, e_n = perf_counters(llama)
        prompt_rates.append(p_n / p_ms * 1000)
        decode_rates.append(e_n / e_ms * 1000)
        llama.reset()
        cold.append(ttft(generator, messages))
        ttft(generator, previous)  # another question first: only the system prompt is shared
        total, hit = generator.cached_prompt_tokens(messages)
        warm.append(ttft(generator, messages))
        lengths.append(total)
        cached.append(hit)
    decode = statistics.median(decode_rates)
    rows = [
        ("memory bandwidth, 1 thread (GB/s)", f"{bw_one:.1f}"),
        (f"memory bandwidth, copy, {threads} threads (GB/s)", f"{bw_copy:.1f}"),
        ("memory read bandwidth, BLAS GEMV (GB/s)", f"{bw_all:.1f}"),
        ("model file (GB)", f"{model_bytes / 1e9:.2f}"),
        ("decode ceiling = bandwidth / model (tok/s)", f"{bw_all * 1e9 / model_bytes:.1f}"),
        ("prompt tokens per question (median)", f"{statistics.median(lengths):.0f}"),
        ("prompt eval (tok/s, median)", f"{statistics.median(prompt_rates):.1f}"),
        ("decode (tok/s, median)", f"{decode:.1f}"),
        ("decode as % of ceiling", f"{100 * decode * model_bytes / (bw_all * 1e9):.0f}%"),
        ("TTFT cold, empty KV cache (s, median)", f"{statistics.median(cold):.2f}"),
        ("TTFT after another question (s, median)", f"{statistics.median(warm):.2f}"),
        ("  prompt tokens reused from the KV cache", f"{statistics.median(cached):.0f}"),
        (
            "TTFT saved by prefix reuse",
            f"{100 * (1 - statistics.median(warm) / statistics.median(cold)):.0f}%",
        ),
    ]
    load_after = f"{os.getloadavg()[0]:.1f}"
    print(f"model {args.model.name}, {generator.threads} llama.cpp threads, {args.questions} questions x "
          f"{args.sources} sources, load average before/after: {load_before} / {load_after}")  # fmt: skip
    for label, value in rows:
        print(f"{label:<48}{value:>10}")


if __name__ == "__main__":
    main()
