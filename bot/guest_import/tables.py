"""Reading a guest table from .xlsx, .xls, .ods or .csv.

The file's kind is taken from its first bytes, not its name: people rename
files. Headers are the first non-empty row; empty rows are skipped.
Workbooks are read by calamine (see calamine_rows for how its memory is
bounded); an .xlsx whose grid is too large for it is streamed by openpyxl and
expat instead, in constant memory, as a CSV always is.
"""

from __future__ import annotations

import codecs
import csv
import functools
import threading
import zipfile
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from bot.guest_import.calamine_rows import MAX_GRID_CELLS, ChildReader, Rows, read_sheets
from bot.guest_import.columns import ColumnMap
from bot.guest_import.messages import TableError
from bot.guest_import.values import shown
from bot.guest_import.xlsx_limits import (
    check_archive,
    check_ods_archive,
    grid_cells,
    is_ods,
    sheet_data_rows,
)
from bot.guest_import.xlsx_rows import sheet_rows

MAX_FILE_BYTES = 20 * 1024 * 1024  # the most a bot can download with getFile
MAX_ROWS = 200_000
_SAMPLE = 64 * 1024


@dataclass(frozen=True, slots=True)
class RawRow:
    """A data row as read: its number as a spreadsheet shows it, and its cells."""

    number: int
    cells: tuple[Any, ...]
    headers: tuple[str, ...]

    @property
    def values(self) -> dict[str, Any]:
        """Cells by header name ("#N" for a column without one)."""
        width = max(len(self.cells), len(self.headers))
        names = [
            (self.headers[i] if i < len(self.headers) else "") or f"#{i + 1}" for i in range(width)
        ]
        cells = (*self.cells, *([None] * (width - len(self.cells))))
        return dict(zip(names, cells, strict=True))


def is_blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


class Table:
    """An open table: its columns, an estimate of its size, and its data rows."""

    def __init__(
        self,
        kind: str,
        columns: ColumnMap,
        header_row: int,
        rows: Iterator[tuple[int, tuple[Any, ...]]],
        estimated_rows: int | None,
        closer: Any,
    ) -> None:
        self.kind = kind
        self.columns = columns
        self.header_row = header_row
        self.estimated_rows = estimated_rows
        self._rows = rows
        self._closer = closer

    def rows(self) -> Iterator[RawRow]:
        """The non-empty rows under the header."""
        headers = self.columns.headers
        try:
            for number, cells in self._rows:
                if not is_blank(cells):
                    yield RawRow(number, cells, headers)
        except TableError:
            raise
        except Exception as exc:  # damaged further down than the header: zip, XML, CSV
            raise TableError("unreadable", {"detail": str(exc)}) from exc

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()
        self._closer.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_table(path: Path, filename: str = "") -> Table:
    """Open an .xlsx, .xls, .ods or .csv guest table; raises TableError when it cannot be
    imported."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TableError("too_big", {"limit_mb": MAX_FILE_BYTES // (1024 * 1024)})
    if size == 0:
        raise TableError("empty")
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE)
    if head.startswith(b"PK\x03\x04"):
        return _open_zip(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # An .xls, or an .xlsx with a password (Excel wraps those in the same container).
        return _open_workbook(ChildReader(path, "xls"), "xls")
    if Path(filename).suffix.lower() in (".xlsx", ".xlsm", ".ods"):
        # Named a workbook but not one inside: a damaged or renamed file, not a CSV.
        # (An ".xls" may be text: some systems export HTML or CSV under that name.)
        raise TableError("unreadable", {"detail": "not an XLSX workbook"})
    return _open_csv(path, head)


def read_table(path: Path, filename: str = "") -> Iterator[RawRow]:
    """The data rows of a table file (see open_table for the headers and errors)."""
    with open_table(path, filename) as table:
        yield from table.rows()


HEADER_SEARCH_ROWS = 10


def _header(
    rows: Iterator[tuple[int, tuple[Any, ...]]],
) -> tuple[int, tuple[Any, ...], int] | None:
    """The header row: the first of the first few non-blank rows that names a phone column
    (exports often put a title or a group row above it); else the first non-blank row.
    With it, how many non-blank rows it took, the header included."""
    first: tuple[int, tuple[Any, ...], int] | None = None
    seen = 0
    for number, cells in rows:
        if is_blank(cells):
            continue
        seen += 1
        first = first or (number, cells, seen)
        if "phone" in ColumnMap.from_headers(cells).fields:
            return number, cells, seen
        if seen >= HEADER_SEARCH_ROWS:
            break
    return first


# Workbooks -----------------------------------------------------------------------------------


def _open_zip(path: Path) -> Table:
    """An .ods or an .xlsx: its declared sizes checked before any reader sees it."""
    try:
        with zipfile.ZipFile(path) as archive:
            if is_ods(archive):
                check_ods_archive(archive)
                kind = "ods"
            else:
                check_archive(archive)
                grid = grid_cells(archive)
                kind = "xlsx" if grid is not None and grid <= MAX_GRID_CELLS else "big-xlsx"
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError("unreadable", {"detail": str(exc)}) from exc
    if kind == "ods":
        return _open_workbook(ChildReader(path, "ods"), "ods")
    if kind == "big-xlsx":
        return _open_xlsx(path)
    try:
        sheets = read_sheets(path)
        return _open_workbook(_Sheets(sheets), "xlsx")
    except TableError:
        raise
    except Exception as exc:  # calamine's errors for a damaged workbook
        raise TableError("unreadable", {"detail": str(exc)}) from exc


class _Sheets:
    """The in-process calamine sheets, with the ChildReader's interface."""

    def __init__(self, sheets: Iterator[tuple[int, Rows]]) -> None:
        self._sheets = sheets

    def sheets(self) -> Iterator[tuple[int, Rows]]:
        return self._sheets

    def close(self) -> None:
        close = getattr(self._sheets, "close", None)
        if close is not None:
            close()


