"""Writing XLSX reports safely and in constant memory (openpyxl write-only mode).

Guest data is untrusted: a name like "=HYPERLINK(...)" must stay text, never
become a formula, and control characters Excel refuses are dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.guest_import import EXPORT_FIELDS, ImportResult, describe
from storage.guests import Guest, GuestRepository

DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
MONEY_FORMAT = "0.00"
MAX_CELL_TEXT = 32_767  # Excel's limit for one cell
_SAMPLE_ROWS = 200  # rows looked at to size the columns
_MIN_WIDTH, _MAX_WIDTH = 8, 60
_BOLD = Font(bold=True)


def _title(name: str) -> str:
    """A valid sheet title: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'")
    return cleaned[:31] or "Sheet"


def _clean(text: str) -> str:
    """Text Excel accepts: no control characters, at most MAX_CELL_TEXT long."""
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text[:MAX_CELL_TEXT]


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


class XlsxWriter:
    """One sheet written row by row; the first rows are held back to size the columns."""

    def __init__(self, path: Path, sheet_title: str, headers: Sequence[str]) -> None:
        self.path = path
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet(_title(sheet_title))
        self._headers = list(headers)
        self._pending: list[Sequence[Any]] | None = []
        self.rows_written = 0

    def cell(self, value: Any) -> Any:
        """A value as written: text stays text, dates and money get their formats."""
        if isinstance(value, str):
            value = _clean(value)
            if value[:1] == "=" or value in ERROR_CODES:
                cell = WriteOnlyCell(self._ws, value)
                cell.data_type = "s"  # openpyxl would make it a formula or an error
                return cell
            return value
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, Decimal):
            return self._formatted(value, MONEY_FORMAT)
        if isinstance(value, datetime):
            return self._formatted(value.replace(tzinfo=None), DATETIME_FORMAT)
        if isinstance(value, date):
            return self._formatted(value, DATE_FORMAT)
        if isinstance(value, time):
            return value
        return self.cell(str(value))

    def _formatted(self, value: Decimal | date, number_format: str) -> WriteOnlyCell:
        """A money or date cell with its number format."""
        cell = WriteOnlyCell(self._ws, value)
        cell.number_format = number_format
        return cell

    def append(self, row: Sequence[Any]) -> None:
        if self._pending is not None:
            self._pending.append(row)
            if len(self._pending) >= _SAMPLE_ROWS:
                self._start()
            return
        self._ws.append([self.cell(v) for v in row])
        self.rows_written += 1

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.append(row)

    def _start(self) -> None:
        """Column widths from the header and the held rows, header written, rows released."""
        pending, self._pending = self._pending or [], None
        columns = max([len(self._headers), *(len(r) for r in pending)])
        for index in range(columns):
            sample = [row[index] for row in pending if index < len(row)]
            header = self._headers[index] if index < len(self._headers) else ""
            widest = max([_width(header) + 2, *(_width(v) for v in sample)])
            letter = get_column_letter(index + 1)
            self._ws.column_dimensions[letter].width = min(max(widest + 1, _MIN_WIDTH), _MAX_WIDTH)
        self._ws.freeze_panes = "A2"
        header_cells = []
        for name in self._headers:
            cell = WriteOnlyCell(self._ws, _clean(str(name)))
            cell.data_type = "s"
            cell.font = _BOLD
            header_cells.append(cell)
        self._ws.append(header_cells)
        for row in pending:
            self.append(row)

    def save(self) -> None:
        if self._pending is not None:
            self._start()
        self._wb.save(self.path)


def write_rows(
    path: Path, sheet_title: str, headers: list[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Write one sheet: bold frozen header, sized columns, text never a formula; returns rows."""
    writer = XlsxWriter(path, sheet_title, headers)
    writer.extend(rows)
    writer.save()
    return writer.rows_written


def _export_row(guest: Guest, tags: list[str], sex_labels: tuple[str, str]) -> list[Any]:
    sex = {"male": sex_labels[0], "female": sex_labels[1]}.get(guest.sex or "")
    values: dict[str, Any] = {
        "phone": guest.phone,
        "last_name": guest.last_name,
        "first_name": guest.first_name,
        "middle_name": guest.middle_name,
        "email": guest.email,
        "sex": sex,
        "birthday": guest.birthday,
        "balance": guest.balance,
        "card_number": guest.card_number,
        "account_group": guest.account_group,
        "tags": ", ".join(tags),
        "registered_at": guest.registered_at,
        "last_visit_at": guest.last_visit_at,
        "visits_count": guest.visits_count,
        "total_spent": guest.total_spent,
    }
    return [values[f] for f in EXPORT_FIELDS]


async def export_guests(
    repo: GuestRepository, path: Path, headers: list[str], sheet_title: str = "Guests"
) -> int:
    """Every guest in the import's columns (see export_headers), so the file imports back.

    Sex is written "м"/"ж" when the headers are Russian, else "male"/"female".
    Returns the number of guests written.
    """
    if len(headers) != len(EXPORT_FIELDS):
        raise ValueError(f"expected {len(EXPORT_FIELDS)} headers ({EXPORT_FIELDS}), got {headers}")
    cyrillic = any("а" <= ch.lower() <= "я" for h in headers for ch in h)
    sex_labels = ("м", "ж") if cyrillic else ("male", "female")
    writer = XlsxWriter(path, sheet_title, headers)
    page: list[Guest] = []

    async def flush() -> None:
        tags = await repo.tags_for([g.id for g in page])
        rows = [_export_row(g, tags.get(g.id, []), sex_labels) for g in page]
        await asyncio.to_thread(writer.extend, rows)
        page.clear()

    async for guest in repo.iter_all(page_size=1000):
        page.append(guest)
        if len(page) >= 1000:
            await flush()
    if page:
        await flush()
    await asyncio.to_thread(writer.save)
    return writer.rows_written


def _identity(text: str) -> str:
    return text


def write_rejected(
    path: Path,
    result: ImportResult,
    reason_header: str = "Reason",
    translate: Callable[[str], str] = _identity,
    sheet_title: str = "Rejected",
) -> int:
    """The rows an import refused, as they were, with the reason in a last column."""
    width = max([len(result.headers), *(len(r.raw.cells) for r in result.rejected)])
    names = [
        (result.headers[i] if i < len(result.headers) else "") or f"#{i + 1}" for i in range(width)
    ]
    rows = (
        [*r.raw.cells, *([None] * (width - len(r.raw.cells))), describe(r.reason, translate)]
        for r in result.rejected
    )
    return write_rows(path, sheet_title, [*names, reason_header], rows)
