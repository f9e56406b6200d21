"""HTTP search throughput and latency: N concurrent clients hit POST /kbs/samples/search on a live
`kb serve` (default real models) for a fixed time; baseline in the same run: the same searches
in-process, one at a time, without HTTP.

    .venv/bin/python bench/bench_api.py                 # 20 clients, 60 s
    .venv/bin/python bench/bench_api.py --duration 5    # a quick check

It ingests knowledge_base/samples/content into a temporary KB_HOME with `kb ingest` first (or reuses
--home if that already holds the samples KB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SAMPLES = Path(__file__).resolve().parents[1] / "knowledge_base" / "samples" / "content"
QUERIES = [
    "ChatGLM-6B 基于什么架构？",
    "ChatGLM-6B 在 INT4 量化下需要多少显存？",
    "2024年北京市地区生产总值的增长目标是多少？",
    "2023年北京市一般公共预算收入增长了多少？",
    "大模型推理优化有哪些策略？",
    "什么是 LoRA 微调？",
]


def kb(env: dict[str, str], *args: str, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "kb_app.cli", *args], env=env, **popen)  # type: ignore[call-overload]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = kb(env, "serve", "--port", str(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"kb serve exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("kb serve did not start within 120 s")


async def client_loop(
    http: httpx.AsyncClient, index: int, deadline: float, latencies: list[float], errors: list[str]
) -> None:
    i = index
    while time.monotonic() < deadline:
        query = QUERIES[i % len(QUERIES)]
        i += 1
        started = time.perf_counter()
        try:
            response = await http.post("/kbs/samples/search", json={"query": query, "top_k": 5})
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(f"{response.status_code}: {response.text[:100]}")
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)


async def load(url: str, token: str, clients: int, duration: float) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as http:
        await http.post("/kbs/samples/search", json={"query": QUERIES[0]})  # loads the models
        started = time.monotonic()
        deadline = started + duration
        await asyncio.gather(*(client_loop(http, i, deadline, latencies, errors) for i in range(clients)))
        elapsed = time.monotonic() - started
    return latencies, errors, elapsed


def in_process(home: Path, duration: float) -> tuple[list[float], float]:
    from kb_app.container import Container
    from kb_app.settings import Settings

    container = Container(Settings(home=home))
    retriever = container.retriever(container.open_kb("samples"))
    for query in QUERIES:  # warm up: model load, first-call allocations, BM25 load
        retriever.search(query, top_k=5)
    latencies: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < duration:
        t = time.perf_counter()
        retriever.search(QUERIES[len(latencies) % len(QUERIES)], top_k=5)
        latencies.append(time.perf_counter() - t)
    return latencies, time.monotonic() - started


def row(name: str, latencies: list[float], errors: int, elapsed: float) -> str:
    ms = sorted(x * 1000 for x in latencies) or [0.0]
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else ms * 99
    rate = len(latencies) / elapsed if elapsed else 0.0
    return f"| {name} | {len(latencies)} | {errors} | {rate:.1f} | {q[49]:.0f} | {q[94]:.0f} | {q[98]:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load (default 60).")
    parser.add_argument("--clients", type=int, default=20, help="Concurrent clients (default 20).")
    parser.add_argument("--home", type=Path, help="KB_HOME to use (default: a temporary one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = (args.home or Path(tmp) / "home").resolve()
        password = secrets.token_urlsafe(12)
        env = {**os.environ, "KB_HOME": str(home), "KB_ADMIN_PASSWORD": password, "KB_AUTH": "on"}
        if not (home / "samples").is_dir() and kb(env, "ingest", "--kb", "samples", str(SAMPLES)).wait():
            raise SystemExit("kb ingest failed")
        port = free_port()
        server = start_server(env, port)
        try:
            url = f"http://127.0.0.1:{port}"
            login = httpx.post(f"{url}/auth/login", json={"username": "admin", "password": password})
            token = login.raise_for_status().json()["access_token"]
            latencies, errors, elapsed = asyncio.run(load(url, token, args.clients, args.duration))
        finally:
            server.terminate()
            server.wait(timeout=30)
        base, base_elapsed = in_process(home, min(args.duration, 10.0))
    print(f"POST /kbs/samples/search, top_k=5, {args.duration:.0f} s, {os.cpu_count()} CPUs\n")
    print("| setup | requests ok | errors | req/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row(f"HTTP, {args.clients} concurrent clients", latencies, len(errors), elapsed))
    print(row("baseline: in-process, 1 caller, no HTTP", base, 0, base_elapsed))
    for message in sorted(set(errors))[:5]:
        print(f"error: {message}")


if __name__ == "__main__":
    main()
