"""Mailings and segments in the database: segment conditions, reach, status compare-and-set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.mailings import MailingService
from storage.db import Database
from storage.guests import GuestRecord, GuestRepository
from storage.mailings import MailingRepository
from storage.schema import migrate
from storage.segments import (
    ALL_GUESTS_ID,
    Condition,
    ConditionError,
    SegmentRepository,
    parse_conditions,
    where_clause,
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "db.sqlite3").open()
    await migrate(database.conn)
    yield database
    await database.close()


async def seed(db: Database) -> GuestRepository:
    guests = GuestRepository(db)
    await guests.upsert_many(
        [
            GuestRecord(phone="+79160000001", first_name="Анна", email="a@x.ru",
                        balance_cents=150_000, visits_count=12, birthday=date(1990, 3, 10),
                        tags=("vip", "wine"), account_group="Gold", sex="female",
                        last_visit_at=date(2026, 3, 1)),
            GuestRecord(phone="+79160000002", first_name="Борис", balance_cents=5_000,
                        visits_count=1, birthday=date(1985, 12, 31), tags=("wine",),
                        sex="male"),
            GuestRecord(phone="+79160000003", last_name="Очень-Длинная-Фамилия",
                        balance_cents=-2_000, birthday=date(1992, 2, 29)),
        ]
    )  # fmt: skip
    await guests.link_telegram("+79160000002", user_id=42, chat_id=42)
    await guests.link_telegram("+79160000001", user_id=43, chat_id=43)
    return guests


async def names(db: Database, conditions: list[Condition], today: date) -> set[str]:
    segments = SegmentRepository(db)
    segment = await segments.create(f"s{len(await segments.list())}", conditions)
    sql, params = where_clause(segment, today=today)
    rows = await db.fetchall(f"SELECT phone FROM guests WHERE {sql}", params)
    return {r[0][-1] for r in rows}


async def test_all_guests_comes_first_and_matches_everyone(db: Database) -> None:
    await seed(db)
    segments = SegmentRepository(db)
    await segments.create("Aaa", [Condition("balance", ">=", "0")])
    listed = await segments.list()
    assert listed[0].id == ALL_GUESTS_ID and listed[0].is_builtin
    assert where_clause(listed[0]) == ("1", [])
    reach = await segments.reach(listed[0])
    assert (reach.total, reach.telegram, reach.email, reach.both, reach.neither) == (3, 2, 1, 1, 1)
    assert await segments.count(listed[1]) == 2


async def test_conditions_select_the_right_guests(db: Database) -> None:
    await seed(db)
    today = date(2026, 3, 8)
    assert await names(db, [Condition("balance", ">", "100")], today) == {"1"}
    assert await names(db, [Condition("balance", "<", 0)], today) == {"3"}
    assert await names(db, [Condition("visits", ">=", 1)], today) == {"1", "2"}
    assert await names(db, [Condition("birthday", "within_days", 7)], today) == {"1"}
    assert await names(db, [Condition("birthday", "month", 12)], today) == {"2"}
    # Across the new year, and Feb 29 birthdays in a common year.
    assert await names(db, [Condition("birthday", "within_days", 3)], date(2026, 12, 30)) == {"2"}
    assert await names(db, [Condition("birthday", "within_days", 0)], date(2027, 2, 28)) == {"3"}
    assert await names(db, [Condition("tags", "any", ["vip", "x"])], today) == {"1"}
    assert await names(db, [Condition("tags", "all", ["vip", "wine"])], today) == {"1"}
    assert await names(db, [Condition("tags", "none", ["wine"])], today) == {"3"}
    assert await names(db, [Condition("group", "=", "Gold")], today) == {"1"}
    assert await names(db, [Condition("group", "!=", "Gold")], today) == {"2", "3"}
    assert await names(db, [Condition("sex", "=", "male")], today) == {"2"}
    assert await names(db, [Condition("telegram", "present")], today) == {"1", "2"}
    assert await names(db, [Condition("email", "absent")], today) == {"2", "3"}
    assert await names(db, [Condition("last_visit", "within_days", 30)], today) == {"1"}
    assert await names(db, [Condition("last_visit", "older_than_days", 30)], today) == {"2", "3"}
    both = [Condition("telegram", "present"), Condition("tags", "any", ["wine"])]
    assert await names(db, both, today) == {"1", "2"}


@pytest.mark.parametrize(
    "text",
    [
        '{"field": "balance"}',
        '[{"field": "nope", "op": "=", "value": 1}]',
        '[{"field": "balance", "op": "; DROP TABLE guests", "value": 1}]',
        '[{"field": "visits", "op": ">", "value": "many"}]',
        '[{"field": "tags", "op": "any", "value": []}]',
        '[{"field": "birthday", "op": "month", "value": 13}]',
        "not json",
    ],
)
def test_bad_conditions_are_refused(text: str) -> None:
    with pytest.raises(ConditionError):
        parse_conditions(text)


async def test_longest_values_and_sample_guest(db: Database) -> None:
    await seed(db)
    segments = SegmentRepository(db)
    everyone = await segments.get(ALL_GUESTS_ID)
    assert everyone is not None
    longest = await segments.longest(everyone)
    assert longest.last_name == len("Очень-Длинная-Фамилия")
    assert (longest.max_balance_cents, longest.min_balance_cents) == (150_000, -2_000)
    sample = await segments.sample(everyone)
    assert sample is not None and sample.first_name == "Борис"  # the longest name
    # An email mailing is previewed for a guest it will reach: Борис has no email.
    by_email = await segments.sample(everyone, channels=("email",))
    assert by_email is not None and by_email.first_name == "Анна"
    by_either = await segments.sample(everyone, channels=("email", "telegram"))
    assert by_either is not None and by_either.first_name == "Борис"


async def test_mailing_lifecycle_is_compare_and_set(db: Database) -> None:
    repo = MailingRepository(db)
    when = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    mailing = await repo.create(
        name="Spring", segment_id=ALL_GUESTS_ID, scheduled_at=when,
        channels=("email", "telegram"), send_mode="priority", subject="Hi",
        text_html="<b>Hi</b> {first_name}", locale="en", created_by=1,
    )  # fmt: skip
    assert mailing.channels == ("email", "telegram") and mailing.status == "scheduled"
    assert mailing.scheduled_at == when and mailing.scheduled_at.tzinfo is not None
    assert await repo.due(when - timedelta(seconds=1)) == []
    assert [m.id for m in await repo.due(when)] == [mailing.id]
    later = when + timedelta(hours=2)
    assert await repo.reschedule(mailing.id, later)
    assert not await repo.set_status(mailing.id, "completed", expected="running")
    assert await repo.set_status(mailing.id, "running", expected="scheduled")
    assert not await repo.reschedule(mailing.id, when)
    assert not await repo.cancel(mailing.id)
    assert await repo.set_status(mailing.id, "paused", expected="running")
    assert await repo.cancel(mailing.id)
    stored = await repo.get(mailing.id)
    assert stored is not None and stored.status == "cancelled"
    assert stored.started_at is not None and stored.finished_at is not None
    await repo.set_image_file_id(mailing.id, "AgACfile")
    assert (await repo.get(mailing.id)).image_file_id == "AgACfile"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        await repo.create(
            name="x", segment_id=1, scheduled_at=datetime(2026, 1, 1),  # naive
            channels=("telegram",), created_by=1,
        )  # fmt: skip


async def test_listing_mailings(db: Database) -> None:
    repo = MailingRepository(db)
    base = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    ids = []
    for day, name in enumerate(["Spring sale", "Wine_night", "100% bonus"]):
        m = await repo.create(name=name, segment_id=1, scheduled_at=base + timedelta(days=day),
                              channels=("telegram",), created_by=1)  # fmt: skip
        ids.append(m.id)
    await repo.set_status(ids[2], "completed")
    found = await repo.list_between(base, base + timedelta(days=10))
    assert [m.id for m in found] == [ids[2], ids[1], ids[0]]
    assert [m.name for m in await repo.list_between(base, base + timedelta(days=9), query="_")] == [
        "Wine_night"
    ]
    assert [m.name for m in await repo.list_between(base, base + timedelta(days=9), query="%")] == [
        "100% bonus"
    ]
    assert [m.id for m in await repo.recent()] == [ids[0], ids[1], ids[2]]
    assert await repo.count() == 3


def test_a_time_the_clocks_skip_is_the_moment_it_really_is(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        bot_token="123456:test-token",
        admin_ids="1",
        data_dir=tmp_path,
        timezone="Europe/Berlin",
    )
    service = MailingService(Database(tmp_path / "unused.sqlite3"), settings)
    day = date(datetime.now(UTC).year + 1, 3, 31)
    spring = day - timedelta(days=(day.weekday() + 1) % 7)  # the last Sunday of March
    moment = service.moment(spring, "02:30")  # 02:00 -> 03:00 that night
    assert moment is not None
    assert moment.strftime("%H:%M") == "03:30"
    assert moment.astimezone(UTC).strftime("%H:%M") == "01:30"
    assert service.moment(spring, "04:15").strftime("%H:%M") == "04:15"  # type: ignore[union-attr]
