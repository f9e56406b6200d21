"""Split Chinese (and mixed) text into chunks of whole sentences.

Character counts, not tokens: for Chinese one character is about one token of a multilingual
embedder, and counting characters needs no tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb_app.schema import Chunk, SourceDocument, make_chunk_id

_CLOSERS = "”’」』）)\\]】》\"'"
# A sentence ends after 。！？；… (runs like "？！" or "……" count once) plus any closing quotes or
# brackets, after an ASCII ! ? ; that is not inside a URL or word, after ". " that does not follow a
# digit ("1. 引言"), and at every line break. Trailing whitespace stays with the sentence.
_SENTENCE_END = re.compile(
    rf"(?:[。！？；…]+|[!?;]+(?![A-Za-z0-9=&/%_-])|(?<!\d)\.(?=\s))[{_CLOSERS}]*\s*|\n\s*"
)
_SOFT_BREAK = re.compile(r"[，、,：:\s]")


def split_chinese_sentences(text: str) -> list[str]:
    """Cut `text` into sentences; joined together they give back `text` exactly.

    Each sentence keeps its end punctuation, closing quotes/brackets and trailing line breaks.
    """
    sentences = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            sentences.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        sentences.append(text[start:])
    return sentences


def _cut_oversized(start: int, sentence: str, limit: int) -> list[tuple[int, int]]:
    """Spans of at most `limit` characters, cut after the last comma or space where there is one."""
    spans = []
    local = 0
    while len(sentence) - local > limit:
        window = sentence[local : local + limit]
        breaks = [m.end() for m in _SOFT_BREAK.finditer(window) if m.end() > limit // 2]
        cut = breaks[-1] if breaks else limit
        spans.append((start + local, start + local + cut))
        local += cut
    spans.append((start + local, start + len(sentence)))
    return spans


class ChineseSentenceSplitter:
    """Packs whole sentences into chunks of at most `chunk_size` characters.

    The next chunk repeats the last whole sentences of the previous one, at most `chunk_overlap`
    characters, so that a fact cut between two chunks is still found whole in one. A sentence longer
    than `chunk_size` is cut at a comma or space (else anywhere). Chunks never span two
    SourceDocuments, so every chunk has one page and one heading path.

    A document with a true `metadata["atomic"]` (an FAQ pair, a group of table rows) becomes exactly
    one chunk whatever its length: cutting it would separate a question from its answer.
    """

    def __init__(self, chunk_size: int = 300, chunk_overlap: int = 50) -> None:
        if chunk_size <= 0 or not 0 <= chunk_overlap < chunk_size:
            raise ValueError(
                f"need chunk_size > 0 and 0 <= chunk_overlap < chunk_size, got {chunk_size}, {chunk_overlap}"
            )
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap

    def split(self, kb: str, documents: Sequence[SourceDocument]) -> list[Chunk]:
        """Chunk `documents` in order; ordinals count per source file across its documents."""
        chunks: list[Chunk] = []
        ordinals: dict[str, int] = {}
        for document in documents:
            for start, end in self._document_spans(document):
                text = document.text[start:end]
                ordinal = ordinals.get(document.source, 0)
                ordinals[document.source] = ordinal + 1
                chunks.append(
                    Chunk(
                        chunk_id=make_chunk_id(kb, document.source, ordinal, text),
                        text=text,
                        source=document.source,
                        page=document.page,
                        heading_path=document.heading_path,
                        ordinal=ordinal,
                        char_start=start,
                        char_end=end,
                    )
                )
        return chunks

    def _document_spans(self, document: SourceDocument) -> list[tuple[int, int]]:
        if not document.metadata.get("atomic"):
            return self.chunk_spans(document.text)
        text = document.text
        start, end = len(text) - len(text.lstrip()), len(text.rstrip())
        return [(start, end)] if end > start else []

    def chunk_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) offsets of the chunks of `text`, whitespace trimmed, empty chunks dropped."""
        units: list[tuple[int, int]] = []
        position = 0
        for sentence in split_chinese_sentences(text):
            units.extend(_cut_oversized(position, sentence, self.chunk_size))
            position += len(sentence)
        spans = []
        for first, last in self._pack([end - start for start, end in units]):
            start, end = units[first][0], units[last][1]
            piece = text[start:end]
            start += len(piece) - len(piece.lstrip())
            end -= len(piece) - len(piece.rstrip())
            if end > start:
                spans.append((start, end))
        return spans

    def _pack(self, sizes: list[int]) -> list[tuple[int, int]]:
        """Group consecutive units into (first, last) index ranges within chunk_size, with overlap."""
        groups = []
        first = 0
        while first < len(sizes):
            last, total = first, sizes[first]
            while last + 1 < len(sizes) and total + sizes[last + 1] <= self.chunk_size:
                last += 1
                total += sizes[last]
            groups.append((first, last))
            if last + 1 >= len(sizes):
                break
            # Overlap: the trailing units of this group that fit both the overlap and the next chunk.
            following, overlap = last + 1, 0
            while following - 1 > first and overlap + sizes[following - 1] <= self.chunk_overlap:
                following -= 1
                overlap += sizes[following]
            while following <= last and overlap + sizes[last + 1] > self.chunk_size:
                overlap -= sizes[following]
                following += 1
            first = following
        return groups
