"""Reading a kb-app FAISS index file, whole or memory-mapped, with errors a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kb_app.errors import IndexInconsistent

_REBUILD_HINT = "It can be rebuilt from the catalog: delete the file or run a re-index."


def read_index(faiss: Any, path: Path, dimension: int, mapped: bool) -> Any:
    """Read the index at `path`; `mapped` maps it read-only instead of reading it into memory.

    A mapped index must never be modified (faiss would write through the map, or crash).

    Raises:
        IndexInconsistent: when the file is damaged, not a kb-app index, or of another dimension.
    """
    try:
        index = faiss.read_index(str(path), _mmap_flags(faiss, path) if mapped else 0)
    except (RuntimeError, OSError, MemoryError, ValueError) as exc:
        raise IndexInconsistent(
            f"The vector index {path} is damaged or unreadable ({str(exc)[:200]}). {_REBUILD_HINT}"
        ) from exc
    if not isinstance(index, faiss.IndexIDMap2 | faiss.IndexIVFFlat):
        raise IndexInconsistent(
            f"The vector index {path} is not a kb-app index ({type(index).__name__}). {_REBUILD_HINT}"
        )
    if index.d != dimension:
        raise IndexInconsistent(
            f"The vector index {path} holds {index.d}-dimensional vectors but the embedder gives "
            f"{dimension}. Re-index the knowledge base with the right embedder."
        )
    return index


def is_ivf_file(path: Path) -> bool:
    """Whether the index file holds an IVF index (its first four bytes name the index type)."""
    with open(path, "rb") as handle:
        return handle.read(4).startswith(b"Iw")


def _mmap_flags(faiss: Any, path: Path) -> int:
    # IVF lists and flat storage are mapped by different flags that cannot be combined.
    mmap = faiss.IO_FLAG_MMAP if is_ivf_file(path) else faiss.IO_FLAG_MMAP_IFC
    return int(mmap | faiss.IO_FLAG_READ_ONLY)
