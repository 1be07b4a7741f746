"""Sheets read with calamine (Rust): .xlsx, .xls and .ods, a whole sheet at a time.

calamine holds a sheet as a dense grid, every cell between the first and the last
value allocated (32 bytes each), and fails an allocation by aborting the process,
not by raising. So it only ever sees a file whose grid is known to be small:

- an .xlsx whose sheets' cell references were counted beforehand (xlsx_limits)
  and span at most MAX_GRID_CELLS is read here, in the bot's process;
- an .xls (whose cells cannot be counted without parsing BIFF) or an .ods (where
  one "repeat this row a million times" attribute expands a few bytes into a
  million rows) is read in a child process whose memory is capped at
  CHILD_MEMORY_MB; a file that needs more ends the child, not the bot, and is
  refused. The child sends its rows back a batch at a time.

Row numbers are the admin's: calamine starts a sheet at its first value, so its
offset is added back.
"""

from __future__ import annotations

import pickle
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from bot.guest_import.messages import TableError

# 2,000,000 cells: a sheet of 130,000 guests in 15 columns, read within ~200 MB.
MAX_GRID_CELLS = 2_000_000
CHILD_MEMORY_MB = 300
_BATCH = 2000
Rows = Iterator[tuple[int, tuple[Any, ...]]]


def sheet_rows(sheet: Any) -> Rows:
    """(row number as the file shows it, cells) of each row calamine holds."""
    start = sheet.start
    first = start[0] + 1 if start else 1
    for offset, cells in enumerate(sheet.iter_rows()):
        yield first + offset, tuple(cells)


def data_rows(sheet: Any) -> int:
    """The rows of a sheet that hold a value (calamine gives "" for an empty cell)."""
    return sum(1 for cells in sheet.iter_rows() if any(c != "" and not _spaces(c) for c in cells))


def _spaces(cell: Any) -> bool:
    return isinstance(cell, str) and not cell.strip()


def read_sheets(path: Path) -> Iterator[tuple[int, Rows]]:
    """(rows with a value, rows) of each worksheet, read in this process: only for a
    workbook whose grid xlsx_limits has measured."""
    with CalamineWorkbook.from_path(str(path)) as wb:
        for index in range(len(wb.sheet_names)):
            sheet = wb.get_sheet_by_index(index)
            yield data_rows(sheet), sheet_rows(sheet)


# The child process ------------------------------------------------------------------------


def _child(path: str, out: IO[bytes]) -> None:
    """Read every sheet and write, per sheet, ("sheet", data rows), row batches, ("end",)."""
    limit = CHILD_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        wb = CalamineWorkbook.from_path(path)
        for index in range(len(wb.sheet_names)):
            sheet = wb.get_sheet_by_index(index)
            pickle.dump(("sheet", data_rows(sheet)), out)
            batch: list[tuple[int, tuple[Any, ...]]] = []
            for row in sheet_rows(sheet):
                batch.append(row)
                if len(batch) >= _BATCH:
                    pickle.dump(("rows", batch), out)
                    batch = []
            pickle.dump(("rows", batch), out)
            pickle.dump(("end",), out)
            del sheet
    except PasswordError:
        pickle.dump(("error", "password", ""), out)
    except (CalamineError, ValueError, OSError) as exc:
        pickle.dump(("error", "unreadable", str(exc)), out)
    pickle.dump(("done",), out)
    out.flush()


class ChildReader:
    """A workbook read by a memory-capped child process; its sheets, one at a time."""

    def __init__(self, path: Path, kind: str) -> None:
        self.kind = kind
        self._proc = subprocess.Popen(  # noqa: S603 (this module, our own interpreter)
            [sys.executable, "-m", "bot.guest_import.calamine_rows", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self._proc.stdout is not None
        self._out = self._proc.stdout

    def _next(self) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = pickle.load(self._out)  # noqa: S301 (our own child)
        except (EOFError, pickle.UnpicklingError):
            self._proc.wait()
            # The child died: out of its memory (calamine aborts) or killed.
            raise TableError("xlsx_too_large", {"limit_mb": CHILD_MEMORY_MB}) from None
        if message[0] == "error":
            if message[1] == "password" or self.kind == "xls":
                raise TableError("old_xls")
            raise TableError("unreadable", {"detail": message[2]})
        return message

    def sheets(self) -> Iterator[tuple[int, Rows]]:
        while (message := self._next())[0] == "sheet":
            rows = self._rows()
            yield message[1], rows
            for _ in rows:  # the rest of a sheet not taken
                pass

    def _rows(self) -> Rows:
        while (message := self._next())[0] == "rows":
            yield from message[1]

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._out.close()


if __name__ == "__main__":
    _child(sys.argv[1], sys.stdout.buffer)
