"""One mailing's run: write the segment as pending rows, then a pipeline per channel.

Like listmonk's pipe (internal/manager/pipe.go): the run owns its counters, its
stop flag and its paused channels; the pipelines (pipeline.py) read that state
and ask the run to pause their channel; stop() only sets the flag, and the run's
one cleanup (_end) writes the counts, the status and the admin's last word. The
journal commits the pipelines' claims and finishes in small batches, and the run
counts them once written (docs/architecture.md, "Delivery engine").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from bot.delivery.base import Result, Sender
from bot.delivery.journal import Journal
from bot.delivery.limits import QuietWatch, cap_for_run
from bot.delivery.pipeline import ChannelPipeline
from bot.delivery.populate import populate
from bot.delivery.progress import STOPPED
from bot.quiet_hours import Clock
from bot.telegram_session import detached
from storage.deliveries import CANCELLED, Counts, Finish, PendingDelivery
from storage.mailings import Mailing
from storage.statuses import Channel, DeliveryStatus, MailingStatus, SendMode

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

    from bot.delivery.channels import ChannelSetup, SenderFactory
    from bot.delivery.notices import AdminNotices
    from bot.delivery.progress import Progress
    from bot.delivery.render_clock import RenderClock
    from bot.delivery.store import JournalStore, RunStore
    from storage.limits import LimitsRepository

log = logging.getLogger(__name__)

PENDING: Final = DeliveryStatus.PENDING
FAILED: Final = DeliveryStatus.FAILED
SKIPPED: Final = DeliveryStatus.SKIPPED
RUNNING: Final = MailingStatus.RUNNING
PAUSED: Final = MailingStatus.PAUSED


class StopReason(StrEnum):
    """Why a run stops taking rows (rows in flight still finish)."""

    PAUSE = "pause"  # the admin paused the mailing
    CANCEL = "cancel"  # the admin cancelled it: rows handed back unsent end skipped
    SHUTDOWN = "shutdown"  # the bot stops: the mailing stays running and resumes at start
    QUIET = "quiet"  # quiet hours began: the mailing pauses and continues when they end


@dataclass(frozen=True)
class RunDeps:
    """What the engine builds every run with."""

    store: RunStore
    journal: JournalStore
    senders: SenderFactory
    notices: AdminNotices
    failure_limit: int  # channel failures in a row that pause the channel
    i18n: I18n
    limits: LimitsRepository | None = None  # None: no quiet hours, no frequency cap
    now: Clock = field(default_factory=Clock)  # the time quiet hours are checked against


class MailingRun:
    """A running mailing: populate, pipelines per channel, counters, the end."""

    def __init__(
        self,
        mailing: Mailing,
        deps: RunDeps,
        clock: RenderClock,
        progress: Progress,
        setup: ChannelSetup,
    ) -> None:
        """Run `mailing`, reporting to `progress`, with the admin's settings `setup`."""
        self.mailing = mailing
        self.store = deps.store
        self.journal_store = deps.journal
        self.senders = deps.senders
        self.notices = deps.notices
        self.failure_limit = deps.failure_limit
        self.i18n = deps.i18n
        self.limits, self.now = deps.limits, deps.now
        # When the run stopped for quiet hours: the moment they end (the engine wakes it).
        self.quiet_until: datetime | None = None
        self.quiet = (
            None
            if self.limits is None
            else QuietWatch(self.limits, self.now, clock.tz, self._quiet_began)
        )
        self.clock = clock
        self.progress = progress
        self.setup = setup  # read again on Resume
        self._counts = Counts({})
        # The stop flag: written by stop() only; pipelines read it.
        self.stopping = False
        self.stop_reason: StopReason | None = None
        # Channels paused in this run: written by the run only (a pipeline asks it).
        self.paused_channels: set[Channel] = set()
        self.pipelines: dict[Channel, ChannelPipeline] = {}
        self.journal = Journal(self.journal_store, self._committed)
        self.sending = False
        # False from the first claim until the journal closed with everything written.
        self.clean = True
        self._channels: dict[int, Channel] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._notices: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        # cancel() told the admin before the run's last sends finished: the run's end
        # brings the progress message up to date.
        self._told_cancelled = False

    @property
    def counts(self) -> Counts:
        """The mailing's rows by channel and status, as the run knows them."""
        return self._counts

    @counts.setter
    def counts(self, counts: Counts) -> None:
        """New counters (read again from the store); the progress shows these from now."""
        self._counts = counts
        self.progress.follow(counts)

    # ------------------------------------------------------------------ life
    def start(self) -> asyncio.Task[None]:
        """Start the run's task."""
        # Detached: a run started by an admin's button is not a reply to that update.
        self._task = asyncio.create_task(
            self._drive(), name=f"mailing-{self.mailing.id}", context=detached()
        )
        return self._task

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The run's task (None before start)."""
        return self._task

    @property
    def ended(self) -> bool:
        """True once the run's task is over."""
        return self._task is not None and self._task.done()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait, up to `timeout` seconds, until the run's task is over; True if it is."""
        if self._task is None:
            return True
        await asyncio.wait([self._task], timeout=timeout)
        return self._task.done()

    def stop(self, reason: StopReason) -> None:
        """Stop taking rows (pause, cancel, shutdown); rows in flight still finish."""
        self.stopping = True
        if self.stop_reason is not StopReason.CANCEL:  # a shutdown while cancelling stays one
            self.stop_reason = reason
        for pipeline in self.pipelines.values():
            pipeline.halt()  # wake its waits, so the flag is seen at once

    async def _drive(self) -> None:
        """Run the mailing to its end and record how it ended."""
        mailing_id = self.mailing.id
        try:
            cap = None
            if self.limits is not None:
                cap = await cap_for_run(self.limits, mailing_id, self.now)
            await populate(self.store, self.mailing, self.clock.date(), lambda: self.stopping, cap)
            if self.quiet is not None and (until := await self.quiet.until()) is not None:
                self._quiet_began(until)  # launched or resumed inside quiet hours
            # Launched inside quiet hours, it still shows its progress message: the admin
            # sees it waits, and until when.
            if not self.stopping or self.stop_reason is StopReason.QUIET:
                state = await self.store.run_state(mailing_id)
                self.counts = await self.store.run_counts(mailing_id)
                message_id = await self.progress.open(
                    state.progress_message_id if state else None, self.counts
                )
                if message_id is not None:
                    await self.store.set_progress_message(
                        mailing_id, self.progress.chat_id, message_id
                    )
            if not self.stopping:
                await self._send(state.paused_channels if state else (), counted=True)
                # Rows made pending at the very end (resend unknown) go in another round.
                while await self._end():
                    await self._send(tuple(self.paused_channels))
            else:
                await self._end()
            if self.clean:
                await self.store.end_run(mailing_id)
        except Exception as exc:
            log.exception("mailing %d stopped by an error", mailing_id)
            await self._failed(exc)
        finally:
            for notice in list(self._notices):
                with contextlib.suppress(Exception):
                    await notice

    # ------------------------------------------------------------------ the end
    async def _end(self) -> bool:
        """The run's cleanup after a round that was not stopped by an exception: write
        the status and show the end; True when the mailing is still running with rows
        pending (another round is due)."""
        mailing_id = self.mailing.id
        if self.stop_reason is StopReason.SHUTDOWN:
            await self._close(STOPPED, final=False)
        elif self.stop_reason is StopReason.PAUSE:
            await self._close(PAUSED, final=False)
        elif self.stop_reason is StopReason.QUIET and self.quiet_until is not None:
            await self._pause_for_quiet(self.quiet_until)
        elif self.stop_reason is StopReason.CANCEL:
            if self._told_cancelled:  # its last sends ended after the admin was told
                self.counts = await self.store.run_counts(mailing_id)
                await self._close(MailingStatus.CANCELLED, final=False)
        elif self.paused_channels:
            await self.store.move(mailing_id, PAUSED, (RUNNING,))
            await self._close(PAUSED, final=False)
        elif await self.store.complete(mailing_id):
            await self._close(MailingStatus.COMPLETED)
        elif await self.store.status(mailing_id) == RUNNING:
            return True
        else:  # paused by the admin as the last rows went out
            await self._close(PAUSED, final=False)
        return False

    def _quiet_began(self, until: datetime) -> None:
        """Quiet hours began: stop taking rows; the run's end pauses the mailing."""
        if not self.stopping:
            self.quiet_until = until
            self.stop(StopReason.QUIET)

    async def _pause_for_quiet(self, until: datetime) -> None:
        """Pause the mailing until quiet hours end, recorded so a restart keeps the
        wake-up, and say so in the progress message."""
        if self.limits is None or not await self.store.move(self.mailing.id, PAUSED, (RUNNING,)):
            self.quiet_until = None  # the admin paused or cancelled it meanwhile
            if await self.store.status(self.mailing.id) == PAUSED:
                await self._close(PAUSED, final=False)
            return
        await self.limits.set_quiet_until(self.mailing.id, until)
        self.progress.quiet_until = until.astimezone(self.clock.tz)
        await self._close(PAUSED, final=False)

    async def cancel(self) -> bool:
        """The admin's Cancel, once the run stopped or the wait for its last sends ran
        out: cancel the mailing (unsent rows skipped) and tell the admin; False if it
        was no longer running or paused."""
        self._told_cancelled = not self.ended
        cancelled = await self.store.cancel(self.mailing.id, (RUNNING, PAUSED))
        if cancelled:
            self.counts = await self.store.run_counts(self.mailing.id)
            await self._close(MailingStatus.CANCELLED)
        return cancelled

    async def _failed(self, exc: Exception) -> None:
        """The run broke on an unexpected error: pause the mailing and tell the admin why."""
        error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            await self.store.set_paused_channels(self.mailing.id, [], error)
            await self.store.move(self.mailing.id, PAUSED, (RUNNING,))
            await self._close(PAUSED, final=False)
            await self.notices.run_failed(
                self.progress.chat_id, self.progress.locale, self.mailing, error
            )

    async def _close(self, state: str, *, final: bool = True) -> None:
        """Show the end state in the progress message; a summary when the run is over."""
        if state != STOPPED:  # the history list reads these instead of counting rows
            await self.store.save_guest_counts(self.mailing.id)
        await self.progress.close(state, self.counts, final=final)

    # ------------------------------------------------------------------ sending
    async def _send(self, paused: Sequence[Channel], *, counted: bool = False) -> None:
        """Run pipelines for the channels not paused until nothing is left to send.
        `counted`: self.counts was read just now (a count reads every row of the mailing)."""
        self.paused_channels = set(paused)
        self.journal = Journal(self.journal_store, self._committed)  # one per round
        self.journal.start()
        self.sending = True
        self.clean = False
        if self.quiet is not None:
            self.quiet.start()
        try:
            while not self.stopping:
                if not counted:
                    self.counts = await self.store.run_counts(self.mailing.id)
                counted = False
                self.progress.changed(self.counts)
                active = [
                    c
                    for c in self.mailing.channels
                    if c not in self.paused_channels and self._left(c)
                ]
                if not active:
                    return
                for channel in active:
                    self._start_channel(channel)
                await self._idle.wait()
                if self.journal.failed is not None:  # nothing can be recorded: stop here
                    raise RuntimeError(f"the delivery journal failed: {self.journal.failed}")
        finally:
            self.sending = False
            if self.quiet is not None:
                await self.quiet.close()
            await self.journal.close()
            self.clean = True
            self.counts = await self.store.run_counts(self.mailing.id)

    def _left(self, channel: Channel) -> bool:
        """True when the channel has rows to send (or may get fallbacks from an earlier one)."""
        if self.counts.channel(channel, PENDING):
            return True
        earlier = self.mailing.channels[: self.mailing.channels.index(channel)]
        return self.mailing.send_mode == SendMode.PRIORITY and any(
            self._left(c) for c in earlier if c not in self.paused_channels
        )

    def _sender(self, channel: Channel) -> Sender:
        """A fresh sender for a channel of this run, with the settings in force."""
        return self.senders.sender(channel, self.mailing, self.clock, self.setup, self._file_id)

    async def _file_id(self, file_id: str | None) -> None:
        """Remember (or forget) the file_id of the mailing's uploaded image."""
        await self.store.set_image_file_id(self.mailing.id, file_id)

    def _start_channel(self, channel: Channel) -> None:
        """Start the pipeline of one channel unless it is running already."""
        current = self.pipelines.get(channel)
        if current is not None and not current.done.is_set():
            return
        order = self.mailing.channels
        priority = self.mailing.send_mode == SendMode.PRIORITY
        upstream = [
            p
            for c, p in self.pipelines.items()
            if priority and order.index(c) < order.index(channel)
        ]
        pipeline = ChannelPipeline(self, self._sender(channel), upstream)
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
                    self._notice(
                        self._channel_paused(
                            pipeline.channel, pipeline.paused, pipeline.failures_in_row
                        )
                    )
                else:  # resumed while its last sends were finishing: go on
                    self._start_channel(pipeline.channel)
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

    def finish(self, row: PendingDelivery, result: Result) -> None:
        """Hand a row's result to the journal (with a fallback row in priority mode)."""
        cancelling = self.stop_reason is StopReason.CANCEL
        if cancelling and result.status == PENDING:  # never sent, and it never will be
            result = Result(SKIPPED, *CANCELLED)
        fallback = None
        if (
            result.status == FAILED
            and self.mailing.send_mode == SendMode.PRIORITY
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
        counts = self._counts
        for finish in finishes:
            channel = self._channels.pop(finish.delivery_id, None)
            if channel is not None and finish.status != PENDING:
                counts.add(channel, PENDING, -1)
                counts.add(channel, finish.status, 1)
                counts.guest_row(finish.guest_id, channel, finish.status, finish.error_code)
            status = fallbacks.get(finish.delivery_id)
            if finish.fallback and status is not None:
                counts.add(finish.fallback, status, 1)
                counts.guest_row(finish.guest_id, finish.fallback, status)
                if status == PENDING and finish.fallback in self.pipelines:
                    self.pipelines[finish.fallback].more.set()
        self.progress.changed(counts)

    # ------------------------------------------------------------------ channels
    def pause_channel(self, channel: Channel) -> None:
        """A pipeline gave up on its channel: known to the run at once, so Resume works
        while the other channels still send."""
        self.paused_channels.add(channel)

    async def _channel_paused(self, channel: Channel, reason: str, count: int) -> None:
        """Record a paused channel and tell the admin, with Resume."""
        if channel not in self.paused_channels:
            return  # resumed before the notice went out: nothing to record or tell
        paused = sorted(self.paused_channels)
        await self.store.set_paused_channels(self.mailing.id, paused, f"{channel}: {reason}")
        await self.notices.channel_paused(
            self.progress.chat_id,
            self.progress.locale,
            self.mailing,
            channel,
            reason,
            count,
            self.failure_limit,
        )

    def _notice(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a notice in the background (the pipeline that raised it keeps going)."""
        task = asyncio.create_task(coro)
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    def rows_added(self) -> None:
        """Rows became pending again (the admin resent unknown ones): feeders look again."""
        for pipeline in self.pipelines.values():
            pipeline.more.set()
        for channel in self.mailing.channels:
            if self._tasks and channel not in self.paused_channels:
                self._start_channel(channel)  # a channel whose pipeline ended already

    async def resume_channels(self, channels: Sequence[Channel], setup: ChannelSetup) -> bool:
        """Let paused channels send again within this run, with the settings now in force;
        False if the run is ending."""
        self.setup = setup
        await self.store.set_paused_channels(self.mailing.id, [])
        return all(self._resume_channel(c) for c in channels)

    def _resume_channel(self, channel: Channel) -> bool:
        """Let one paused channel send again; False if the run is ending."""
        if self.stopping or not self.sending:
            return False
        self.paused_channels.discard(channel)
        if self._tasks:  # a round is going on: join it now
            self._start_channel(channel)
        return True