def _open_workbook(reader: ChildReader | _Sheets, kind: str) -> Table:
    """The first sheet with a phone column, read by calamine."""

    def sheets() -> Iterator[tuple[Rows, Callable[[], int | None]]]:
        for count, rows in reader.sheets():
            yield rows, functools.partial(int, count)

    try:
        columns, header_row, rows, estimate = _phone_sheet(sheets())
        return Table(kind, columns, header_row, rows, estimate, reader)
    except TableError:
        reader.close()
        raise
    except Exception as exc:
        reader.close()
        raise TableError("unreadable", {"detail": str(exc)}) from exc


def _phone_sheet(
    sheets: Iterator[tuple[Rows, Callable[[], int | None]]],
) -> tuple[ColumnMap, int, Rows, int | None]:
    """The first sheet whose header names a phone column: its columns, header row number,
    rows (positioned after the header) and estimated data rows. `sheets` yields each
    sheet's rows with a way to count its rows, asked only of the sheet chosen."""
    first_found: ColumnMap | None = None
    for rows, total in sheets:
        header = _header(rows)
        if header is None:
            continue
        columns = ColumnMap.from_headers(header[1])
        if "phone" not in columns.fields:
            first_found = first_found or columns
            continue
        counted = total()
        estimate = None if counted is None else max(counted - header[2], 0)
        if estimate is not None and estimate > MAX_ROWS:
            raise TableError("too_many_rows", {"limit": MAX_ROWS})
        return columns, header[0], rows, estimate
    if first_found is None:
        raise TableError("empty")
    raise TableError("no_phone_column", {"columns": _names(first_found)})


