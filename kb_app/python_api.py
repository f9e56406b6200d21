"""A Python API shaped like ChatGLM's, over one knowledge base.

    from kb_app import open_kb

    kb = open_kb("manuals")
    response, history = kb.chat("报销需要哪些材料？", history=[])
    for partial, history in kb.stream_chat("需要领导签字吗？", history=history):
        ...

`chat` and `stream_chat` return plain text with the sources as a footnote (see `kb_app.footnotes`);
`ask` returns the structured `Answer`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kb_app.chat_history import extend_history, normalize_history
from kb_app.footnotes import with_footnotes
from kb_app.names import validate_kb_name
from kb_app.schema import Answer, FileReport, ScoredChunk

log = logging.getLogger(__name__)

History = list[Any]
PathLike = str | Path


class KBSession:
    """One knowledge base, ready to chat with. Build it with `open_kb`.

    Models load on the first question; the KB is created by the first `ingest`.
    """

    def __init__(self, container: Any, name: str, lang: str = "zh", top_k: int | None = None) -> None:
        self.container = container
        self.name = validate_kb_name(name)
        self.lang = lang
        self.top_k = top_k  # chunks to retrieve when a call gives none; None: KB_RETRIEVAL__TOP_K

    def __repr__(self) -> str:
        return f"KBSession({self.name!r}, home={str(self.container.settings.home)!r})"

    def stream(self, question: str, history: Sequence[Any] | None = None, top_k: int | None = None) -> Any:
        """`QAService.stream` events (text pieces, then the final Answer); close it to stop generating."""
        qa = self.container.qa(self.name, top_k=top_k or self.top_k)
        return qa.stream(question, normalize_history(history))

    def ask(self, question: str, history: Sequence[Any] | None = None, top_k: int | None = None) -> Answer:
        """The structured answer: text, citations (file, page, score, chunk text) and `refused`."""
        qa = self.container.qa(self.name, top_k=top_k or self.top_k)
        answer: Answer = qa.ask(question, normalize_history(history))
        return answer

    def chat(
        self, query: str, history: Sequence[Any] | None = None, top_k: int | None = None, **ignored: Any
    ) -> tuple[str, History]:
        """ChatGLM's `chat`: returns (response, history + [(query, response)]).

        The response carries its sources as a footnote ("\\n\\n来源：[1] 文件 第N页"). Generation
        arguments ChatGLM takes (max_length, top_p, temperature) are accepted and ignored: set
        KB_LLM__MAX_NEW_TOKENS / KB_LLM__TEMPERATURE instead.
        """
        _warn_ignored(ignored)
        response = with_footnotes(self.ask(query, history, top_k), self.lang)
        return response, extend_history(history, query, response)

    def stream_chat(
        self, query: str, history: Sequence[Any] | None = None, top_k: int | None = None, **ignored: Any
    ) -> Iterator[tuple[str, History]]:
        """ChatGLM's `stream_chat`: yields (response so far, history with this turn) as the model writes;
        the last item's response has the sources footnote. Stopping early stops generation."""
        _warn_ignored(ignored)
        events = self.stream(query, history, top_k)
        text = ""
        try:
            for event in events:
                if event.answer is not None:
                    final = with_footnotes(event.answer, self.lang)
                    yield final, extend_history(history, query, final)
                elif event.text:
                    text += event.text
                    yield text, extend_history(history, query, text)
        finally:
            events.close()

    def ingest(
        self, paths: PathLike | Sequence[PathLike], sync: bool = False, progress: Any = None
    ) -> list[FileReport]:
        """Add or update files and folders (the KB is created if missing); unchanged files are skipped.

        Args:
            paths: A file or folder, or several.
            sync: Also remove files that disappeared from the given folders.
            progress: Called with each file's `FileReport` as soon as it is final.
        """
        items = [paths] if isinstance(paths, str | Path) else list(paths)
        reports: list[FileReport] = self.container.ingest(
            self.name, [Path(p) for p in items], sync=sync, progress=progress
        )
        return reports

    def search(self, query: str, top_k: int | None = None) -> list[ScoredChunk]:
        """The chunks retrieval finds for `query`, best first, with 0..1 relevance (higher is better)."""
        retriever = self.container.retriever(self.container.open_kb(self.name))
        hits: list[ScoredChunk] = retriever.search(query, top_k=top_k or self.top_k)
        return hits


def _warn_ignored(ignored: dict[str, Any]) -> None:
    if ignored:
        log.warning(
            "Ignoring %s: set KB_LLM__MAX_NEW_TOKENS / KB_LLM__TEMPERATURE (or pass llm={...} to open_kb).",
            ", ".join(sorted(ignored)),
        )


def open_kb(
    name: str, home: PathLike | None = None, *, lang: str = "zh", settings: Any = None, **overrides: Any
) -> KBSession:
    """Open (or, on first `ingest`, create) the knowledge base `name`.

    Args:
        name: Knowledge-base name, e.g. "manuals" or "员工手册".
        home: Data root; default KB_HOME (./knowledge_base).
        lang: Language of the sources footnote: "zh" or "en".
        settings: A ready `kb_app.settings.Settings` (instead of overrides); default: KB_* env, kb.toml.
        **overrides: Settings to change, nested as dicts, e.g. `retrieval={"top_k": 3}`,
            `llm={"backend": "openai", "base_url": "http://127.0.0.1:8000/v1"}`.
    """
    from kb_app.container import Container
    from kb_app.settings import Settings

    where: dict[str, Any] = {"home": Path(home)} if home is not None else {}
    if settings is None:
        settings = Settings(**{**overrides, **where})
    elif overrides:
        raise TypeError("Pass either settings= or setting overrides to open_kb, not both.")
    else:
        settings = settings.model_copy(update=where)
    return KBSession(Container(settings), name, lang)
