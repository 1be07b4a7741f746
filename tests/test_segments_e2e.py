"""/segments through the fake Bot API: build a segment with bad input at each step,
Back and Cancel; forged builder buttons from a non-admin change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage.guests import GuestRecord, GuestRepository
from storage.segments import Condition, SegmentRepository
from tests.conftest import ADMIN, STRANGER, RunningBot


async def _seed(bot: RunningBot) -> None:
    assert bot.app is not None
    await GuestRepository(bot.app.db).upsert_many(
        [
            GuestRecord(phone="+79160000001", first_name="Ann", balance_cents=100_000,
                        birthday=date(1990, 3, 10), account_group="VIP"),
            GuestRecord(phone="+79160000002", first_name="Bob", balance_cents=1_000),
        ]
    )  # fmt: skip


async def test_a_segment_is_built_with_refusals_back_and_a_live_count(bot: RunningBot) -> None:
    await _seed(bot)
    await bot.say(ADMIN, "/segments")
    assert "All guests · 2" in [t for t, _ in bot.api.last_message(ADMIN).buttons()]
    await bot.press(ADMIN, "➕ New segment")
    await bot.say(ADMIN, "   ")
    assert "Not accepted" in bot.last_text(ADMIN)
    await bot.say(ADMIN, "Rich")
    assert "2 guests now" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "➕ Add a condition")
    await bot.say(ADMIN, "balance please")
    assert "buttons" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "Balance")
    await bot.press(ADMIN, "« Back")
    await bot.settle()
    assert "Which field" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "Balance")
    await bot.press(ADMIN, "at least")
    for bad in ("lots", "1; DROP TABLE guests", "-5"):
        await bot.say(ADMIN, bad)
        assert "Not accepted" in bot.last_text(ADMIN)
    await bot.say(ADMIN, "500")
    text = bot.last_text(ADMIN)
    assert "Balance at least 500 ₽" in text and "1 guest now" in text
    await bot.press(ADMIN, "💾 Save")
    assert bot.app is not None
    [rich] = [s for s in await SegmentRepository(bot.app.db).list() if s.name == "Rich"]
    assert [[c.field for c in g] for g in rich.groups] == [["balance"]]


async def test_cancel_in_the_builder_changes_nothing(bot: RunningBot) -> None:
    await _seed(bot)
    assert bot.app is not None
    repo = SegmentRepository(bot.app.db)
    seg = await repo.create("VIP", [Condition("group", "in", ["VIP"])])
    await bot.say(ADMIN, "/segments")
    await bot.press(ADMIN, "VIP · 1")
    await bot.press(ADMIN, "Edit conditions")
    await bot.press(ADMIN, "↩️ Remove the last condition")
    assert "2 guests now" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "Cancel")
    kept = await repo.get(seg.id)
    assert kept is not None and kept.groups == seg.groups


async def test_forged_builder_buttons_from_a_non_admin_change_nothing(bot: RunningBot) -> None:
    await _seed(bot)
    assert bot.app is not None
    repo = SegmentRepository(bot.app.db)
    seg = await repo.create("VIP", [Condition("group", "in", ["VIP"])])
    await bot.say(STRANGER, "/start")
    for payload in (f"seg:del:{seg.id}", f"seg:dup:{seg.id}", "segb:save", "segf:balance"):
        answer = await bot.api.answer_of(bot.api.press_forged(STRANGER, payload))
        assert answer.params.get("show_alert") is True
    await bot.settle()
    assert [s.name for s in await repo.list()] == ["All guests", "VIP"]


async def test_rename_duplicate_and_a_delete_refused_while_a_mailing_uses_it(
    bot: RunningBot,
) -> None:
    await _seed(bot)
    assert bot.app is not None
    repo = SegmentRepository(bot.app.db)
    vip = await repo.create("VIP", [Condition("group", "in", ["VIP"])])
    await repo.create("Rich", [Condition("balance", ">=", 500)])
    await bot.say(ADMIN, "/segments")
    await bot.press(ADMIN, "VIP · 1")
    await bot.press(ADMIN, "Rename")
    await bot.say(ADMIN, "Rich")  # taken: refused, the step stays
    assert "already exists" in bot.last_text(ADMIN)
    await bot.say(ADMIN, "Regulars")
    assert (await repo.get(vip.id)).name == "Regulars"  # type: ignore[union-attr]
    await bot.press(ADMIN, "Duplicate")
    names = sorted(s.name for s in await repo.list())
    assert "Regulars (copy)" in names and "Regulars" in names
    # A scheduled mailing uses the segment: the delete is refused, naming it.
    await bot.app.services.mailings.mailings.create(
        name="Friday party", segment_id=vip.id,
        scheduled_at=datetime.now(UTC) + timedelta(days=1), channels=("telegram",),
        text_html="Hi", created_by=ADMIN,
    )  # fmt: skip
    await bot.say(ADMIN, "/segments")
    await bot.press(ADMIN, "Regulars · 1")
    await bot.press(ADMIN, "Delete")
    assert "Delete the segment «Regulars»?" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "Yes, delete")
    assert "Friday party" in bot.last_text(ADMIN)
    assert await repo.get(vip.id) is not None
    # The copy is not used: asked first, then deleted.
    await bot.say(ADMIN, "/segments")
    await bot.press(ADMIN, "Regulars (copy)")
    await bot.press(ADMIN, "Delete")
    await bot.press(ADMIN, "No, keep it")
    assert any(s.name == "Regulars (copy)" for s in await repo.list())
    await bot.press(ADMIN, "Delete")
    await bot.press(ADMIN, "Yes, delete")
    assert "deleted" in bot.last_text(ADMIN) or "deleted" in "".join(bot.api.sent_texts(ADMIN)[-3:])
    assert not any(s.name == "Regulars (copy)" for s in await repo.list())
