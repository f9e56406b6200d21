"""Spreadsheet loader: .xlsx/.xlsm (openpyxl, streaming), .xls (xlrd) and .csv.

Every row becomes a record `列名：值；列名：值` under its sheet's header (see `tabular`); a sheet whose
header names a question and an answer column is imported as FAQ pairs instead (see `faq`). The
format is chosen by the file's content, so an old .xls saved as .xlsx still opens.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from pathlib import Path

from kb_app.errors import CorruptDocument, EmptyDocument
from kb_app.ingest.loaders.archive import MAX_UNPACKED_BYTES, check_unpacked_size
from kb_app.ingest.loaders.encoding import decode_bytes
from kb_app.ingest.loaders.excel import xls_sheets, xlsx_sheets
from kb_app.ingest.loaders.tabular import ROW_GROUP_CHARS, SheetRows, format_cell, sheet_documents
from kb_app.schema import SourceDocument

logger = logging.getLogger(__name__)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CSV_DELIMITERS = ",\t;|"


class SpreadsheetLoader:
    """One SourceDocument per group of whole rows, page=None.

    A sheet whose header has a question and an answer column (问题/答案, Question/Answer, ...; see
    `faq.detect_faq_columns`) is imported as FAQ pairs instead: one atomic document per pair.

    Metadata: `sheet` (not for csv), `first_row`/`last_row` (1-based row numbers as Excel shows them),
    `atomic`. Formula cells give their cached values; merged cells repeat their value over the range.
    """

    extensions: tuple[str, ...] = (".xlsx", ".xlsm", ".xls", ".csv")

    def __init__(
        self, max_unpacked_bytes: int = MAX_UNPACKED_BYTES, group_chars: int = ROW_GROUP_CHARS
    ) -> None:
        self.max_unpacked_bytes = max_unpacked_bytes
        self.group_chars = group_chars

    def load(self, path: Path, source: str) -> list[SourceDocument]:
        """Read every sheet of `path`.

        Raises:
            EncryptedDocument: the workbook is password-protected.
            CorruptDocument: the file is damaged, not a spreadsheet, or a zip bomb.
            EmptyDocument: no sheet holds any cell text.
        """
        documents = []
        for sheet in self._sheets(path, source):
            documents.extend(sheet_documents(sheet, source, self.group_chars))
        if not documents:
            raise EmptyDocument(f"'{source}' has no filled cells; nothing to index.")
        return documents

    def _sheets(self, path: Path, source: str) -> Iterator[SheetRows]:
        with path.open("rb") as handle:
            head = handle.read(8)
        if head.startswith(b"PK\x03\x04"):
            check_unpacked_size(path, source, self.max_unpacked_bytes)
            return xlsx_sheets(path, source)
        if head == _OLE_MAGIC or path.suffix.lower() == ".xls":
            return xls_sheets(path, source)
        if path.suffix.lower() == ".csv":
            return iter([SheetRows(None, list(csv_rows(path.read_bytes(), source)))])
        raise CorruptDocument(
            f"'{source}' is not an Excel workbook (it looks like plain text or another format); "
            "save it from Excel as .xlsx, or rename a CSV file to .csv, and upload again."
        )


def csv_rows(data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
    """(record number, cells) per CSV record; the encoding and the delimiter are guessed."""
    try:
        text, _ = decode_bytes(data)
    except CorruptDocument as error:
        raise CorruptDocument(
            f"'{source}' is not a text CSV file; export it again as CSV (UTF-8)."
        ) from error
    try:
        delimiter = csv.Sniffer().sniff(text[:16384], delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","  # one column, or too irregular to guess
    # Only the delimiter is sniffed: the sniffer often guesses the quote character wrong ("'" for text
    # with apostrophes), which breaks every quoted field holding a comma.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            yield number, [format_cell(cell) for cell in row]
    except csv.Error as error:
        raise CorruptDocument(
            f"'{source}' is not valid CSV near line {reader.line_num} ({error}); "
            "fix that line and upload again."
        ) from error
