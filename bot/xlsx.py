"""Writing XLSX reports safely, quickly and in constant memory.

The sheet is written as XML straight into the zip stream, row by row: nothing
but the first rows (held back to size the columns) is kept, so a journal of a
million rows takes the memory of a few hundred. openpyxl's write-only mode did
the same through a cell object per value, several times slower (see
bench/journal_bench.py).

Guest data is untrusted: a name like "=HYPERLINK(...)" must stay text, never
become a formula. Every text is an inline string (Excel and LibreOffice never
evaluate those), and one that starts with = + - @, a tab or a carriage return
also gets Excel's "quote prefix" style, so editing the cell keeps it text.
Control characters Excel refuses are dropped.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from bot.guest_import import EXPORT_FIELDS, ImportResult, describe
from storage.guests import Guest, GuestRepository

DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
MONEY_FORMAT = "0.00"
MAX_CELL_TEXT = 32_767  # Excel's limit for one cell
MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SAMPLE_ROWS = 200  # rows looked at to size the columns
_MIN_WIDTH, _MAX_WIDTH = 8, 60
_FLUSH_ROWS = 500
_EPOCH = datetime(1899, 12, 30)
# Cell styles (indexes into cellXfs of _STYLES).
_HEADER, _DATE, _DATETIME, _MONEY, _TEXT, _TIME = 1, 2, 3, 4, 5, 6

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="{_PKG}/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
_ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG}/relationships">
<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG}/relationships">
<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>
</Relationships>"""
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_NS}">
<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>\
<numFmt numFmtId="165" formatCode="{DATETIME_FORMAT}"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="7">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1" \
applyNumberFormat="1"/>
<xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


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
    if isinstance(value, Decimal):
        return len(f"{value:.2f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def _serial(value: datetime) -> float:
    """Excel's number for a moment: days since 1899-12-30 (the 1900 date system)."""
    delta = value - _EPOCH
    return delta.days + delta.seconds / 86_400 + delta.microseconds / 86_400_000_000


def _text(ref: str, text: str) -> str:
    text = _clean(text)
    style = f' s="{_TEXT}"' if text.startswith(FORMULA_STARTS) else ""
    return (
        f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'
    )


class XlsxWriter:
    """One sheet written row by row: bold frozen header with an autofilter, columns sized
    from the first rows, numbers as numbers, dates as Excel dates (in `tz` when given),
    text never a formula. `save()` finishes the file; `close()` abandons it."""

    def __init__(
        self, path: Path, sheet_title: str, headers: Sequence[str], *, tz: tzinfo | None = None
    ) -> None:
        self.path = path
        self.title = _title(sheet_title)
        self.tz = tz
        self._headers = [_clean(str(h)) for h in headers]
        self._pending: list[Sequence[Any]] | None = []
        self._columns = len(self._headers)
        self._letters = [get_column_letter(i + 1) for i in range(max(self._columns, 1))]
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=5)
        self._sheet: IO[bytes] | None = None
        self._buffer: list[str] = []
        self.rows_written = 0

    def _cell(self, ref: str, value: Any) -> str:
        """One cell's XML ("" for an empty one)."""
        if isinstance(value, str):
            return _text(ref, value)
        if value is None:
            return ""
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value!r}</v></c>'
        if isinstance(value, Decimal):
            return f'<c r="{ref}" s="{_MONEY}"><v>{value}</v></c>' if value.is_finite() else ""
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.tz) if self.tz is not None else value
                value = value.replace(tzinfo=None)
            return f'<c r="{ref}" s="{_DATETIME}"><v>{_serial(value)!r}</v></c>'
        if isinstance(value, date):
            serial = (value - _EPOCH.date()).days
            return f'<c r="{ref}" s="{_DATE}"><v>{serial}</v></c>'
        if isinstance(value, time):
            seconds = value.hour * 3600 + value.minute * 60 + value.second
            return f'<c r="{ref}" s="{_TIME}"><v>{seconds / 86_400!r}</v></c>'
        return _text(ref, str(value))

    def _letter(self, index: int) -> str:
        while index >= len(self._letters):
            self._letters.append(get_column_letter(len(self._letters) + 1))
        return self._letters[index]

    def _row(self, number: int, row: Sequence[Any], style: str = "") -> str:
        letter = self._letter
        cells = "".join(self._cell(f"{letter(i)}{number}", v) for i, v in enumerate(row))
        return f'<row r="{number}"{style}>{cells}</row>'

    def append(self, row: Sequence[Any]) -> None:
        if self._pending is not None:
            self._pending.append(row)
            if len(self._pending) >= _SAMPLE_ROWS:
                self._start()
            return
        if self.rows_written + 1 >= MAX_ROWS:
            raise ValueError(f"a sheet holds at most {MAX_ROWS - 1} rows under its header")
        self._columns = max(self._columns, len(row))
        self.rows_written += 1
        self._buffer.append(self._row(self.rows_written + 1, row))
        if len(self._buffer) >= _FLUSH_ROWS:
            self._flush()

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.append(row)

    def _flush(self) -> None:
        if self._sheet is not None and self._buffer:
            self._sheet.write("".join(self._buffer).encode())
            self._buffer.clear()

    def _start(self) -> None:
        """Column widths from the header and the held rows, header written, rows released."""
        pending, self._pending = self._pending or [], None
        self._columns = max([self._columns, *(len(r) for r in pending)])
        cols = []
        for index in range(self._columns):
            sample = [row[index] for row in pending if index < len(row)]
            header = self._headers[index] if index < len(self._headers) else ""
            widest = max([_width(header) + 2, *(_width(v) for v in sample)])
            width = min(max(widest + 1, _MIN_WIDTH), _MAX_WIDTH)
            cols.append(
                f'<col min="{index + 1}" max="{index + 1}" width="{width}" customWidth="1"/>'
            )
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        head = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}" '
            f'xmlns:r="{_REL}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{"".join(cols)}</cols><sheetData>'
        )
        header = "".join(
            f'<c r="{self._letter(i)}1" s="{_HEADER}" t="inlineStr"><is><t xml:space="preserve">'
            f"{escape(h)}</t></is></c>"
            for i, h in enumerate(self._headers)
        )
        self._sheet.write((head + f'<row r="1">{header}</row>').encode())
        for row in pending:
            self.append(row)

    def save(self) -> None:
        if self._pending is not None:
            self._start()
        self._flush()
        assert self._sheet is not None
        last = f"{self._letter(max(self._columns, 1) - 1)}{self.rows_written + 1}"
        self._sheet.write(f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>'.encode())
        self._sheet.close()
        absolute = "$" + last.rstrip("0123456789") + "$" + str(self.rows_written + 1)
        sheet = quoteattr(self.title)
        workbook = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" '
            f'xmlns:r="{_REL}"><bookViews><workbookView/></bookViews><sheets>'
            f'<sheet name={sheet} sheetId="1" r:id="rId1"/></sheets><definedNames>'
            '<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
            f"{escape(_quoted(self.title))}!$A$1:{absolute}</definedName></definedNames></workbook>"
        )
        for name, text in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
        ):
            self._zip.writestr(name, text)
        self._zip.close()

    def close(self) -> None:
        """Abandon an unfinished file (the caller deletes it)."""
        if self._sheet is not None:
            self._sheet.close()
        self._zip.close()


def _quoted(title: str) -> str:
    """A sheet name as a formula refers to it: 'Name' with quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def write_rows(
    path: Path,
    sheet_title: str,
    headers: list[str],
    rows: Iterable[Sequence[Any]],
    *,
    tz: tzinfo | None = None,
) -> int:
    """Write one sheet: bold frozen header, sized columns, text never a formula; returns rows."""
    writer = XlsxWriter(path, sheet_title, headers, tz=tz)
    try:
        writer.extend(rows)
        writer.save()
    except BaseException:
        writer.close()
        raise
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
