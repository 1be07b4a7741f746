"""Group commit of a run's claims and finishes: one short transaction for many rows.

Feeders claim rows (a few at a time, just before workers send them) and workers
hand in each row's finish after the answer. Whatever has gathered while the
previous transaction ran goes into the next one, so under load batches grow by
themselves, and when idle a claim costs one small transaction. A crash thus
leaves `sending` only on rows that were in flight or about to be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from storage.deliveries import Finish
from storage.delivery_writer import DeliveryWriter

log = logging.getLogger(__name__)

# How long the idle writer sleeps between looks (any claim or finish wakes it).
FLUSH_INTERVAL = 0.2
# Finished rows wait this long for more to join their transaction (a crash in that
# window leaves them `unknown`, never resent).
FINISH_DELAY = 0.02
MAX_BATCH = 500
RETRIES = 5

_Claim = tuple[list[int], "asyncio.Future[set[int]]"]


class Journal:
    """Batches claims and finishes of one run into transactions on the writer's connection."""

    def __init__(self, writer: DeliveryWriter, on_commit: Callable[[list[Finish]], None]) -> None:
        """Write through `writer`; `on_commit` sees every finish once it is durable."""
        self.writer = writer
        self.on_commit = on_commit
        self._claims: list[_Claim] = []
        self._finishes: list[Finish] = []
        self._flushes: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._error: BaseException | None = None

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._writer(), name="delivery-journal")

    async def claim(self, ids: list[int]) -> set[int]:
        """Mark rows `sending` (durably) before their send; returns those still pending."""
        if self._error is not None:
            raise RuntimeError("the delivery journal failed") from self._error
        future: asyncio.Future[set[int]] = asyncio.get_running_loop().create_future()
        self._claims.append((ids, future))
        self._wake.set()
        return await future

    def finish(self, outcome: Finish) -> None:
        """Queue a finished row; written with the next batch, within FINISH_DELAY."""
        self._finishes.append(outcome)
        if len(self._finishes) == 1:
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
        """Write everything queued and stop the writer."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._error is not None:
            raise RuntimeError("the delivery journal failed") from self._error

    async def _idle(self) -> bool:
        """Wait for work; False once closed and drained. Finishes alone wait FINISH_DELAY
        for company, so a busy channel writes a batch, not a transaction per message."""
        while not (self._claims or self._flushes or self._closing):
            self._wake.clear()
            if self._finishes:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), FINISH_DELAY)
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL)
        return bool(self._claims or self._flushes or self._finishes) or not self._closing

    async def _writer(self) -> None:
        """Commit what has gathered, again and again, until closed and drained."""
        while await self._idle():
            claims, self._claims = self._claims, []
            finishes, self._finishes = self._finishes, []
            flushes, self._flushes = self._flushes, []
            if not (claims or finishes):
                self._resolve(flushes)
                continue
            ids = [i for wanted, _ in claims for i in wanted]
            try:
                claimed = await self._commit(ids, finishes)
            except Exception as exc:
                self._error = exc
                error = RuntimeError(f"writing the delivery journal failed: {exc}")
                for _, future in [*claims, *self._claims]:
                    if not future.done():
                        future.set_exception(error)
                self._resolve([*flushes, *self._flushes])
                raise
            if finishes:
                self.on_commit(finishes)
            for wanted, future in claims:
                if not future.done():
                    future.set_result(claimed.intersection(wanted))
            self._resolve(flushes)

    @staticmethod
    def _resolve(waiters: list[asyncio.Future[None]]) -> None:
        """Release flush() callers."""
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _commit(self, claims: list[int], finishes: list[Finish]) -> set[int]:
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
