"""A mailing's journal end to end: pages, filters, a row's account card and back, XLSX files."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from storage.mailings import Mailing, MailingRepository
from tests.conftest import ADMIN, STRANGER, BotFactory, RunningBot
from tests.delivery_world import add_guests, wait_until

Row = tuple[int, str, str, str | None]  # guest index, channel, status, reason code
SENT_AT = datetime(2026, 5, 12, 11, 3, tzinfo=UTC)  # 14:03 in Moscow


async def mailing_with(bot: RunningBot, name: str, rows: Sequence[Row]) -> Mailing:
    """A completed mailing whose journal holds `rows`: (guest index, channel, status, code)."""
    assert bot.app is not None
    db = bot.app.db
    mailing = await MailingRepository(db).create(
        name=name,
        segment_id=1,
        scheduled_at=datetime.now(UTC) - timedelta(hours=1),
        channels=("telegram", "email"),
        text_html="Hi {first_name}",
        created_by=ADMIN,
    )
    await MailingRepository(db).set_status(mailing.id, "completed")
    known = {r[0] for r in await db.fetchall("SELECT id FROM guests")}
    await add_guests(db, sorted({i for i, *_ in rows} - {i - 0 for i in known}))
    ids = {int(phone[-7:]): gid for gid, phone in await db.fetchall("SELECT id, phone FROM guests")}
    await db.executemany(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status, error_code, error, "
        "updated_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                mailing.id,
                ids[i],
                ch,
                st,
                code,
                code and f"raw {code}",
                SENT_AT.isoformat(),
                SENT_AT.isoformat() if st == "sent" else None,
            )
            for i, ch, st, code in rows
        ],
    )
    return mailing


async def open_journal(bot: RunningBot, name: str) -> str:
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, name)
    await bot.press(ADMIN, "Journal")
    return await shows(bot, "Journal of")


async def shows(bot: RunningBot, fragment: str) -> str:
    """The admin's newest message once it contains `fragment` (a reply may wait for its
    rate slot, after the test's many presses in one chat)."""
    await wait_until(lambda: fragment in bot.last_text(ADMIN), timeout=10, what=fragment)
    return bot.last_text(ADMIN)


def buttons(bot: RunningBot) -> list[str]:
    return [text for text, _ in bot.api.last_message(ADMIN).buttons()]


async def test_an_empty_journal_says_so_and_has_no_pages(bot: RunningBot) -> None:
    await mailing_with(bot, "Quiet", [])
    text = await open_journal(bot, "Quiet")
    assert "Journal of “Quiet”" in text and "No deliveries match" in text
    assert not any("Next" in b or "Previous" in b for b in buttons(bot))


async def test_exactly_ten_rows_are_one_page(bot: RunningBot) -> None:
    await mailing_with(bot, "Ten", [(i, "telegram", "sent", None) for i in range(1, 11)])
    text = await open_journal(bot, "Ten")
    assert "10. " in text and "11. " not in text
    assert not any("Next" in b or "Previous" in b for b in buttons(bot))


async def test_eleven_rows_page_forward_and_back(bot: RunningBot) -> None:
    await mailing_with(bot, "Eleven", [(i, "telegram", "sent", None) for i in range(1, 12)])
    first = await open_journal(bot, "Eleven")
    assert "+7 900 000-00-01" in first and "+7 900 000-00-11" not in first
    assert "Telegram · sent · 12.05 14:03" in first
    assert any("Next" in b for b in buttons(bot)) and not any("Previous" in b for b in buttons(bot))
    await bot.press(ADMIN, "Next")
    second = await shows(bot, "+7 900 000-00-11")
    assert "+7 900 000-00-11" in second and "+7 900 000-00-01" not in second
    assert any("Previous" in b for b in buttons(bot)) and not any("Next" in b for b in buttons(bot))
    await bot.press(ADMIN, "Previous")
    assert await shows(bot, "+7 900 000-00-01") == first


