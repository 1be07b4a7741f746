"""One mailing's run: write the segment as pending rows, then a pipeline per channel.

Like listmonk's pipe: a run holds its counters and stop flag; each channel has a
feeder reading pending rows in pages (constant memory) and workers that claim a
row, send it and hand in the result. The journal commits claims and finishes in
small batches. N failures in a row on a channel pause that channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.delivery.base import ChannelDown, Result, Sender, short
from bot.delivery.journal import Journal
from storage.deliveries import (
    CANCELLED,
    INTERRUPTED,
    Counts,
    DeliveryRepository,
    Finish,
    PendingDelivery,
)
from storage.delivery_writer import DeliveryWriter
from storage.mailings import Mailing
from storage.segments import SegmentRepository, where_clause

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

log = logging.getLogger(__name__)

PAGE = 200  # pending rows read at a time per channel
POPULATE_PAGE = 20_000  # guest ids per populate transaction (~0.1 s of write lock)
CHANNEL_BACKOFF_MAX = 10.0


@dataclass
class RunOptions:
    """Settings of a run that come from the engine."""

    failure_limit: int
    i18n: I18n


class ChannelPipeline:
    """One channel of a run: a feeder of pending rows and `sender.workers` workers."""

    def __init__(self, run: MailingRun, sender: Sender, upstream: list[ChannelPipeline]) -> None:
        """Feed `sender` the run's pending rows of its channel; `upstream` may add fallbacks."""
        self.run = run
        self.sender = sender
        self.channel = sender.channel
        self.upstream = upstream
        # Rows are claimed a chunk at a time just ahead of the workers (the sender says
        # how far ahead its rate needs): the next chunk once fewer than a chunk wait in
        # the queue, so a crash finds only the rows in flight and under two chunks
        # claimed but unsent, and the workers never wait for a claim's transaction.
        # (The feeder wakes once per chunk, not once per row.)
        self.chunk = max(1, sender.claim_ahead)
        self.queue: asyncio.Queue[PendingDelivery | None] = asyncio.Queue()
        self._room = asyncio.Event()
        self.inflight: set[int] = set()
        self.done = asyncio.Event()
        self.more = asyncio.Event()
        self.wake = asyncio.Event()
        self.failures_in_row = 0
        self.paused: str | None = None
        self._drained = asyncio.Event()

    @property
    def halted(self) -> bool:
        """True once the run stops or this channel is paused."""
        return self.run.stopping or self.paused is not None

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
        """Claim pending rows a few at a time, just ahead of the workers; at the end rescan
        (rows handed back unsent), and wait for fallback rows from earlier channels."""
        writer, mailing_id = self.run.writer, self.run.mailing.id
        cursor = 0
        while not self.halted:
            rows = await writer.pending_page(mailing_id, self.channel, cursor, PAGE)
            if rows:
                cursor = rows[-1].id
                fresh = [r for r in rows if r.id not in self.inflight]
                for at in range(0, len(fresh), self.chunk):
                    while self.queue.qsize() >= self.chunk and not self.halted:
                        self._room.clear()  # claims stay few: wait until the queue runs low
                        await self._room.wait()
                    if self.halted:
                        return
                    chunk = fresh[at : at + self.chunk]
                    claimed = await self.run.journal.claim([r.id for r in chunk])
                    for row in chunk:
                        if row.id in claimed:  # not claimed: cancelled or taken meanwhile
                            self.inflight.add(row.id)
                            self._drained.clear()
                            self.queue.put_nowait(row)
                continue
            # Everything read was handed out: wait until it is finished and written.
            if self.inflight:
                await self._wait(self._drained)
                continue
            await self.run.journal.flush()
            self.more.clear()
            upstream_done = all(p.done.is_set() for p in self.upstream)
            # Rows handed back unsent, or made pending again, sit before the cursor.
            if await writer.pending_page(mailing_id, self.channel, 0, 1):
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
        i18n = self.run.options.i18n
        with i18n.context(), i18n.use_locale(self.run.mailing.locale):
            while (row := await self.queue.get()) is not None:
                if self.queue.qsize() < self.chunk:
                    self._room.set()  # the feeder claims the next chunk
                try:
                    await self._deliver(slot, row)
                except Exception:
                    log.exception("mailing %d: %s worker failed", self.run.mailing.id, self.channel)
                finally:
                    self._release(row)

    async def _deliver(self, slot: int, row: PendingDelivery) -> None:
        """One claimed row: wait until the channel is ready, send, hand in the result."""
        if self.halted:
            self.run.finish(row, Result("pending"))  # back to pending, untouched
            return
        try:
            await self.sender.ready(slot)
        except ChannelDown as down:
            self.run.finish(row, Result("pending", down.code, down.text))
            await self._channel_failed(down.text, fatal=down.fatal)
            return
        except Exception as exc:  # nothing was sent: the row waits, the channel counts it
            log.exception("mailing %d: %s not ready", self.run.mailing.id, self.channel)
            text = short(f"{type(exc).__name__}: {exc}")
            self.run.finish(row, Result("pending", "internal_error", text))
            await self._channel_failed(text, fatal=False)
            return
        except BaseException:
            self.run.finish(row, Result("pending"))
            raise
        if self.halted:  # paused or cancelled while this worker waited for its slot
            self.run.finish(row, Result("pending"))
            return
        try:
            result = await self.sender.send(slot, row)
        except ChannelDown as down:
            result = Result("pending", down.code, down.text, channel_failure=True)
            if down.fatal:
                self.pause(down.text)
        except Exception as exc:  # a bug must not lose the row: it becomes unknown
            log.exception("mailing %d: sending row %d failed", self.run.mailing.id, row.id)
            result = Result("unknown", "internal_error", short(f"{type(exc).__name__}: {exc}"))
        except BaseException:  # cancelled mid-send: whether it went out is not known
            self.run.finish(row, Result("unknown", *INTERRUPTED))
            raise
        self.run.finish(row, result)
        if result.channel_failure:
            await self._channel_failed(result.text or result.code or "error", fatal=False)
        elif result.status != "pending":
            self.failures_in_row = 0

    async def _channel_failed(self, text: str, *, fatal: bool) -> None:
        """Count a failure of the channel; pause it at the limit, else back off a little."""
        self.failures_in_row += 1
        if fatal or self.failures_in_row >= self.run.options.failure_limit:
            self.pause(text)
            return
        delay = min(CHANNEL_BACKOFF_MAX, 0.25 * 2 ** min(self.failures_in_row, 8))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), delay)

    def pause(self, reason: str) -> None:
        """Pause this channel of the run (the admin is told, with Resume)."""
        if self.paused is None:
            self.paused = reason
            # Known to the run at once, so Resume works while other channels still send.
            self.run.paused_channels.add(self.channel)
            log.warning(
                "mailing %d: %s paused after %d failures in a row: %s",
                self.run.mailing.id,
                self.channel,
                self.failures_in_row,
                reason,
            )
            self.halt()


