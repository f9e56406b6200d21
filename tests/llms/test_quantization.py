"""Quantization choices of the transformers backend: device choice, bitsandbytes preflight, CPU int8."""

from __future__ import annotations

import copy
import importlib.util
from typing import Any

import pytest

from kb_app.errors import KBError
from kb_app.llms.quantization import (
    QUANTIZATIONS,
    check_quantization,
    load_kwargs,
    pick_device,
    quantize_int8_cpu,
)


def test_known_quantizations_pass_and_others_list_them() -> None:
    for name in QUANTIZATIONS:
        assert check_quantization(name) == name
    with pytest.raises(KBError, match="none, int8-cpu, int8, int4"):
        check_quantization("fp8")


@pytest.mark.parametrize(
    ("requested", "quantization", "cuda", "expected"),
    [
        ("auto", "none", True, "cuda"),
        ("auto", "none", False, "cpu"),
        ("cuda:1", "none", True, "cuda:1"),
        ("auto", "int8-cpu", True, "cpu"),  # int8-cpu means CPU even where a GPU exists
        ("cuda", "int8-cpu", True, "cpu"),
    ],
)
def test_pick_device(requested: str, quantization: str, cuda: bool, expected: str) -> None:
    assert pick_device(requested, quantization, cuda) == expected


def test_cpu_loads_in_float32() -> None:
    import torch

    assert load_kwargs("none", "cpu", torch) == {"dtype": torch.float32}
    assert load_kwargs("int8-cpu", "cpu", torch) == {"dtype": torch.float32}
    assert load_kwargs("none", "cuda", torch) == {"dtype": "auto"}


@pytest.mark.parametrize(
    ("missing", "command"),
    [
        ({"bitsandbytes"}, "pip install bitsandbytes "),
        ({"bitsandbytes", "accelerate"}, "pip install bitsandbytes accelerate"),
    ],
)
def test_cuda_without_packages_says_what_to_install(
    missing: set[str], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> object:
        if name in ("bitsandbytes", "accelerate"):
            return None if name in missing else object()
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(KBError, match=command) as caught:
        load_kwargs("int4", "cuda", torch)
    assert "KB_LLM__QUANTIZATION=none" in str(caught.value)


def test_int8_cpu_keeps_logits_close_to_float32() -> None:
    import torch
    from transformers import Glm4Config, Glm4ForCausalLM

    torch.manual_seed(0)
    config = Glm4Config(
        vocab_size=500,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        pad_token_id=0,
    )
    reference = Glm4ForCausalLM(config).eval()
    quantized = quantize_int8_cpu(copy.deepcopy(reference))
    still_float = {name for name, m in quantized.named_modules() if isinstance(m, torch.nn.Linear)}
    assert still_float == {"lm_head", "model.layers.0.mlp.down_proj", "model.layers.1.mlp.down_proj"}
    assert isinstance(quantized.model.layers[0].self_attn.q_proj, torch.ao.nn.quantized.dynamic.Linear)
    assert isinstance(quantized.model.layers[1].mlp.gate_up_proj, torch.ao.nn.quantized.dynamic.Linear)
    ids = torch.randint(1, 500, (1, 64), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected, got = reference(ids).logits[0], quantized(ids).logits[0]
    relative_error = float((expected - got).norm() / expected.norm())
    assert 0 < relative_error < 0.25, relative_error
    kl = torch.nn.functional.kl_div(
        got.log_softmax(-1), expected.log_softmax(-1), log_target=True, reduction="batchmean"
    )
    assert float(kl) < 0.01
