"""Attach citations from what the answer actually uses; never trust the model's own [n] markers.

Each answer sentence is compared with each source by character-bigram overlap, with digits and latin
words weighted up (numbers, product names and versions are what a wrong citation usually gets wrong).
A source is cited when some sentence draws enough of its content from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb_app.schema import Citation, ScoredChunk

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
_MARKER = re.compile(r"\[\d+\]|【\d+】")
_TERM = re.compile(r"[A-Za-z][A-Za-z0-9._-]*|\d+(?:\.\d+)?")
SUPPORT_THRESHOLD = 0.35

REFUSAL_PATTERNS = ("没有找到相关信息", "无法回答", "没有提到", "未提及", "无法从资料", "资料中没有")


def _features(text: str) -> dict[str, float]:
    clean = re.sub(r"\s+", "", _MARKER.sub("", text)).lower()
    feats: dict[str, float] = {clean[i : i + 2]: 1.0 for i in range(len(clean) - 1)}
    for term in _TERM.findall(text.lower()):
        feats["#" + term] = 3.0
    return feats


def support(sentence: str, source_text: str) -> float:
    """Weighted share of the sentence's bigrams and terms that also occur in the source (0..1)."""
    sent, src = _features(sentence), _features(source_text)
    total = sum(sent.values())
    if total == 0:
        return 0.0
    return sum(w for f, w in sent.items() if f in src) / total


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 1]


def is_refusal(answer: str) -> bool:
    return any(p in answer for p in REFUSAL_PATTERNS) and len(answer) < 80


def attach_citations(answer: str, sources: Sequence[ScoredChunk]) -> tuple[Citation, ...]:
    """Cite the sources that support the answer's sentences, in source order.

    Falls back to the best retrieved source when no sentence passes the support threshold (a short
    paraphrased answer), so a non-refused answer always points somewhere to check it.
    """
    cited: set[int] = set()
    for sentence in split_sentences(answer):
        scores = [support(sentence, hit.chunk.text) for hit in sources]
        if scores and max(scores) >= SUPPORT_THRESHOLD:
            cited.add(max(range(len(scores)), key=scores.__getitem__))
    if not cited and sources:
        cited.add(0)
    return tuple(Citation.from_scored(sources[i]) for i in sorted(cited))
