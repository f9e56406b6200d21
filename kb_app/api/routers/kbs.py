"""Knowledge bases: list (those the caller may read), create, rename/describe, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from kb_app import curation
from kb_app.api.deps import Admin, Anyone, Reader, container_of
from kb_app.api.models import KBCreate, KBOut, KBPatch
from kb_app.catalog.tables import KnowledgeBaseRow
from kb_app.errors import AlreadyExists
from kb_app.kb_chunking import set_kb_chunking, validate_chunking
from kb_app.names import validate_kb_name

router = APIRouter(tags=["knowledge bases"])
Container = Annotated[Any, Depends(container_of)]


def _kbs(container: Any, names: set[str] | None = None) -> list[KBOut]:
    return [KBOut(**s) for s in curation.kb_stats(container) if names is None or s["name"] in names]


def _one(container: Any, name: str) -> KBOut:
    found = _kbs(container, {container.catalog.get_kb(validate_kb_name(name)).name})
    return found[0]


@router.get("/kbs", response_model=list[KBOut])
def list_kbs(principal: Anyone, container: Container) -> list[KBOut]:
    """The knowledge bases the caller may read (all of them for admins)."""
    return [kb for kb in _kbs(container) if principal.can_read(kb.name)]


@router.get("/kbs/{name}", response_model=KBOut)
def get_kb(name: str, _: Reader, container: Container) -> KBOut:
    return _one(container, name)


@router.post("/kbs", status_code=201, response_model=KBOut)
def create_kb(body: KBCreate, _: Admin, container: Container) -> KBOut:
    """Create an empty knowledge base (it uses the configured embedder; `chunk_size` is its own)."""
    name = validate_kb_name(body.name)
    if container.catalog.find_kb(name) is not None:
        raise AlreadyExists(f"Knowledge base '{name}' exists already; choose another name.")
    if body.chunk_size is not None:
        validate_chunking(body.chunk_size, body.chunk_overlap or 0)  # refuse before creating anything
    kb = container.open_kb(name, create=True, description=body.description)
    if body.chunk_size is not None:
        set_kb_chunking(container, kb.kb_id, body.chunk_size, body.chunk_overlap)
    return _one(container, name)


@router.patch("/kbs/{name}", response_model=KBOut)
def update_kb(name: str, body: KBPatch, _: Admin, container: Container) -> KBOut:
    """Rename a knowledge base (grants and jobs follow it) and/or change its description."""
    current = container.catalog.get_kb(validate_kb_name(name)).name
    if body.name is not None and validate_kb_name(body.name) != current:
        if container.catalog.find_kb(validate_kb_name(body.name)) is not None:
            raise AlreadyExists(f"Knowledge base '{body.name}' exists already; choose another name.")
        curation.rename_kb(container, current, body.name)
        current = validate_kb_name(body.name)
    if body.description is not None:
        with container.catalog.session() as s:
            row = s.get(KnowledgeBaseRow, container.catalog.get_kb(current).id)
            row.description = body.description
            s.add(row)
            s.commit()
    return _one(container, current)


@router.delete("/kbs/{name}", status_code=204)
def delete_kb(name: str, _: Admin, container: Container) -> Response:
    """Delete a knowledge base with its files, index and grants."""
    container.delete_kb(name)
    return Response(status_code=204)
