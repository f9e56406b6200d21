"""kb-app: local knowledge-base question answering for Chinese documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kb_app.python_api import KBSession, open_kb

__all__ = ["KBSession", "open_kb"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import kb_app` (and every `kb` command) stays cheap.
    if name in __all__:
        from kb_app import python_api

        return getattr(python_api, name)
    raise AttributeError(f"module 'kb_app' has no attribute {name!r}")
