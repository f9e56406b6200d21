"""CPU int8 (KB_LLM__QUANTIZATION=int8-cpu) against float32 for the transformers backend: speed and how
closely the int8 model follows the float32 one. Baseline in the same run: the float32 model itself.

No GLM weights exist offline, so two models are measured:
  --random      a ~55M-parameter GLM-4 (Glm4ForCausalLM) with random weights: the real code path, but its
                near-flat logits make agreement numbers pessimistic;
  --gguf PATH   a real model read by transformers from a GGUF file (dequantized to float32), e.g. the
                bundled Qwen2.5-1.5B-Instruct: real weights, real Chinese text (needs `pip install gguf`).

    .venv/bin/python bench/bench_cpu_int8.py --random
    .venv/bin/python bench/bench_cpu_int8.py \
        --gguf ~/.cache/kb-app/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from kb_app.llms.quantization import quantize_int8_cpu

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "retrieval" / "dev_questions.jsonl"


def random_glm4() -> tuple[Any, Any]:
    from transformers import Glm4Config, Glm4ForCausalLM

    torch.manual_seed(0)
    config = Glm4Config(
        vocab_size=32000,
        hidden_size=512,
        intermediate_size=1536,
        num_hidden_layers=8,
        num_attention_heads=8,
        num_key_value_heads=2,
        head_dim=64,
        pad_token_id=0,
    )
    return Glm4ForCausalLM(config).eval(), None


def gguf_model(path: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    return model.eval(), tokenizer


def sample_ids(tokenizer: Any, vocab_size: int, length: int) -> torch.Tensor:
    """Real Chinese text (retrieval dev passages) when a tokenizer exists, else random token ids."""
    if tokenizer is None:
        return torch.randint(1, vocab_size, (1, length), generator=torch.Generator().manual_seed(1))
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()[:8]]
    text = "\n".join(row["passage"] for row in rows)
    return torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"][:length]])


def megabytes(model: Any) -> float:
    """Weight storage: float tensors plus the packed int8 weights of dynamic quantized Linear layers."""
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
            bias = module.bias()
            size += module.weight().numel() + (bias.numel() * 4 if bias is not None else 0)  # int8 weights
    return size / 2**20


@torch.inference_mode()
def speed(model: Any, ids: torch.Tensor, new_tokens: int) -> tuple[float, float]:
    """(prompt tokens/s, decode tokens/s) for greedy generation that cannot stop early."""
    started = time.perf_counter()
    model(ids)
    prefill = ids.shape[1] / (time.perf_counter() - started)
    started = time.perf_counter()
    out = model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    elapsed = time.perf_counter() - started - ids.shape[1] / prefill
    return prefill, (out.shape[1] - ids.shape[1] - 1) / elapsed


@torch.inference_mode()
def log_probs(model: Any, ids: torch.Tensor) -> torch.Tensor:
    """Next-token log-probabilities at every position of `ids` (teacher forcing)."""
    return model(ids).logits[0].float().log_softmax(-1)


def agreement(expected: torch.Tensor, got: torch.Tensor) -> tuple[float, float]:
    """(top-1 agreement, mean KL(float32 || int8) in nats per position)."""
    top1 = float((expected.argmax(-1) == got.argmax(-1)).float().mean())
    kl = float((expected.exp() * (expected - got)).sum(-1).mean())
    return top1, kl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--random", action="store_true")
    group.add_argument("--gguf", type=Path)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()
    started = time.perf_counter()
    model, tokenizer = random_glm4() if args.random else gguf_model(args.gguf.expanduser())
    name = "random GLM-4" if args.random else args.gguf.name
    print(f"{name}: {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters, "
          f"loaded in {time.perf_counter() - started:.0f} s, {torch.get_num_threads()} threads")  # fmt: skip
    ids = sample_ids(tokenizer, model.config.vocab_size, args.prompt_tokens)
    reference = log_probs(model, ids)
    rows = [("float32", megabytes(model), *speed(model, ids, args.new_tokens), 1.0, 0.0)]
    quantize_int8_cpu(model)  # in place: a 1.5B model does not fit twice in float32 on a small machine
    top1, kl = agreement(reference, log_probs(model, ids))
    rows.append(("int8-cpu", megabytes(model), *speed(model, ids, args.new_tokens), top1, kl))
    header = ("weights MiB", "prompt tok/s", "decode tok/s", "top-1 agree", "KL nats")
    print(f"{'':<10}" + "".join(f"{title:>14}" for title in header))
    for label, size, prefill, decode, agree, divergence in rows:
        print(f"{label:<10}{size:>14.0f}{prefill:>14.1f}{decode:>14.2f}{agree:>14.3f}{divergence:>14.4f}")
    print(f"over {ids.shape[1]} prompt positions; decode = {args.new_tokens} greedy tokens after the prompt")


if __name__ == "__main__":
    main()
