"""Verify a generated answer against the passages it was given, sentence by sentence.

The model's own [n] markers are never trusted. Each answer sentence is compared with each source by
character-bigram overlap, with digits and latin words weighted up (numbers, product names and versions
are what a wrong answer usually gets wrong). A sentence is supported when some source holds enough of
its content and every number it states; its citations are the sources that do. Sentences nobody
supports are flagged, and an answer none of whose sentences is supported becomes a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb_app.schema import Citation, ScoredChunk, SentenceSupport

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
# The model's own source markers, in the shapes small models write them: [2] 【2】 [资料2] [编号] [编号1]
MARKER_PATTERN = r"\s?(?:\[(?:资料|编号|来源)?\s*\d*\]|【(?:资料|编号|来源)?\s*\d*】)"
_MARKER = re.compile(MARKER_PATTERN)
_TERM = re.compile(r"[A-Za-z][A-Za-z0-9._-]*|\d+(?:\.\d+)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CONTENT = re.compile(r"[\w\u3400-\u9fff]")
SUPPORT_THRESHOLD = 0.35
MIN_CONTENT_CHARS = 4  # shorter pieces ("是的。", "1.") state nothing to check
# Sentences about the sources themselves ("根据资料[1]中的描述。") state nothing to check either.
_META = re.compile(
    r"^(?:根据|依据|参见|参考|详见|见|如|以上|上述)[^，,。]{0,4}(?:资料|材料|原文)[^，,]{0,8}$"
)
MAX_CITED_PER_SENTENCE = 2

REFUSAL_PATTERNS = ("没有找到相关信息", "无法回答", "没有提到", "未提及", "无法从资料", "资料中没有")


def _features(text: str) -> dict[str, float]:
    clean = re.sub(r"\s+", "", _MARKER.sub("", text)).lower()
    feats: dict[str, float] = {clean[i : i + 2]: 1.0 for i in range(len(clean) - 1)}
    for term in _TERM.findall(text.lower()):
        feats["#" + term] = 3.0
    return feats


def support(sentence: str, source_text: str, question: str = "") -> float:
    """Weighted share of the sentence's bigrams and terms that also occur in the source (0..1).

    What the sentence repeats from the question does not count: "2021年香港GDP增长了2%" is
    supported by a passage holding "2%" and not by any passage about Hong Kong's GDP.
    """
    asked = _features(question)
    sent = {f: w for f, w in _features(sentence).items() if f not in asked}
    src = _features(source_text)
    total = sum(sent.values())
    if total == 0:
        return 0.0
    return sum(w for f, w in sent.items() if f in src) / total


def numbers_in(text: str) -> set[str]:
    """The numbers `text` states ("1,200" reads as 1200)."""
    return set(_NUMBER.findall(re.sub(r"(?<=\d),(?=\d{3})", "", text)))


def _numbers(text: str) -> set[str]:
    return numbers_in(_MARKER.sub("", text))


def split_sentences(text: str) -> list[str]:
    """The answer's sentences, without the model's markers (a stray "[编号]" is no sentence)."""
    return [clean for s in _SENTENCE_END.split(text) if len(clean := _MARKER.sub("", s).strip()) > 1]


def is_refusal(answer: str) -> bool:
    return any(p in answer for p in REFUSAL_PATTERNS) and len(answer) < 80


def _check(sentence: str, sources: Sequence[ScoredChunk], question: str) -> SentenceSupport:
    content = "".join(_CONTENT.findall(sentence))
    if _META.match(content) or not set(_features(sentence)) - set(_features(question)):
        return SentenceSupport(sentence)  # about the sources, or only repeats the question
    stated = _numbers(sentence) - _numbers(question)
    scored = []
    for index, hit in enumerate(sources):
        score = support(sentence, hit.chunk.text, question)
        if score >= SUPPORT_THRESHOLD and stated <= _numbers(hit.chunk.text):
            scored.append((score, index))
    best = sorted(scored, reverse=True)[:MAX_CITED_PER_SENTENCE]
    cited = tuple(sorted(i for _, i in best))
    # A short answer ("21级") is cited where a passage holds it; unsupported, it is too short to flag.
    return SentenceSupport(sentence, cited, supported=bool(best) or len(content) < MIN_CONTENT_CHARS)


def verify_answer(
    answer: str, sources: Sequence[ScoredChunk], question: str = ""
) -> tuple[tuple[Citation, ...], tuple[SentenceSupport, ...]]:
    """The citations an answer earns and each sentence's support.

    Args:
        answer: The generated text.
        sources: The numbered passages the model was given, in prompt order.
        question: Numbers the question already states need no source.

    Returns:
        (citations in source order, sentences whose `cited` are 1-based numbers into those citations).
        No citations at all means no sentence is supported: the caller refuses.
    """
    checked = [_check(s, sources, question) for s in split_sentences(answer)]
    used = sorted({i for s in checked for i in s.cited})
    number = {source: n for n, source in enumerate(used, start=1)}
    sentences = tuple(
        SentenceSupport(s.text, tuple(number[i] for i in s.cited), s.supported) for s in checked
    )
    return tuple(Citation.from_scored(sources[i]) for i in used), sentences


_TRAILING = re.compile(r"([。！？!?；;]?\s*)\Z")


def annotate(answer: str, sentences: Sequence[SentenceSupport]) -> str:
    """The answer with the model's own [n] markers replaced by the verified citation numbers, placed at
    the end of each sentence before its punctuation ("……12人[1]。")."""
    pending = iter(sentences)
    out = []
    for piece in _SENTENCE_END.split(answer):
        text = _MARKER.sub("", piece)
        if len(text.strip()) <= 1:
            out.append(text)
            continue
        sentence = next(pending, None)
        if sentence is not None and sentence.cited:
            marks = "".join(f"[{n}]" for n in sentence.cited)
            end = _TRAILING.search(text)
            cut = end.start() if end is not None else len(text)
            text = text[:cut] + marks + text[cut:]
        out.append(text)
    return "".join(out)
