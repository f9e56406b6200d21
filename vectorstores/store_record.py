"""Which vector store a knowledge base uses, recorded in `<kb folder>/store.json`.

A file beside the KB's content rather than a catalog column, so that choosing a store needs no schema
migration. A KB without the file predates the choice: it is FAISS if it has a FAISS index, otherwise
(a new KB) it takes the configured default.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from kb_app.vectorstores.atomic import write_bytes_atomically

RECORD_FILE = "store.json"
log = logging.getLogger(__name__)


def recorded_store(kb_root: Path) -> str | None:
    """The backend name in the KB's record, or None when it has none (or an unreadable one)."""
    path = kb_root / RECORD_FILE
    if not path.exists():
        return None
    try:
        backend = json.loads(path.read_text(encoding="utf-8"))["vector_store"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Ignoring unreadable %s: %s", path, exc)
        return None
    return str(backend)


def store_of(kb_root: Path, default: str) -> str:
    """The backend a KB uses: its record, else "faiss" for a KB with a FAISS index, else `default`."""
    recorded = recorded_store(kb_root)
    if recorded:
        return recorded
    return "faiss" if any((kb_root / "index").glob("*/index.faiss")) else default


def record_store(kb_root: Path, backend: str) -> None:
    """Write the KB's record atomically (the switch at the end of `kb migrate`)."""
    kb_root.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"vector_store": backend}, ensure_ascii=False).encode()
    write_bytes_atomically(kb_root / RECORD_FILE, data)
