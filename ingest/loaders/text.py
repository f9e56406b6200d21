"""Plain-text and Markdown loaders, with encoding detection for GBK/GB18030 and Big5 files."""

from __future__ import annotations

import re
from pathlib import Path

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.ingest.cleaning import remove_control_chars
from kb_app.ingest.loaders.encoding import decode_bytes
from kb_app.schema import SourceDocument

# CommonMark wants a space after the #s, but Chinese authors often write "##标题".
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|(?=[\u4e00-\u9fff]))(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def read_text_file(path: Path, source: str) -> tuple[str, str]:
    """Read and decode a text file and normalise its line ends.

    Returns:
        The text and the encoding it was decoded with.

    Raises:
        CorruptDocument: the file is binary, not text.
        EmptyDocument: the file holds only whitespace.
    """
    data = path.read_bytes()
    if not data.strip():
        raise EmptyDocument(f"'{source}' is empty; add some text and upload it again.")
    try:
        raw, encoding = decode_bytes(data)
    except CorruptDocument as error:
        raise CorruptDocument(
            f"'{source}' is not a text file (binary content); save it as UTF-8 text and upload again."
        ) from error
    text = remove_control_chars(raw)
    if not text.strip():
        raise EmptyDocument(f"'{source}' is empty; add some text and upload it again.")
    return text, encoding


class TextLoader:
    """A whole text file as one SourceDocument (page=None)."""

    extensions: tuple[str, ...] = (".txt", ".text")

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read `path` as one document; see `read_text_file` for the errors raised."""
        text, encoding = read_text_file(path, source)
        return [SourceDocument(text=text.strip(), source=source, metadata={"encoding": encoding})]


class MarkdownLoader:
    """One SourceDocument per Markdown section, with the `#` headings above it as heading_path.

    A section's text starts with its own heading (without the `#` marks) so that searching for a
    heading finds its section. Headings inside fenced code blocks are not headings.
    """

    extensions: tuple[str, ...] = (".md", ".markdown")

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read `path` and cut it at its headings; see `read_text_file` for the errors raised."""
        text, encoding = read_text_file(path, source)
        documents = [
            SourceDocument(text=body, source=source, heading_path=headings, metadata={"encoding": encoding})
            for headings, body in split_markdown_sections(text)
        ]
        if not documents:
            raise EmptyDocument(f"'{source}' holds only headings and no text to index.")
        return documents


def split_markdown_sections(text: str) -> list[tuple[tuple[str, ...], str]]:
    """Cut Markdown into (heading path, section text) pairs, skipping sections without body text."""
    sections: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    has_body = False
    in_fence = False

    def flush() -> None:
        if has_body:
            sections.append((tuple(title for _, title in stack), "\n".join(lines).strip()))

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            has_body = has_body or bool(line.strip())
            continue
        flush()
        level, title = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        lines, has_body = [title], False
    flush()
    return sections
