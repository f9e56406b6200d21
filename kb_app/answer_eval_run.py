"""Runs evaluation items through the full pipeline (`Container.qa(...).stream`) and scores them.

CMRC questions go to the eval-corpus KB that `kb eval retrieval` builds; each RGB and DuReader item gets
a scratch KB of its own passages, deleted afterwards. Every record holds the answer, the timings and its
scores, so `--json` output can be inspected item by item.
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from kb_app.answer_eval import (
    best_sentence_f1,
    contains_any,
    dureader_passages,
    flatten,
    interleave,
    judge_rgb,
    max_f1,
    read_jsonl,
    rouge_l,
    squash,
)
from kb_app.answer_eval_baseline import ask_plain, cmrc_passages
from kb_app.errors import KBError
from kb_app.prompting import estimate_tokens

Ask = Callable[[str, Sequence[str]], dict[str, Any]]


def ask_pipeline(qa: Any, question: str, count: Callable[[str], int]) -> dict[str, Any]:
    """Stream one answer. `generated` is what the model wrote (the final text may be a refusal that
    replaced it when no sentence was supported); `no_model` marks a refusal made before the model ran."""
    answer = stats = None
    pieces: list[str] = []
    for event in qa.stream(question):
        pieces.append(event.text)
        if event.answer is not None:
            answer, stats = event.answer, event.stats
    assert answer is not None and stats is not None
    generated = "".join(pieces).strip()
    return {
        "text": answer.text,
        "generated": generated,
        "refused": answer.refused,
        "reason": answer.reason,
        "no_model": answer.refused and stats.first_token_s is None,
        "citations": [{"source": c.source, "page": c.page, "text": c.text} for c in answer.citations],
        "first_token_s": stats.first_token_s,
        "total_s": stats.total_s,
        "answer_tokens": count(generated) if generated else 0,
        "prompt_tokens": None,
    }


def _guarded(ask: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A failed answer (a model server timing out, say) is recorded as an error, and the run goes on."""
    try:
        return ask()
    except KBError as exc:
        return {"text": "", "refused": False, "no_model": False, "citations": [], "error": str(exc)}


@contextmanager
def scratch_qa(container: Any, name: str, files: dict[str, str]) -> Iterator[Any]:
    """A QA service over a throw-away KB holding `files` ({name: text}); the KB is deleted on exit."""
    if container.catalog.find_kb(name) is not None:  # left over by an interrupted run
        container.delete_kb(name)
    try:
        with tempfile.TemporaryDirectory(prefix="kb-answer-eval-") as folder:
            for file_name, text in files.items():
                (Path(folder) / file_name).write_text(text, encoding="utf-8")
            container.ingest(name, [Path(folder)])
        yield container.qa(name)
    finally:
        if container.catalog.find_kb(name) is not None:
            container.delete_kb(name)


def _progress(items: Sequence[Any], desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="q", file=sys.stderr)


def _count(container: Any) -> Callable[[str], int]:
    return getattr(container.generator, "count_tokens", estimate_tokens)


