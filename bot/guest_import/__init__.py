"""Import of the guest base from an .xlsx, .xls, .ods or .csv table into the guests table.

Rows are read and validated in a worker thread a batch at a time (the bot
stays responsive) and written one transaction per batch. Everything that
makes the whole file unusable (not a table, too big, too many rows, no phone
column, no data) is found before the first write. Only damage deep inside an
otherwise readable file can stop an import part-way; the batches written stay.

Rows apply in file order. A phone seen on an earlier row is the same guest
only if the name agrees (same last and first name, or no name on one of the
rows): then it updates that guest again, the later row's values win and cells
it leaves empty keep the earlier values, and the row is listed in
`ImportResult.duplicates`. A phone repeated with another name is another
person: the row is refused with both row numbers, never merged (two people
must not become one record with one's name and the other's birthday). A card
number repeated with another phone is refused too: one card cannot belong to
two guests. An empty cell never blanks stored data. A guest whose only fault is
a bad email is imported without it (stored email kept), the value listed in
`ImportResult.dropped`.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.guest_import.columns import EXPORT_FIELDS, SYNONYMS, ColumnMap, export_headers
from bot.guest_import.messages import MESSAGES, Problem, Rejection, TableError, describe
from bot.guest_import.rows import RowValidator
from bot.guest_import.tables import MAX_FILE_BYTES, MAX_ROWS, RawRow, Table, open_table, read_table
from storage.db import Database
from storage.guests import GuestRecord, GuestRepository

__all__ = [
    "EXPORT_FIELDS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MESSAGES",
    "SYNONYMS",
    "ColumnMap",
    "ImportResult",
    "Problem",
    "RawRow",
    "RejectedRow",
    "Rejection",
    "RowValidator",
    "TableError",
    "describe",
    "export_headers",
    "import_guests",
    "open_table",
    "read_table",
]

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None], Awaitable[None]]


class RejectedRow:
    """A row not imported: where it was, what it held, and why.

    Kept pickled until the report is written: a file may have 200,000 rows refused,
    and as Python objects their cells took 500 MB where their pickles take 40.
    """

    __slots__ = ("_packed", "row_number")

    def __init__(self, raw: RawRow, reason: Rejection) -> None:
        self.row_number = raw.number
        self._packed = pickle.dumps((raw.cells, raw.headers, reason), pickle.HIGHEST_PROTOCOL)

    def _unpacked(self) -> tuple[tuple[Any, ...], tuple[str, ...], Rejection]:
        cells, headers, reason = pickle.loads(self._packed)  # noqa: S301 (our own bytes, from __init__)
        return cells, headers, reason

    @property
    def raw(self) -> RawRow:
        cells, headers, _reason = self._unpacked()
        return RawRow(self.row_number, cells, headers)

    @property
    def reason(self) -> Rejection:
        return self._unpacked()[2]

    @property
    def values(self) -> dict[str, Any]:
        return self.raw.values


@dataclass
class ImportResult:
    """What an import did; added + updated + unchanged + len(rejected) == total_rows."""

    filename: str
    headers: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)  # field -> header used
    unknown_columns: tuple[str, ...] = ()
    total_rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (row, earlier row)
    # Rows refused as another person's: an earlier row's phone with another name,
    # or its card with another phone.
    other_person: list[int] = field(default_factory=list)
    # Guests imported with a value left out (a bad email): the row, and what was dropped.
    dropped: list[RejectedRow] = field(default_factory=list)
    seconds: float = 0.0


def _name_key(name: str | None) -> str | None:
    """A name as compared between rows: case, spaces and ё/е do not matter."""
    if name is None:
        return None
    return " ".join(name.casefold().replace("ё", "е").split()) or None


@dataclass(frozen=True, slots=True)
class _Person:
    """Who a file's rows with one phone are: the row that named them, and the name."""

    row: int
    last: str | None
    first: str | None
    name: str  # as written, for the reason of a refused row

    @classmethod
    def of(cls, row: int, record: GuestRecord) -> _Person:
        name = " ".join(p for p in (record.last_name, record.first_name) if p)
        return cls(row, _name_key(record.last_name), _name_key(record.first_name), name)

    def same_as(self, other: _Person) -> bool:
        """No part of the name that both rows give differs."""
        return all(
            a is None or b is None or a == b
            for a, b in ((self.last, other.last), (self.first, other.first))
        )

    def merged(self, later: _Person) -> _Person:
        """After a merge: the name parts either row gave (a third row must agree with both)."""
        if later.last in (None, self.last) and later.first in (None, self.first):
            return self
        last, first = self.last or later.last, self.first or later.first
        name = later.name if len(later.name) > len(self.name) else self.name
        return _Person(later.row if later.name == name else self.row, last, first, name)


@dataclass(frozen=True, slots=True)
class _Batch:
    rows: list[tuple[RawRow, GuestRecord]]
    done: int  # data rows read so far, this batch included


