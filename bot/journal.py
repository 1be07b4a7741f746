"""A mailing's journal for the admin: pages, a guest's last deliveries, and the XLSX export.

The export streams the journal from the database into the writer a batch at a
time (constant memory, in a worker thread so the bot keeps answering). A file
over Telegram's document limit is split into parts by rows: an XLSX is already
deflated, so zipping it again would not make it fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from bot.xlsx import MAX_ROWS, XlsxWriter
from storage.db import Database
from storage.journal import (
    GuestDelivery,
    JournalFilter,
    JournalPage,
    JournalRepository,
    JournalRow,
)

PAGE_SIZE = 10
TELEGRAM_DOCUMENT_LIMIT = 50 * 1024 * 1024  # what a bot may upload as a document
# A part is aimed at this share of the limit: rows differ in size, so parts do too.
_PART_SHARE = 0.8
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')

RowValues = Callable[[JournalRow], Sequence[Any]]


def file_stem(*words: str) -> str:
    """A file name from words: joined by "_", spaces too, without characters systems refuse."""
    text = "_".join(w.strip() for w in words if w.strip())
    return _UNSAFE_NAME.sub("", "_".join(text.split()))[:120] or "journal"


@dataclass(frozen=True)
class Export:
    """The files of an export (more than one when it was split) and the rows written."""

    files: list[Path]
    rows: int

    @property
    def split(self) -> bool:
        return len(self.files) > 1


@dataclass(frozen=True)
class ExportSpec:
    """What the file looks like: its name without ".xlsx", sheet, header and each row's
    cells (statuses and reasons in the admin's language), dates in `tz`."""

    stem: str
    sheet_title: str
    headers: Sequence[str]
    values: RowValues
    tz: tzinfo
    part_name: Callable[[int, int], str] = lambda part, parts: f"{part}-{parts}"


class JournalService:
    """What handlers ask of the journal; the SQL is JournalRepository's."""

    def __init__(self, db: Database, limit: int = TELEGRAM_DOCUMENT_LIMIT) -> None:
        self.repo = JournalRepository(db)
        self.limit = limit  # the largest file sent; tests make it small

    async def page(
        self,
        mailing_id: int,
        flt: JournalFilter,
        *,
        after: int | None = None,
        before: int | None = None,
    ) -> JournalPage:
        return await self.repo.page(mailing_id, flt, after=after, before=before, size=PAGE_SIZE)

    async def of_guest(self, guest_id: int, limit: int = 10) -> list[GuestDelivery]:
        """A guest's newest deliveries, for the account card."""
        return await self.repo.of_guest(guest_id, limit)

    async def export(
        self, mailing_id: int, flt: JournalFilter, directory: Path, spec: ExportSpec
    ) -> Export:
        """The journal (or its filtered part) as XLSX in `directory`; split into parts of
        at most `limit` bytes each when one file would be larger."""
        path = directory / f"{spec.stem}.xlsx"
        rows = await self._write(mailing_id, flt, spec, [path], MAX_ROWS - 1)
        size = path.stat().st_size
        if size <= self.limit:
            return Export([path], rows)
        parts = max(2, math.ceil(size / (self.limit * _PART_SHARE)))
        while True:
            path.unlink(missing_ok=True)
            per_part = min(math.ceil(rows / parts), MAX_ROWS - 1)
            count = math.ceil(rows / per_part)
            paths = [
                directory / f"{spec.stem}_{spec.part_name(i + 1, count)}.xlsx" for i in range(count)
            ]
            await self._write(mailing_id, flt, spec, paths, per_part)
            if all(p.stat().st_size <= self.limit for p in paths) or per_part == 1:
                return Export(paths, rows)
            for p in paths:
                p.unlink(missing_ok=True)
            parts *= 2

    async def _write(
        self, mailing_id: int, flt: JournalFilter, spec: ExportSpec, paths: list[Path], per: int
    ) -> int:
        """Stream the rows into `paths` in turn, `per` rows in each; returns rows written."""
        written = 0
        writers: list[XlsxWriter] = []

        def open_next() -> XlsxWriter:
            writer = XlsxWriter(paths[len(writers)], spec.sheet_title, spec.headers, tz=spec.tz)
            writers.append(writer)
            return writer

        def add(batch: list[JournalRow]) -> None:
            nonlocal written
            for row in batch:
                writer = writers[-1]
                if writer.rows_written >= per and len(writers) < len(paths):
                    writer.save()
                    writer = open_next()
                writer.append(spec.values(row))
                written += 1

        open_next()
        try:
            async for batch in self.repo.stream(mailing_id, flt):
                await asyncio.to_thread(add, batch)
            await asyncio.to_thread(writers[-1].save)
        except BaseException:
            for writer in writers:
                with contextlib.suppress(Exception):
                    writer.close()
            raise
        return written
