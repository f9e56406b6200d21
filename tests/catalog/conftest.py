"""Catalog tests run on SQLite and on a real PostgreSQL server (tests/pg.py starts a throwaway one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import postgres_server, postgres_url  # noqa: F401  (fixtures)

from kb_app.catalog import Catalog

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty catalog database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    opened = Catalog(catalog_url)
    yield opened
    opened.close()
