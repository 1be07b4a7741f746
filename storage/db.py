"""An aiosqlite connection with the pragmas the product relies on.

The handlers share one; the delivery engine opens its own (its writes do not
queue behind the handlers'), and its hot path a synchronous one of its own
(storage/delivery_writer.py). WAL lets them all read while one writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

# Writers wait this long for a lock held by another connection (the CLI import,
# a second process) instead of failing at once.
BUSY_TIMEOUT_MS = 10_000


def fold(text: str | None) -> str | None:
    """A name as history search compares it: casefolded (Cyrillic too, unlike SQLite's
    LIKE), ё as е. Registered on every connection as SQL `fold()` for the trigger that
    keeps mailings.name_folded (docs/architecture.md, "Storage")."""
    return None if text is None else text.casefold().replace("ё", "е")


async def connect(path: Path | str) -> aiosqlite.Connection:
    """Open the database file in autocommit mode with WAL and foreign keys on."""
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.create_function("fold", 1, fold, deterministic=True)
    return conn


class Database:
    """A connection to the application's database, its transactions serialised.

    aiosqlite runs one connection on one thread; two coroutines interleaving
    statements inside one BEGIN would mix their transactions, so every write
    transaction holds a lock for its whole length.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> Database:
        self._conn = await connect(self.path)
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE); rolled back on any error."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one writing statement in its own transaction; returns rows changed."""
        async with self._lock:
            cursor = await self.conn.execute(sql, params)
            count = cursor.rowcount
            await cursor.close()
            return count

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def fetchone(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]
