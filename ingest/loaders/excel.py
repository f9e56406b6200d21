"""Excel workbooks to sheets of rows: .xlsx/.xlsm streamed with openpyxl, .xls with xlrd.

A merged range stores its value only in its top-left cell; both readers copy it over the whole range,
so that every row read on its own still carries the value (a merged "部门" cell names each row's
department).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kb_app.errors import CorruptDocument, EncryptedDocument
from kb_app.ingest.loaders.tabular import SheetRows, format_cell

_MERGE_CELL = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}mergeCell"
_OFFICE_KINDS = {".docx": "a Word document", ".pptx": "a PowerPoint presentation"}
# What a damaged package raises while it is read (XML parse errors are SyntaxError subclasses).
_DAMAGED = (zipfile.BadZipFile, zlib.error, KeyError, ValueError, TypeError, EOFError, SyntaxError)
_XLS_DAMAGED = (*_DAMAGED, OSError, IndexError, AssertionError, struct.error)
Range = tuple[int, int, int, int]  # min_col, min_row, max_col, max_row; 1-based, inclusive


def _unreadable(source: str, kind: str = "Excel") -> str:
    return (
        f"'{source}' is not a readable {kind} workbook; open it in Excel, save a fresh copy and upload again."
    )


def xlsx_sheets(path: Path, source: str) -> Iterator[SheetRows]:
    """The worksheets of an .xlsx/.xlsm file, rows streamed (read-only mode, cached formula values).

    Raises:
        CorruptDocument: the file is damaged or another kind of zip package.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    from kb_app.ingest.loaders import office_zip_kind

    kind = office_zip_kind(path)
    if kind != ".xlsx":
        what = _OFFICE_KINDS.get(kind or "", "a zip archive")
        raise CorruptDocument(f"'{source}' is {what}, not an Excel workbook; give it the right extension.")
    # A file object, not the path: openpyxl refuses paths whose extension is not .xlsx/.xlsm.
    with path.open("rb") as handle:
        try:
            book = load_workbook(handle, read_only=True, data_only=True, keep_links=False)
            try:
                for sheet in book.worksheets:
                    sheet.reset_dimensions()  # some writers store a wrong size, which would cut rows off
                    rows = _fill_merged(_xlsx_rows(sheet, source), _merged_ranges(sheet))
                    yield SheetRows(sheet.title, rows)
            finally:
                book.close()
        except (InvalidFileException, *_DAMAGED) as error:
            raise CorruptDocument(_unreadable(source)) from error


def _xlsx_rows(sheet: Any, source: str) -> Iterator[tuple[int, list[str]]]:
    try:  # rows are parsed while the caller reads them, so damage shows up here
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [format_cell(value) for value in values]
    except _DAMAGED as error:
        raise CorruptDocument(_unreadable(source)) from error


def _merged_ranges(sheet: Any) -> list[Range]:
    """Merged ranges, sorted by first row. Read-only worksheets do not parse them, so scan the XML."""
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.xml.functions import iterparse

    ranges = []
    with sheet._get_source() as xml:  # read-only mode's own accessor for the sheet's XML part
        for _, element in iterparse(xml):
            if element.tag == _MERGE_CELL and element.get("ref"):
                ranges.append(range_boundaries(element.get("ref")))
            element.clear()
    return sorted(ranges, key=lambda r: r[1])


def _fill_merged(
    rows: Iterator[tuple[int, list[str]]], ranges: list[Range]
) -> Iterator[tuple[int, list[str]]]:
    """Copy each merged range's top-left value over the range, keeping only the ranges open at a row."""
    pending = iter(ranges)
    upcoming = next(pending, None)
    active: list[tuple[Range, str]] = []
    for number, cells in rows:
        while upcoming is not None and upcoming[1] <= number:
            value = cells[upcoming[0] - 1] if upcoming[1] == number and upcoming[0] <= len(cells) else ""
            active.append((upcoming, value))
            upcoming = next(pending, None)
        active = [(r, value) for r, value in active if r[3] >= number]
        for (min_col, _, max_col, _), value in active:
            if len(cells) < max_col:
                cells.extend([""] * (max_col - len(cells)))
            cells[min_col - 1 : max_col] = [value] * (max_col - min_col + 1)
        yield number, cells


def xls_sheets(path: Path, source: str) -> Iterator[SheetRows]:
    """The sheets of an Excel 97-2003 .xls file.

    Raises:
        EncryptedDocument: the workbook (or an .xlsx inside an encrypted container) has a password.
        CorruptDocument: the file is damaged or not a workbook.
    """
    import xlrd
    from xlrd.compdoc import CompDocError

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, logfile=io.StringIO())
        sheets = [_xls_sheet(book, sheet) for sheet in book.sheets()]
        book.release_resources()
        return iter(sheets)
    except (xlrd.XLRDError, CompDocError, *_XLS_DAMAGED) as error:
        if "encrypted" in str(error).lower() or _is_encrypted_ooxml(path):
            raise EncryptedDocument(
                f"'{source}' is password-protected; remove the password in Excel and upload it again."
            ) from error
        raise CorruptDocument(_unreadable(source, "Excel .xls")) from error


def _is_encrypted_ooxml(path: Path) -> bool:
    # A password-protected .xlsx is an OLE file holding an "EncryptedPackage" stream (names are UTF-16).
    return "EncryptedPackage".encode("utf-16-le") in path.read_bytes()


def _xls_sheet(book: Any, sheet: Any) -> SheetRows:
    import xlrd

    grid = []
    for r in range(sheet.nrows):
        cells = []
        for kind, value in zip(sheet.row_types(r), sheet.row_values(r), strict=True):
            if kind == xlrd.XL_CELL_DATE:
                value = xlrd.xldate.xldate_as_datetime(value, book.datemode)
            elif kind == xlrd.XL_CELL_ERROR:
                value = xlrd.error_text_from_code.get(value, "")
            elif kind == xlrd.XL_CELL_BOOLEAN:
                value = bool(value)
            cells.append(format_cell(value))
        grid.append(cells)
    for row_lo, row_hi, col_lo, col_hi in sheet.merged_cells:  # 0-based, exclusive ends
        for r in range(row_lo, min(row_hi, sheet.nrows)):
            for c in range(col_lo, min(col_hi, sheet.ncols)):
                grid[r][c] = grid[row_lo][col_lo]
    return SheetRows(sheet.name, list(enumerate(grid, start=1)))
