"""Rows of a table to SourceDocuments, shared by the spreadsheet and slide loaders.

A retrieved chunk must make sense on its own, so every row is rendered with its header as
`列名：值；列名：值`, and rows are packed whole into documents the splitter keeps whole (`atomic`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from kb_app.ingest.cleaning import remove_control_chars
from kb_app.ingest.loaders.faq import detect_faq_columns, faq_documents
from kb_app.schema import SourceDocument

ROW_GROUP_CHARS = 300
# Excel shows at most 15 significant digits; more would print float noise such as 0.30000000000000004.
_FLOAT_FORMAT = ".15g"


def format_cell(value: object) -> str:
    """A cell value as a user would read it: ISO dates, integers without '.0', text stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if not value.microsecond else "auto")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else format(value, _FLOAT_FORMAT)
    return remove_control_chars(str(value)).strip()


def header_names(cells: Sequence[str]) -> list[str]:
    """Column names from a header row; an empty header cell N is named `列N` (1-based)."""
    return [" ".join(cell.split()) or f"列{index + 1}" for index, cell in enumerate(cells)]


def render_record(header: Sequence[str], values: Sequence[str]) -> str:
    """`列名：值；列名：值` for the non-empty values; columns beyond the header are named `列N`."""
    names = [*header, *(f"列{index + 1}" for index in range(len(header), len(values)))]
    return "；".join(f"{name}：{value}" for name, value in zip(names, values, strict=False) if value)


@dataclass(frozen=True)
class SheetRows:
    """One sheet's rows: (1-based row number, cell texts) for every row, empty ones included or not."""

    name: str | None
    rows: Iterable[tuple[int, list[str]]]


def sheet_documents(
    sheet: SheetRows, source: str, group_chars: int = ROW_GROUP_CHARS
) -> list[SourceDocument]:
    """Documents of one sheet: FAQ pairs when the header names a question and an answer column,
    else groups of whole rows.

    The header is the first non-empty row. Each group holds whole rows up to `group_chars` characters
    and is `atomic`; a single row longer than that is a document of its own that may be split.
    """
    rows = ((number, cells) for number, cells in sheet.rows if any(cells))
    first = next(rows, None)
    if first is None:
        return []
    header = header_names(first[1])
    heading = (sheet.name,) if sheet.name else ()
    base = {"sheet": sheet.name} if sheet.name else {}
    columns = detect_faq_columns(header)
    if columns is not None:
        return faq_documents(rows, columns, source, heading, base)
    documents = []
    for first_row, last_row, text, atomic in group_rows(
        ((number, render_record(header, cells)) for number, cells in rows), group_chars
    ):
        metadata = {**base, "first_row": first_row, "last_row": last_row, "atomic": atomic}
        documents.append(SourceDocument(text=text, source=source, heading_path=heading, metadata=metadata))
    return documents


def group_rows(records: Iterable[tuple[int, str]], limit: int) -> Iterator[tuple[int, int, str, bool]]:
    """Pack (row number, text) records into (first row, last row, text, atomic) groups of whole rows."""
    group: list[tuple[int, str]] = []
    size = 0

    def flush() -> Iterator[tuple[int, int, str, bool]]:
        if group:
            yield group[0][0], group[-1][0], "\n".join(text for _, text in group), True

    for number, text in records:
        if not text:
            continue
        if len(text) > limit:
            yield from flush()
            group, size = [], 0
            yield number, number, text, False
            continue
        if group and size + 1 + len(text) > limit:
            yield from flush()
            group, size = [], 0
        size += len(text) + (1 if group else 0)
        group.append((number, text))
    yield from flush()
