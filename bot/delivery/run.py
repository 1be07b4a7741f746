"""One mailing's run: write the segment as pending rows, then a pipeline per channel.

Like listmonk's campaign manager: a run holds its counters and stop flag and a
pipeline per channel (pipeline.py); the journal commits the pipelines' claims
and finishes in small batches, and the run counts them once written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.delivery.base import Result, Sender
from bot.delivery.journal import Journal
from bot.delivery.pipeline import ChannelPipeline
from storage.deliveries import (
    CANCELLED,
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

POPULATE_PAGE = 20_000  # guest ids per populate transaction (~0.1 s of write lock)


@dataclass
class RunOptions:
    """Settings of a run that come from the engine."""

    failure_limit: int
    i18n: I18n


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
    async def send(self, paused: tuple[str, ...], *, counted: bool = False) -> None:
        """Run pipelines for the channels not paused until nothing is left to send.
        `counted`: self.counts was read just now (a count reads every row of the mailing)."""
        self.paused_channels = set(paused)
        self.journal = Journal(self.writer, self._committed)  # one per round
        self.journal.start()
        self.sending = True
        self.clean = False
        try:
            while not self.stopping:
                if not counted:
                    self.counts = await self.repo.counts(self.mailing.id)
                counted = False
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
        if self.stop_reason != "cancel":  # a shutdown while cancelling is still a cancel
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
