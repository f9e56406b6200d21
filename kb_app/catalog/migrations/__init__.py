"""Alembic scripts of the catalog; run by `kb_app.catalog.migrate`. See README.md."""
