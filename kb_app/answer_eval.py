"""Answer-quality metrics and loaders of the answer evaluation sets (`kb eval answers`). Pure Python.

Metrics compare characters, not words: Chinese has no spaces, and the SQuAD-style word F1 becomes a
character F1 (as in the CMRC 2018 scorer). Layouts of the data sets are described in shared/eval/README.md.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kb_app.citations import MARKER_PATTERN

_WS = re.compile(r"\s+")
# Citation markers the pipeline or the model put into answers ("12人[1]。"): not part of what is said.
_MARKER = re.compile(MARKER_PATTERN)
_SENTENCE_END = re.compile(r"[。！？；\n]")
# DuReader/coco-caption ROUGE-L weighs recall 1.2 times as much as precision.
ROUGE_BETA = 1.2


def default_data_dir() -> Path:
    """shared/eval beside the repository (where every development and CI machine has it)."""
    return Path(__file__).resolve().parents[2] / "shared" / "eval"


def squash(text: str) -> str:
    """Whitespace and citation markers removed, lowercased: how gold strings are looked up in answers
    and chunks."""
    return _WS.sub("", _MARKER.sub("", text)).lower()


def normalize(text: str) -> str:
    """Lowercased, without whitespace and punctuation (Chinese and ASCII): what F1 and ROUGE-L compare."""
    return "".join(ch for ch in squash(text) if not unicodedata.category(ch).startswith("P"))


def char_f1(prediction: str, gold: str) -> float:
    """F1 over the character multisets of the normalised texts (0 when either is empty)."""
    pred, ref = normalize(prediction), normalize(gold)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def max_f1(prediction: str, golds: Sequence[str]) -> float:
    return max((char_f1(prediction, g) for g in golds), default=0.0)


def answer_sentences(text: str) -> list[str]:
    """The answer split on 。！？； and newlines, empty pieces dropped."""
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]


def best_sentence_f1(prediction: str, golds: Sequence[str]) -> float:
    """Max F1 over the answer's sentences: a full-sentence answer to a short span is not punished twice."""
    return max((max_f1(s, golds) for s in answer_sentences(prediction) or [prediction]), default=0.0)


def contains_any(text: str, golds: Iterable[str]) -> bool:
    """Whether one of `golds` occurs in `text`, both squashed (whitespace removed, lowercased)."""
    haystack = squash(text)
    return any(g and g in haystack for g in (squash(gold) for gold in golds))


def _lcs_length(a: str, b: str) -> int:
    previous = [0] * (len(b) + 1)
    for ch in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if ch == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, references: Sequence[str], beta: float = ROUGE_BETA) -> float:
    """Character ROUGE-L F as the coco-caption scorer DuReader uses computes it: the best precision and
    the best recall over the references, combined with recall weighted by `beta`."""
    pred = normalize(prediction)
    refs = [r for r in (normalize(ref) for ref in references) if r]
    if not pred or not refs:
        return 0.0
    lcs = [_lcs_length(pred, ref) for ref in refs]
    precision = max(n / len(pred) for n in lcs)
    recall = max(n / len(ref) for n, ref in zip(lcs, refs, strict=True))
    if not precision or not recall:
        return 0.0
    return (1 + beta**2) * precision * recall / (recall + beta**2 * precision)


def flatten(nested: Any) -> list[str]:
    """Strings of an arbitrarily nested list, in order."""
    if isinstance(nested, str):
        return [nested]
    return [s for item in nested for s in flatten(item)]


def rgb_parts_found(text: str, answer: Sequence[Any]) -> list[bool]:
    """RGB's own rule: each part of `answer` is a string, or a list of alternatives of which one is
    enough; a part is found when it occurs in the (squashed, lowercased) text."""
    return [contains_any(text, flatten(part)) for part in answer]


def rgb_correct(text: str, answer: Sequence[Any]) -> bool:
    """Every part present (RGB's `checkanswer`: no 0 and at least one 1)."""
    found = rgb_parts_found(text, answer)
    return bool(found) and all(found)


def judge_rgb(record: dict[str, Any], condition: str, answer: Sequence[Any]) -> dict[str, Any]:
    """neg: correct when refused. mix/int: correct when not refused and every answer part is present
    (RGB's rule); `correct_any` relaxes that to any one acceptable string."""
    answered = not record["refused"] and not record.get("error")
    if condition == "neg":
        record["correct"] = bool(record["refused"])
    else:
        record["correct"] = answered and rgb_correct(record["text"], answer)
        record["correct_any"] = answered and contains_any(record["text"], flatten(answer))
    return record


def interleave(groups: Sequence[Any]) -> list[str]:
    """zh_int positives come as one list per answer part: take one of each in turn, so a few passages
    still cover every part. Plain strings count as a group of one."""
    lists = [flatten(g) for g in groups]
    out: list[str] = []
    for i in range(max((len(g) for g in lists), default=0)):
        out += [g[i] for g in lists if i < len(g)]
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON lines (RGB's and DuReader's .json files are JSON lines too)."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def pick(rows: Sequence[dict[str, Any]], n: int, seed: int | None = None) -> list[dict[str, Any]]:
    """The first `n` rows, or with `seed` a reproducible random sample of `n` (in file order)."""
    if seed is None or n >= len(rows):
        return list(rows[:n])
    chosen = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in chosen]


def load_cmrc(questions: Path, n: int, seed: int | None = None) -> list[dict[str, Any]]:
    """CMRC/DRCD dev questions: qid, question, answers, doc_id, passage."""
    return pick(read_jsonl(questions), n, seed)


def load_rgb(path: Path, n: int, seed: int | None = None) -> list[dict[str, Any]]:
    """RGB items (id, query, answer, positive, negative) that have passages and an answer."""
    rows = [r for r in read_jsonl(path) if r.get("answer") and r.get("positive") and r.get("negative")]
    return pick(rows, n, seed)


def load_dureader(path: Path, n: int, seed: int | None = None) -> list[dict[str, Any]]:
    """DuReader questions with at least one human answer and one document."""
    rows = [
        r for r in read_jsonl(path) if any(a.strip() for a in r.get("answers", [])) and r.get("documents")
    ]
    return pick(rows, n, seed)


def dureader_passages(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, paragraph) per document: the paragraph most related to the question, else the first."""
    out = []
    for doc in item["documents"]:
        paragraphs = doc.get("paragraphs") or []
        index = doc.get("most_related_para", 0)
        text = paragraphs[index] if 0 <= index < len(paragraphs) else (paragraphs[0] if paragraphs else "")
        if text.strip():
            out.append((doc.get("title", "").strip(), text.strip()))
    return out