def _open_xlsx(path: Path) -> Table:
    """A large .xlsx streamed in constant memory: openpyxl opens it, expat reads the cells."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(archive)  # before openpyxl reads any part whole
        with _sheets_unsized():
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise TableError("unreadable", {"detail": str(exc)}) from exc

    def sheets() -> Iterator[tuple[Rows, Callable[[], int | None]]]:
        for ws in wb.worksheets:
            ws.reset_dimensions()  # a wrong <dimension> would make openpyxl stop early
            rows = sheet_rows(wb, ws) or enumerate(ws.iter_rows(values_only=True), start=1)
            yield rows, functools.partial(_xlsx_data_rows, wb, ws)
            # Resumed only when that sheet was not the one: its reader is let go.
            getattr(rows, "close", lambda: None)()

    try:
        columns, header_row, rows, estimate = _phone_sheet(sheets())
        return Table("xlsx", columns, header_row, rows, estimate, wb)
    except TableError:
        wb.close()
        raise
    except Exception as exc:  # a damaged archive or sheet: openpyxl raises many kinds
        wb.close()
        raise TableError("unreadable", {"detail": str(exc)}) from exc


_UNSIZED = threading.Lock()


@contextmanager
def _sheets_unsized() -> Iterator[None]:
    """Open a workbook without openpyxl sizing its sheets.

    To size a read-only sheet openpyxl parses it up to its <dimension>; a sheet without
    one is parsed whole into a tree, gigabytes for a big sheet. The size is never used
    here (reset_dimensions drops it), so the sizing is skipped while the workbook opens.
    """
    with _UNSIZED:
        sizing = ReadOnlyWorksheet._get_size
        ReadOnlyWorksheet._get_size = _no_size
        try:
            yield
        finally:
            ReadOnlyWorksheet._get_size = sizing


def _no_size(self: ReadOnlyWorksheet) -> None:
    return None


def _xlsx_data_rows(wb: Any, ws: Any) -> int | None:
    """The rows of a sheet that hold a value, counted in its XML without parsing it."""
    try:
        source = wb._archive.open(ws._worksheet_path)
    except (AttributeError, KeyError):
        return None
    with source:
        return sheet_data_rows(source)


def _names(columns: ColumnMap) -> str:
    names = [h for h in columns.headers if h]
    listed = ", ".join(f"“{shown(n)}”" for n in names[:15])
    return listed + (", …" if len(names) > 15 else "")


# CSV ----------------------------------------------------------------------------------------


def _encoding(path: Path, head: bytes) -> str:
    """utf-8-sig / utf-16 by BOM, utf-8 if the whole file decodes, else cp1251."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _delimiter(sample: str) -> str:
    """; , or tab: csv.Sniffer checked against the header line, else the most frequent."""
    lines = [line for line in sample.splitlines() if line.strip()]
    header = lines[0] if lines else ""
    if len(lines) > 1 and "\n" in sample:
        sample = sample[: sample.rfind("\n")]  # a record cut in half confuses the Sniffer
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and sniffed in header:
        return sniffed
    counts = {d: header.count(d) for d in ";\t,"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else sniffed or ";"


def _open_csv(path: Path, head: bytes) -> Table:
    encoding = _encoding(path, head)
    if encoding != "utf-16" and b"\x00" in head:
        raise TableError("not_a_table")
    sample = head.decode(encoding if encoding != "utf-16" else "utf-16", errors="replace")
    sample = sample.lstrip("\ufeff")
    if sample.lstrip().startswith("<"):
        raise TableError("not_a_table")  # HTML or XML saved with a table's name
    skip = 0
    first = sample.split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        delimiter, skip = first[4], 1  # Excel's hint line
    else:
        delimiter = _delimiter(sample)

    def records() -> Generator[tuple[int, tuple[Any, ...]], None, None]:
        fh: IO[str] = path.open(encoding=encoding, errors="replace", newline="")
        with fh:
            reader = csv.reader(fh, delimiter=delimiter)
            for number, row in enumerate(reader, start=1 - skip):
                if number >= 1:
                    yield number, tuple(row)

    try:
        count = sum(1 for _, row in records() if not is_blank(row))
        rows = records()
        header = _header(rows)
    except (csv.Error, UnicodeError) as exc:
        raise TableError("unreadable", {"detail": str(exc)}) from exc
    if header is None:
        raise TableError("empty")
    columns = ColumnMap.from_headers(header[1])
    if "phone" not in columns.fields:
        rows.close()
        raise TableError("no_phone_column", {"columns": _names(columns)})
    if count - header[2] > MAX_ROWS:
        rows.close()
        raise TableError("too_many_rows", {"limit": MAX_ROWS})
    return Table("csv", columns, header[0], rows, count - header[2], _Nothing())


class _Nothing:
    def close(self) -> None:
        pass
