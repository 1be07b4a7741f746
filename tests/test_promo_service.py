"""The promotion service: what an edit, switching on, duplicating and deleting do to the
occurrences, on a simulated clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.promotions.service import PromotionDraft, PromotionService
from storage.db import Database
from storage.schema import migrate
from storage.segments import ALL_GUESTS_ID
from storage.statuses import MailingStatus
from tests.promo_world import Clock, daily_promotion, local

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = date(2031, 5, 12)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "db.sqlite3").open()
    await migrate(database.conn)
    yield database
    await database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(local(DAY, time(9, 0), MOSCOW))


@pytest.fixture
def service(db: Database, clock: Clock, tmp_path: Path) -> PromotionService:
    settings = Settings(_env_file=None, bot_token="1:x", admin_ids="1", data_dir=tmp_path)
    return PromotionService(db, settings, now=clock)


async def test_switching_on_after_a_moment_does_not_reach_back_to_it(
    service: PromotionService, clock: Clock
) -> None:
    promotion = await daily_promotion(service, ALL_GUESTS_ID, at=time(10, 0), starts_on=DAY)
    assert await service.set_enabled(promotion.id, False)
    clock.move_to(local(DAY, time(10, 30), MOSCOW))
    assert await service.set_enabled(promotion.id, True)
    fresh = await service.get(promotion.id)
    assert fresh is not None
    assert await service.due_occurrences(fresh, clock()) == []
    assert service.next_run(fresh) == local(DAY + timedelta(days=1), time(10, 0), MOSCOW)


async def test_each_occurrence_copies_the_promotions_message_and_cap(
    service: PromotionService, clock: Clock
) -> None:
    promotion = await daily_promotion(
        service, ALL_GUESTS_ID, at=time(10, 0), starts_on=DAY, cap_days=14
    )
    clock.move_to(local(DAY, time(10, 0), MOSCOW))
    (moment,) = await service.due_occurrences(promotion, clock())
    mailing, made = await service.occurrence(promotion, moment)
    assert made
    assert (mailing.name, mailing.cap_days, mailing.promotion_id) == (
        promotion.name, 14, promotion.id,
    )  # fmt: skip
    assert mailing.text_html == promotion.text_html
    assert mailing.scheduled_at == moment == mailing.occurrence_at
    last = await service.last_run(promotion)
    assert last is not None and last.mailing.id == mailing.id and last.counts is None
    fresh = await service.get(promotion.id)
    assert fresh is not None and await service.due_occurrences(fresh, clock()) == []


async def test_a_duplicate_is_off_and_a_deleted_promotion_keeps_its_mailings(
    service: PromotionService, clock: Clock, db: Database
) -> None:
    promotion = await daily_promotion(service, ALL_GUESTS_ID, at=time(10, 0), starts_on=DAY)
    copy = await service.duplicate(promotion.id, 7)
    assert not copy.enabled and copy.name.endswith(" (copy)") and copy.created_by == 7
    assert copy.schedule == promotion.schedule and copy.starts_on == promotion.starts_on
    clock.move_to(datetime.fromisoformat("2031-05-12T07:00:00+00:00"))
    mailing, _ = await service.occurrence(promotion, clock(), MailingStatus.MISSED)
    assert mailing.finished_at is not None
    assert await service.delete(promotion.id)
    assert [p.id for p in await service.all()] == [copy.id]
    assert service.next_run(promotion) is not None  # the old object; the stored one is gone
    assert await service.get(promotion.id) is None
    assert await db.fetchval("SELECT COUNT(*) FROM mailings WHERE promotion_id = ?",
                             (promotion.id,)) == 1  # fmt: skip


async def test_an_incomplete_or_backwards_promotion_is_refused(
    service: PromotionService,
) -> None:
    with pytest.raises(ValueError):
        await service.create(PromotionDraft(name="x"), 1)
    draft = PromotionDraft.from_data(
        {
            "name": "x", "segment_id": ALL_GUESTS_ID,
            "schedule": {"kind": "daily", "at": "10:00"},
            "starts_on": "2031-05-12", "ends_on": "2031-05-01",
            "channels": ["telegram"], "text_html": "hi",
        }
    )  # fmt: skip
    with pytest.raises(ValueError, match="ends before"):
        await service.create(draft, 1)
