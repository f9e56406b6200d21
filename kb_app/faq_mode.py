"""FAQ mode: a question that matches an imported FAQ question gets the stored answer, as it is.

A spreadsheet FAQ is imported as one chunk per pair, with the text `问：<question>\\n答：<answer>`
(`kb_app.ingest.loaders.faq.faq_text`). With FAQ mode on, the KB's hybrid retrieval proposes chunks, the
FAQ pairs among them are compared question to question, and the best one at or above the KB's FAQ
threshold is the answer: labelled `kind="faq"`, cited, no model call. Otherwise callers go on to the
usual `QAService` (`faq_answer(...) or container.qa(kb).ask(...)`).

Question similarity is the embedder's cosine of the two questions (both embedded as queries), on a
0..1 scale from the embedder's "unrelated" floor (0) to identical (1); questions equal but for case,
spaces and punctuation score 1.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from kb_app.catalog.tables import KBSettingsRow
from kb_app.embedders.base import Calibration
from kb_app.errors import KBError
from kb_app.retrieval import HybridRetriever
from kb_app.schema import Answer, Citation, ScoredChunk

if TYPE_CHECKING:
    from kb_app.container import Container

# A wrong canned answer does more harm than a generated one: a miss still reaches normal QA, which cites
# the same FAQ pair. Measured through `faq_matches` on a 10-pair HR/IT FAQ with multilingual-e5-small:
# 10 paraphrases scored 0.89-0.98 (7 at or above 0.9); 10 same-topic questions with another intent
# scored 0.44-0.89, the closest being 几点下班 vs 几点上班 (0.894) and 取消 vs 申请年假 (0.889).
# At 0.9 none of those gets a wrong canned answer. Raise it per KB if wrong matches are reported,
# lower it for more shortcuts. Other embedders have other floors: check `faq_matches` scores first.
DEFAULT_FAQ_THRESHOLD = 0.9
_CANDIDATES = 10  # retrieval hits searched for FAQ pairs
_MAX_PAIRS = 5  # FAQ questions compared per question (each costs one query embedding)
_FAQ_TEXT = re.compile(r"问：(?P<question>[^\n]+)\n答：(?P<answer>.+)", re.DOTALL)


@dataclass(frozen=True)
class FAQSettings:
    """A KB's FAQ mode switch and its 0..1 question-similarity threshold."""

    enabled: bool = False
    threshold: float = DEFAULT_FAQ_THRESHOLD


def faq_settings(container: Container, kb_name: str) -> FAQSettings:
    kb_id = _kb_id(container, kb_name)
    with container.catalog.session() as s:
        row = s.get(KBSettingsRow, kb_id)
    if row is None:
        return FAQSettings()
    threshold = DEFAULT_FAQ_THRESHOLD if row.faq_threshold is None else row.faq_threshold
    return FAQSettings(enabled=row.faq_mode, threshold=threshold)


def set_faq_mode(
    container: Container, kb_name: str, enabled: bool, threshold: float | None = None
) -> FAQSettings:
    """Switch FAQ mode on or off; `threshold` (0..1) replaces the KB's one when given."""
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise KBError(f"The FAQ threshold is a similarity from 0 to 1, not {threshold}.")
    kb_id = _kb_id(container, kb_name)
    with container.catalog.session() as s:
        row = _settings_row(s, kb_id)
        row.faq_mode = enabled
        if threshold is not None:
            row.faq_threshold = threshold
        s.add(row)
        s.commit()
    return faq_settings(container, kb_name)


def split_faq_text(text: str) -> tuple[str, str] | None:
    """(question, answer) of an FAQ chunk's text, or None for any other chunk (several pairs in one
    chunk, as a document of Q/A paragraphs may give, are not one FAQ pair)."""
    match = _FAQ_TEXT.fullmatch(text.strip())
    if match is None or "\n问：" in match["answer"]:
        return None
    return match["question"].strip(), match["answer"].strip()


def faq_matches(container: Container, kb_name: str, question: str) -> list[tuple[float, ScoredChunk]]:
    """FAQ chunks among the question's retrieval candidates with their question similarity, best first."""
    retriever: HybridRetriever = container.retriever(container.open_kb(kb_name))
    found = retriever.gather(question, retriever.config.fusion)
    hits = retriever.score(found, retriever.config.fusion, _CANDIDATES)
    pairs = [(hit, qa[0]) for hit in hits if (qa := split_faq_text(hit.chunk.text)) is not None]
    floor = getattr(retriever.kb.embedder, "calibration", Calibration(0.0, 1.0)).floor
    scored = []
    for hit, asked in pairs[:_MAX_PAIRS]:
        if _normalise(asked) == _normalise(question):
            similarity = 1.0
        else:
            cosine = float(found.query_vector @ retriever.kb.embedder.embed_query(asked))
            similarity = min(1.0, max(0.0, (cosine - floor) / (1.0 - floor)))
        scored.append((round(similarity, 4), hit))
    return sorted(scored, key=lambda pair: -pair[0])


def faq_answer(container: Container, kb_name: str, question: str) -> Answer | None:
    """The stored answer of the best-matching FAQ pair, if FAQ mode is on and one matches well enough.

    Returns:
        An Answer with `kind="faq"` citing the pair, or None (mode off, no match, unusable question).
    """
    settings = faq_settings(container, kb_name)
    text = question.strip()
    if not settings.enabled or not text or len(text) > container.settings.max_question_chars:
        return None
    matches = faq_matches(container, kb_name, text)
    if not matches or matches[0][0] < settings.threshold:
        return None
    similarity, hit = matches[0]
    qa = split_faq_text(hit.chunk.text)
    assert qa is not None
    c = hit.chunk
    citation = Citation(source=c.source, page=c.page, chunk_id=c.chunk_id, score=similarity, text=c.text)
    return Answer(qa[1], (citation,), refused=False, kind="faq")


def _normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _kb_id(container: Container, kb_name: str) -> int:
    kb_id = container.catalog.get_kb(kb_name).id
    assert kb_id is not None
    return kb_id


def _settings_row(s: Session, kb_id: int) -> KBSettingsRow:
    return s.get(KBSettingsRow, kb_id) or KBSettingsRow(kb_id=kb_id)
