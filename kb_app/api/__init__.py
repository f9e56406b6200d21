"""The HTTP API (FastAPI): `create_app(container)`; `kb serve` runs it under uvicorn.

Importing this package imports FastAPI, so the CLI imports it only inside `kb serve`.
"""

from kb_app.api.app import create_app

__all__ = ["create_app"]
