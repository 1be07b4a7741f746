"""How far an .xlsx may unpack, checked before any part of it is read.

An .xlsx is a zip of XML parts; 1 MB of it can unpack to gigabytes, and
openpyxl reads the shared strings (every text cell's text) whole: one 1 GB
string took 3 GB of memory. So before openpyxl opens a workbook, the parts'
declared sizes (zipfile never gives more bytes than a member declares) are
held to limits far above any real guest table of MAX_ROWS rows, and the
shared strings and each sheet are scanned as bytes for a text too long to
be a cell (Excel's own limit is 32,767 characters). Any file up to
MAX_FILE_BYTES is then imported or refused within a few hundred MB.

The sheet scan also counts the rows that hold a value: a sheet can have a
million rows that carry only a style, and they are no rows of guests.
"""

from __future__ import annotations

import re
import zipfile
from typing import IO

from bot.guest_import.messages import TableError

MB = 1024 * 1024
# A real table of 200,000 guests: sheet XML about 150 MB, shared strings about 30 MB
# in well under a million strings; openpyxl needs about 150 bytes per shared string.
MAX_SHEET_BYTES = 256 * MB
MAX_SHARED_STRINGS_BYTES = 40 * MB
MAX_SHARED_STRINGS = 1_000_000
MAX_OTHER_BYTES = 32 * MB  # workbook, styles, theme, relations... read whole by openpyxl
MAX_PARTS = 10_000
# Excel's cell limit is 32,767 characters; written as XML one can take up to 6 bytes
# (an entity like &amp;), and a rich-text string adds its formatting runs.
MAX_TEXT_BYTES = 256 * 1024
MAX_STRING_BYTES = 1 * MB
_CHUNK = 1 * MB

_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|v|t|si)[\s/>]")
_ROW_REF = re.compile(rb'\sr="(\d+)"')
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_CELL_COLUMN = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br="([A-Za-z]{1,3})\d')


