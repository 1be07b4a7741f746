"""/history's list: quick and typed periods, search in any case and with ё, pages, export,
and none of it for a stranger, even with forged buttons."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.history import RangeError, looks_like_dates, parse_range
from storage.mailings import Mailing, MailingRepository
from storage.statuses import MailingStatus
from tests.conftest import ADMIN, STRANGER, RunningBot


def repo(bot: RunningBot) -> MailingRepository:
    assert bot.app is not None
    return MailingRepository(bot.app.db)


def local_today(bot: RunningBot) -> date:
    return datetime.now(bot.settings.tz).date()


async def make(bot: RunningBot, name: str, when: datetime, done: bool = True) -> Mailing:
    mailing = await repo(bot).create(
        name=name, segment_id=1, scheduled_at=when, channels=("telegram",),
        text_html="Hi", created_by=ADMIN,
    )  # fmt: skip
    if done:
        await repo(bot).set_status(mailing.id, MailingStatus.COMPLETED)
    return mailing


def days_ago(bot: RunningBot, days: int) -> datetime:
    day = local_today(bot) - timedelta(days=days)
    return datetime.combine(day, time(12, 0), tzinfo=bot.settings.tz)


def names(bot: RunningBot) -> list[str]:
    """The mailings the newest list shows, by their buttons."""
    chat = bot.api.messages[ADMIN]
    for message_id in sorted(chat, reverse=True):
        text = chat[message_id].plain_text or ""
        if "Mailings (" in text:
            return [label.split(" · ", 1)[1] for label, _ in chat[message_id].buttons()
                    if " · " in label]  # fmt: skip
    raise AssertionError("no list in the chat")


async def test_quick_periods_narrow_the_list(bot: RunningBot) -> None:
    await make(bot, "Now", datetime.now(UTC) - timedelta(minutes=1))
    await make(bot, "Three days", days_ago(bot, 3))
    await make(bot, "Twenty days", days_ago(bot, 20))
    await make(bot, "Sixty days", days_ago(bot, 60))
    await bot.say(ADMIN, "/history")
    assert len(names(bot)) == 4
    await bot.press(ADMIN, "Just today")
    assert names(bot) == ["Now"]
    await bot.press(ADMIN, "7 days")
    assert names(bot) == ["Now", "Three days"]
    assert "✓ Last 7 days" in [t for t, _ in bot.api.last_message(ADMIN).buttons()]
    await bot.press(ADMIN, "30 days")
    assert names(bot) == ["Now", "Three days", "Twenty days"]
    await bot.press(ADMIN, "All time")
    assert len(names(bot)) == 4


async def test_a_typed_period_filters_and_a_wrong_one_says_why(bot: RunningBot) -> None:
    await make(bot, "Three days", days_ago(bot, 3))
    await make(bot, "Twenty days", days_ago(bot, 20))
    await bot.say(ADMIN, "/history")
    first, last = local_today(bot) - timedelta(days=25), local_today(bot) - timedelta(days=10)
    reply = await bot.say(ADMIN, f"{first:%d.%m.%Y} - {last:%d.%m.%Y}")
    assert "Mailings (1)" in (reply.plain_text or "")
    assert names(bot) == ["Twenty days"]
    assert f"Period: {first:%d.%m.%Y}–{last:%d.%m.%Y}" in (reply.plain_text or "")
    single = local_today(bot) - timedelta(days=3)
    reply = await bot.say(ADMIN, f"{single:%d.%m.%Y}")
    assert names(bot) == ["Three days"]
    reply = await bot.say(ADMIN, f"{last:%d.%m.%Y}-{first:%d.%m.%Y}")
    assert "reversed" in (reply.plain_text or "")
    reply = await bot.say(ADMIN, "31.02.2026-01.03.2026")
    assert "no such date" in (reply.plain_text or "")
    reply = await bot.say(ADMIN, "1.2.3.4-5")
    assert "could not read the period" in (reply.plain_text or "")
    assert "didn't understand" not in bot.last_text(ADMIN)


async def test_search_ignores_case_in_cyrillic_and_reads_yo_as_ye(bot: RunningBot) -> None:
    await make(bot, "Новогодняя ЁЛКА", days_ago(bot, 1))
    await make(bot, "ёлка в парке", days_ago(bot, 2))
    await make(bot, "Summer Party", days_ago(bot, 3))
    await bot.say(ADMIN, "/history")
    reply = await bot.say(ADMIN, "елка")
    assert "Mailings (2)" in (reply.plain_text or "")
    assert names(bot) == ["Новогодняя ЁЛКА", "ёлка в парке"]
    await bot.say(ADMIN, "ЁЛКА новогодняя")
    assert names(bot) == ["Новогодняя ЁЛКА"]
    await bot.say(ADMIN, "SUMMER")
    assert names(bot) == ["Summer Party"]
    await bot.say(ADMIN, "50%_off")
    assert "No mailings match" in bot.api.sent_texts(ADMIN)[-2]
    await bot.press(ADMIN, "Clear search")
    assert len(names(bot)) == 3


@pytest.mark.parametrize("count", [10, 11])
async def test_pages_of_ten(bot: RunningBot, count: int) -> None:
    for i in range(count):
        await make(bot, f"M{i:02d}", days_ago(bot, i + 1))
    reply = await bot.say(ADMIN, "/history")
    labels = [t for t, _ in reply.buttons()]
    assert len([t for t in labels if " · " in t]) == 10
    assert any("Older" in t for t in labels) == (count == 11)
    if count == 11:
        await bot.press(ADMIN, "Older")
        assert names(bot) == ["M10"]
        assert "Page 2 of 2" in bot.api.sent_texts(ADMIN)[-2]
        await bot.press(ADMIN, "Newer")
        assert len(names(bot)) == 10


async def test_an_empty_period_says_so_and_keeps_the_filters(bot: RunningBot) -> None:
    await make(bot, "Old", days_ago(bot, 60))
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "Just today")
    assert "No mailings match" in bot.api.sent_texts(ADMIN)[-2]
    assert names(bot) == []
    assert any("All time" in t for t, _ in bot.api.last_message(ADMIN).buttons())


async def test_the_export_is_the_filtered_list_cell_by_cell(bot: RunningBot) -> None:
    risky = ["=1+2", "+SUM(A1)", "-3", "@cmd", "\tTab", "\rReturn"]
    made = [await make(bot, name, days_ago(bot, 2 + i)) for i, name in enumerate(risky)]
    await make(bot, "Outside", days_ago(bot, 90))
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "30 days")
    await bot.press(ADMIN, "Export XLSX")
    call = bot.documents_to(ADMIN)[-1]
    filename, content = call.files["document"][0], call.files["document"][1]
    first, last = local_today(bot) - timedelta(days=29), local_today(bot)
    assert filename == f"Mailing_history_{first.isoformat()}_{last.isoformat()}.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    assert ws is not None and ws.title == "Mailing history"
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]][:3] == ["Date and time", "Name", "Kind"]
    assert len(rows) == 1 + len(risky)
    for row, mailing in zip(rows[1:], made, strict=True):
        when, name = row[0], row[1]
        assert isinstance(when.value, datetime)
        expected = mailing.scheduled_at.astimezone(bot.settings.tz).replace(tzinfo=None)
        assert when.value == expected and when.is_date
        # Formula-looking names stay text (neutralised by the XLSX writer).
        assert name.data_type == "s" and mailing.name.strip() in str(name.value)
        assert row[2].value == "one-off" and row[3].value == "All guests"
        assert row[5].value == "completed" and row[6].value == 0 and row[7].value == 0


async def test_a_russian_export_is_named_in_russian(start_bot: object) -> None:
    bot = await start_bot(locale="ru")  # type: ignore[operator]
    await make(bot, "Акция", days_ago(bot, 1))
    await bot.say(ADMIN, "/history")
    await bot.press(ADMIN, "За этот месяц" if local_today(bot).day > 1 else "За 30 дней")
    await bot.press(ADMIN, "XLSX")
    call = bot.documents_to(ADMIN)[-1]
    assert call.files["document"][0].startswith("История_рассылок_")
    wb = openpyxl.load_workbook(io.BytesIO(call.files["document"][1]))
    assert wb.active is not None and wb.active.title == "История рассылок"


@pytest.mark.parametrize(
    "payload",
    ["hist:filter:0:0:7d", "hist:reset:0:0:", "hist:export:0:0:", "hist:export:1:0:",
     "hist:chart:1:0:", "hist:copy:1:0:", "hist:failed:1:0:", "hist:page:0:1:"],
)  # fmt: skip
async def test_a_stranger_cannot_use_the_history(bot: RunningBot, payload: str) -> None:
    await make(bot, "Secret", days_ago(bot, 1))
    await bot.say(STRANGER, "/history")
    since = bot.api.mark()
    answer = await bot.api.answer_of(bot.api.press_forged(STRANGER, payload))
    await bot.settle()
    assert answer.params.get("show_alert") is True
    later = [c for c in bot.api.calls[since:] if c.chat_id == STRANGER]
    assert all(c.method == "answerCallbackQuery" for c in later)
    assert not any("Secret" in t for t in bot.api.sent_texts(STRANGER))
    assert not bot.documents_to(STRANGER)


# ---------------------------------------------------------------- the typed period parser

TODAY = date(2026, 6, 15)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(days, days, st.sampled_from(["-", " - ", "–", " — "]))
def test_a_typed_range_reads_back_or_is_reversed(a: date, b: date, dash: str) -> None:
    text = f"{a:%d.%m.%Y}{dash}{b:%d.%m.%Y}"
    assert looks_like_dates(text)
    if b < a:
        with pytest.raises(RangeError) as caught:
            parse_range(text, TODAY)
        assert caught.value.code == "reversed"
    else:
        found = parse_range(text, TODAY)
        assert (found.first, found.last) == (a, b)


@given(days)
def test_one_date_is_a_one_day_range(a: date) -> None:
    found = parse_range(f"{a.day}.{a.month}.{a:%Y}", TODAY)
    assert found.first == found.last == a


@given(st.dates(min_value=date(2026, 1, 1), max_value=TODAY))
def test_dates_without_a_year_are_the_latest_ones_not_in_the_future(a: date) -> None:
    found = parse_range(f"{a:%d.%m}-{TODAY:%d.%m}", TODAY)
    assert (found.first, found.last) == (a, TODAY)


@given(st.text(max_size=30))
def test_any_text_is_a_range_or_a_reason(text: str) -> None:
    try:
        found = parse_range(text, TODAY)
    except RangeError as error:
        assert error.code in {"format", "impossible", "reversed"}
    else:
        assert found.first is not None and found.last is not None
        assert found.first <= found.last


async def test_the_menu_history_button_takes_typed_words_too(bot: RunningBot) -> None:
    await make(bot, "Ёлка", days_ago(bot, 2))
    await make(bot, "Spring menu", days_ago(bot, 3))
    await bot.say(ADMIN, "/start")
    await bot.press(ADMIN, "History")
    reply = (await bot.say(ADMIN, "елка")).plain_text or ""
    assert "understand" not in reply
    assert names(bot) == ["Ёлка"]


async def test_a_guest_table_sent_while_the_history_is_open_is_imported(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/history")
    csv = "Телефон;Имя\n+79031112233;Олег\n".encode()
    texts = await bot.send_file(ADMIN, "guests.csv", csv)
    assert any("Added: 1" in t for t in texts), texts
