"""The world of promotion tests: a simulated clock the bot is built with, promotions made
through the service, and what they sent."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.app import create_app
from bot.promotions.schedule import Schedule, ScheduleKind
from bot.promotions.service import PromotionDraft, PromotionService
from storage.db import Database
from storage.promotions import Promotion
from storage.segments import Condition, SegmentRepository
from tests.conftest import ADMIN, RunningBot


class Clock:
    """Simulated time: the bot's promotions and scheduler read it; tests move it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move_to(self, at: datetime) -> None:
        self.at = at


class ClockBot(RunningBot):
    """The bot under test, built by create_app with the simulated clock."""

    def __init__(self, *args: Any, clock: Clock) -> None:
        super().__init__(*args)
        self.clock = clock

    async def start(self) -> ClockBot:
        self.app = await create_app(self.settings, clock=self.clock)
        self._task = asyncio.create_task(self.app.run_polling(handle_signals=False))
        return self

    @property
    def promotions(self) -> PromotionService:
        assert self.app is not None
        return self.app.services.promotions

    async def reconcile(self) -> None:
        """The scheduler's periodic pass, now (it runs every 30 s by itself)."""
        assert self.app is not None
        await self.app.services.scheduler.reconcile()


async def birthday_segment(db: Database) -> int:
    """ "Birthday today" in the segment language storage/segments.py offers."""
    segment = await SegmentRepository(db).create(
        "Именинники", [Condition("birthday", "within_days", 0)]
    )
    return segment.id


async def daily_promotion(
    promotions: PromotionService,
    segment_id: int,
    *,
    at: time,
    starts_on: date,
    text: str = "С днём рождения, {first_name}! Сегодня {today}",
    cap_days: int | None = None,
) -> Promotion:
    draft = PromotionDraft(
        name="Именинники дня",
        segment_id=segment_id,
        schedule=Schedule(ScheduleKind.DAILY, at),
        starts_on=starts_on,
        channels=("telegram",),
        text_html=text,
        cap_days=cap_days,
    )
    return await promotions.create(draft, ADMIN)


async def occurrence_rows(db: Database, promotion_id: int) -> list[tuple[str, str]]:
    """(occurrence_at, status) of every mailing of the promotion."""
    rows = await db.fetchall(
        "SELECT occurrence_at, status FROM mailings WHERE promotion_id = ? ORDER BY id",
        (promotion_id,),
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def local(day: date, at: time, tz: Any) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
