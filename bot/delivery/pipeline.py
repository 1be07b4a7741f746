"""One channel of a running mailing: a feeder reading pending rows just ahead of the
workers, and the workers claiming and sending them through the channel's sender.

Like listmonk's pipe: the feeder reads pending rows in pages (constant memory)
and queues them unclaimed; each worker waits until the channel is ready for its
send, claims the row (written before the request leaves, with the worker's
previous finish), sends, and hands the outcome to the run's journal at once. A
crash thus finds `sending` only on rows whose request was in flight
(docs/architecture.md, "Engine invariants"). N failures in a row pause the
channel: the pipeline halts and asks the run, which owns the run's paused
channels and its stop flag; the pipeline only reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

from bot.delivery.base import ChannelDown, Result, Sender, short
from bot.delivery.journal import JournalFailed
from storage.deliveries import INTERRUPTED, PendingDelivery
from storage.statuses import Channel, DeliveryStatus

if TYPE_CHECKING:
    from bot.delivery.run import MailingRun

log = logging.getLogger(__name__)

PAGE = 200  # pending rows read at a time per channel
# The feeder reads the next page once fewer rows than this wait in the queue: queued
# rows are not claimed yet, so a crash leaves them pending; only memory bounds them.
LOW_WATER = PAGE // 2
CHANNEL_BACKOFF_MAX = 10.0
PENDING: Final = DeliveryStatus.PENDING
UNKNOWN: Final = DeliveryStatus.UNKNOWN


class ChannelPipeline:
    """One channel of a run: a feeder of pending rows and `sender.workers` workers."""

    def __init__(self, run: MailingRun, sender: Sender, upstream: list[ChannelPipeline]) -> None:
        """Feed `sender` the run's pending rows of its channel; `upstream` may add fallbacks."""
        self.run = run
        self.sender = sender
        self.channel = Channel(sender.channel)
        self.upstream = upstream
        self.queue: asyncio.Queue[PendingDelivery | None] = asyncio.Queue()
        self._room = asyncio.Event()
        self.inflight: set[int] = set()
        self.done = asyncio.Event()
        self.more = asyncio.Event()
        self.wake = asyncio.Event()
        self.failures_in_row = 0
        # Why this pipeline gave up on its channel (it stays halted; a Resume starts
        # a new pipeline with a new sender once this one has ended).
        self.paused: str | None = None
        self._drained = asyncio.Event()

    @property
    def halted(self) -> bool:
        """True once the run stops, this pipeline paused its channel or nothing can be
        recorded any more."""
        return self.run.stopping or self.paused is not None or self.run.journal.failed is not None

    def halt(self) -> None:
        """Wake everything that waits, so a stop or pause is seen at once."""
        self.wake.set()
        self.more.set()
        self._room.set()

    async def run_pipeline(self) -> None:
        """Send every pending row of the channel (or stop when halted)."""
        workers = [
            asyncio.create_task(self._worker(slot), name=f"{self.channel}-worker-{slot}")
            for slot in range(self.sender.workers)
        ]
        try:
            await self._feed()
        finally:
            for _ in workers:
                await self.queue.put(None)
            await asyncio.gather(*workers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.sender.close()
            with contextlib.suppress(Exception):
                await self.run.journal.flush()
            self.done.set()

    async def _feed(self) -> None:
        """Queue pending rows a page at a time, just ahead of the workers; at the end rescan
        (rows handed back unsent), and wait for fallback rows from earlier channels."""
        store, mailing_id = self.run.journal_store, self.run.mailing.id
        cursor = 0
        while not self.halted:
            rows = await store.pending_page(mailing_id, self.channel, cursor, PAGE)
            if rows:
                cursor = rows[-1].id
                for row in rows:
                    if row.id not in self.inflight:  # still queued or being sent
                        self.inflight.add(row.id)
                        self._drained.clear()
                        self.queue.put_nowait(row)
                while self.queue.qsize() >= LOW_WATER and not self.halted:
                    self._room.clear()  # memory stays constant: wait until the queue runs low
                    await self._room.wait()
                continue
            # Everything read was handed out: wait until it is finished and written.
            if self.inflight:
                await self._wait(self._drained)
                continue
            await self.run.journal.flush()
            self.more.clear()
            upstream_done = all(p.done.is_set() for p in self.upstream)
            # Rows handed back unsent, or made pending again, sit before the cursor.
            if await store.pending_page(mailing_id, self.channel, 0, 1):
                cursor = 0
                continue
            if upstream_done:
                return
            await self._wait(self.more, *(p.done for p in self.upstream))

    async def _wait(self, *events: asyncio.Event) -> None:
        """Wait for any of the events, or for a halt."""
        waiters = [asyncio.create_task(e.wait()) for e in (*events, self.wake)]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _release(self, row: PendingDelivery) -> None:
        """The row left this worker (finished or untouched)."""
        self.inflight.discard(row.id)
        if not self.inflight:
            self._drained.set()

    async def _worker(self, slot: int) -> None:
        """Take rows from the queue: wait until ready, claim, send, hand in the result."""
        i18n = self.run.i18n
        with i18n.context(), i18n.use_locale(self.run.mailing.locale):
            while (row := await self.queue.get()) is not None:
                if self.queue.qsize() < LOW_WATER:
                    self._room.set()  # the feeder reads the next page
                try:
                    await self._deliver(slot, row)
                except Exception:
                    log.exception("mailing %d: %s worker failed", self.run.mailing.id, self.channel)
                finally:
                    self._release(row)

    async def _deliver(self, slot: int, row: PendingDelivery) -> None:
        """One pending row: wait until the channel is ready, claim, send, hand in the result.

        Until the claim the row is untouched: a halt or a channel that cannot send
        leaves it pending without a write.
        """
        if self.halted:
            return
        try:
            await self.sender.ready(slot)
        except ChannelDown as down:
            await self._channel_failed(down.text, fatal=down.fatal)
            return
        except Exception as exc:  # nothing was sent: the row waits, the channel counts it
            log.exception("mailing %d: %s not ready", self.run.mailing.id, self.channel)
            await self._channel_failed(short(f"{type(exc).__name__}: {exc}"), fatal=False)
            return
        if self.halted:  # paused or cancelled while this worker waited for its slot
            return
        try:
            if not await self.run.journal.claim(row.id):
                return  # cancelled or claimed elsewhere meanwhile
        except JournalFailed:
            self.halt()  # nothing can be recorded, so nothing more is sent
            return
        except BaseException:  # cancelled while claiming: if the claim was written, undo it
            self.run.finish(row, Result(PENDING))
            raise
        try:
            result = await self.sender.send(slot, row)
        except ChannelDown as down:
            result = Result(PENDING, down.code, down.text, channel_failure=True)
            if down.fatal:
                self.pause(down.text)
        except Exception as exc:  # a bug must not lose the row: it becomes unknown
            log.exception("mailing %d: sending row %d failed", self.run.mailing.id, row.id)
            result = Result(UNKNOWN, "internal_error", short(f"{type(exc).__name__}: {exc}"))
        except BaseException:  # cancelled mid-send: whether it went out is not known
            self.run.finish(row, Result(UNKNOWN, *INTERRUPTED))
            raise
        self.run.finish(row, result)
        if result.channel_failure:
            await self._channel_failed(result.text or result.code or "error", fatal=False)
        elif result.status != PENDING:
            self.failures_in_row = 0

    async def _channel_failed(self, text: str, *, fatal: bool) -> None:
        """Count a failure of the channel; pause it at the limit, else back off a little."""
        self.failures_in_row += 1
        if fatal or self.failures_in_row >= self.run.failure_limit:
            self.pause(text)
            return
        delay = min(CHANNEL_BACKOFF_MAX, 0.25 * 2 ** min(self.failures_in_row, 8))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), delay)

    def pause(self, reason: str) -> None:
        """Pause this channel of the run (the admin is told, with Resume)."""
        if self.paused is None:
            self.paused = reason
            self.run.pause_channel(self.channel)
            log.warning(
                "mailing %d: %s paused after %d failures in a row: %s",
                self.run.mailing.id,
                self.channel,
                self.failures_in_row,
                reason,
            )
            self.halt()
