"""One writer per knowledge base, across processes: an advisory `flock` on `<kb root>/.write.lock`.

Every path that changes a KB's vector index and catalog (ingest, chunk edits, file deletes) holds it, so
the UI's worker, API workers and the CLI never write one index at once. Readers never take it. `flock`
locks belong to an open file, not to a process, so two threads of one process exclude each other too,
and the kernel drops the lock when its holder dies (a crashed writer never leaves the KB locked).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from kb_app.errors import KBError

log = logging.getLogger(__name__)

LOCK_FILE = ".write.lock"
_POLL_S = 0.05


class KnowledgeBaseBusy(KBError):
    """Another process or thread is writing this knowledge base (usually an ingest job)."""


@contextmanager
def kb_write_lock(root: Path, wait_s: float | None = None) -> Iterator[None]:
    """Hold the write lock of the KB stored at `root` (created if missing).

    Args:
        root: The KB's folder (`KnowledgeBase.root`).
        wait_s: Give up after this many seconds with `KnowledgeBaseBusy`; None waits as long as it
            takes, 0 does not wait at all.
    """
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as handle:
        _acquire(handle, root, wait_s)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle: IO[bytes], root: Path, wait_s: float | None) -> None:
    import fcntl

    deadline = None if wait_s is None else time.monotonic() + wait_s
    logged = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if deadline is not None and time.monotonic() >= deadline:
            raise KnowledgeBaseBusy(
                f"Knowledge base '{root.name}' is being changed by another task (usually an ingest "
                "job); try again when it has finished."
            )
        if deadline is None and not logged:
            log.info("Waiting for another writer of knowledge base '%s' to finish...", root.name)
            logged = True
        time.sleep(_POLL_S)
