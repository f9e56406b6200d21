"""The question-answering service the CLI, UI and API all call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from kb_app.citations import is_refusal, verify_answer
from kb_app.errors import InvalidQuestion
from kb_app.prompting import REFUSAL_TEXT, build_messages, estimate_tokens, select_sources, trim_history
from kb_app.protocols import Generator
from kb_app.question_match import matches_question
from kb_app.retrieval import HybridRetriever
from kb_app.schema import Answer, Citation, ScoredChunk, SentenceSupport

log = logging.getLogger(__name__)


@dataclass
class AnswerStats:
    """Timings of one answer (for `kb ask --verbose`, the UI and benchmarks)."""

    retrieval_s: float = 0.0
    first_token_s: float | None = None
    total_s: float = 0.0
    pieces: int = 0
    search_query: str = ""  # what retrieval searched for (a follow-up question rewritten by the condenser)


@dataclass
class StreamEvent:
    """One event of a streamed answer: a text piece, or (last) the final Answer."""

    text: str = ""
    answer: Answer | None = None
    hits: list[ScoredChunk] = field(default_factory=list)
    stats: AnswerStats | None = None


class QAService:
    """Retrieve, refuse without the model when nothing is relevant, else generate and cite."""

    def __init__(
        self,
        retriever: HybridRetriever,
        generator: Generator,
        threshold: float,
        max_question_chars: int = 2000,
        context_tokens: int = 4096,
        max_new_tokens: int = 384,
        condenser: Callable[[str, Sequence[tuple[str, str]]], str] | None = None,
        source_tokens: int = 450,
        history_tokens: int = 400,
    ) -> None:
        self.retriever = retriever
        self.condenser = condenser
        self.generator = generator
        self.threshold = threshold
        self.max_question_chars = max_question_chars
        self.context_tokens = context_tokens
        self.max_new_tokens = max_new_tokens
        self.source_tokens = source_tokens
        self.history_tokens = history_tokens

    def check_question(self, question: str) -> str:
        text = question.strip()
        if not text:
            raise InvalidQuestion(
                'The question is empty: type a question, e.g. kb ask --kb samples "ChatGLM-6B 是什么？"'
            )
        if len(text) > self.max_question_chars:
            raise InvalidQuestion(
                f"The question is {len(text)} characters long; the limit is {self.max_question_chars} "
                "(KB_MAX_QUESTION_CHARS). Ask about one thing at a time."
            )
        return text

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (), top_k: int | None = None) -> Answer:
        answer: Answer | None = None
        for event in self.stream(question, history, top_k):
            answer = event.answer or answer
        assert answer is not None
        return answer

    def stream(
        self, question: str, history: Sequence[tuple[str, str]] = (), top_k: int | None = None
    ) -> Iterator[StreamEvent]:
        """Yield text pieces as the model writes them, then one event holding the final Answer."""
        stats = AnswerStats()
        started = time.perf_counter()
        text = self.check_question(question)
        stats.search_query = self.condenser(text, history) if self.condenser and history else text
        hits = self.retriever.search(stats.search_query, top_k=top_k)
        stats.retrieval_s = time.perf_counter() - started
        relevant = [h for h in hits if h.score >= self.threshold]
        if not relevant:
            stats.total_s = time.perf_counter() - started
            closest = tuple(Citation.from_scored(h) for h in hits[:3])
            log.info(
                "No chunk above threshold %.2f for %r; refusing without the model.", self.threshold, text
            )
            refusal = Answer(REFUSAL_TEXT, closest, refused=True, reason="no_relevant")
            yield StreamEvent(answer=refusal, hits=hits, stats=stats)
            return
        count = getattr(self.generator, "count_tokens", estimate_tokens)
        history = trim_history(history, self.history_tokens, count)
        room = self.context_tokens - self.max_new_tokens - count(text) - self.history_tokens - 300
        sources = select_sources(relevant, min(self.source_tokens, room), count, text)
        messages = build_messages(text, sources, history)
        pieces: list[str] = []
        for piece in self.generator.stream(messages, max_tokens=self.max_new_tokens):
            if stats.first_token_s is None:
                stats.first_token_s = time.perf_counter() - started
            pieces.append(piece)
            yield StreamEvent(text=piece)
        stats.pieces = len(pieces)
        stats.total_s = time.perf_counter() - started
        answer = self._finish("".join(pieces).strip(), sources, text)
        yield StreamEvent(answer=answer, hits=hits, stats=stats)

    @staticmethod
    def _finish(answer_text: str, sources: Sequence[ScoredChunk], question: str = "") -> Answer:
        """The final Answer: cited per sentence, or a refusal (showing the closest passages) when the model
        refused, no sentence of its answer is supported by a passage, or the passages that support it are
        not about the question (they lack a number it states or most of its key terms)."""
        closest = tuple(Citation.from_scored(h) for h in sources[:3])
        if not answer_text or is_refusal(answer_text):
            return Answer(answer_text or REFUSAL_TEXT, closest, refused=True, reason="model")
        citations, sentences = verify_answer(answer_text, sources, question)
        if not citations:
            log.info("No sentence of the answer is supported by a passage; refusing: %r", answer_text)
            return Answer(REFUSAL_TEXT, closest, refused=True, sentences=sentences, reason="unsupported")
        if question and not matches_question(question, _documents_of(citations, sources)):
            log.info(
                "The passages the answer relies on are not about %r; refusing: %r", question, answer_text
            )
            withheld = tuple(SentenceSupport(s.text, supported=False) for s in sentences)
            return Answer(REFUSAL_TEXT, closest, refused=True, sentences=withheld, reason="off_question")
        return Answer(answer_text, citations, refused=False, sentences=sentences)


def _documents_of(citations: Sequence[Citation], sources: Sequence[ScoredChunk]) -> list[str]:
    """What the answer's documents say: every passage given from a cited file, with its file name and
    headings (a chunk that says "它" has its subject there)."""
    cited = {c.source for c in citations}
    return [
        "\n".join((h.chunk.source, *h.chunk.heading_path, h.chunk.text))
        for h in sources
        if h.chunk.source in cited
    ]
