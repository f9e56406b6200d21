"""Generator on a local Hugging Face causal LM directory (GLM-4, GLM-Edge, ChatGLM3, Qwen, ...)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kb_app.errors import GeneratorError, KBError
from kb_app.llms.hf_checkpoint import check_loadable, read_model_config
from kb_app.llms.messages import check_messages
from kb_app.llms.quantization import check_quantization, load_kwargs, pick_device, quantize_int8_cpu

logger = logging.getLogger(__name__)

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


class TransformersGenerator:
    """Chat generation with `AutoModelForCausalLM` and the tokenizer's own chat template.

    GLM-4 (glm-4-9b-chat-hf, GLM-4-0414) and GLM-Edge load natively in transformers 5.x. Old ChatGLM
    checkpoints, whose bundled code no longer runs there, are refused with advice (see hf_checkpoint).
    Remote code is trusted only for other models whose config.json asks for it through `auto_map` and
    whose code files are in the directory. A temperature of 0 decodes greedily.
    """

    def __init__(
        self, model_path: Path, quantization: str = "none", temperature: float = 0.1, device: str = "auto"
    ) -> None:
        self.model_path = Path(model_path)
        self.quantization = check_quantization(quantization)
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
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        trust_remote_code = check_loadable(self.model_path, config, transformers.__version__)
        device = pick_device(self.device, self.quantization, torch.cuda.is_available())
        kwargs = load_kwargs(self.quantization, device, torch)
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
            self.model_path, local_files_only=True, trust_remote_code=trust_remote_code, **kwargs
        )
        if "device_map" not in kwargs:  # bitsandbytes places the weights itself
            model.to(device)
        if self.quantization == "int8-cpu":
            quantize_int8_cpu(model)
        model.eval()
        return model, tokenizer

    def render_prompt(self, messages: list[dict[str, str]]) -> str:
        """The exact prompt text the model sees: `messages` through the tokenizer's own chat template."""
        _, tokenizer = self._components()
        return str(
            tokenizer.apply_chat_template(
                check_messages(messages), add_generation_prompt=True, tokenize=False
            )
        )

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
