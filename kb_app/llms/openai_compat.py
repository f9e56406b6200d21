"""Generator that talks to an OpenAI-compatible chat endpoint (vLLM, Xinference, Ollama, llama.cpp server).

Plain httpx, no `openai` package: the API surface used here is one POST with optional server-sent events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from typing import Any

import httpx

from kb_app.errors import GeneratorError
from kb_app.llms.messages import check_messages, estimate_tokens

_STATUS_HINTS = {
    401: "check KB_LLM__API_KEY",
    403: "check KB_LLM__API_KEY",
    404: "check KB_LLM__BASE_URL (it usually ends in /v1) and KB_LLM__MODEL_NAME",
    400: "the server rejected the request; the prompt may exceed its context window",
}


class OpenAICompatGenerator:
    """Chat generation through `POST {base_url}/chat/completions`.

    Closing a stream closes the HTTP connection, which servers such as vLLM treat as cancellation.
    """

    def __init__(
        self, base_url: str, api_key: str, model_name: str, temperature: float = 0.1, timeout_s: float = 120
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_name = model_name
        self.temperature = temperature
        self.timeout_s = timeout_s
        self._api_key = api_key
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"openai:{self.model_name}@{self.base_url}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.timeout_s, headers={"Authorization": f"Bearer {self._api_key}"}
                )
            return self._client

    def close(self) -> None:
        """Release pooled connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _body(self, messages: list[dict[str, str]], max_tokens: int, stream: bool) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "messages": check_messages(messages),
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stream": stream,
        }

    def generate(self, messages: list[dict[str, str]], max_tokens: int = 512) -> str:
        """Return the assistant's reply to `messages`."""
        body = self._body(messages, max_tokens, stream=False)
        try:
            response = self._http().post(self.url, json=body)
            _raise_for_status(response, self.url)
            payload = response.json()
            return str(payload["choices"][0]["message"]["content"] or "")
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GeneratorError(
                f"Unexpected answer from {self.url}: {exc}; is it OpenAI-compatible?"
            ) from exc

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 512) -> Generator[str, None, None]:
        """Yield the reply in pieces as the server sends them (server-sent events)."""
        body = self._body(messages, max_tokens, stream=True)
        try:
            with self._http().stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                _raise_for_status(response, self.url)
                for line in response.iter_lines():
                    piece = _parse_sse_line(line, self.url)
                    if piece is None:
                        return
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc

    def count_tokens(self, text: str) -> int:
        """Estimated token count (the server's tokenizer is not available locally); see estimate_tokens."""
        return estimate_tokens(text)

    def _transport_error(self, exc: httpx.HTTPError) -> GeneratorError:
        if isinstance(exc, httpx.TimeoutException):
            return GeneratorError(
                f"The LLM server at {self.url} did not answer within {self.timeout_s:g} s; "
                "it may be overloaded. Raise KB_LLM__TIMEOUT_S or check the server."
            )
        return GeneratorError(
            f"Cannot reach the LLM server at {self.url} ({type(exc).__name__}: {exc}). "
            "Is the server running? Check KB_LLM__BASE_URL."
        )


def _raise_for_status(response: httpx.Response, url: str) -> None:
    if response.status_code < 400:
        return
    hint = _STATUS_HINTS.get(response.status_code, "check the server's log")
    detail = response.text[:300].strip()
    raise GeneratorError(f"The LLM server at {url} answered HTTP {response.status_code}: {detail} ({hint}).")


def _parse_sse_line(line: str, url: str) -> str | None:
    """Return the text in one SSE line: '' for lines without text, None at `[DONE]`."""
    if not line.startswith("data:"):
        return ""  # blank separators, comments (": ping") and event/id fields
    data = line[len("data:") :].strip()
    if data == "[DONE]":
        return None
    try:
        chunk = json.loads(data)
    except json.JSONDecodeError as exc:
        raise GeneratorError(f"Malformed stream chunk from {url}: {data[:200]!r}") from exc
    if "error" in chunk:
        raise GeneratorError(f"The LLM server at {url} reported an error mid-stream: {chunk['error']}")
    choices = chunk.get("choices") or []  # usage-only chunks have no choices
    if not choices:
        return ""
    return str((choices[0].get("delta") or {}).get("content") or "")
