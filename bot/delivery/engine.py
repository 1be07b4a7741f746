"""The delivery engine: starts, pauses, resumes and cancels mailing runs; recovers at start.

The database is the truth: a run is a mailing in status `running` plus its
delivery rows, so after any stop the engine picks up where the rows say. The
Telegram limiter is the engine's, one for the whole bot, shared by every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.delivery.channels import SenderFactory
from bot.delivery.limiter import RateLimiter
from bot.delivery.notices import AdminNotices
from bot.delivery.progress import Progress, RunKeyboards
from bot.delivery.render_clock import RenderClock
from bot.delivery.run import MailingRun, RunDeps, StopReason
from bot.quiet_hours import Clock
from bot.secrets import SecretBox
from bot.unsubscribe import UnsubscribeTokens
from storage.db import Database
from storage.deliveries import DeliveryRepository
from storage.delivery_writer import DeliveryWriter
from storage.limits import LimitsRepository
from storage.mailings import Mailing, MailingRepository
from storage.prefs import AdminPrefsRepository
from storage.statuses import MailingStatus

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.mailing_settings import MailingSettingsService

log = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0
CHECKPOINT_SECONDS = 5.0
SCHEDULED, RUNNING, PAUSED = MailingStatus.SCHEDULED, MailingStatus.RUNNING, MailingStatus.PAUSED
MISSED, COMPLETED = MailingStatus.MISSED, MailingStatus.COMPLETED


@dataclass
class _Store:
    """The engine's storage, opened by start(): its own connection and the repositories
    on it (made once), and the hot path's connection."""

    conn: Database
    deliveries: DeliveryRepository
    mailings: MailingRepository
    writer: DeliveryWriter
    limits: LimitsRepository


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
        self.senders = SenderFactory(
            bot, self.limiter, settings, mailing_settings, bot_username=bot_username
        )
        self.failure_limit = settings.channel_failure_limit
        self.notices = AdminNotices(bot, i18n, keyboards, self.limiter, zone=settings.timezone)
        self.prefs = AdminPrefsRepository(db)
        self._store: _Store | None = None
        self._runs: dict[int, MailingRun] = {}
        self._lock = asyncio.Lock()
        self._started = asyncio.Event()
        self._checkpoints: asyncio.Task[None] | None = None
        self._fold_wal = False
        # The time quiet hours are checked against (a test runs it faster).
        self.clock = Clock()
        # Wake-ups of mailings paused for quiet hours, planned from the database.
        self._wakes: dict[int, asyncio.Task[None]] = {}

    @property
    def pool_size(self) -> int:
        """SMTP connections per run's email channel."""
        return self.senders.pool_size

    @property
    def telegram_workers(self) -> int:
        """Concurrent Telegram sends per run."""
        return self.senders.telegram_workers

    @property
    def _opened(self) -> _Store:
        """The engine's storage (after start())."""
        if self._store is None:
            raise RuntimeError("the delivery engine is not started")
        return self._store

    @property
    def store(self) -> DeliveryRepository:
        """The engine's SQL, on its own connection (its hot path does not queue behind the
        handlers'); what a run needs of it is bot.delivery.store.RunStore."""
        return self._opened.deliveries

    @property
    def writer(self) -> DeliveryWriter:
        """The hot path's connection (claims, finishes, pending pages)."""
        return self._opened.writer

    def running(self, mailing_id: int) -> bool:
        """True while the engine drives a run of this mailing."""
        return self._live(mailing_id) is not None

    def _live(self, mailing_id: int) -> MailingRun | None:
        """The mailing's run while its task goes on."""
        run = self._runs.get(mailing_id)
        return None if run is None or run.ended else run

    async def wait(self, mailing_id: int) -> None:
        """Wait until the engine no longer drives a run of this mailing (ended or stopped)."""
        run = self._runs.get(mailing_id)
        if run is not None:
            await run.wait()

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Open the engine's connections, then recover: in-flight rows -> unknown, resume runs."""
        conn = await Database(self.settings.database_path).open()
        # Its commits (a run's end) never fold the WAL back: the checkpointer does, aside.
        await conn.execute("PRAGMA wal_autocheckpoint = 0")
        writer = await DeliveryWriter(self.settings.database_path).open()
        self._store = _Store(
            conn,
            DeliveryRepository(conn, self.settings.tz),
            MailingRepository(conn),
            writer,
            LimitsRepository(conn),
        )
        self.senders.tokens = UnsubscribeTokens.from_secret_box(
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
            if (self._runs or self._fold_wal) and self._store is not None:
                self._fold_wal = bool(self._runs)  # and once more after the last run
                try:
                    await self._store.conn.fetchone("PRAGMA wal_checkpoint(PASSIVE)")
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
        for wake in self._wakes.values():
            wake.cancel()  # planned again from the database at next start
        self._wakes.clear()
        for run in self._runs.values():
            run.stop(StopReason.SHUTDOWN)
        tasks = [run.task for run in self._runs.values() if run.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._store is not None:
            await self._store.writer.close()
            await self._store.conn.close()
            self._store = None

    async def recover(self) -> None:
        """After a crash: rows left `sending` become `unknown`; `running` mailings resume."""
        async with self._lock:
            unknown = await self.store.recover()
            if unknown:
                log.warning("%d deliveries were in flight when the bot stopped: unknown", unknown)
            for mailing_id in await self.store.mailings_in([RUNNING]):
                if self._live(mailing_id) is None:
                    log.info("resuming mailing %d", mailing_id)
                    await self._spawn(mailing_id)
            for mailing_id, until in await self._opened.limits.quiet_paused():
                self._plan_wake(mailing_id, until)

    # ------------------------------------------------------------------ quiet hours
    def _plan_wake(self, mailing_id: int, until: datetime) -> None:
        """Continue a mailing paused for quiet hours at `until` (replacing an earlier plan)."""
        old = self._wakes.pop(mailing_id, None)
        if old is not None:
            old.cancel()
        self._wakes[mailing_id] = asyncio.create_task(
            self._wake(mailing_id, until), name=f"quiet-wake-{mailing_id}"
        )

    async def _wake(self, mailing_id: int, until: datetime) -> None:
        """At the end of quiet hours: resume the mailing if it still waits for them (not
        resumed, cancelled or restarted meanwhile)."""
        await self.clock.sleep_until(until)
        if self._wakes.get(mailing_id) is asyncio.current_task():
            del self._wakes[mailing_id]
        waiting = dict(await self._opened.limits.quiet_paused())
        if mailing_id in waiting and await self.resume(mailing_id):
            log.info("mailing %d continues after quiet hours", mailing_id)

    # ------------------------------------------------------------------ admin actions
    async def launch(self, mailing_id: int, launched_by: int | None = None) -> bool:
        """Start a scheduled (or missed) mailing now; False if it is not in such a state."""
        await self._ready()
        async with self._lock:
            if self._live(mailing_id) is not None:
                return False
            if not await self.store.move(mailing_id, RUNNING, (SCHEDULED, MISSED)):
                return False
            await self.store.start_run(mailing_id, launched_by)
            await self._spawn(mailing_id)
            return True

    async def pause(self, mailing_id: int) -> bool:
        """Pause a running mailing; rows in flight finish, the rest stay pending."""
        await self._ready()
        async with self._lock:
            if not await self.store.move(mailing_id, PAUSED, (RUNNING,)):
                return False
            run = self._live(mailing_id)
            if run is not None:
                run.stop(StopReason.PAUSE)
            return True

    async def resume(self, mailing_id: int) -> bool:
        """Resume a paused mailing, or the paused channels of a running one."""
        await self._ready()
        async with self._lock:
            run = self._live(mailing_id)
            if run is not None and run.sending and not run.stopping:
                paused = sorted(run.paused_channels)
                if not paused:
                    return False
                return await run.resume_channels(paused, await self.senders.setup())
            # Its last sends are still going: not two runs.
            if run is not None and not await run.wait(STOP_TIMEOUT):
                return False
            if await self.store.status(mailing_id) != PAUSED:
                return False
            await self.store.set_paused_channels(mailing_id, [])
            if not await self.store.move(mailing_id, RUNNING, (PAUSED,)):
                return False
            await self._spawn(mailing_id)
            return True

    async def cancel(self, mailing_id: int) -> bool:
        """Cancel a mailing; its unsent rows end `skipped` ("cancelled")."""
        await self._ready()
        async with self._lock:
            status = await self.store.status(mailing_id)
            if status in (SCHEDULED, MISSED):
                return await self.store.cancel(mailing_id, (SCHEDULED, MISSED))
            if status not in (RUNNING, PAUSED):
                return False
            run = self._live(mailing_id)
            if run is None:
                return await self.store.cancel(mailing_id, (RUNNING, PAUSED))
            run.stop(StopReason.CANCEL)
            # Rows still in flight after the wait end as they end; any handed back
            # unsent turn `skipped` ("cancelled") in the run itself.
            await run.wait(STOP_TIMEOUT)
            return await run.cancel()

    async def resend_unknown(self, mailing_id: int) -> int:
        """Send the mailing's `unknown` rows again (the admin's decision); returns how many."""
        await self._ready()
        async with self._lock:
            run = self._live(mailing_id)
            if run is not None and not run.sending:
                # The run is ending (its summary may be on its way): not two runs at once.
                if not await run.wait(STOP_TIMEOUT):
                    return 0
                run = None
            status = await self.store.status(mailing_id)
            if status not in (RUNNING, PAUSED, COMPLETED):
                return 0
            count = await self.store.resend_unknown(mailing_id)
            if count and run is not None and run.sending:
                run.rows_added()  # the run picks them up (or, ending, sees them)
            elif count and status == COMPLETED:
                await self.store.move(mailing_id, RUNNING, (COMPLETED,))
                await self._spawn(mailing_id)
            return count

    async def notify_missed(self, mailing: Mailing, late_minutes: int, grace: int) -> None:
        """Tell the mailing's author it was missed, with a button to send it now."""
        locale = await self._admin_locale(mailing.created_by)
        when = mailing.scheduled_at.astimezone(self.settings.tz).strftime("%d.%m.%Y %H:%M")
        await self.notices.missed(mailing.created_by, locale, mailing, when, late_minutes, grace)

    # ------------------------------------------------------------------ runs
    async def _spawn(self, mailing_id: int) -> None:
        """Build the run of a `running` mailing with everything it needs, and start it."""
        store = self._opened
        mailing = await store.mailings.get(mailing_id)
        if mailing is None:
            raise LookupError(f"mailing {mailing_id} does not exist")
        # No run of it is alive here: rows a broken run left `sending` are unknown now,
        # before this run's record reads "not ended" again.
        await store.deliveries.interrupted(mailing_id)
        await store.deliveries.start_run(mailing_id, None)
        await store.limits.set_quiet_until(mailing_id, None)  # running again: not waiting
        state = await store.deliveries.run_state(mailing_id)
        admin = (state.launched_by if state else None) or mailing.created_by
        progress = Progress(
            self.bot,
            self.i18n,
            await self._admin_locale(admin),
            admin,
            mailing.name,
            self.keyboards,
            mailing_id,
            self.limiter,
        )
        deps = RunDeps(
            store.deliveries,
            store.writer,
            self.senders,
            self.notices,
            self.failure_limit,
            self.i18n,
            store.limits,
            self.clock,
        )
        occurrence = mailing.occurrence_at
        day = occurrence.astimezone(self.settings.tz).date() if occurrence else None
        clock = RenderClock(mailing.locale, self.settings, day)
        run = MailingRun(mailing, deps, clock, progress, await self.senders.setup())
        self._runs[mailing_id] = run
        run.start().add_done_callback(lambda _task: self._forget(run))
        self._fold_wal = True

    def _forget(self, run: MailingRun) -> None:
        """The run's task is over: the engine no longer drives it."""
        if self._runs.get(run.mailing.id) is run:
            del self._runs[run.mailing.id]
        if run.quiet_until is not None and self._started.is_set():
            self._plan_wake(run.mailing.id, run.quiet_until)

    async def _admin_locale(self, admin_id: int) -> str:
        """The admin's interface language (their choice, else LOCALE)."""
        choices = await self.prefs.locales()
        return choices.get(admin_id, self.settings.locale)
