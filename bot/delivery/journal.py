"""Group commit of a run's claims and finishes: `sending` means "its request may have left".

A worker claims its row once the send may start (its rate slot came, its
connection is open) and hands in the outcome as soon as the answer is known.
Both go to the journal's one writer task, which commits whatever gathered during
a turn of the event loop in one short transaction, finishes first. On a busy
channel a worker's finish and its next claim arrive in the same turn, so they
share a transaction, with those of the other workers that got their answers
meanwhile; on a slow one each finish is written at the next turn, on its own.

So a worker's finish is durable no later than its next claim, and a crash leaves
`sending` on at most one row per worker: the one whose request was in flight
(docs/architecture.md, "Engine invariants").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from storage.deliveries import Finish
from storage.delivery_writer import Committed

if TYPE_CHECKING:
    from bot.delivery.store import JournalStore

log = logging.getLogger(__name__)

RETRIES = 5
# Turns of the event loop a batch may wait for company (while each brings more).
GATHER_TURNS = 4


class JournalFailed(RuntimeError):
    """The journal cannot write: nothing more may be claimed (so nothing more is sent)."""


class Journal:
    """Commits the claims and finishes of one run, each batch one transaction."""

    def __init__(
        self, writer: JournalStore, on_commit: Callable[[list[Finish], dict[int, str]], None]
    ) -> None:
        """Write through `writer`; `on_commit` sees every finish once it is durable, with the
        status of each fallback row written (by the failed row's id)."""
        self.writer = writer
        self.on_commit = on_commit
        self._claims: list[tuple[int, asyncio.Future[bool]]] = []
        self._finishes: list[Finish] = []
        self._flushes: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._error: BaseException | None = None

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._writer(), name="delivery-journal")

    async def claim(self, row_id: int) -> bool:
        """Mark a row `sending`, durably, right before its request; False if it is no
        longer pending (cancelled, or claimed elsewhere), so it cannot be sent twice.

        Written at the next turn of the loop with every finish handed in so far
        (this worker's previous one among them) and the other claims of that turn.
        """
        if self._error is not None:
            raise JournalFailed("the delivery journal failed") from self._error
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append((row_id, future))
        self._wake.set()
        return await future

    def finish(self, outcome: Finish) -> None:
        """Hand in a finished row; written at the next turn of the loop."""
        self._finishes.append(outcome)
        self._wake.set()

    async def flush(self) -> None:
        """Wait until every finish handed in so far is written."""
        if self._error is not None or self._task is None or self._task.done():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushes.append(future)
        self._wake.set()
        await future

    async def close(self) -> None:
        """Write everything handed in and stop the writer."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._error is not None:
            raise JournalFailed("the delivery journal failed") from self._error

    async def _writer(self) -> None:
        """Commit what gathered, turn after turn, until closed and drained."""
        while self._error is None:
            if not (self._claims or self._finishes or self._flushes):
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._gather()
            claims, self._claims = self._claims, []
            finishes, self._finishes = self._finishes, []
            flushes, self._flushes = self._flushes, []
            # A claimer cancelled meanwhile will not send: its row stays pending.
            claims = [(row_id, f) for row_id, f in claims if not f.done()]
            committed = Committed(set(), {})
            if claims or finishes:
                try:
                    committed = await self._commit([row_id for row_id, _ in claims], finishes)
                except Exception as exc:
                    self._fail(exc, claims)
                    self._resolve(flushes)
                    raise
            for row_id, future in claims:
                if not future.done():
                    future.set_result(row_id in committed.claimed)
            if finishes:
                self.on_commit(finishes, committed.fallbacks)
            self._resolve(flushes)

    async def _gather(self) -> None:
        """Let the workers answered in the same turns join the batch: yield a turn of the
        loop while the last one brought more, a few at most. An idle loop costs one
        turn (microseconds); a busy channel commits dozens of rows at once, not a
        transaction per message (a commit's fixed cost is several rows' worth)."""
        for _ in range(GATHER_TURNS):
            before = len(self._claims) + len(self._finishes)
            await asyncio.sleep(0)
            if len(self._claims) + len(self._finishes) == before or self._flushes:
                return

    def _fail(self, exc: Exception, claims: list[tuple[int, asyncio.Future[bool]]]) -> None:
        """The journal cannot write: refuse these claims and further ones, release flush()."""
        self._error = exc
        for _, future in (*claims, *self._claims):
            if not future.done():
                future.set_exception(JournalFailed(f"writing the delivery journal failed: {exc}"))
        self._claims = []
        flushes, self._flushes = self._flushes, []
        self._resolve(flushes)

    @staticmethod
    def _resolve(waiters: list[asyncio.Future[None]]) -> None:
        """Release flush() callers."""
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def failed(self) -> BaseException | None:
        """Why the journal cannot write any more (None while it can)."""
        return self._error

    async def _commit(self, claims: list[int], finishes: list[Finish]) -> Committed:
        """One batch, retried a few times when the database is busy or briefly failing."""
        for attempt in range(RETRIES):
            try:
                return await self.writer.commit(claims, finishes)
            except Exception as exc:
                if attempt == RETRIES - 1:
                    log.exception("writing %d delivery rows failed", len(claims) + len(finishes))
                    raise
                log.warning("writing delivery rows failed (%s); retrying", exc)
                await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")