async def test_filters_by_status_and_channel_with_reasons_in_plain_words(bot: RunningBot) -> None:
    rows: list[Row] = [(i, "telegram", "sent", None) for i in range(1, 30)]
    rows += [(30, "telegram", "failed", "blocked"), (31, "email", "skipped", "no_email")]
    rows += [(i, "email", "sent", None) for i in range(32, 40)]
    await mailing_with(bot, "Mixed", rows)
    await open_journal(bot, "Mixed")
    await bot.press(ADMIN, "Filter")
    await shows(bot, "Which deliveries")
    await bot.press(ADMIN, "failed")
    text = await shows(bot, "Shown: failed")
    assert "Shown: failed · all channels" in text
    assert "failed: the guest blocked the bot" in text and "1. " in text and "2. " not in text
    await bot.press(ADMIN, "Filter")
    await bot.press(ADMIN, "All statuses")
    await shows(bot, "Shown: all statuses")
    await bot.press(ADMIN, "Filter")
    await shows(bot, "Which deliveries")
    await bot.press(ADMIN, "Email")
    text = await shows(bot, "Shown: all statuses · Email")
    assert "Shown: all statuses · Email" in text
    assert "skipped: no active email address" in text and "Telegram" not in text.split("\n", 2)[2]
    assert "9. " in text and "10. " not in text


async def test_row_opens_account_card_its_mailing_and_back_to_the_same_page(
    bot: RunningBot,
) -> None:
    mailing = await mailing_with(
        bot, "Spring", [(i, "telegram", "sent", None) for i in range(1, 16)]
    )
    await open_journal(bot, "Spring")
    await bot.press(ADMIN, "Next")
    page_two = await shows(bot, "+7 900 000-00-15")
    await bot.press(ADMIN, "3. ")  # the 13th guest
    card = await shows(bot, "Account card")
    assert "Account card" in card and "+7 900 000-00-13" in card
    assert "Last deliveries" in card and "12.05 14:03 · Spring · Telegram · sent" in card
    await bot.press(ADMIN, "Back to the journal")
    assert await shows(bot, "Journal of") == page_two
    await bot.press(ADMIN, "1. ")
    await shows(bot, "Account card")
    await bot.press(ADMIN, "📨 Spring")
    await shows(bot, f"Mailing “{mailing.name}”")


async def test_export_opens_back_cell_by_cell(bot: RunningBot) -> None:
    assert bot.app is not None
    mailing = await mailing_with(
        bot, "Promo: May", [(1, "telegram", "sent", None), (2, "email", "failed", "bounced")]
    )
    await bot.app.db.execute(
        "UPDATE guests SET first_name = '=HYPERLINK(\"http://x\",\"y\")', last_name = '+1' "
        "WHERE phone = '+79000000002'"
    )
    await open_journal(bot, mailing.name)
    await bot.press(ADMIN, "XLSX")
    await wait_until(lambda: bot.documents_to(ADMIN), timeout=10, what="the file")
    (doc,) = bot.documents_to(ADMIN)
    filename, content = doc.files["document"]
    assert filename.startswith("Journal_Promo_May_") and filename.endswith(".xlsx")
    assert "2 rows" in doc.params.get("caption", "")
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    assert ws is not None and ws.title == "Journal"
    header = [c.value for c in ws[1]]
    assert header == ["No.", "Guest", "Phone", "Channel", "Status", "Reason", "Address", "Time"]
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:H3"
    first, second = list(ws[2]), list(ws[3])
    assert first[0].data_type == "n" and isinstance(first[0].value, int)
    assert first[7].value == datetime(2026, 5, 12, 14, 3)  # Moscow time, a real date
    assert first[7].is_date and first[7].number_format == "DD.MM.YYYY HH:MM"
    assert [c.value for c in second[2:6]] == [
        "+7 900 000-00-02",
        "Email",
        "failed",
        "the address bounced",
    ]
    assert second[1].value == '+1 =HYPERLINK("http://x","y")' and second[1].data_type == "s"
    assert second[1].quotePrefix
    assert second[6].value == "—"  # no address known


