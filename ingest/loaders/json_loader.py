"""JSON (.json) and JSON Lines (.jsonl) loader: one SourceDocument per record.

A record renders as `key：value` lines, nested keys dotted (`作者.姓名：张三`) and lists of plain values
joined with `、`, so that a chunk names the field each value belongs to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.ingest.cleaning import remove_control_chars
from kb_app.ingest.loaders.encoding import decode_bytes
from kb_app.schema import SourceDocument

_LIST_SEPARATOR = "、"


class JsonLoader:
    """Records as documents (page=None).

    .jsonl: one record per non-blank line, metadata `line` (1-based). .json: a top-level list gives one
    document per element (metadata `index`, 0-based), anything else one document. A .json file that
    really holds JSON Lines is read as such.
    """

    extensions: tuple[str, ...] = (".json", ".jsonl")

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read `path`.

        Raises:
            CorruptDocument: the file is not text, or not valid JSON (the message names the line).
            EmptyDocument: no record holds any text.
        """
        text = _read(path, source)
        records = (
            _json_lines(text, source) if path.suffix.lower() == ".jsonl" else _json_records(text, source)
        )
        documents = []
        for metadata, value in records:
            rendered = render_json(value)
            if rendered:
                documents.append(SourceDocument(text=rendered, source=source, metadata=metadata))
        if not documents:
            raise EmptyDocument(f"'{source}' holds no JSON values with text; nothing to index.")
        return documents


def _read(path: Path, source: str) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise EmptyDocument(f"'{source}' is empty; nothing to index.")
    try:
        text, _ = decode_bytes(data)
    except CorruptDocument as error:
        raise CorruptDocument(
            f"'{source}' is not a text JSON file; save it as UTF-8 and upload again."
        ) from error
    return text


def _invalid(source: str, error: json.JSONDecodeError, line: int | None = None) -> CorruptDocument:
    where = f"line {line}" if line is not None else f"line {error.lineno}, column {error.colno}"
    return CorruptDocument(
        f"'{source}' is not valid JSON at {where} ({error.msg}); fix that line and upload again."
    )


def _json_lines(text: str, source: str) -> Iterator[tuple[dict[str, Any], Any]]:
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, strict=False)  # strict=False: raw tabs inside strings are common
        except json.JSONDecodeError as error:
            raise _invalid(source, error, number) from error
        yield {"line": number}, value


def _json_records(text: str, source: str) -> list[tuple[dict[str, Any], Any]]:
    try:
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        first_line = text.lstrip().split("\n", 1)[0]
        if error.msg == "Extra data" and _is_json(first_line):  # JSON Lines saved as .json
            return list(_json_lines(text, source))
        raise _invalid(source, error) from error
    if isinstance(value, list):
        return [({"index": index}, item) for index, item in enumerate(value)]
    return [({}, value)]


def _is_json(text: str) -> bool:
    try:
        json.loads(text, strict=False)
    except json.JSONDecodeError:
        return False
    return True


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return remove_control_chars(str(value)).strip()


def _flatten(value: Any, name: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list) and not any(isinstance(item, dict | list) for item in value):
        yield name, _LIST_SEPARATOR.join(text for text in map(_scalar, value) if text)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{name}[{index}]")
    else:
        yield name, _scalar(value)


def render_json(value: Any) -> str:
    """A JSON value as text: `key：value` lines for objects, the plain text for a string or number."""
    if not isinstance(value, dict | list):
        return _scalar(value)
    return "\n".join(f"{key}：{text}" if key else text for key, text in _flatten(value, "") if text)
