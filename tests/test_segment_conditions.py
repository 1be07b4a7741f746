"""Every segment condition against hand-made guests: dates in TIMEZONE, 29 February,
the year boundary, empty fields, OR of AND groups, SQL-looking values, version 1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage.db import Database
from storage.guests import GuestRecord, GuestRepository
from storage.schema import migrate
from storage.segment_conditions import parse_conditions
from storage.segments import Condition, ConditionError, SegmentRepository, where_clause

C = Condition


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "db.sqlite3").open()
    await migrate(database.conn)
    guests = GuestRepository(database)
    await guests.upsert_many(
        [
            GuestRecord(phone="+79160000001", first_name="ann", email="a@x.ru", sex="female",
                        balance_cents=150_000, visits_count=4, total_spent_cents=400_000,
                        birthday=date(1990, 3, 10), tags=("vip", "wine"), account_group="Gold",
                        registered_at=date(2020, 1, 1), last_visit_at=date(2026, 3, 1)),
            GuestRecord(phone="+79160000002", first_name="bob", sex="male", balance_cents=5_000,
                        visits_count=1, total_spent_cents=50_000, birthday=date(1985, 12, 31),
                        tags=("wine",), account_group="VIP", registered_at=date(2026, 2, 1)),
            GuestRecord(phone="+79160000003", first_name="leap", balance_cents=-2_000,
                        birthday=date(1992, 2, 29)),
            GuestRecord(phone="+79160000004", first_name="jan", birthday=date(2000, 1, 2),
                        email="j@x.ru", tags=("o'neil; DROP TABLE guests",)),
            GuestRecord(phone="+79160000005", first_name="empty"),
        ]
    )  # fmt: skip
    await guests.link_telegram("+79160000002", user_id=42, chat_id=42)
    yield database
    await database.close()


async def who(db: Database, groups: list[list[Condition]], today: date) -> set[str]:
    segment = await SegmentRepository(db).create(f"s{id(groups)}-{today}", groups)
    sql, params = where_clause(segment, today=today)
    rows = await db.fetchall(f"SELECT first_name FROM guests WHERE {sql}", params)
    return {row[0] for row in rows}


TODAY = date(2026, 3, 10)

CASES = [
    (C("sex", "=", "male"), TODAY, {"bob"}),
    (C("age", "at_least", 36), TODAY, {"ann", "bob"}),
    (C("age", "between", [30, 35]), TODAY, {"leap"}),
    (C("age", "at_most", 26), TODAY, {"jan"}),
    (C("birthday", "today"), TODAY, {"ann"}),
    (C("birthday", "in_days", 3), date(2026, 12, 30), {"jan"}),
    (C("birthday", "within_days", 3), date(2026, 12, 30), {"bob", "jan"}),
    (C("birthday", "today"), date(2027, 2, 28), {"leap"}),
    (C("birthday", "today"), date(2028, 2, 28), set()),
    (C("birthday", "today"), date(2028, 2, 29), {"leap"}),
    (C("birthday", "month", 2), TODAY, {"leap"}),
    (C("balance", "at_least", "1500"), TODAY, {"ann"}),
    (C("balance", "at_most", 0), TODAY, {"leap", "jan", "empty"}),
    (C("balance", "between", ["-20", "50"]), TODAY, {"bob", "leap", "jan", "empty"}),
    (C("visits", "between", [1, 3]), TODAY, {"bob"}),
    (C("total_spent", "at_least", "500"), TODAY, {"ann", "bob"}),
    (C("avg_bill", "at_least", "600"), TODAY, {"ann"}),
    (C("avg_bill", "at_most", "500"), TODAY, {"bob"}),
    (C("avg_bill", "at_most", "1000"), TODAY, {"ann", "bob"}),
    (C("registered", "before", "2021-01-01", False), TODAY, {"ann"}),
    (C("registered", "before", "2021-01-01", True), TODAY, {"ann", "leap", "jan", "empty"}),
    (C("registered", "within_days", 60, False), TODAY, {"bob"}),
    (C("last_visit", "older_than_days", 5, False), TODAY, {"ann"}),
    (C("last_visit", "after", "2026-01-01", True), TODAY, {"ann", "bob", "leap", "jan", "empty"}),
    (C("group", "in", ["Gold", "VIP"]), TODAY, {"ann", "bob"}),
    (C("tags", "any", ["vip", "nope"]), TODAY, {"ann"}),
    (C("tags", "all", ["vip", "wine"]), TODAY, {"ann"}),
    (C("tags", "any", ["o'neil; DROP TABLE guests"]), TODAY, {"jan"}),
    (C("group", "in", ["' OR 1=1 --"]), TODAY, set()),
    (C("telegram", "present"), TODAY, {"bob"}),
    (C("email", "present"), TODAY, {"ann", "jan"}),
    (C("subscribed", "present"), TODAY, {"ann", "bob", "jan"}),
    (C("subscribed", "absent"), TODAY, {"leap", "empty"}),
    (C("mailed", "within_days", 7), TODAY, set()),
    (C("mailed", "not_within_days", 7), TODAY, {"ann", "bob", "leap", "jan", "empty"}),
]


@pytest.mark.parametrize(("condition", "today", "expected"), CASES)
async def test_each_condition_picks_its_guests(
    db: Database, condition: Condition, today: date, expected: set[str]
) -> None:
    assert await who(db, [[condition]], today) == expected


async def test_or_of_and_groups(db: Database) -> None:
    groups = [
        [C("birthday", "within_days", 7), C("balance", "at_least", "500")],
        [C("group", "in", ["VIP"])],
    ]
    assert await who(db, groups, date(2026, 3, 5)) == {"ann", "bob"}
    assert await who(db, groups[:1], date(2026, 3, 5)) == {"ann"}


async def sent(db: Database, name: str, at: str, mailing: int = 1) -> None:
    """A message to the guest, sent at `at`, the way the engine records it: a row written
    as it is being sent, then marked sent."""
    await db.execute(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status) "
        "SELECT ?, id, 'telegram', 'sending' FROM guests WHERE first_name = ?",
        (mailing, name),
    )
    await db.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = ? WHERE status = 'sending'", (at,)
    )


async def test_recent_mailing_is_a_sent_delivery_in_the_window(db: Database) -> None:
    await db.execute(
        "INSERT INTO mailings (name, segment_id, scheduled_at, channels, created_by, "
        "created_at, updated_at) VALUES ('m', 1, '2026-03-01', 'telegram', 1, 'x', 'x')"
    )
    await sent(db, "bob", "2026-03-08T10:00:00.000+00:00")
    assert await who(db, [[C("mailed", "within_days", 7)]], TODAY) == {"bob"}
    assert await who(db, [[C("mailed", "within_days", 1)]], TODAY) == set()
    # An older message sent later (a resend of an old mailing) does not move the window back.
    await db.execute(
        "INSERT INTO mailings (name, segment_id, scheduled_at, channels, created_by, "
        "created_at, updated_at) VALUES ('old', 1, '2026-02-01', 'telegram', 1, 'x', 'x')"
    )
    await sent(db, "bob", "2026-02-01T10:00:00.000+00:00", mailing=2)
    assert await who(db, [[C("mailed", "within_days", 7)]], TODAY) == {"bob"}
    # A row that failed or is still to send is no message received.
    await db.execute(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status) "
        "SELECT 1, id, 'telegram', 'failed' FROM guests WHERE first_name = 'ann'"
    )
    await db.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'failed'")
    assert await who(db, [[C("mailed", "within_days", 7)]], TODAY) == {"bob"}
    not_mailed = await who(db, [[C("mailed", "not_within_days", 7)]], TODAY)
    assert not_mailed == {"ann", "leap", "jan", "empty"}


async def test_the_mailing_window_starts_at_midnight_in_timezone(db: Database) -> None:
    """ "Mailed within 7 days" on 10 March in Moscow counts from 3 March 00:00 Moscow time
    (2 March 21:00 UTC), not from UTC midnight three hours later."""
    await db.execute(
        "INSERT INTO mailings (name, segment_id, scheduled_at, channels, created_by, "
        "created_at, updated_at) VALUES ('m', 1, '2026-03-01', 'telegram', 1, 'x', 'x')"
    )
    moments = {"bob": "2026-03-02T22:30:00.000+00:00", "ann": "2026-03-02T20:30:00.000+00:00"}
    for name, at in moments.items():
        await sent(db, name, at)
    moscow = ZoneInfo("Europe/Moscow")
    segment = await SegmentRepository(db, moscow).create("recent", [C("mailed", "within_days", 7)])
    sql, params = where_clause(segment, today=TODAY, tz=moscow)
    rows = await db.fetchall(f"SELECT first_name FROM guests WHERE {sql}", params)
    assert {row[0] for row in rows} == {"bob"}  # 01:30 on 3 March in Moscow; ann's was 2 March
    assert await SegmentRepository(db, moscow).count(segment, today=TODAY) == 1


async def test_version_1_flat_list_reads_as_one_group(db: Database) -> None:
    flat = [{"field": "balance", "op": ">", "value": "10"}, {"field": "telegram", "op": "present"}]
    await db.execute(
        "INSERT INTO segments (name, conditions, created_at) "
        "VALUES ('old', ?, '2020-01-01T00:00:00+00:00')",
        (json.dumps(flat),),
    )
    [old] = [s for s in await SegmentRepository(db).list() if s.name == "old"]
    assert old.problem is None and len(old.groups) == 1
    sql, params = where_clause(old, today=TODAY)
    rows = await db.fetchall(f"SELECT first_name FROM guests WHERE {sql}", params)
    assert {r[0] for r in rows} == {"bob"}
    # v1 "last visit older than N days" kept guests who never came.
    [cond] = parse_conditions('[{"field": "last_visit", "op": "older_than_days", "value": 5}]')[0]
    assert cond.missing is True


@pytest.mark.parametrize(
    "stored",
    ['{"version": 99, "groups": []}', '[{"field": "zodiac", "op": "=", "value": 1}]', "nope"],
)
async def test_unreadable_conditions_are_reported_and_match_nobody(
    db: Database, stored: str
) -> None:
    await db.execute(
        "INSERT INTO segments (name, conditions, created_at) "
        "VALUES ('bad', ?, '2020-01-01T00:00:00+00:00')",
        (stored,),
    )
    repo = SegmentRepository(db)
    [bad] = [s for s in await repo.list() if s.name == "bad"]
    assert bad.problem
    assert await repo.count(bad) == 0


@pytest.mark.parametrize(
    "raw",
    [
        {"field": "age", "op": "between", "value": [40, 30]},
        {"field": "registered", "op": "before", "value": "2026-02-30"},
        {"field": "registered", "op": "within_days", "value": 5, "missing": "yes"},
        {"field": "balance", "op": "at_least", "value": "1; DROP TABLE guests"},
        {"field": "sex", "op": "=", "value": "male", "missing": True},
    ],
)
def test_bad_values_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ConditionError):
        parse_conditions(json.dumps({"version": 2, "groups": [[raw]]}))


async def test_delete_is_refused_while_a_scheduled_mailing_or_promotion_uses_it(
    db: Database,
) -> None:
    repo = SegmentRepository(db)
    seg = await repo.create("VIP", [C("group", "in", ["VIP"])])
    await db.execute(
        "INSERT INTO mailings (name, segment_id, scheduled_at, channels, created_by, "
        "created_at, updated_at) VALUES ('Spring', ?, '2030-01-01', 'telegram', 1, 'x', 'x')",
        (seg.id,),
    )
    await db.execute(
        "INSERT INTO promotions (name, segment_id, schedule, starts_on, channels, created_by, "
        "created_at, updated_at) VALUES ('Birthday', ?, '{}', '2026-01-01', 'telegram', 1, "
        "'x', 'x')",
        (seg.id,),
    )
    usage = await repo.delete(seg.id)
    assert usage.mailings == ("Spring",) and usage.promotions == ("Birthday",)
    assert await repo.get(seg.id) is not None
    await db.execute("UPDATE mailings SET status = 'completed'")
    await db.execute("UPDATE promotions SET enabled = 0")
    assert not await repo.delete(seg.id)
    assert all(s.id != seg.id for s in await repo.list())
    # Past mailings keep their segment; its name is free again.
    kept = await repo.get(seg.id)
    assert kept is not None and kept.deleted
    await repo.create("VIP", [])