def score_extractive(record: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """CMRC scores; a refusal scores 0 (an empty prediction, as in SQuAD)."""
    golds = [a for a in item["answers"] if a.strip()]
    text = "" if record["refused"] else record["text"]
    contained = bool(text) and contains_any(text, golds)
    citations = record["citations"] if contained else []
    record.update(
        f1=max_f1(text, golds) if text else 0.0,
        f1_best_sentence=best_sentence_f1(text, golds) if text else 0.0,
        contained=contained,
        short_gold=min((len(squash(g)) for g in golds), default=0) <= 10,
        gold_cited=any(c["source"] == f"{item['doc_id']}.txt" for c in citations) if contained else None,
        citations_checked=len(citations),
        citations_with_gold=sum(contains_any(c["text"], golds) for c in citations),
    )
    return record


def ensure_corpus_kb(container: Any, corpus: Path, kb_name: str) -> None:
    """Build the eval-corpus KB the way `kb eval retrieval` does, unless it already holds files."""
    from kb_app.evaluation import write_corpus

    row = container.catalog.find_kb(kb_name)
    if row is not None and row.id is not None and container.catalog.list_files(row.id):
        return
    source_dir = container.settings.home / ".eval-sources" / kb_name
    write_corpus(corpus, source_dir)
    container.ingest(kb_name, [source_dir])


def run_cmrc(
    container: Any, items: Sequence[dict[str, Any]], corpus: Path, kb_name: str, baseline: bool, seed: int
) -> list[dict[str, Any]]:
    ensure_corpus_kb(container, corpus, kb_name)
    qa, count = container.qa(kb_name), _count(container)
    max_tokens = container.settings.llm.max_new_tokens
    articles = {r["doc_id"]: r["text"] for r in read_jsonl(corpus)} if baseline else {}
    rng = random.Random(seed)
    out = []
    for item in _progress(items, "cmrc"):
        base = {
            "dataset": "cmrc",
            "id": item.get("qid"),
            "question": item["question"],
            "gold": item["answers"],
        }
        record = _guarded(partial(ask_pipeline, qa, item["question"], count))
        out.append(score_extractive({**base, "system": "ours", **record}, item))
        if baseline:
            passages = cmrc_passages(item, articles, rng)
            plain = _guarded(partial(ask_plain, container.generator, item["question"], passages, max_tokens))
            out.append(score_extractive({**base, "system": "baseline", **plain}, item))
    return out


def rgb_conditions(item: dict[str, Any], integration: bool) -> dict[str, list[str]]:
    """Passages per condition, shuffled reproducibly: neg (5 negatives), mix (3 positives + 2
    negatives) or, for zh_int, int (4 positives covering the parts in turn + 1 negative)."""
    positives, negatives = flatten(item["positive"]), flatten(item["negative"])
    if integration:
        conditions = {"int": interleave(item["positive"])[:4] + negatives[:1]}
    else:
        conditions = {"neg": negatives[:5], "mix": positives[:3] + negatives[:2]}
    for name, passages in conditions.items():
        random.Random(f"{item['id']}-{name}").shuffle(passages)
    return conditions


def run_rgb(
    container: Any, items: Sequence[dict[str, Any]], integration: bool, baseline: bool
) -> list[dict[str, Any]]:
    count, prefix = _count(container), "rgbint" if integration else "rgb"
    max_tokens = container.settings.llm.max_new_tokens
    out = []
    for item in _progress(items, prefix):
        for condition, passages in rgb_conditions(item, integration).items():
            base = {"dataset": f"rgb_{condition}", "id": item["id"], "question": item["query"]}
            base["gold"] = item["answer"]
            files = {f"p{k}.txt": p for k, p in enumerate(passages, 1)}
            with scratch_qa(container, f"{prefix}-{item['id']}-{condition}", files) as qa:
                record = _guarded(partial(ask_pipeline, qa, item["query"], count))
                out.append(judge_rgb({**base, "system": "ours", **record}, condition, item["answer"]))
            if baseline:
                plain = _guarded(partial(ask_plain, container.generator, item["query"], passages, max_tokens))
                out.append(judge_rgb({**base, "system": "baseline", **plain}, condition, item["answer"]))
    return out


def run_dureader(container: Any, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    count = _count(container)
    out = []
    for k, item in enumerate(_progress(items, "dureader")):
        passages = dureader_passages(item)
        files = {f"d{i}.txt": f"{title}\n\n{text}\n" for i, (title, text) in enumerate(passages, 1)}
        references = [a for a in item["answers"] if a.strip()]
        base = {"dataset": "dureader", "system": "ours", "id": item.get("question_id", k)}
        with scratch_qa(container, f"dureader-{base['id']}", files) as qa:
            record = {**base, "question": item["question"], "gold": references}
            record.update(_guarded(partial(ask_pipeline, qa, item["question"], count)))
        record["rouge_l"] = 0.0 if record["refused"] else rouge_l(record["text"], references)
        out.append(record)
    return out
