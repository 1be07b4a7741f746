"""The delivery engine: starts, pauses, resumes and cancels mailing runs; recovers at start.

The database is the truth: a run is a mailing in status `running` plus its
delivery rows, so after any stop the engine picks up where the rows say. The
Telegram limiter is the engine's, one for the whole bot, shared by every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.delivery.base import Sender
from bot.delivery.channels import Channels, ChannelSetup
from bot.delivery.limiter import RateLimiter
from bot.delivery.notices import AdminNotices
from bot.delivery.progress import Progress, RunKeyboards, summary
from bot.delivery.run import MailingRun, RunOptions
from bot.delivery.senders import Today
from bot.secrets import SecretBox
from bot.unsubscribe import UnsubscribeTokens
from storage.db import Database
from storage.deliveries import DeliveryRepository
from storage.delivery_writer import DeliveryWriter
from storage.mailings import Mailing, MailingRepository
from storage.prefs import AdminPrefsRepository
from storage.segments import SegmentRepository

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.mailing_settings import MailingSettingsService

log = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0
CHECKPOINT_SECONDS = 5.0


@dataclass
class _Active:
    """A run the engine is driving."""

    run: MailingRun
    progress: Progress
    setup: ChannelSetup  # the admin's settings the run sends with (read again on Resume)
    task: asyncio.Task[None] | None = None
    notices: set[asyncio.Task[None]] = field(default_factory=set)
    # cancel() told the admin before the run's last sends finished: the run's end
    # brings the progress message up to date.
    told_cancelled: bool = False


class DeliveryEngine:
    """Runs mailings: launch, pause, resume, cancel, resend unknown; recovers after a crash."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        settings: Settings,
        mailing_settings: MailingSettingsService | None,
        i18n: I18n,
        *,
        keyboards: RunKeyboards | None = None,
        bot_username: str | None = None,
    ) -> None:
        """The engine of one bot; `start()` opens its own database connection.
        `bot_username` makes the one-tap unsubscribe links of emails (t.me/<bot>)."""
        self.db = db
        self.bot = bot
        self.settings = settings
        self.mailing_settings = mailing_settings
        self.i18n = i18n
        self.keyboards = keyboards
        self.limiter = RateLimiter(settings.telegram_rate)
        self.channels = Channels(
            bot, self.limiter, settings, mailing_settings, bot_username=bot_username
        )
        self.failure_limit = settings.channel_failure_limit
        self.notices = AdminNotices(bot, i18n, keyboards, self.limiter)
        self._store: Database | None = None
        self._writer: DeliveryWriter | None = None
        self._active: dict[int, _Active] = {}
        self._lock = asyncio.Lock()
        self._started = asyncio.Event()
        self._checkpoints: asyncio.Task[None] | None = None
        self._fold_wal = False

    @property
    def pool_size(self) -> int:
        """SMTP connections per run's email channel."""
        return self.channels.pool_size

    @property
    def telegram_workers(self) -> int:
        """Concurrent Telegram sends per run."""
        return self.channels.telegram_workers

    @property
    def store(self) -> Database:
        """The engine's own connection (its hot path does not queue behind the handlers')."""
        if self._store is None:
            raise RuntimeError("the delivery engine is not started")
        return self._store

    @property
    def writer(self) -> DeliveryWriter:
        """The hot path's connection (claims, finishes, pending pages)."""
        if self._writer is None:
            raise RuntimeError("the delivery engine is not started")
        return self._writer

    @property
    def repo(self) -> DeliveryRepository:
        """The engine's SQL."""
        return DeliveryRepository(self.store)

    def running(self, mailing_id: int) -> bool:
        """True while the engine drives a run of this mailing."""
        return mailing_id in self._active

    async def wait(self, mailing_id: int) -> None:
        """Wait until the engine no longer drives a run of this mailing (ended or stopped)."""
        active = self._active.get(mailing_id)
        if active is not None and active.task is not None:
            await asyncio.wait([active.task])

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Open the engine's connection, then recover: in-flight rows -> unknown, resume runs."""
        self._store = await Database(self.settings.database_path).open()
        # Its commits (a run's end) never fold the WAL back: the checkpointer does, aside.
        await self._store.execute("PRAGMA wal_autocheckpoint = 0")
        self._writer = await DeliveryWriter(self.settings.database_path).open()
        self.channels.tokens = UnsubscribeTokens.from_secret_box(
            SecretBox.load_or_create(self.settings.data_dir)
        )
        await self.recover()
        self._checkpoints = asyncio.create_task(self._checkpointer(), name="delivery-checkpoint")
        self._started.set()

    async def _checkpointer(self) -> None:
        """Fold the WAL back into the database file every few seconds while runs go on.

        The hot path's connection never checkpoints (that would sync a file on the
        event loop); this one runs on the engine's other connection, in its thread.
        """
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            if (self._active or self._fold_wal) and self._store is not None:
                self._fold_wal = bool(self._active)  # and once more after the last run
                try:
                    await self._store.fetchone("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception as exc:  # a busy checkpoint is tried again next time
                    log.info("WAL checkpoint skipped: %s", exc)

    async def _ready(self) -> None:
        """Wait until start() has recovered (an admin may press a button in the meantime)."""
        try:
            await asyncio.wait_for(self._started.wait(), STOP_TIMEOUT)
        except TimeoutError:
            raise RuntimeError("the delivery engine did not start") from None

    async def stop(self) -> None:
        """Stop every run (in-flight sends finish and are written); they resume at next start."""
        self._started.clear()
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        for active in self._active.values():
            active.run.stop("shutdown")
        tasks = [a.task for a in self._active.values() if a.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def recover(self) -> None:
        """After a crash: rows left `sending` become `unknown`; `running` mailings resume."""
        async with self._lock:
            unknown = await self.repo.recover()
            if unknown:
                log.warning("%d deliveries were in flight when the bot stopped: unknown", unknown)
            for mailing_id in await self.repo.mailings_in(["running"]):
                if mailing_id not in self._active:
                    log.info("resuming mailing %d", mailing_id)
                    await self._spawn(mailing_id)

    # ------------------------------------------------------------------ admin actions
    async def launch(self, mailing_id: int, launched_by: int | None = None) -> bool:
        """Start a scheduled (or missed) mailing now; False if it is not in such a state."""
        await self._ready()
        async with self._lock:
            if mailing_id in self._active:
                return False
            if not await self.repo.move(mailing_id, "running", ("scheduled", "missed")):
                return False
            await self.repo.start_run(mailing_id, launched_by)
            await self._spawn(mailing_id)
            return True

    async def pause(self, mailing_id: int) -> bool:
        """Pause a running mailing; rows in flight finish, the rest stay pending."""
        await self._ready()
        async with self._lock:
            if not await self.repo.move(mailing_id, "paused", ("running",)):
                return False
            active = self._active.get(mailing_id)
            if active is not None:
                active.run.stop("pause")
            return True

    async def resume(self, mailing_id: int) -> bool:
        """Resume a paused mailing, or the paused channels of a running one."""
        await self._ready()
        async with self._lock:
            active = self._active.get(mailing_id)
            if active is not None and active.run.sending and not active.run.stopping:
                paused = sorted(active.run.paused_channels)
                if not paused:
                    return False
                active.setup = await self.channels.setup()
                await self.repo.set_paused_channels(mailing_id, [])
                return all(active.run.resume_channel(c) for c in paused)
            if active is not None and active.task is not None:
                await asyncio.wait([active.task], timeout=STOP_TIMEOUT)
                if not active.task.done():  # its last sends are still going: not two runs
                    return False
            if await self.repo.status(mailing_id) != "paused":
                return False
            await self.repo.set_paused_channels(mailing_id, [])
            if not await self.repo.move(mailing_id, "running", ("paused",)):
                return False
            await self._spawn(mailing_id)
            return True

    async def cancel(self, mailing_id: int) -> bool:
        """Cancel a mailing; its unsent rows end `skipped` ("cancelled")."""
        await self._ready()
        async with self._lock:
            status = await self.repo.status(mailing_id)
            if status in ("scheduled", "missed"):
                return await self.repo.cancel(mailing_id, ("scheduled", "missed"))
            if status not in ("running", "paused"):
                return False
            active = self._active.get(mailing_id)
            if active is not None:
                active.run.stop("cancel")
                if active.task is not None:
                    await asyncio.wait([active.task], timeout=STOP_TIMEOUT)
                    # Its last sends outlast the wait: their end refreshes the progress.
                    active.told_cancelled = not active.task.done()
            # Rows still in flight after the wait end as they end; any handed back
            # unsent turn `skipped` ("cancelled") in the run itself.
            cancelled = await self.repo.cancel(mailing_id, ("running", "paused"))
            if cancelled and active is not None:
                active.run.counts = await self.repo.counts(mailing_id)
                await self._close_progress(active, "cancelled")
            return cancelled

    async def resend_unknown(self, mailing_id: int) -> int:
        """Send the mailing's `unknown` rows again (the admin's decision); returns how many."""
        await self._ready()
        async with self._lock:
            active = self._active.get(mailing_id)
            if active is not None and not active.run.sending and active.task is not None:
                # The run is ending (its summary may be on its way): not two runs at once.
                await asyncio.wait([active.task], timeout=STOP_TIMEOUT)
                if not active.task.done():
                    return 0
                active = None
            status = await self.repo.status(mailing_id)
            if status not in ("running", "paused", "completed"):
                return 0
            count = await self.repo.resend_unknown(mailing_id)
            if count and active is not None and active.run.sending:
                active.run.rows_added()  # the run picks them up (or, ending, sees them)
            elif count and status == "completed":
                await self.repo.move(mailing_id, "running", ("completed",))
                await self._spawn(mailing_id)
            return count

    async def notify_missed(self, mailing: Mailing, late_minutes: int, grace: int) -> None:
        """Tell the mailing's author it was missed, with a button to send it now."""
        locale = await self._admin_locale(mailing.created_by)
        when = mailing.scheduled_at.astimezone(self.settings.tz).strftime("%d.%m.%Y %H:%M")
        await self.notices.missed(mailing.created_by, locale, mailing, when, late_minutes, grace)

    # ------------------------------------------------------------------ runs
    async def _spawn(self, mailing_id: int) -> None:
        """Build the run of a `running` mailing and start its task."""
        mailing = await MailingRepository(self.store).get(mailing_id)
        if mailing is None:
            raise LookupError(f"mailing {mailing_id} does not exist")
        # No run of it is alive here: rows a broken run left `sending` are unknown now,
        # before this run's record reads "not ended" again.
        await self.repo.interrupted(mailing_id)
        await self.repo.start_run(mailing_id, None)
        today = Today(mailing.locale, self.settings)
        holder: dict[str, _Active] = {}

        def make_sender(channel: str) -> Sender:
            """A fresh sender for a channel of this run, with the settings in force."""
            return self.channels.sender(
                channel,
                mailing,
                today,
                holder["active"].setup,
                lambda file_id: self.repo.set_image_file_id(mailing_id, file_id),
            )

        options = RunOptions(self.failure_limit, self.i18n)
        run = MailingRun(
            mailing,
            self.repo,
            self.writer,
            SegmentRepository(self.store),
            options,
            make_sender,
            today.date,
        )
        state = await self.repo.run_state(mailing_id)
        admin = (state.launched_by if state else None) or mailing.created_by
        progress = Progress(
            self.bot,
            self.i18n,
            await self._admin_locale(admin),
            admin,
            mailing.name,
            lambda: run.counts,
            self.keyboards,
            mailing_id,
            self.limiter,
        )
        active = _Active(run, progress, await self.channels.setup())
        holder["active"] = active
        self._active[mailing_id] = active
        active.task = asyncio.create_task(self._drive(active), name=f"mailing-{mailing_id}")
        self._fold_wal = True

    async def _drive(self, active: _Active) -> None:
        """Run one mailing to its end and record how it ended."""
        run, mailing_id = active.run, active.run.mailing.id
        try:
            await run.populate()
            if not run.stopping:
                state = await self.repo.run_state(mailing_id)
                run.counts = await self.repo.counts(mailing_id)
                message_id = await active.progress.open(
                    state.progress_message_id if state else None
                )
                if message_id is not None:
                    await self.repo.set_progress_message(
                        mailing_id, active.progress.chat_id, message_id
                    )
                run.on_change = active.progress.changed
                run.on_channel_paused = lambda channel, reason, count: self._notice(
                    active, self._channel_paused(active, channel, reason, count)
                )
                await run.send(state.paused_channels if state else (), counted=True)
                # Rows made pending at the very end (resend unknown) go in another round.
                while await self._finish(active):
                    await run.send(tuple(run.paused_channels))
            else:
                await self._finish(active)
            if run.clean:
                await self.repo.end_run(mailing_id)
        except Exception as exc:
            log.exception("mailing %d stopped by an error", mailing_id)
            await self._failed(active, exc)
        finally:
            for notice in list(active.notices):
                with contextlib.suppress(Exception):
                    await notice
            if self._active.get(mailing_id) is active:
                del self._active[mailing_id]

    async def _finish(self, active: _Active) -> bool:
        """Record the end of a run that was not stopped by an exception; True when the
        mailing is still running with rows pending (another round is due)."""
        run, mailing_id = active.run, active.run.mailing.id
        if run.stop_reason == "shutdown":
            await self._close_progress(active, "stopped", final=False)
        elif run.stop_reason == "pause":
            await self._close_progress(active, "paused", final=False)
        elif run.stop_reason == "cancel":
            if active.told_cancelled:  # its last sends ended after the admin was told
                run.counts = await self.repo.counts(mailing_id)
                await self._close_progress(active, "cancelled", final=False)
        elif run.paused_channels:
            await self.repo.move(mailing_id, "paused", ("running",))
            await self._close_progress(active, "paused", final=False)
        elif await self.repo.complete(mailing_id):
            await self._close_progress(active, "completed")
        elif await self.repo.status(mailing_id) == "running":
            return True
        else:  # paused by the admin as the last rows went out
            await self._close_progress(active, "paused", final=False)
        return False

    async def _failed(self, active: _Active, exc: Exception) -> None:
        """A run broke on an unexpected error: pause the mailing and tell the admin why."""
        mailing_id = active.run.mailing.id
        with contextlib.suppress(Exception):
            await self.repo.set_paused_channels(mailing_id, [], f"{type(exc).__name__}: {exc}")
            await self.repo.move(mailing_id, "paused", ("running",))
            await self._close_progress(active, "paused", final=False)
            await self.notices.run_failed(
                active.progress.chat_id,
                active.progress.locale,
                active.run.mailing,
                f"{type(exc).__name__}: {exc}",
            )

    async def _close_progress(self, active: _Active, state: str, *, final: bool = True) -> None:
        """Show the final state in the progress message; a summary when the run is over."""
        text = None
        if final:
            name = active.run.mailing.name
            text = summary(self.i18n, active.progress.locale, state, name, active.run.counts)
        await active.progress.close(state, text)

    def _notice(self, active: _Active, coro: Any) -> None:
        """Run a notice in the background (the pipeline that raised it keeps going)."""
        task = asyncio.create_task(coro)
        active.notices.add(task)
        task.add_done_callback(active.notices.discard)

    async def _channel_paused(self, active: _Active, channel: str, reason: str, count: int) -> None:
        """Record a paused channel and tell the admin, with Resume."""
        mailing = active.run.mailing
        if channel not in active.run.paused_channels:
            return  # resumed before the notice went out: nothing to record or tell
        paused = sorted(active.run.paused_channels)
        await self.repo.set_paused_channels(mailing.id, paused, f"{channel}: {reason}")
        await self.notices.channel_paused(
            active.progress.chat_id,
            active.progress.locale,
            mailing,
            channel,
            reason,
            count,
            self.failure_limit,
        )

    async def _admin_locale(self, admin_id: int) -> str:
        """The admin's interface language (their choice, else LOCALE)."""
        choices = await AdminPrefsRepository(self.db).locales()
        return choices.get(admin_id, self.settings.locale)
