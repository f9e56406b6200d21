"""One `kb eval answers` run end to end: run the datasets, summarise per dataset and system ("ours" =
the full pipeline, "baseline" = the plain prompt), and print one table comparing them metric by metric.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kb_app.answer_eval import contains_any, load_cmrc, load_dureader, load_rgb, rgb_correct
from kb_app.answer_eval_run import run_cmrc, run_dureader, run_rgb

Records = Sequence[dict[str, Any]]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def share(records: Records, test: Callable[[dict[str, Any]], Any]) -> float | None:
    return sum(1 for r in records if test(r)) / len(records) if records else None


def mean(records: Records, key: str) -> float | None:
    return sum(r[key] for r in records) / len(records) if records else None


def latency(records: Records) -> dict[str, Any]:
    first = [r["first_token_s"] for r in records if r.get("first_token_s") is not None]
    total = [r["total_s"] for r in records if r.get("total_s") is not None]
    generated = [r["answer_tokens"] for r in records if r.get("answer_tokens")]
    return {
        "ttft_p50_s": percentile(first, 50),
        "ttft_p90_s": percentile(first, 90),
        "total_p50_s": percentile(total, 50),
        "total_p90_s": percentile(total, 90),
        "refused_without_model": share(records, lambda r: r.get("no_model")),
        # the model answered, but no sentence was supported by a passage, so the pipeline refused
        "refused_unsupported": share(records, lambda r: r.get("reason") == "unsupported"),
        # ... or the passages that supported it were not about the question (kb_app.question_match)
        "refused_off_question": share(records, lambda r: r.get("reason") == "off_question"),
        "answer_tokens_p50": percentile(generated, 50),
        "errors": sum(1 for r in records if r.get("error")),
    }


def _off_question(record: dict[str, Any]) -> bool:
    return record.get("reason") == "off_question" and bool(record.get("generated"))


def quality(dataset: str, records: Records) -> dict[str, Any]:
    refused = share(records, lambda r: r["refused"])
    if dataset == "cmrc":
        contained = [r for r in records if r["contained"]]
        short = [r for r in records if r["short_gold"]]
        checked = sum(r["citations_checked"] for r in contained)
        return {
            "f1": mean(records, "f1"),
            "f1_best_sentence": mean(records, "f1_best_sentence"),
            "contained": share(records, lambda r: r["contained"]),
            "contained_gold<=10ch": share(short, lambda r: r["contained"]),
            "refused": refused,
            "gold_article_cited": share(contained, lambda r: r["gold_cited"]),
            "citation_precision": sum(r["citations_with_gold"] for r in contained) / checked
            if checked
            else None,
            # what the question-match check cost: refused answers whose text held a gold answer
            "off_question_lost": share(
                records, lambda r: _off_question(r) and contains_any(r["generated"], r["gold"])
            ),
        }
    if dataset == "rgb_neg":
        return {"negative_rejection": refused}
    if dataset == "rgb_mix":
        return {
            "accuracy_mix": share(records, lambda r: r["correct"]),
            "accuracy_mix_any": share(records, lambda r: r["correct_any"]),
            "refused": refused,
            "off_question_lost": share(
                records, lambda r: _off_question(r) and rgb_correct(r["generated"], r["gold"])
            ),
        }
    if dataset == "rgb_int":
        return {"accuracy_int": share(records, lambda r: r["correct"]), "refused": refused}
    return {"rouge_l": mean(records, "rouge_l"), "refused": refused}


def summarise(records: Records) -> dict[str, dict[str, dict[str, Any]]]:
    """{dataset: {system: {metric: value}}}, datasets and systems in the order they were run."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for key in dict.fromkeys((r["dataset"], r["system"]) for r in records):
        group = [r for r in records if (r["dataset"], r["system"]) == key]
        summary.setdefault(key[0], {})[key[1]] = {"n": len(group), **quality(key[0], group), **latency(group)}
    return summary


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def format_table(result: dict[str, Any]) -> str:
    header = result["header"]
    systems = list(dict.fromkeys(s for by_system in result["summary"].values() for s in by_system))
    lines = [
        f"kb eval answers — backend {header['backend']}, generator {header['generator']} ({header['date']})",
        f"{'dataset':<10}{'metric':<24}" + "".join(f"{s:>12}" for s in systems),
    ]
    for dataset, by_system in result["summary"].items():
        metrics = list(dict.fromkeys(m for values in by_system.values() for m in values))
        for i, metric in enumerate(metrics):
            cells = "".join(f"{_cell(by_system.get(s, {}).get(metric)):>12}" for s in systems)
            lines.append(f"{dataset if i == 0 else '':<10}{metric:<24}{cells}")
    lines.append(
        "f1: character F1 of the whole answer; f1_best_sentence: of its best sentence; rouge_l: character "
        "ROUGE-L F (beta 1.2); accuracy_mix: every answer part present (RGB rule), _any: one of them"
    )
    return "\n".join(lines)


def run_answer_eval(
    container: Any,
    data_dir: Path,
    cmrc: int = 40,
    rgb: int = 20,
    rgb_int: int = 10,
    dureader: int = 10,
    seed: int | None = None,
    baseline: bool = False,
    kb_name: str = "eval-corpus",
) -> dict[str, Any]:
    """Run the datasets (a count of 0 skips one) and return {header, summary, items, table}."""
    retrieval, answers = data_dir / "retrieval", data_dir / "answers"
    records: list[dict[str, Any]] = []
    if cmrc:
        items = load_cmrc(retrieval / "dev_questions.jsonl", cmrc, seed)
        records += run_cmrc(container, items, retrieval / "corpus.jsonl", kb_name, baseline, seed or 0)
    if rgb:
        records += run_rgb(
            container, load_rgb(answers / "rgb" / "zh_refine.json", rgb, seed), False, baseline
        )
    if rgb_int:
        items = load_rgb(answers / "rgb" / "zh_int.json", rgb_int, seed)
        records += run_rgb(container, items, True, baseline)
    if dureader:
        records += run_dureader(
            container, load_dureader(answers / "dureader2_demo" / "search.dev.json", dureader, seed)
        )
    settings = container.settings.llm
    header = {
        "backend": settings.backend,
        "generator": getattr(container.generator, "name", settings.model_name),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "data_dir": str(data_dir),
        "seed": seed,
        "baseline": baseline,
    }
    result: dict[str, Any] = {"header": header, "summary": summarise(records), "items": records}
    result["table"] = format_table(result)
    return result
