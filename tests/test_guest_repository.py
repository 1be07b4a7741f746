"""GuestRepository on a real SQLite file: upserts, search, Telegram links, paging, counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from storage.db import Database
from storage.guests import GuestRecord, GuestRepository
from storage.schema import migrate


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "guests.db").open()
    await migrate(database.conn)
    yield database
    await database.close()


@pytest.fixture
def repo(db: Database) -> GuestRepository:
    return GuestRepository(db)


def rec(phone: str = "+79161234567", **fields: object) -> GuestRecord:
    return GuestRecord(phone=phone, **fields)  # type: ignore[arg-type]


async def test_upsert_adds_then_updates_only_given_fields(repo: GuestRepository) -> None:
    first = rec(
        last_name="Иванов",
        first_name="Иван",
        email="ivan@example.com",
        birthday=date(1990, 2, 1),
        balance_cents=123450,
        card_number="1001",
        tags=("vip", "кофе"),
    )
    result = await repo.upsert_many([first])
    assert (result.added, result.updated, result.unchanged) == (1, 0, 0)
    guest = await repo.by_phone("+79161234567")
    assert guest is not None
    assert guest.balance == Decimal("1234.50")
    assert guest.birthday == date(1990, 2, 1)
    assert guest.full_name == "Иванов Иван"
    assert guest.email_status == "active"
    assert guest.tg_status == "none"
    assert guest.search_text == "иванов иван 1001 79161234567"
    assert await repo.tags(guest.id) == ["vip", "кофе"]

    result = await repo.upsert_many([rec(middle_name="Иванович", balance_cents=0)])
    assert (result.added, result.updated) == (0, 1)
    again = await repo.get(guest.id)
    assert again is not None
    assert again.middle_name == "Иванович"
    assert again.balance_cents == 0  # zero is a value, not "missing"
    assert again.last_name == "Иванов"  # not given: kept
    assert again.email == "ivan@example.com"
    assert again.card_number == "1001"
    assert await repo.tags(guest.id) == ["vip", "кофе"]  # tags not given: kept

    assert (await repo.upsert_many([rec(last_name="Иванов")])).unchanged == 1


async def test_tags_given_replace(repo: GuestRepository) -> None:
    await repo.upsert_many([rec(tags=("a", "b"))])
    await repo.upsert_many([rec(tags=("c",))])
    guest = await repo.by_phone("+79161234567")
    assert guest is not None
    assert await repo.tags(guest.id) == ["c"]
    assert await repo.tags_for([guest.id, 999]) == {guest.id: ["c"]}


async def test_import_never_touches_telegram_fields(repo: GuestRepository) -> None:
    guest, created = await repo.link_telegram("+79161234567", 42, 4242, "ivan", "Иван", None)
    assert created
    await repo.upsert_many([rec(first_name="Ivan", last_name="Petrov")])
    after = await repo.get(guest.id)
    assert after is not None
    assert (after.tg_user_id, after.tg_chat_id, after.tg_username, after.tg_status) == (
        42,
        4242,
        "ivan",
        "active",
    )
    assert after.first_name == "Ivan"


async def test_email_status(db: Database, repo: GuestRepository) -> None:
    await repo.upsert_many([rec(email="a@example.com")])
    await db.execute("UPDATE guests SET email_status = 'unsubscribed'")
    await repo.upsert_many([rec(email="a@example.com", first_name="A")])
    guest = await repo.by_phone("+79161234567")
    assert guest is not None and guest.email_status == "unsubscribed"  # same email: kept
    await repo.upsert_many([rec(email="new@example.com")])
    guest = await repo.by_phone("+79161234567")
    assert guest is not None and guest.email_status == "active"  # a new address
    await repo.upsert_many([rec("+79160000000", first_name="No email")])
    other = await repo.by_phone("+79160000000")
    assert other is not None and other.email_status == "none"


async def test_match_by_card_changes_the_phone(repo: GuestRepository) -> None:
    await repo.upsert_many([rec("+79161111111", card_number="C1", first_name="Анна")])
    result = await repo.upsert_many([rec("+79162222222", card_number="C1")])
    assert (result.added, result.updated) == (0, 1)
    assert await repo.by_phone("+79161111111") is None
    moved = await repo.by_phone("+79162222222")
    assert moved is not None and moved.first_name == "Анна"
    assert "79162222222" in moved.search_text


async def test_card_of_another_guest_is_a_conflict(repo: GuestRepository) -> None:
    await repo.upsert_many(
        [rec("+79161111111", card_number="C1"), rec("+79162222222", card_number="C2")]
    )
    result = await repo.upsert_many([rec("+79162222222", card_number="C1", first_name="X")])
    assert result.added == result.updated == 0
    assert len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert (conflict.index, conflict.card_number, conflict.other_phone) == (
        0,
        "C1",
        "+79161111111",
    )
    guest = await repo.by_phone("+79162222222")
    assert guest is not None and guest.first_name is None and guest.card_number == "C2"


async def test_records_apply_in_order_within_a_batch(repo: GuestRepository) -> None:
    result = await repo.upsert_many(
        [
            rec(first_name="A", last_name="First", tags=("x",)),
            rec(first_name="B", tags=("y",)),
        ]
    )
    assert (result.added, result.updated) == (1, 1)
    guest = await repo.by_phone("+79161234567")
    assert guest is not None
    assert (guest.first_name, guest.last_name) == ("B", "First")
    assert await repo.tags(guest.id) == ["y"]


async def test_a_phone_freed_and_taken_in_one_batch(repo: GuestRepository) -> None:
    # Guest C1 moves from phone P1 to P2; then a new guest takes P1 with card C9.
    await repo.upsert_many([rec("+79161111111", card_number="C1", tags=("old",))])
    result = await repo.upsert_many(
        [
            rec("+79162222222", card_number="C1"),
            rec("+79161111111", card_number="C9", first_name="New", tags=("new",)),
        ]
    )
    assert (result.added, result.updated, result.conflicts) == (1, 1, ())
    moved = await repo.by_phone("+79162222222")
    new = await repo.by_phone("+79161111111")
    assert moved is not None and moved.card_number == "C1"
    assert new is not None and (new.card_number, new.first_name) == ("C9", "New")
    assert await repo.tags(moved.id) == ["old"]
    assert await repo.tags(new.id) == ["new"]


async def test_search(repo: GuestRepository) -> None:
    await repo.upsert_many(
        [
            rec("+79161111111", last_name="ИВАНОВ", first_name="ПЁТР", card_number="A-777"),
            rec("+79162222222", last_name="Семёнова", first_name="Анна"),
            rec("+79031234567", last_name="Smith", first_name="John"),
        ]
    )

    async def phones(query: str) -> list[str]:
        return [g.phone for g in await repo.search(query)]

    assert await phones("иванов") == ["+79161111111"]
    assert await phones("Иванов петр") == ["+79161111111"]
    assert await phones("пётр") == ["+79161111111"]
    assert await phones("семенова") == ["+79162222222"]
    assert await phones("СЕМЁН") == ["+79162222222"]
    assert await phones("smith") == ["+79031234567"]
    assert await phones("a-777") == ["+79161111111"]
    assert await phones("777") == ["+79161111111"]
    assert await phones("1234567") == ["+79031234567"]
    assert await phones("8 903 123-45-67") == ["+79031234567"]
    assert sorted(await phones("916")) == ["+79161111111", "+79162222222"]
    assert await phones("иванов анна") == []
    assert await phones("   ") == []
    assert len(await repo.search("9", limit=2)) == 2


async def test_link_telegram_existing_and_new(repo: GuestRepository) -> None:
    await repo.upsert_many([rec("+79161111111", first_name="Анна")])
    guest, created = await repo.link_telegram("+79161111111", 10, 100, "anna", "Ann", "Smith")
    assert not created
    assert (guest.first_name, guest.last_name) == ("Анна", "Smith")  # empty name filled only
    assert (guest.tg_user_id, guest.tg_chat_id, guest.tg_status) == (10, 100, "active")

    other, created = await repo.link_telegram("+79162222222", 20, 200, None, " Bob ", "")
    assert created
    assert (other.first_name, other.last_name, other.tg_status) == ("Bob", None, "active")
    assert "bob" in other.search_text

    # User 10 shares another phone: the old account is unlinked first.
    moved, created = await repo.link_telegram("+79162222222", 10, 100, "anna", "Ann", None)
    assert not created and moved.id == other.id and moved.tg_user_id == 10
    old = await repo.by_phone("+79161111111")
    assert old is not None and (old.tg_user_id, old.tg_status) == (None, "none")
    found = await repo.by_tg_user(10)
    assert found is not None and found.id == other.id
    assert await repo.by_tg_user(20) is None

    with pytest.raises(ValueError, match=r"E\.164"):
        await repo.link_telegram("89161234567", 1, 1)


async def test_set_tg_status(repo: GuestRepository) -> None:
    await repo.link_telegram("+79161111111", 10, 100)
    assert await repo.set_tg_status_by_user(10, "blocked")
    guest = await repo.by_tg_user(10)
    assert guest is not None and guest.tg_status == "blocked"
    assert not await repo.set_tg_status_by_user(11, "blocked")
    with pytest.raises(ValueError, match="tg_status"):
        await repo.set_tg_status_by_user(10, "gone")


async def test_iter_all_pages_and_counts(db: Database, repo: GuestRepository) -> None:
    records = [
        rec(f"+7916{i:07d}", email=f"g{i}@example.com" if i % 2 else None) for i in range(2500)
    ]
    for start in range(0, len(records), 1000):
        await repo.upsert_many(records[start : start + 1000])
    await repo.link_telegram("+79160000001", 1, 1)
    await repo.link_telegram("+79160000002", 2, 2)
    await repo.set_tg_status_by_user(2, "blocked")
    await db.execute("UPDATE guests SET email_status = 'bounced' WHERE phone = '+79160000003'")

    seen = [g.id async for g in repo.iter_all(page_size=1000)]
    assert seen == sorted(seen) and len(seen) == 2500 == len(set(seen))
    assert len([g async for g in repo.iter_all(page_size=7)]) == 2500

    counts = await repo.counts()
    assert (counts.total, counts.telegram_reachable, counts.email_reachable) == (2500, 1, 1249)
    assert await repo.get(10**9) is None
