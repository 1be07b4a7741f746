"""Fires each scheduled mailing and each promotion's occurrence at its moment (APScheduler 3),
rebuilt from the database.

The database is the truth: jobs are rebuilt at every start and a reconciliation
pass every 30 s launches any due mailing a job missed. A mailing whose moment
passed while the bot was down starts at once within MISSED_GRACE_MINUTES;
later than that it becomes `missed` and its author is told, with "Send now".

A promotion has one job, at its next occurrence. Firing makes the occurrence's
mailing (at most one: the unique key decides, whoever fires, however often) and
launches it through the same grace rule; an occurrence that passed while the bot
was down is caught up at start the same way (docs/architecture.md, "Engine invariants").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from storage.db import Database
from storage.mailings import Mailing, MailingRepository
from storage.statuses import MailingStatus

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.delivery.engine import DeliveryEngine
    from bot.promotions.service import PromotionService
    from storage.promotions import Promotion

log = logging.getLogger(__name__)

RECONCILE_SECONDS = 30
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def _job_id(mailing_id: int) -> str:
    """The APScheduler job id of a mailing."""
    return f"mailing:{mailing_id}"


def _promotion_job_id(promotion_id: int) -> str:
    """The APScheduler job id of a promotion (at its next occurrence)."""
    return f"promotion:{promotion_id}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MailingScheduler:
    """One job per scheduled mailing, plus a periodic pass over due ones."""

    def __init__(
        self,
        db: Database,
        engine: DeliveryEngine,
        settings: Settings,
        promotions: PromotionService | None = None,
    ) -> None:
        """Schedule in TIMEZONE; launch through `engine`; with `promotions`, also their
        occurrences, on the promotions' clock."""
        self.repo = MailingRepository(db)
        self.engine = engine
        self.promotions = promotions
        self.now: Callable[[], datetime] = promotions.now if promotions else _utc_now
        self.grace = timedelta(minutes=settings.missed_grace_minutes)
        self.scheduler = AsyncIOScheduler(timezone=settings.tz)

    async def start(self) -> None:
        """Start APScheduler, rebuild the jobs, and add the reconciliation pass."""
        self.scheduler.start()
        self.scheduler.add_job(
            self.reconcile,
            IntervalTrigger(seconds=RECONCILE_SECONDS),
            id="reconcile",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        await self.rebuild()

    async def shutdown(self) -> None:
        """Stop firing jobs (the database keeps every mailing)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def jobs(self) -> dict[int, datetime]:
        """The mailing jobs now planned: mailing id -> moment (for tests and logs)."""
        found: dict[int, datetime] = {}
        for job in self.scheduler.get_jobs():
            # Before the scheduler runs, a job has no next_run_time yet: its trigger tells.
            when = getattr(job, "next_run_time", None) or getattr(job.trigger, "run_date", None)
            if job.id.startswith("mailing:") and when is not None:
                found[int(job.id.split(":", 1)[1])] = when
        return found

    async def rebuild(self) -> None:
        """Drop every mailing job and plan one per scheduled mailing from the database."""
        for job in self.scheduler.get_jobs():
            if job.id.startswith("mailing:"):
                job.remove()
        for mailing in await self.repo.due(_FAR_FUTURE):
            await self._place(mailing)
        log.info("scheduler: %d mailing(s) planned", len(self.jobs()))
        await self.rebuild_promotions()

    async def sync(self, mailing_id: int) -> None:
        """Bring a mailing's job in line with the database (after create/reschedule/cancel)."""
        job = self.scheduler.get_job(_job_id(mailing_id))
        if job is not None:
            job.remove()
        mailing = await self.repo.get(mailing_id)
        if mailing is not None and mailing.status == MailingStatus.SCHEDULED:
            await self._place(mailing)

    async def reconcile(self) -> None:
        """Launch (or mark missed) every scheduled mailing whose moment has come."""
        now = self.now()
        for mailing in await self.repo.due(now):
            await self._due(mailing, now)
        if self.promotions is not None:
            for promotion in await self.promotions.enabled():
                await self.sync_promotion(promotion.id)

    async def _place(self, mailing: Mailing) -> None:
        """A job at the mailing's moment, or its due handling now when the moment passed."""
        now = self.now()
        if mailing.scheduled_at > now:
            self.scheduler.add_job(
                self._fire,
                DateTrigger(run_date=mailing.scheduled_at),
                args=[mailing.id],
                id=_job_id(mailing.id),
                replace_existing=True,
                misfire_grace_time=None,  # our own grace rule decides, in _due
            )
        else:
            await self._due(mailing, now)

    async def _fire(self, mailing_id: int) -> None:
        """The job of a mailing: launch it if it is still scheduled."""
        mailing = await self.repo.get(mailing_id)
        if mailing is not None and mailing.status == MailingStatus.SCHEDULED:
            await self._due(mailing, self.now())

    async def _due(self, mailing: Mailing, now: datetime) -> None:
        """Launch a due mailing within the grace period; otherwise mark it missed and tell."""
        late = now - mailing.scheduled_at
        if late <= self.grace:
            if await self.engine.launch(mailing.id):
                log.info(
                    "mailing %d launched (%.0f s after its moment)",
                    mailing.id,
                    late.total_seconds(),
                )
            return
        if await self.repo.set_status(
            mailing.id, MailingStatus.MISSED, expected=MailingStatus.SCHEDULED
        ):
            minutes = int(late.total_seconds() // 60)
            log.warning("mailing %d missed its moment by %d min", mailing.id, minutes)
            grace = int(self.grace.total_seconds() // 60)
            await self.engine.notify_missed(mailing, minutes, grace)

    # ------------------------------------------------------------------ promotions
    def promotion_jobs(self) -> dict[int, datetime]:
        """The promotion jobs now planned: promotion id -> next occurrence (tests, logs)."""
        found: dict[int, datetime] = {}
        for job in self.scheduler.get_jobs():
            when = getattr(job, "next_run_time", None) or getattr(job.trigger, "run_date", None)
            if job.id.startswith("promotion:") and when is not None:
                found[int(job.id.split(":", 1)[1])] = when
        return found

    async def rebuild_promotions(self) -> None:
        """Drop every promotion job; catch up and plan each promotion that is on."""
        for job in self.scheduler.get_jobs():
            if job.id.startswith("promotion:"):
                job.remove()
        if self.promotions is None:
            return
        for promotion in await self.promotions.enabled():
            await self.sync_promotion(promotion.id)
        log.info("scheduler: %d promotion(s) planned", len(self.promotion_jobs()))

    async def sync_promotion(self, promotion_id: int) -> None:
        """Bring a promotion's job in line with the database (after create, edit, on/off,
        delete, and when it fires): run what is due, then plan the next occurrence."""
        if self.promotions is None:
            return
        job = self.scheduler.get_job(_promotion_job_id(promotion_id))
        if job is not None:
            job.remove()
        promotion = await self.promotions.get(promotion_id)
        if promotion is None or not promotion.enabled:
            return
        now = self.now()
        await self._promotion_due(promotion, now)
        upcoming = self.promotions.next_run(promotion, now)
        if upcoming is not None:
            self.scheduler.add_job(
                self.sync_promotion,
                DateTrigger(run_date=upcoming),
                args=[promotion_id],
                id=_promotion_job_id(promotion_id),
                replace_existing=True,
                misfire_grace_time=None,  # the grace rule below decides
            )

    async def _promotion_due(self, promotion: Promotion, now: datetime) -> None:
        """Each occurrence that has come: its mailing (made once) launched within the grace
        period, or recorded `missed`; the author hears of the latest missed one."""
        assert self.promotions is not None
        missed: tuple[Mailing, timedelta] | None = None
        for moment in await self.promotions.due_occurrences(promotion, now):
            late = now - moment
            if late <= self.grace:
                mailing, _made = await self.promotions.occurrence(promotion, moment)
                if mailing.status == MailingStatus.SCHEDULED:
                    await self._due(mailing, now)
                continue
            mailing, made = await self.promotions.occurrence(
                promotion, moment, MailingStatus.MISSED
            )
            if made:
                log.warning("promotion %d missed its occurrence at %s", promotion.id, moment)
                missed = (mailing, late)
        if missed is not None:
            mailing, late = missed
            minutes = int(late.total_seconds() // 60)
            await self.engine.notify_missed(mailing, minutes, int(self.grace.total_seconds() // 60))
