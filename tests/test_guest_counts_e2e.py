"""Every number a manager sees about a mailing counts guests, and they agree.

The preview's plan, the final progress message, the summary and the history card
of one mailing, read as the admin reads them, say the same: guests reached on
each channel, guests reached at all, guests no chosen channel could reach; and
those equal what the guest base says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.mailings import MailingRepository
from storage.statuses import MailingStatus
from tests.conftest import ADMIN, RunningBot
from tests.delivery_smtp import sink
from tests.delivery_world import add_guests, use_smtp, wait_status, wait_until
from tests.test_new_mailing_e2e import compose


@dataclass(frozen=True)
class Kind:
    """A kind of guest: how many, and which contacts work."""

    count: int
    telegram: bool
    email: bool
    tg_status: str = "active"
    email_status: str = "active"

    @property
    def by_telegram(self) -> bool:
        return self.telegram and self.tg_status == "active"

    @property
    def by_email(self) -> bool:
        return self.email and self.email_status == "active"


KINDS = (
    Kind(10, telegram=True, email=False),
    Kind(15, telegram=False, email=True),
    Kind(12, telegram=True, email=True),
    Kind(5, telegram=False, email=False),
    Kind(3, telegram=True, email=True, tg_status="blocked"),
    Kind(3, telegram=True, email=True, email_status="bounced"),
    Kind(2, telegram=True, email=False, tg_status="blocked"),
)


async def seed(bot: RunningBot) -> None:
    """Fifty guests of mixed contacts."""
    assert bot.app is not None
    start = 1
    for kind in KINDS:
        await add_guests(
            bot.app.db,
            range(start, start + kind.count),
            telegram=kind.telegram,
            email=kind.email,
            tg_status=kind.tg_status,
            email_status=kind.email_status,
        )
        start += kind.count


def truth(first: str | None) -> dict[str, int]:
    """What the numbers must be, from the guests: `first` is the priority channel (None:
    every chosen channel)."""
    telegram = sum(k.count for k in KINDS if k.by_telegram)
    if first == "email":
        telegram = sum(k.count for k in KINDS if k.by_telegram and not k.by_email)
    email = sum(k.count for k in KINDS if k.by_email)
    if first == "telegram":
        email = sum(k.count for k in KINDS if k.by_email and not k.by_telegram)
    total = sum(k.count for k in KINDS)
    unreachable = sum(k.count for k in KINDS if not (k.by_telegram or k.by_email))
    return {
        "recipients": total,
        "reached": total - unreachable,
        "telegram": telegram,
        "email": email,
        "unreachable": unreachable,
    }


PLAN = {
    "reached": r"Will get it: (\d+) of (\d+) guests?",
    "telegram": r"Will get it in Telegram: (\d+) guests?",
    "email": r"Will get it by email: (\d+) guests?",
    "unreachable": r"Unreachable by the chosen channels: (\d+) guests?",
}
RESULT = {
    "reached": r"Reached: (\d+) of (\d+) guests?",
    "telegram": r"Got it in Telegram: (\d+) guests?",
    "email": r"Got it by email: (\d+) guests?",
    "unreachable": r"Unreachable by the chosen channels: (\d+) guests?",
    "failed": r"Failed \(no channel delivered\): (\d+) guests?",
}


def numbers(text: str, patterns: dict[str, str]) -> dict[str, int]:
    """The numbers a message says, by name (each must be said exactly once)."""
    found: dict[str, int] = {}
    for name, pattern in patterns.items():
        matches = re.findall(pattern, text)
        assert len(matches) == 1, f"{name!r} said {len(matches)} times in:\n{text}"
        match = matches[0]
        if isinstance(match, tuple):
            found[name], found["recipients"] = int(match[0]), int(match[1])
        else:
            found[name] = int(match)
    return found


@pytest.mark.fake_api(rate_limit=None, chat_burst=None)
@pytest.mark.parametrize(
    ("mode", "first"),
    [("All selected", None), ("Telegram first", "telegram"), ("Email first", "email")],
)
async def test_preview_progress_summary_and_card_count_the_same_guests(
    bot: RunningBot, data_dir: Path, mode: str, first: str | None
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await seed(bot)
    expected = truth(first)
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        await compose(
            bot,
            name="Counted",
            day="today",
            at="now",
            channels=("Telegram", "Email"),
            mode=mode,
            subject="News for {first_name}",
        )
        plan = numbers(bot.last_text(ADMIN), PLAN)
        await bot.press(ADMIN, "Confirm")
        [mailing] = await MailingRepository(db).recent(limit=10)
        assert await wait_status(db, mailing.id, MailingStatus.COMPLETED, timeout=60) == (
            MailingStatus.COMPLETED
        )

        def progress() -> str:
            texts = [m.plain_text or "" for m in bot.api.messages[ADMIN].values()]
            return next(t for t in texts if t.startswith("📨"))

        def summary() -> str:
            return next(t for t in bot.api.sent_texts(ADMIN) if "is complete" in t)

        await wait_until(lambda: "completed" in progress(), what="the final progress edit")
        await wait_until(lambda: any("is complete" in t for t in bot.api.sent_texts(ADMIN)))
        assert len(server.received) == expected["email"]
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Counted")
    card = bot.last_text(ADMIN)
    said = {
        "preview": plan,
        "progress": numbers(progress(), RESULT),
        "summary": numbers(summary(), RESULT),
        "card": numbers(card, RESULT),
    }
    for where, found in said.items():
        assert {k: found[k] for k in expected} == expected, (where, found)
    for where in ("progress", "summary", "card"):
        assert said[where]["failed"] == 0, where
