"""Running `parse_file` over many files: in this process, or in spawned worker processes.

Workers are spawned, never forked (the ingesting process may hold model threads), they exit when
their parent dies (kill -9 leaves no orphans), read-ahead is bounded (memory stays flat on huge runs),
and a worker's failure comes back as a value, so one bad file never stops the run.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kb_app.errors import KBError
from kb_app.ingest.parsing import Limits, ParseResult, parse_file
from kb_app.protocols import Splitter

log = logging.getLogger(__name__)

T = TypeVar("T")
PageCallback = Callable[[str, int, int], None]
Outcome = ParseResult | Exception


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (reports and the catalog's error column are one line)."""
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True)
class ParseContext:
    """What every parse of one run shares (picklable: it travels to the worker processes)."""

    kb_name: str
    splitter: Splitter
    limits: Limits


def parse_or_error(path: Path, name: str, context: ParseContext, pages: Any = None) -> Outcome:
    """Parse one file; a failure is returned as a KBError with a one-line message."""
    try:
        return parse_file(path, name, context.kb_name, context.splitter, context.limits, pages)
    except (KBError, OSError) as exc:
        return KBError(one_line(exc))
    except Exception as exc:  # a parser bug on a hostile file must not take the whole run down
        log.exception("Parser crashed on %s", name)
        return KBError(f"could not parse this file ({type(exc).__name__}: {one_line(exc)})")


def parse_all(
    jobs: list[T],
    where: Callable[[T], tuple[Path, str]],
    context: ParseContext,
    workers: int,
    pages: PageCallback | None = None,
) -> Iterator[tuple[T, Outcome]]:
    """Parse `jobs` in order; `where(job)` gives (path to read, name to record).

    Uses worker processes when there are several files and `workers` > 1. If they cannot start (a
    script without an `if __name__ == "__main__":` guard), the rest is parsed in this process.
    """
    if workers <= 1 or len(jobs) < 2:
        for job in jobs:
            yield job, parse_or_error(*where(job), context, pages)
        return
    yielded: set[int] = set()
    try:
        for job, outcome in _in_workers(jobs, where, context, workers, pages):
            yielded.add(id(job))
            yield job, outcome
    except BrokenProcessPool:
        log.warning(
            "Parser processes could not start (a script that ingests needs an "
            "`if __name__ == '__main__':` guard); parsing in this process instead."
        )
        for job in jobs:
            if id(job) not in yielded:
                yield job, parse_or_error(*where(job), context, pages)


def _in_workers(
    jobs: list[T],
    where: Callable[[T], tuple[Path, str]],
    context: ParseContext,
    workers: int,
    pages: PageCallback | None,
) -> Iterator[tuple[T, Outcome]]:
    spawn = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(
            ProcessPoolExecutor(
                workers, mp_context=spawn, initializer=_exit_with_parent, initargs=(os.getpid(),)
            )
        )
        # Page progress crosses the process boundary through a manager queue, only when asked for.
        queue = stack.enter_context(spawn.Manager()).Queue() if pages else None
        futures: deque[tuple[T, Future[Outcome]]] = deque()
        for job in jobs:
            futures.append((job, pool.submit(parse_or_error, *where(job), context, queue)))
            if len(futures) >= workers * 4:
                done, future = futures.popleft()
                yield done, _await(future, queue, pages)
        while futures:
            done, future = futures.popleft()
            yield done, _await(future, queue, pages)


def _await(future: Future[Outcome], queue: Any, pages: PageCallback | None) -> Outcome:
    """Wait for one parse, passing page progress from the workers on while it runs."""
    while True:
        try:
            return future.result(timeout=0.3)
        except TimeoutError:
            pass
        finally:
            while queue is not None and pages is not None and not queue.empty():
                pages(*queue.get())


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: if the ingesting process dies (kill -9), its parser workers go too."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()
