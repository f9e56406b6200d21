"""`kb eval answers`: answer quality through the full pipeline, optionally against a plain-prompt baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kb_app.errors import KBError

# Spellings people type for the llama.cpp backend, mapped to its registry name.
_BACKEND_ALIASES = {"llamacpp": "llama-cpp", "llama_cpp": "llama-cpp"}


def make_container(backend: str | None, base_url: str | None, model: str | None) -> Any:
    """A Container with the configured settings, the LLM overridden where asked.

    `model` is the model name sent to an OpenAI-compatible server, else a GGUF file or model folder.
    Scratch KBs hold a few small text files, so parsing stays in this process (no worker start-up).
    """
    from kb_app.container import Container
    from kb_app.settings import Settings

    settings = Settings()
    update: dict[str, Any] = {}
    if backend:
        update["backend"] = _BACKEND_ALIASES.get(backend, backend)
    if base_url:
        update["base_url"] = base_url
    if model:
        openai = update.get("backend", settings.llm.backend) == "openai"
        update["model_name" if openai else "model_path"] = model if openai else Path(model)
    llm = settings.llm.model_copy(update=update)
    return Container(settings.model_copy(update={"llm": llm, "ingest_workers": 1}))


def eval_answers(
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with retrieval/ and answers/ (default: ../shared/eval).")
    ] = None,
    cmrc: Annotated[
        int, typer.Option(help="CMRC/DRCD dev questions over the eval-corpus KB (0: skip).")
    ] = 40,
    rgb: Annotated[int, typer.Option(help="RGB zh_refine items, each asked twice: neg and mix.")] = 20,
    rgb_int: Annotated[int, typer.Option(help="RGB zh_int items (every answer part needed).")] = 10,
    dureader: Annotated[int, typer.Option(help="DuReader 2.0 demo dev questions (ROUGE-L).")] = 10,
    seed: Annotated[
        int | None, typer.Option(help="Sample items at random with this seed (default: the first N).")
    ] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also ask the same model with a plain prompt (CMRC, RGB).")
    ] = False,
    kb: Annotated[str, typer.Option("--kb", help="KB of the CMRC corpus, built if missing.")] = "eval-corpus",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write every item's result and the summary here.")
    ] = None,
    llm_backend: Annotated[
        str | None, typer.Option(help="llamacpp | transformers | openai (default: the configured one).")
    ] = None,
    llm_base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8011/v1.")
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option(help="Model name for openai; GGUF file or model folder otherwise.")
    ] = None,
) -> None:
    """Measure answer quality end to end: CMRC character F1 and citations, RGB negative rejection and
    noise robustness, DuReader ROUGE-L, and latency, in one table (optionally vs a plain prompt).

    RGB and DuReader items each get a scratch KB (deleted afterwards). Takes ~15 min with the defaults on
    two CPU cores and the bundled GGUF; --baseline roughly doubles that.
    """
    from kb_app.answer_eval import default_data_dir
    from kb_app.answer_eval_report import run_answer_eval

    try:
        result = run_answer_eval(
            make_container(llm_backend, llm_base_url, llm_model),
            data_dir or default_data_dir(),
            cmrc=cmrc,
            rgb=rgb,
            rgb_int=rgb_int,
            dureader=dureader,
            seed=seed,
            baseline=baseline,
            kb_name=kb,
        )
    except (KBError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if json_path is not None:
        data = {key: value for key, value in result.items() if key != "table"}
        json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(result["table"])
