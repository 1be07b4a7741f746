"""Group commit of a run's claims and finishes: one short transaction for many rows.

Feeders claim rows (a few at a time, just before workers send them) and workers
hand in each row's finish after the answer. A claim is written at once, in the
feeder's own task, together with every finish handed in meanwhile: the workers
are waiting for those rows, and a hop to another task would cost them turns of
the event loop. Finishes alone wait up to FINISH_DELAY for company and are then
written by the journal's task; under load they ride along with the claims. A
crash thus leaves `sending` only on rows that were in flight or about to be.
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

# How long the idle writer sleeps between looks (any claim or finish wakes it).
FLUSH_INTERVAL = 0.2
# Finished rows wait this long for more to join their transaction (a crash in that
# window leaves them `unknown`, never resent).
FINISH_DELAY = 0.02
MAX_BATCH = 500
RETRIES = 5


class Journal:
    """Batches claims and finishes of one run into transactions on the writer's connection."""

    def __init__(
        self, writer: JournalStore, on_commit: Callable[[list[Finish], dict[int, str]], None]
    ) -> None:
        """Write through `writer`; `on_commit` sees every finish once it is durable, with the
        status of each fallback row written (by the failed row's id)."""
        self.writer = writer
        self.on_commit = on_commit
        self._finishes: list[Finish] = []
        self._flushes: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()  # work arrived
        self._urgent = asyncio.Event()  # a flush or the close: no waiting for company
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # One transaction at a time (a claim's, or the task's), so flush() also waits
        # for a claim's transaction that carries finishes.
        self._lock = asyncio.Lock()
        self._oldest = 0.0  # when the oldest finish not yet written was handed in
        self._error: BaseException | None = None

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._writer(), name="delivery-journal")

    async def claim(self, ids: list[int]) -> set[int]:
        """Mark rows `sending` (durably) before their send; returns those still pending.

        Written right away, with the finishes queued so far, in the caller's task.
        """
        if self._error is not None:
            raise RuntimeError("the delivery journal failed") from self._error
        async with self._lock:
            finishes, self._finishes = self._finishes, []
            try:
                committed = await self._commit(ids, finishes)
            except Exception as exc:
                self._fail(exc)
                raise RuntimeError(f"writing the delivery journal failed: {exc}") from exc
        if finishes:
            self.on_commit(finishes, committed.fallbacks)
        return committed.claimed

    def finish(self, outcome: Finish) -> None:
        """Queue a finished row; written with the next batch, within FINISH_DELAY."""
        self._finishes.append(outcome)
        if len(self._finishes) == 1:
            self._oldest = asyncio.get_running_loop().time()
            self._wake.set()

    async def flush(self) -> None:
        """Wait until every finish handed in so far is written."""
        if self._error is not None or self._task is None or self._task.done():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushes.append(future)
        self._wake.set()
        self._urgent.set()
        await future

    async def close(self) -> None:
        """Write everything queued and stop the writer."""
        self._closing = True
        self._wake.set()
        self._urgent.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._error is not None:
            raise RuntimeError("the delivery journal failed") from self._error

    async def _idle(self) -> bool:
        """Wait for work; False once closed and drained. Finishes alone wait FINISH_DELAY
        for company (more finishes do not cut it short, a flush does), so a busy channel
        writes a batch, not a transaction per message."""
        loop = asyncio.get_running_loop()
        while not (self._flushes or self._closing):
            if self._finishes:
                # A claim meanwhile takes the finishes along: count from the oldest left.
                left = self._oldest + FINISH_DELAY - loop.time()
                if left <= 0:
                    return True
                self._urgent.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._urgent.wait()
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_INTERVAL):
                    await self._wake.wait()
        return bool(self._flushes or self._finishes) or not self._closing

    async def _writer(self) -> None:
        """Commit the finishes that gathered, again and again, until closed and drained."""
        while await self._idle() and self._error is None:
            async with self._lock:
                finishes, self._finishes = self._finishes, []
                flushes, self._flushes = self._flushes, []
                fallbacks: dict[int, str] = {}
                if finishes:
                    try:
                        fallbacks = (await self._commit([], finishes)).fallbacks
                    except Exception as exc:
                        self._fail(exc)
                        self._resolve(flushes)
                        raise
            if finishes:
                self.on_commit(finishes, fallbacks)
            self._resolve(flushes)

    def _fail(self, exc: Exception) -> None:
        """The journal cannot write: refuse further claims and release flush() callers."""
        self._error = exc
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
