"""Should a format go through `unstructured`? Our office loaders against unstructured's partitioners
(the customer's choice) on the real docx/pptx/xlsx/html files of ../shared/docs, in one run: seconds,
characters of text, and whether table rows keep their column names (what retrieval needs).

    .venv/bin/python bench/bench_unstructured.py
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

from kb_app.ingest.loaders import loader_for

DOCS = Path(__file__).resolve().parents[1].parent / "shared" / "docs"
FILES = [
    "mineru/docx_01.docx",
    "weknora/issue_2634_vertical_merge.docx",
    "llm-cookbook/大语言模型原理简介及高校训练实践.docx",
    "mineru/pptx_01.pptx",
    "langchain-chatchat/langchain-ChatGLM_closed.xlsx",
    "readability/qq/source.html",
]


def ours(path: Path) -> str:
    return "\n".join(d.text for d in loader_for(path).load(path, path.name))


def theirs(path: Path) -> str:
    from unstructured.partition.auto import partition

    return "\n".join(str(e) for e in partition(filename=str(path)))


errors: dict[str, str] = {}


def run(fn: Any, path: Path) -> tuple[float, str | None, str]:
    started = time.perf_counter()
    try:
        text, error = fn(path), ""
    except Exception as exc:  # a partitioner that fails offline is a result worth printing
        text, error = None, type(exc).__name__
        errors.setdefault(error, " ".join(str(exc).split())[:160])
    return time.perf_counter() - started, text, error


def main() -> None:
    warnings.simplefilter("ignore")
    print(
        f"{'file':<44}{'ours s':>8}{'ours chars':>11}{'ours 列名：值':>12}"
        f"{'unst s':>8}{'unst chars':>11}{'unst 列名：值':>12}"
    )
    for name in FILES:
        path = DOCS / name
        row = [f"{name[:42]:<44}"]
        for fn in (ours, theirs):
            seconds, text, error = run(fn, path)
            pairs = text.count("：") if text else 0
            row.append(f"{seconds:>8.2f}{len(text) if text else error:>11}{pairs:>12}")
        print("".join(row))
    for error, message in errors.items():
        print(f"unstructured {error}: {message}")


if __name__ == "__main__":
    main()
