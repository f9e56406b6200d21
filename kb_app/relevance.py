"""Relevance: the one 0..1 score users see, rank by, and the "not found" threshold compares against.

It is an estimated probability that a chunk answers the query, from six 0..1 signals:

- `dense`: the embedder's cosine mapped through its calibration (models differ in their cosine band);
- `keyword`: BM25 normalised by the best score the query could reach (`KeywordIndex.search`);
- `coverage`: the idf-weighted share of the query's words present in the chunk — the rare words
  (names, terms) weigh most, so a chunk about a different 公司 or 型号 scores low even when the rest
  of the question matches;
- `phrase`: the share of the query's character bigrams found in the chunk's best two-sentence window,
  i.e. how closely one place in the chunk mirrors the question;
- `doc_coverage`, `doc_phrase`: the best `coverage` and `phrase` among the candidates from the same
  file, so the third chunk of an article about 罗保铭 still counts as being about him when only the
  first chunk names him.

A logistic model combines them. `DEFAULT_MODEL` was fitted on half of the CMRC/DRCD dev questions and
checked on the other half (bench/fit_relevance.py, docs/benchmarks.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


@dataclass(frozen=True)
class Signals:
    """The six 0..1 inputs of one (query, chunk) pair."""

    dense: float
    keyword: float
    coverage: float
    phrase: float
    doc_coverage: float = 0.0
    doc_phrase: float = 0.0


@dataclass(frozen=True)
class RelevanceModel:
    """Logistic weights over `Signals`; calling it gives a probability (0..1, 4 decimals)."""

    dense: float
    keyword: float
    coverage: float
    phrase: float
    doc_coverage: float
    doc_phrase: float
    bias: float

    def __call__(self, s: Signals) -> float:
        z = (
            self.dense * s.dense
            + self.keyword * s.keyword
            + self.coverage * s.coverage
            + self.phrase * s.phrase
            + self.doc_coverage * s.doc_coverage
            + self.doc_phrase * s.doc_phrase
            + self.bias
        )
        return round(1.0 / (1.0 + math.exp(-z)), 4)


# Fitted by bench/fit_relevance.py on the even-numbered dev questions; on the odd (held-out) ones it
# ranks hit@1 0.934, hit@5 0.985, MRR@10 0.956 vs 0.897 / 0.974 / 0.932 for a fixed 0.4 dense + 0.6
# BM25 blend (docs/benchmarks.md).
DEFAULT_MODEL = RelevanceModel(
    dense=7.05, keyword=0.9, coverage=1.51, phrase=4.68, doc_coverage=2.84, doc_phrase=1.69, bias=-11.1
)

SIGNALS = ("dense", "keyword", "coverage", "phrase", "doc_coverage", "doc_phrase")


def with_document_signals(signals: dict[int, Signals], sources: dict[int, str]) -> dict[int, Signals]:
    """Fill `doc_coverage`/`doc_phrase`: the best chunk-level values among candidates of the same file."""
    best: dict[str, tuple[float, float]] = {}
    for i, s in signals.items():
        cov, phr = best.get(sources[i], (0.0, 0.0))
        best[sources[i]] = (max(cov, s.coverage), max(phr, s.phrase))
    return {
        i: replace(s, doc_coverage=best[sources[i]][0], doc_phrase=best[sources[i]][1])
        for i, s in signals.items()
    }


@dataclass(frozen=True)
class QueryProfile:
    """What the lexical signals need from a query, computed once per search. `fold` normalises text the
    way the keyword index does (NFKC, lower case, no whitespace, optionally traditional to simplified)."""

    terms: tuple[tuple[str, float], ...]  # (word, idf weight)
    bigrams: frozenset[str]
    fold: Callable[[str], str]

    @classmethod
    def build(
        cls, query: str, terms: Sequence[tuple[str, float]], fold: Callable[[str], str]
    ) -> QueryProfile:
        text = fold(query)
        pairs = (text[i : i + 2] for i in range(len(text) - 1))
        return cls(tuple(terms), frozenset(p for p in pairs if p.isalnum()), fold)

    def coverage(self, chunk_text: str) -> float:
        """Idf-weighted share of the query's words that occur in the chunk."""
        total = sum(w for _, w in self.terms)
        if not total:
            return 0.0
        text = self.fold(chunk_text)
        return sum(w for t, w in self.terms if t in text) / total

    def phrase(self, chunk_text: str) -> float:
        """Share of the query's bigrams in the chunk's best window of two adjacent sentences."""
        if not self.bigrams:
            return 0.0
        sentences = [self.fold(s) for s in _SENTENCE_END.split(chunk_text) if s.strip()]
        windows = [a + b for a, b in zip(sentences, [*sentences[1:], ""], strict=True)] or [""]
        best = max(sum(b in window for b in self.bigrams) for window in windows)
        return best / len(self.bigrams)