class MailingRun:
    """A running mailing: populate, pipelines per channel, counters, the end."""

    def __init__(
        self,
        mailing: Mailing,
        repo: DeliveryRepository,
        writer: DeliveryWriter,
        segments: SegmentRepository,
        options: RunOptions,
        make_sender: Callable[[str], Sender],
        today: Callable[[], date],
    ) -> None:
        """Run `mailing` with senders from `make_sender(channel)`."""
        self.mailing = mailing
        self.repo = repo
        self.writer = writer
        self.segments = segments
        self.options = options
        self.make_sender = make_sender
        self.today = today
        self.counts = Counts({})
        self.stopping = False
        self.stop_reason: str | None = None
        self.pipelines: dict[str, ChannelPipeline] = {}
        self.journal = Journal(writer, self._committed)
        self.on_change: Callable[[], None] = lambda: None
        self.on_channel_paused: Callable[[str, str, int], None] = lambda c, reason, n: None
        self._channels: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self.paused_channels: set[str] = set()
        self.sending = False
        # False from the first claim until the journal closed with everything written.
        self.clean = True

    # ------------------------------------------------------------------ populate
    async def populate(self) -> None:
        """Write the segment's guests as rows, a page of guest ids per transaction."""
        state = await self.repo.run_state(self.mailing.id)
        if state is None:
            raise LookupError(f"mailing {self.mailing.id} has no run record")
        if state.populated:
            return
        segment = await self.segments.get(self.mailing.segment_id)
        if segment is None:
            raise LookupError(f"segment {self.mailing.segment_id} of mailing {self.mailing.id}")
        sql, params = where_clause(segment, today=self.today())
        until = await self.repo.freeze_segment(self.mailing.id)
        cursor = state.populate_cursor
        while not self.stopping:
            upto = min(cursor + POPULATE_PAGE, until)
            await self.repo.populate_page(
                self.mailing.id,
                self.mailing.channels,
                self.mailing.send_mode,
                sql,
                params,
                cursor,
                upto,
                last=upto >= until,
            )
            cursor = upto
            if cursor >= until:
                return
            await asyncio.sleep(0)  # let other writers in between pages

    # ------------------------------------------------------------------ sending
    async def send(self, paused: tuple[str, ...]) -> None:
        """Run pipelines for the channels not paused until nothing is left to send."""
        self.paused_channels = set(paused)
        self.journal = Journal(self.writer, self._committed)  # one per round
        self.journal.start()
        self.sending = True
        self.clean = False
        try:
            while not self.stopping:
                self.counts = await self.repo.counts(self.mailing.id)
                self.on_change()
                active = [
                    c
                    for c in self.mailing.channels
                    if c not in self.paused_channels and self._left(c)
                ]
                if not active:
                    return
                for channel in active:
                    self.start_channel(channel)
                await self._idle.wait()
                if self.journal.failed is not None:  # nothing can be recorded: stop here
                    raise RuntimeError(f"the delivery journal failed: {self.journal.failed}")
        finally:
            self.sending = False
            await self.journal.close()
            self.clean = True
            self.counts = await self.repo.counts(self.mailing.id)

    def _left(self, channel: str) -> bool:
        """True when the channel has rows to send (or may get fallbacks from an earlier one)."""
        pending = self.counts.channel(channel, "pending")
        if pending:
            return True
        earlier = self.mailing.channels[: self.mailing.channels.index(channel)]
        return self.mailing.send_mode == "priority" and any(
            self._left(c) for c in earlier if c not in self.paused_channels
        )

    def start_channel(self, channel: str) -> None:
        """Start the pipeline of one channel unless it is running already."""
        current = self.pipelines.get(channel)
        if current is not None and not current.done.is_set():
            return
        order = self.mailing.channels
        priority = self.mailing.send_mode == "priority"
        upstream = [
            p
            for c, p in self.pipelines.items()
            if priority and order.index(c) < order.index(channel)
        ]
        pipeline = ChannelPipeline(self, self.make_sender(channel), upstream)
        for later in self.pipelines.values():
            if priority and order.index(later.channel) > order.index(channel):
                later.upstream = [p for p in later.upstream if p.channel != channel]
                later.upstream.append(pipeline)
        self.pipelines[channel] = pipeline
        self._idle.clear()
        task = asyncio.create_task(self._pipeline(pipeline), name=f"mailing-{self.mailing.id}")
        self._tasks.add(task)

    async def _pipeline(self, pipeline: ChannelPipeline) -> None:
        """Run a pipeline; tell about a pause; mark the run idle when the last one ends."""
        try:
            await pipeline.run_pipeline()
            if pipeline.paused and not self.stopping and self.journal.failed is None:
                if pipeline.channel in self.paused_channels:
                    self.on_channel_paused(
                        pipeline.channel, pipeline.paused, pipeline.failures_in_row
                    )
                else:  # resumed while its last sends were finishing: go on
                    self.start_channel(pipeline.channel)
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

    def finish(self, row: PendingDelivery, result: Result) -> None:
        """Hand a row's result to the journal (with a fallback row in priority mode)."""
        cancelling = self.stop_reason == "cancel"
        if cancelling and result.status == "pending":  # never sent, and it never will be
            result = Result("skipped", *CANCELLED)
        fallback = None
        if (
            result.status == "failed"
            and self.mailing.send_mode == "priority"
            and not cancelling
            and not result.partial
        ):
            order = self.mailing.channels
            at = order.index(row.channel)
            fallback = order[at + 1] if at + 1 < len(order) else None
        self.journal.finish(
            Finish(  # positional: one of these per message (fields in Finish's order)
                self.mailing.id,
                row.id,
                row.guest_id,
                result.status,
                result.code,
                result.text,
                result.external_id,
                result.mark_guest,
                fallback,
            )
        )
        # Counted once written (see _committed); the channel is carried along.
        self._channels[row.id] = row.channel

    def _committed(self, finishes: list[Finish], fallbacks: dict[int, str]) -> None:
        """Count finishes once durable, and wake a channel that got fallback rows."""
        for f in finishes:
            channel = self._channels.pop(f.delivery_id, None)
            if channel is not None and f.status != "pending":
                self.counts.add(channel, "pending", -1)
                self.counts.add(channel, f.status, 1)
            status = fallbacks.get(f.delivery_id)
            if f.fallback and status is not None:
                self.counts.add(f.fallback, status, 1)
                if status == "pending" and f.fallback in self.pipelines:
                    self.pipelines[f.fallback].more.set()
        self.on_change()

    def stop(self, reason: str) -> None:
        """Stop taking rows (pause, cancel, shutdown); rows in flight still finish."""
        self.stopping = True
        self.stop_reason = reason
        for pipeline in self.pipelines.values():
            pipeline.halt()

    def rows_added(self) -> None:
        """Rows became pending again (the admin resent unknown ones): feeders look again."""
        for pipeline in self.pipelines.values():
            pipeline.more.set()
        for channel in self.mailing.channels:
            if self._tasks and channel not in self.paused_channels:
                self.start_channel(channel)  # a channel whose pipeline ended already

    def resume_channel(self, channel: str) -> bool:
        """Let a paused channel send again within this run; False if the run is ending."""
        if self.stopping or not self.sending:
            return False
        self.paused_channels.discard(channel)
        if self._tasks:  # a round is going on: join it now
            self.start_channel(channel)
        return True
