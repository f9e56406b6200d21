"""Weight quantization for the transformers backend: bitsandbytes on CUDA, dynamic int8 on CPU."""

from __future__ import annotations

import importlib.util
import logging
import warnings
from typing import Any

from kb_app.errors import KBError

logger = logging.getLogger(__name__)

QUANTIZATIONS = ("none", "int8-cpu", "int8", "int4")
_CUDA_ONLY = ("int8", "int4")
_KEEP_FLOAT = ("down_proj",)  # MLP output projections: see quantize_int8_cpu


def check_quantization(name: str) -> str:
    """Return `name` if it is a known quantization.

    Raises:
        KBError: naming the setting and the accepted values.
    """
    if name not in QUANTIZATIONS:
        raise KBError(f"Unknown KB_LLM__QUANTIZATION {name!r}; use one of {', '.join(QUANTIZATIONS)}.")
    return name


def pick_device(requested: str, quantization: str, cuda_available: bool) -> str:
    """The torch device to load on: int8-cpu always runs on the CPU, "auto" prefers CUDA."""
    if quantization == "int8-cpu":
        if requested.startswith("cuda"):
            logger.warning("KB_LLM__QUANTIZATION=int8-cpu runs on the CPU; ignoring device %s", requested)
        return "cpu"
    if requested != "auto":
        return requested
    return "cuda" if cuda_available else "cpu"


def load_kwargs(quantization: str, device: str, torch: Any) -> dict[str, Any]:
    """Keyword arguments for `from_pretrained` that realise `quantization` on `device`.

    Raises:
        KBError: bitsandbytes quantization without CUDA or without the bitsandbytes package.
    """
    if quantization not in _CUDA_ONLY:
        # float32 on CPU: half-precision matmuls there are slow or unsupported (int8-cpu quantizes later).
        return {"dtype": "auto" if device.startswith("cuda") else torch.float32}
    if not torch.cuda.is_available():
        raise KBError(
            f"KB_LLM__QUANTIZATION={quantization} uses bitsandbytes and needs a CUDA GPU, and none is "
            "available. On CPU use KB_LLM__QUANTIZATION=int8-cpu (torch dynamic int8), or better a quantized "
            "GGUF file with KB_LLM__BACKEND=llama-cpp."
        )
    missing = [name for name in ("bitsandbytes", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise KBError(
            f"KB_LLM__QUANTIZATION={quantization} needs {' and '.join(missing)}: pip install "
            f"{' '.join(missing)} (bitsandbytes has CUDA builds only), or set KB_LLM__QUANTIZATION=none."
        )
    from transformers import BitsAndBytesConfig

    if quantization == "int8":
        config = BitsAndBytesConfig(load_in_8bit=True)
    else:
        config = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float16
        )
    return {"quantization_config": config, "device_map": "auto"}


def quantize_int8_cpu(model: Any) -> Any:
    """Replace most of the model's Linear layers by dynamic int8 ones, in place.

    Weights become int8 with one scale per output channel; activations are quantized on the fly with one
    scale per tensor. Two kinds of layers stay float32 because one activation scale cannot cover their
    inputs: the output head (next-token ranking is most sensitive there; bitsandbytes keeps it too) and
    the MLP output projections (`down_proj` in GLM, Qwen and Llama), whose inputs carry the few huge
    "outlier" activations of trained LLMs. On Qwen2.5-1.5B (bench/bench_cpu_int8.py) quantizing every
    layer per tensor kept only 31% of float32's top-1 next-token choices (KL 1.45 nats); this recipe
    keeps 87% (KL 0.10).
    """
    import torch

    head = model.get_output_embeddings()
    spec = {
        name: torch.ao.quantization.per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module is not head and not name.endswith(_KEEP_FLOAT)
    }
    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao but is still the only int8 path that
        # needs no extra package in torch 2.13.
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)
    logger.info("Quantized %d Linear layers to dynamic int8", len(spec))
    return model