def check_archive(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts would unpack beyond what a guest table needs."""
    members = archive.infolist()
    if len(members) > MAX_PARTS:
        raise TableError("xlsx_too_many_parts", {"limit": MAX_PARTS})
    other = 0
    for info in members:
        name = info.filename.lower()
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            if info.file_size > MAX_SHEET_BYTES:
                raise TableError("xlsx_too_large", {"limit_mb": MAX_SHEET_BYTES // MB})
        elif name.endswith("sharedstrings.xml"):
            if info.file_size > MAX_SHARED_STRINGS_BYTES:
                raise TableError("xlsx_too_large", {"limit_mb": MAX_SHARED_STRINGS_BYTES // MB})
            with archive.open(info) as source:
                _check_shared_strings(source)
        elif name.endswith((".xml", ".rels", ".vml")):
            other += info.file_size
    if other > MAX_OTHER_BYTES:
        raise TableError("xlsx_too_large", {"limit_mb": MAX_OTHER_BYTES // MB})


class _Scan:
    """One pass over a part's bytes: tags of interest, and the longest text between tags.

    Text in XML cannot hold "<", so the bytes from a tag to the next "<" are at least
    as many as the characters of its text.
    """

    def __init__(self) -> None:
        self.rows = 0  # rows with a value
        self.strings = 0
        self.row_open = False  # a <row> seen and no value in it yet
        self.last_string = 0  # offset of the last <si>
        self.offset = 0  # of the data being scanned, in the whole part
        # How far the cells reach, for a reader that allocates the whole grid.
        self.row_number = 0  # of the <row> being scanned
        self.last_row = 0  # the last row number with a value
        self.columns: set[bytes] = set()  # column letters of the cells
        self.cells = 0
        self.unreferenced = False  # a row or cell without its reference

    def run(self, source: IO[bytes]) -> None:
        carry = b""
        while chunk := source.read(_CHUNK):
            data = carry + chunk
            cut = data.rfind(b"<")
            if cut <= 0:  # no tag starts in it: all text
                if len(data) > MAX_TEXT_BYTES:
                    raise TableError("cell_too_long", {"limit": 32_767})
                carry = data
                continue
            self._scan(data, cut)
            self.offset += cut
            carry = data[cut:]
            if len(carry) > MAX_TEXT_BYTES:
                raise TableError("cell_too_long", {"limit": 32_767})
        self._scan(carry + b"<", len(carry))
        self.offset += len(carry)
        self._string_ends(self.offset)

    def _scan(self, data: bytes, end: int) -> None:
        cells = len(_CELL.findall(data, 0, end))
        if cells:
            columns = _CELL_COLUMN.findall(data, 0, end)
            self.unreferenced |= len(columns) != cells
            self.cells += cells
            self.columns.update(columns)
        for match in _TAG.finditer(data, 0, end):
            tag = match[1]
            if tag == b"row":
                self.row_open = True
                ref = _ROW_REF.search(data, match.end() - 1, data.find(b">", match.end() - 1))
                if ref is None:
                    self.unreferenced = True
                else:
                    self.row_number = int(ref[1])
            elif tag == b"si":
                self._string_ends(self.offset + match.start())
                self.last_string = self.offset + match.start()
                self.strings += 1
            else:  # <v> or <t>: a value, if it has text
                start = data.find(b">", match.end() - 1)
                if data[start - 1 : start] == b"/":
                    continue  # <v/>: no value
                text = data.find(b"<", start) - start - 1
                if text > MAX_TEXT_BYTES:
                    raise TableError("cell_too_long", {"limit": 32_767})
                if text > 0 and self.row_open:
                    self.rows += 1
                    self.row_open = False
                    self.last_row = self.row_number

    def _string_ends(self, at: int) -> None:
        if self.strings and at - self.last_string > MAX_STRING_BYTES:
            raise TableError("cell_too_long", {"limit": 32_767})


def _check_shared_strings(source: IO[bytes]) -> None:
    scan = _Scan()
    scan.run(source)
    if scan.strings > MAX_SHARED_STRINGS:
        raise TableError("xlsx_too_many_strings", {"limit": MAX_SHARED_STRINGS})


def sheet_data_rows(source: IO[bytes]) -> int:
    """The rows of a sheet that hold a value; refuses a sheet with a text too long for a cell."""
    scan = _Scan()
    scan.run(source)
    return scan.rows


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ch - 64
    return number


def grid_cells(archive: zipfile.ZipFile) -> int | None:
    """The most cells a reader that allocates a sheet's whole grid would need, over the
    workbook's sheets (from A1 to the last row with a value and the last column named);
    None when a row or cell has no reference, so the grid cannot be known beforehand.
    Refuses a sheet with a text too long for a cell, as sheet_data_rows does."""
    largest = 0
    for info in archive.infolist():
        name = info.filename.lower()
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        scan = _Scan()
        with archive.open(info) as source:
            scan.run(source)
        if scan.unreferenced:
            return None
        width = max((_column_number(c) for c in scan.columns), default=0)
        largest = max(largest, scan.last_row * width)
    return largest


ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def is_ods(archive: zipfile.ZipFile) -> bool:
    """An OpenDocument spreadsheet names itself in its first, uncompressed, member."""
    try:
        info = archive.getinfo("mimetype")
    except KeyError:
        return False
    if info.file_size > 1024:
        return False
    return archive.read(info).strip() == ODS_MIMETYPE


def check_ods_archive(archive: zipfile.ZipFile) -> None:
    """The zip limits of an .xlsx, for an .ods: content.xml holds the sheets."""
    members = archive.infolist()
    if len(members) > MAX_PARTS:
        raise TableError("xlsx_too_many_parts", {"limit": MAX_PARTS})
    other = 0
    for info in members:
        if info.filename == "content.xml":
            if info.file_size > MAX_SHEET_BYTES:
                raise TableError("xlsx_too_large", {"limit_mb": MAX_SHEET_BYTES // MB})
            with archive.open(info) as source:
                _Scan().run(source)  # a text too long for a cell
        elif info.filename.lower().endswith((".xml", ".rdf")):
            other += info.file_size
    if other > MAX_OTHER_BYTES:
        raise TableError("xlsx_too_large", {"limit_mb": MAX_OTHER_BYTES // MB})
