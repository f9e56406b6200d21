"""Generator on a local Hugging Face causal LM directory (GLM-4, GLM-Edge, ChatGLM3, Qwen, ...)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kb_app.errors import GeneratorError, KBError, ModelNotFound
from kb_app.llms.messages import check_messages

logger = logging.getLogger(__name__)

QUANTIZATIONS = ("none", "int8", "int4")
_JOIN_TIMEOUT_S = 30.0


class _StopOnEvent:
    """A transformers stopping criterion that ends generation once `event` is set (cancellation)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full(
            (input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device
        )


def read_model_config(model_dir: Path) -> dict[str, Any]:
    """Return config.json of a model directory.

    Raises:
        ModelNotFound: the directory or its config.json is missing.
    """
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        what = "directory not found" if not model_dir.is_dir() else "no config.json in it"
        raise ModelNotFound(
            f"Transformers model {model_dir}: {what}. Set KB_LLM__MODEL_PATH to a local Hugging Face model "
            "directory (with config.json, tokenizer and weights), or use KB_LLM__BACKEND=llama-cpp."
        )
    config: dict[str, Any] = json.loads(config_file.read_text(encoding="utf-8"))
    return config


class TransformersGenerator:
    """Chat generation with `AutoModelForCausalLM` and the tokenizer's own chat template.

    GLM-4 and GLM-Edge load natively (transformers 5.x); remote code is trusted only for models whose
    config.json asks for it through `auto_map` (old ChatGLM3). A temperature of 0 decodes greedily.
    """

    def __init__(
        self, model_path: Path, quantization: str = "none", temperature: float = 0.1, device: str = "auto"
    ) -> None:
        if quantization not in QUANTIZATIONS:
            raise KBError(
                f"Unknown KB_LLM__QUANTIZATION {quantization!r}; use one of {', '.join(QUANTIZATIONS)}."
            )
        self.model_path = Path(model_path)
        self.quantization = quantization
        self.temperature = temperature
        self.device = device
        self._loaded: tuple[Any, Any] | None = None
        self._load_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"transformers:{self.model_path.name}"

    def _components(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> tuple[Any, Any]:
        config = read_model_config(self.model_path)
        trust_remote_code = "auto_map" in config
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device if self.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        load_kwargs = self._load_kwargs(torch, device)
        tokenizer = AutoTokenizer.from_pretrained(
            self.model_path, local_files_only=True, trust_remote_code=trust_remote_code
        )
        if not getattr(tokenizer, "chat_template", None):
            raise KBError(
                f"The tokenizer in {self.model_path} has no chat template, so prompts cannot be formatted "
                "the way the model was trained. Use a chat/instruct model (e.g. glm-4-9b-chat-hf)."
            )
        logger.info("Loading %s on %s (quantization=%s)", self.model_path, device, self.quantization)
        model: Any = AutoModelForCausalLM.from_pretrained(
            self.model_path, local_files_only=True, trust_remote_code=trust_remote_code, **load_kwargs
        )
        if self.quantization == "none":
            model.to(device)
        model.eval()
        return model, tokenizer

    def _load_kwargs(self, torch: Any, device: str) -> dict[str, Any]:
        if self.quantization == "none":
            # float32 on CPU: half-precision matmuls there are slow or unsupported.
            return {"dtype": "auto" if device.startswith("cuda") else torch.float32}
        if not torch.cuda.is_available():
            raise KBError(
                f"KB_LLM__QUANTIZATION={self.quantization} needs a CUDA GPU (bitsandbytes). On CPU, use a "
                "quantized GGUF file with KB_LLM__BACKEND=llama-cpp instead."
            )
        try:
            from transformers import BitsAndBytesConfig
        except ImportError as exc:  # pragma: no cover - depends on the installed transformers
            raise KBError("Quantized loading needs bitsandbytes: pip install bitsandbytes") from exc
        if self.quantization == "int8":
            quant = BitsAndBytesConfig(load_in_8bit=True)
        else:
            quant = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float16
            )
        return {"quantization_config": quant, "device_map": "auto"}

    def _prepare(self, messages: list[dict[str, str]], max_tokens: int) -> tuple[Any, Any, dict[str, Any]]:
        checked = check_messages(messages)
        model, tokenizer = self._components()
        inputs = tokenizer.apply_chat_template(
            checked, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(model.device)
        options: dict[str, Any] = {"max_new_tokens": max_tokens, "do_sample": self.temperature > 0}
        if self.temperature > 0:
            options["temperature"] = self.temperature
        if tokenizer.pad_token_id is not None:
            options["pad_token_id"] = tokenizer.pad_token_id
        return model, tokenizer, {**inputs, **options}

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 512) -> str:
        """Return the assistant's reply to `messages`."""
        import torch

        model, tokenizer, kwargs = self._prepare(messages, max_tokens)
        prompt_length = kwargs["input_ids"].shape[1]
        try:
            with torch.inference_mode():
                output = model.generate(**kwargs)
        except RuntimeError as exc:  # e.g. torch.OutOfMemoryError
            raise GeneratorError(f"Generation with {self.model_path.name} failed: {exc}") from exc
        return str(tokenizer.decode(output[0, prompt_length:], skip_special_tokens=True))

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Generator[str, None, None]:
        """Yield the reply in pieces; closing the iterator stops generation within one token."""
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        model, tokenizer, kwargs = self._prepare(messages, max_tokens)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancel = threading.Event()
        failure: list[BaseException] = []
        kwargs.update(streamer=streamer, stopping_criteria=StoppingCriteriaList([_StopOnEvent(cancel)]))
        worker = threading.Thread(
            target=_generate_in_thread,
            args=(model, kwargs, streamer, failure),
            name="kb-transformers-generate",
            daemon=True,
        )
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            cancel.set()
            worker.join(_JOIN_TIMEOUT_S)
            if worker.is_alive():
                logger.warning("Generation thread still running %.0f s after cancellation", _JOIN_TIMEOUT_S)
        if failure:
            raise GeneratorError(f"Generation with {self.model_path.name} failed: {failure[0]}") from failure[
                0
            ]

    def count_tokens(self, text: str) -> int:
        """Number of tokens the model's tokenizer makes of `text` (no special tokens)."""
        _, tokenizer = self._components()
        return len(tokenizer.encode(text, add_special_tokens=False))


def _generate_in_thread(
    model: Any, kwargs: dict[str, Any], streamer: Any, failure: list[BaseException]
) -> None:
    import torch

    try:
        with torch.inference_mode():
            model.generate(**kwargs)
    except Exception as exc:  # handed to the consuming thread, which raises it as GeneratorError
        failure.append(exc)
        streamer.end()  # unblock the consumer; generate() never reached its own end()