class _Reader:
    """The synchronous half, run in a worker thread: reads, validates, hands out batches."""

    def __init__(self, table: Table, result: ImportResult, today: date | None) -> None:
        self.rows = table.rows()
        self.validate = RowValidator(table.columns, today)
        self.result = result
        self.phones: dict[str, _Person] = {}  # phone -> who the file's rows say it is
        self.cards: dict[str, tuple[int, str]] = {}  # card -> (first row, phone)
        self.done = 0

    def next_batch(self, size: int) -> _Batch:
        batch: list[tuple[RawRow, GuestRecord]] = []
        for raw in self.rows:
            self.done += 1
            if self.done > MAX_ROWS:
                raise TableError("too_many_rows", {"limit": MAX_ROWS})
            checked = self.validate(raw.cells)
            if isinstance(checked, Rejection):
                self.result.rejected.append(RejectedRow(raw, checked))
            elif self._accept(raw, checked):
                if self.validate.dropped:
                    self.result.dropped.append(RejectedRow(raw, Rejection(self.validate.dropped)))
                batch.append((raw, checked))
                if len(batch) >= size:
                    break
        return _Batch(batch, self.done)

    def _accept(self, raw: RawRow, record: GuestRecord) -> bool:
        card = record.card_number
        if card is not None:
            first = self.cards.setdefault(card, (raw.number, record.phone))
            if first[1] != record.phone:
                problem = Problem("card_repeated", {"card": card, "row": first[0]})
                self.result.rejected.append(RejectedRow(raw, Rejection((problem,))))
                self.result.other_person.append(raw.number)
                return False
        person = _Person.of(raw.number, record)
        earlier = self.phones.setdefault(record.phone, person)
        if earlier is person:
            return True
        if not earlier.same_as(person):
            params = {"row": raw.number, "first": earlier.row, "name": earlier.name}
            problem = Problem("phone_other_person", params)
            self.result.rejected.append(RejectedRow(raw, Rejection((problem,))))
            self.result.other_person.append(raw.number)
            if card is not None:
                self.forget_card(raw, card)
            return False
        self.result.duplicates.append((raw.number, earlier.row))
        self.phones[record.phone] = earlier.merged(person)
        return True

    def forget_card(self, raw: RawRow, card: str) -> None:
        """A row refused by the database no longer claims its card number."""
        if self.cards.get(card, (0, ""))[0] == raw.number:
            del self.cards[card]


async def import_guests(
    db: Database,
    path: Path,
    filename: str,
    *,
    progress: Progress | None = None,
    batch_size: int = 1000,
    today: date | None = None,
) -> ImportResult:
    """Import a guest table; raises TableError, having written nothing, if the file is unusable.

    `progress(rows_done, rows_total_or_None)` is awaited after each batch.
    """
    started = time.perf_counter()
    table = await asyncio.to_thread(open_table, path, filename)
    reported: tuple[int, int | None] | None = None
    try:
        columns = table.columns
        result = ImportResult(
            filename=filename,
            headers=columns.headers,
            columns={f: columns.headers[i] for f, i in columns.fields.items()},
            unknown_columns=columns.unknown,
        )
        reader = _Reader(table, result, today)
        repo = GuestRepository(db)
        # Reading the next batch while this one is written was tried: slower, as the
        # reader thread holds the GIL and every aiosqlite round trip waits for it.
        while True:
            batch = await asyncio.to_thread(reader.next_batch, batch_size)
            if not batch.rows:
                break
            outcome = await repo.upsert_many([record for _, record in batch.rows])
            result.added += outcome.added
            result.updated += outcome.updated
            result.unchanged += outcome.unchanged
            for conflict in outcome.conflicts:
                raw = batch.rows[conflict.index][0]
                params = {"card": conflict.card_number, "phone": conflict.other_phone}
                reason = Rejection((Problem("card_taken", params),))
                result.rejected.append(RejectedRow(raw, reason))
                reader.forget_card(raw, conflict.card_number)
                if result.dropped and result.dropped[-1].row_number >= raw.number:
                    result.dropped = [d for d in result.dropped if d.row_number != raw.number]
            if progress is not None:
                reported = (batch.done, table.estimated_rows)
                await progress(*reported)
        if batch.done == 0:
            raise TableError("empty")
        if progress is not None and reported != (batch.done, batch.done):
            await progress(batch.done, batch.done)  # rows refused after the last write
    finally:
        await asyncio.to_thread(table.close)
    result.total_rows = reader.done
    result.rejected.sort(key=lambda r: r.row_number)
    result.seconds = time.perf_counter() - started
    log.info(
        "imported %s: %d rows, %d added, %d updated, %d unchanged, %d rejected in %.1fs",
        filename,
        result.total_rows,
        result.added,
        result.updated,
        result.unchanged,
        len(result.rejected),
        result.seconds,
    )
    return result
