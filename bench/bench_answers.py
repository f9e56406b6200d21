"""Answer quality of the full pipeline against the plain-prompt baseline, same model, same run, one table
(`kb eval answers --baseline`): CMRC/DRCD character F1, containment and citations; RGB negative
rejection, noise robustness and integration; DuReader ROUGE-L; latency per dataset.

    KB_HOME=/tmp/kb-eval .venv/bin/python bench/bench_answers.py [--cmrc 40] [--rgb 20] [--rgb-int 10]
        [--dureader 10] [--seed S] [--json out.json]
        [--llm-backend openai --llm-base-url http://127.0.0.1:8011/v1 --llm-model NAME]

The CMRC questions reuse the `eval-corpus` KB of bench/bench_retrieval.py (built here when missing).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kb_app.answer_eval import default_data_dir
from kb_app.answer_eval_report import run_answer_eval
from kb_app.cli_eval_answers import make_container


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--cmrc", type=int, default=40)
    parser.add_argument("--rgb", type=int, default=20)
    parser.add_argument("--rgb-int", type=int, default=10)
    parser.add_argument("--dureader", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kb", default="eval-corpus")
    parser.add_argument("--json", type=Path, default=None, help="write per-item results and summary here")
    parser.add_argument("--llm-backend", default=None, help="llamacpp | transformers | openai")
    parser.add_argument("--llm-base-url", default=None)
    parser.add_argument("--llm-model", default=None)
    args = parser.parse_args()
    result = run_answer_eval(
        make_container(args.llm_backend, args.llm_base_url, args.llm_model),
        args.data_dir,
        cmrc=args.cmrc,
        rgb=args.rgb,
        rgb_int=args.rgb_int,
        dureader=args.dureader,
        seed=args.seed,
        baseline=True,
        kb_name=args.kb,
    )
    if args.json:
        data = {key: value for key, value in result.items() if key != "table"}
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    print(result["table"])


if __name__ == "__main__":
    main()
