"""Rebuild Langchain-Chatchat knowledge bases here from their original files.

Chatchat keeps one folder per knowledge base under `knowledge_base/` (0.2: in the repo; 0.3:
`$CHATCHAT_ROOT/data/knowledge_base/`): `<kb>/content/` holds the uploaded originals, `<kb>/vector_store/`
its FAISS index, and `info.db` its SQLite catalog. Only `content/` is read: the index was built by
another embedder and its scores mean something else, so our pipeline indexes the originals again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb_app.errors import KBError
from kb_app.names import clean_relative_name, to_kb_name
from kb_app.schema import FileReport

log = logging.getLogger(__name__)

CONTENT = "content"


@dataclass(frozen=True)
class ChatchatKB:
    """One Chatchat knowledge base and the name it gets here."""

    folder: Path
    source_name: str
    name: str
    ignored: tuple[str, ...] = ()

    @property
    def content_dir(self) -> Path:
        return self.folder / CONTENT


@dataclass(frozen=True)
class ImportPlan:
    """What an import reads: the knowledge bases found, and what it leaves alone (and why)."""

    root: Path
    kbs: list[ChatchatKB] = field(default_factory=list)
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedFile:
    """A dry run's verdict on one file: "new", "changed", "unchanged" or "unsupported"."""

    name: str
    action: str


def knowledge_base_root(path: Path) -> Path:
    """The folder holding the KB folders: PATH itself, PATH/knowledge_base, or PATH/data/knowledge_base.

    Raises:
        KBError: when none of them holds a `<kb>/content/` folder.
    """
    for candidate in (path, path / "knowledge_base", path / "data" / "knowledge_base"):
        if candidate.is_dir() and any((d / CONTENT).is_dir() for d in candidate.iterdir() if d.is_dir()):
            return candidate
    if (path / CONTENT).is_dir():
        return path  # a single KB folder; plan_import treats it as a root of one
    raise KBError(
        f"No Langchain-Chatchat knowledge bases under {path}: expected folders like {path}/samples/content/. "
        "Give the `knowledge_base` folder (Chatchat 0.3: $CHATCHAT_ROOT/data/knowledge_base)."
    )


def _why_ignored(entry: Path) -> str:
    if entry.name == "vector_store":
        return "Chatchat's vector index; rebuilt from content/"
    if entry.suffix == ".db":
        return "Chatchat's catalog database; not needed"
    return "not under content/"


def _unique_names(raw_names: list[str]) -> list[str]:
    """Valid names are kept (they claim their name first); the others are mapped and, where two map to
    the same name, numbered: "a(1)" becomes "a_1", or "a_1-2" when a folder "a_1" exists too."""
    taken = {to_kb_name(n) for n in raw_names if to_kb_name(n) == n}
    names = []
    for raw in raw_names:
        name, n = to_kb_name(raw), 2
        while name != raw and name in taken:
            name, n = f"{to_kb_name(raw)[:60]}-{n}", n + 1
        taken.add(name)
        names.append(name)
    return names


def _ignored_in(folder: Path) -> tuple[str, ...]:
    extra = sorted(e for e in folder.iterdir() if e.name != CONTENT)
    return tuple(f"{e.name}{'/' if e.is_dir() else ''} ({_why_ignored(e)})" for e in extra)


def plan_import(path: Path) -> ImportPlan:
    """Find the Chatchat knowledge bases under `path` and give each a valid, unique name here."""
    root = knowledge_base_root(path.expanduser().resolve())
    folders = [root] if (root / CONTENT).is_dir() else sorted(d for d in root.iterdir() if d.is_dir())
    kept = [f for f in folders if (f / CONTENT).is_dir()]
    ignored = [f"{f.name}/ (no content/ folder)" for f in folders if f not in kept]
    names = _unique_names([f.name for f in kept])
    kbs = [ChatchatKB(f, f.name, name, _ignored_in(f)) for f, name in zip(kept, names, strict=True)]
    if folders != [root]:
        ignored += [f"{f.name} ({_why_ignored(f)})" for f in sorted(root.iterdir()) if f.is_file()]
    return ImportPlan(root, kbs, tuple(ignored))


def preview(container: Any, kb: ChatchatKB) -> list[PlannedFile]:
    """What importing `kb` would do to each file, without writing anything."""
    from kb_app.ingest.loaders import supported_extensions
    from kb_app.ingest.pipeline import discover

    supported = set(supported_extensions())
    row = container.catalog.find_kb(kb.name) if _catalog_exists(container) else None
    planned = []
    for path, raw_name in discover([kb.content_dir], kb.content_dir):
        name = clean_relative_name(raw_name)
        existing = container.catalog.get_file(row.id, name) if row is not None else None
        if path.suffix.lower() not in supported:
            action = "unsupported"
        elif existing is None:
            action = "new"
        elif existing.status == "done" and existing.sha256 == hashlib.sha256(path.read_bytes()).hexdigest():
            action = "unchanged"
        else:
            action = "changed"
        planned.append(PlannedFile(name, action))
    return planned


def _catalog_exists(container: Any) -> bool:
    """A dry run must not create an empty catalog just to find nothing in it."""
    url: str = container.settings.catalog_url
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()


def run_import(
    container: Any,
    plan: ImportPlan,
    progress: Callable[[ChatchatKB, FileReport], None] | None = None,
    pages: Any = None,
) -> dict[str, list[FileReport]]:
    """Ingest every planned KB's content/ (creating the KB); unchanged files are skipped on a re-run.

    Returns:
        Our KB name -> one report per file (a file that fails never stops the others).
    """
    results: dict[str, list[FileReport]] = {}
    for kb in plan.kbs:
        log.info("Importing Chatchat knowledge base %r as %r", kb.source_name, kb.name)
        report = (lambda r, kb=kb: progress(kb, r)) if progress else None
        results[kb.name] = container.ingest(kb.name, [kb.content_dir], progress=report, pages=pages)
    return results
