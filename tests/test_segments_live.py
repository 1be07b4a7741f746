"""The segment builder's chat: only its newest page has live buttons."""

from __future__ import annotations

from storage.guests import GuestRecord, GuestRepository
from tests.conftest import ADMIN, RunningBot


async def test_only_the_builders_newest_page_has_buttons(bot: RunningBot) -> None:
    assert bot.app is not None
    await GuestRepository(bot.app.db).upsert_many(
        [GuestRecord(phone="+79160000001", first_name="Ann", balance_cents=100_000)]
    )
    await bot.say(ADMIN, "/segments")
    await bot.press(ADMIN, "New segment")
    await bot.say(ADMIN, "Rich")
    await bot.press(ADMIN, "Add a condition")
    await bot.press(ADMIN, "Balance")
    await bot.press(ADMIN, "at least")
    await bot.say(ADMIN, "500")
    chat = bot.api.messages[ADMIN]
    pages = [m for _, m in sorted(chat.items()) if "Segment «Rich»" in (m.plain_text or "")]
    questions = [m for m in chat.values() if "Which field" in (m.plain_text or "")]
    assert len(pages) == 2 and questions
    assert pages[0].buttons() == [] and all(q.buttons() == [] for q in questions)
    assert any("Save" in text for text, _ in pages[-1].buttons())
    await bot.press(ADMIN, "Save")
    assert chat[pages[-1].message_id].buttons() == []  # saved: the page is done
