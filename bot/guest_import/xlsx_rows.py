"""The cells of an .xlsx sheet, read with expat: openpyxl's values, about four times sooner.

openpyxl (read-only mode) still opens the workbook and reads the shared strings,
the date styles and the epoch; only the per-cell work, most of an import's time
in openpyxl, is done here with a streaming expat parser. The values are the
ones openpyxl's `iter_rows(values_only=True)` gives (tests compare the two).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.parsers import expat

from openpyxl.utils.datetime import from_excel, from_ISO8601

from bot.guest_import.messages import TableError

_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # "strict" Open XML
)
_ROW, _C, _V, _IS, _T, _RPH = range(6)
_TAGS = {
    f"{ns} {name}": kind
    for ns in _NAMESPACES
    for name, kind in (("row", _ROW), ("c", _C), ("v", _V), ("is", _IS), ("t", _T), ("rPh", _RPH))
}
_CHUNK = 256 * 1024
MAX_COLUMNS = 16_384  # Excel's last column, XFD
MAX_CELL_CHARS = 256 * 1024  # far above Excel's 32,767: only a hostile file reaches it


def _column(coordinate: str, cache: dict[str, int]) -> int:
    """1-based column of a cell reference ("AB12" -> 28)."""
    letters = coordinate.rstrip("0123456789")
    index = cache.get(letters)
    if index is None:
        index = 0
        for ch in letters.upper():
            index = index * 26 + ord(ch) - 64
        cache[letters] = index
    return index


def _number(text: str) -> int | float:
    return float(text) if ("." in text or "E" in text or "e" in text) else int(text)


class _SheetParser:
    """Expat callbacks that collect finished rows as (row number, cells)."""

    def __init__(self, shared: Any, date_styles: Any, timedelta_styles: Any, epoch: Any) -> None:
        self.shared = shared
        self.date_styles = date_styles
        self.timedelta_styles = timedelta_styles
        self.epoch = epoch
        self.done: list[tuple[int, tuple[Any, ...]]] = []
        self.cells: list[Any] = []
        self.row = 0
        self.col = 0
        self.kind: str = "n"
        self.style = 0
        self.text: list[str] = []
        self.size = 0  # characters of the cell's text so far
        self.capture = False
        self.in_inline = False
        self.in_phonetic = False
        self.has_inline = False
        self.columns: dict[str, int] = {}

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _TAGS.get(name)
        if tag == _C:
            ref = attrs.get("r")
            self.col = _column(ref, self.columns) if ref else self.col + 1
            if self.col > MAX_COLUMNS:  # "ZZZZZ1" would make a row of millions of cells
                raise TableError("unreadable", {"detail": f"cell {ref} beyond column XFD"})
            self.kind = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style else 0
            self.text = []
            self.size = 0
            self.has_inline = False
        elif tag == _V:
            self.capture = not self.in_inline
        elif tag == _T:
            self.capture = self.in_inline and not self.in_phonetic
        elif tag == _ROW:
            ref = attrs.get("r")
            self.row = int(float(ref)) if ref else self.row + 1
            self.cells = []
            self.col = 0
        elif tag == _IS:
            self.in_inline = self.has_inline = True
        elif tag == _RPH:
            self.in_phonetic = True

    def end(self, name: str) -> None:
        tag = _TAGS.get(name)
        if tag in (_V, _T):
            self.capture = False
        elif tag == _C:
            value = self._value()
            if value is not None:
                cells = self.cells
                missing = self.col - len(cells)
                if missing > 0:
                    cells.extend([None] * missing)
                cells[self.col - 1] = value
        elif tag == _ROW:
            self.done.append((self.row, tuple(self.cells)))
        elif tag == _IS:
            self.in_inline = False
        elif tag == _RPH:
            self.in_phonetic = False

    def data(self, text: str) -> None:
        if self.capture:
            self.text.append(text)
            self.size += len(text)
            if self.size > MAX_CELL_CHARS:  # xlsx_limits refuses such a file first
                raise TableError("cell_too_long", {"limit": 32_767})

    def _value(self) -> Any:
        text = "".join(self.text)
        kind = self.kind
        if kind == "inlineStr":
            return text if self.has_inline else None
        if not text:
            return None
        if kind == "n":
            number = _number(text)
            if self.style in self.date_styles:
                try:
                    return from_excel(
                        number, self.epoch, timedelta=self.style in self.timedelta_styles
                    )
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.shared[int(text)]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
        return text  # "str" (a formula's text result) or "e" (an error such as #N/A)


def sheet_rows(wb: Any, ws: Any) -> Iterator[tuple[int, tuple[Any, ...]]] | None:
    """(row number, values) of each row present in a read-only sheet; None if unsupported."""
    try:
        source = wb._archive.open(ws._worksheet_path)
        handler = _SheetParser(
            ws._shared_strings, wb._date_formats, wb._timedelta_formats, wb.epoch
        )
    except (AttributeError, KeyError):  # another openpyxl version: let it read the cells
        return None
    return _parse(source, handler)


def _parse(source: Any, handler: _SheetParser) -> Iterator[tuple[int, tuple[Any, ...]]]:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    with source:
        while True:
            chunk = source.read(_CHUNK)
            parser.Parse(chunk, not chunk)
            if handler.done:
                yield from handler.done
                handler.done = []
            if not chunk:
                return
