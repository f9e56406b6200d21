"""`python -m kb_app.catalog.migrations revision MESSAGE` | `upgrade URL` | `current URL` (README.md)."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine

from kb_app.catalog.engine import normalise_url
from kb_app.catalog.metadata import catalog_metadata
from kb_app.catalog.migrate import current_revision, ensure_schema, head_revision, new_revision


def main(argv: list[str]) -> int:
    """Run one command; returns the exit status."""
    if len(argv) == 2 and argv[0] == "revision":
        sys.stdout.write(f"wrote {new_revision(argv[1])}\n")
        return 0
    if len(argv) == 2 and argv[0] in ("upgrade", "current"):
        engine = create_engine(normalise_url(argv[1]))
        if argv[0] == "upgrade":
            ensure_schema(engine, catalog_metadata())
        sys.stdout.write(f"{current_revision(engine)} (head: {head_revision()})\n")
        return 0
    sys.stderr.write(f"usage: {__doc__}\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