@pytest.mark.parametrize("limit", [30_000])
async def test_a_file_over_the_limit_comes_in_parts(bot: RunningBot, limit: int) -> None:
    assert bot.app is not None
    bot.app.services.journal.limit = limit
    rows = [(i, "telegram", "sent", None) for i in range(1, 3001)]
    await mailing_with(bot, "Big", rows)
    await open_journal(bot, "Big")
    await bot.press(ADMIN, "XLSX")
    await wait_until(lambda: any("parts" in t for t in bot.api.sent_texts(ADMIN)), timeout=20)
    parts = int(next(t for t in bot.api.sent_texts(ADMIN) if "parts" in t).split()[-2])
    await wait_until(lambda: len(bot.documents_to(ADMIN)) == parts, timeout=20, what="parts")
    docs = bot.documents_to(ADMIN)
    assert len(docs) >= 2
    assert any(f"so it comes in {len(docs)} parts" in t for t in bot.api.sent_texts(ADMIN))
    total = 0
    for doc in docs:
        name, content = doc.files["document"]
        assert len(content) <= limit and f"_of_{len(docs)}" in name
        ws = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
        assert ws is not None
        total += sum(1 for _ in ws.iter_rows(min_row=2, values_only=True))
    assert total == 3000


@pytest.mark.parametrize(
    "payload", ["jr:p:1:--:0:0", "jr:b:1:--:5:0", "jr:f:1:--:0:0", "jr:r:1:--:0:1", "jr:x:1:--:0:0"]
)
async def test_a_stranger_cannot_open_any_of_it(bot: RunningBot, payload: str) -> None:
    await mailing_with(bot, "Secret", [(1, "telegram", "sent", None)])
    await bot.say(STRANGER, "/start")
    since = bot.api.mark()
    answer = await bot.api.answer_of(bot.api.press_forged(STRANGER, payload))
    await bot.settle()
    assert answer.params.get("show_alert") is True
    later = bot.api.calls[since:]
    assert not [c for c in later if c.chat_id == STRANGER and c.method != "answerCallbackQuery"]
    assert not bot.documents_to(STRANGER)


async def test_in_russian_the_file_sheet_and_words_are_russian(start_bot: BotFactory) -> None:
    bot = await start_bot(locale="ru")
    await mailing_with(bot, "Весна", [(1, "telegram", "failed", "blocked")])
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Весна")
    await bot.press(ADMIN, "Журнал")
    text = await shows(bot, "Журнал рассылки «Весна»")
    assert (
        "ошибка: гость заблокировал бота" in text and "Показаны: все статусы · все каналы" in text
    )
    await bot.press(ADMIN, "XLSX")
    await wait_until(lambda: bot.documents_to(ADMIN), timeout=10, what="the file")
    filename, content = bot.documents_to(ADMIN)[0].files["document"]
    today = datetime.now(ZoneInfo("Europe/Moscow")).date().isoformat()
    assert filename == f"Журнал_Весна_{today}.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    assert ws is not None and ws.title == "Журнал"
    assert [c.value for c in ws[1]][:5] == ["№", "Гость", "Телефон", "Канал", "Статус"]
    assert [c.value for c in ws[2]][4:6] == ["ошибка", "гость заблокировал бота"]


async def test_a_guest_held_back_by_the_frequency_cap_says_so_with_the_days(
    bot: RunningBot,
) -> None:
    mailing = await mailing_with(bot, "Capped", [(1, "telegram", "skipped", "frequency_cap")])
    assert bot.app is not None
    await bot.app.db.execute(  # as the populate step writes it
        "UPDATE deliveries SET error = ? WHERE mailing_id = ?",
        ("frequency cap: the guest got another mailing in the last 3 days", mailing.id),
    )
    text = await open_journal(bot, "Capped")
    assert "held back by the frequency cap: another mailing within the last 3 days" in text
