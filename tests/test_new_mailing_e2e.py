"""/new end to end: the admin composes a mailing by chatting; the result is a scheduled mailing."""

from __future__ import annotations

import html
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.app import Application
from bot.mailings import MailingService
from bot.parsing import DateError, TimeError, parse_date, parse_time
from bot.render import (
    Recipient,
    RenderContext,
    TemplateError,
    check_template,
    render_telegram,
    telegram_text,
)
from bot.validators import InputError, check_typed
from storage.guests import GuestRecord, GuestRepository
from storage.mailing_settings import MailingSettingsRepository, SmtpSettings
from storage.mailings import Mailing, MailingRepository
from storage.segments import Condition, SegmentRepository
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.smtp_servers import (
    HOST,
    PASSWORD,
    USER,
    Certificate,
    RunningServer,
    make_certificate,
    smtp_server,
)

TOMORROW = "tomorrow"


def app_of(bot: RunningBot) -> Application:
    assert bot.app is not None
    return bot.app


def service(bot: RunningBot) -> MailingService:
    mailings = app_of(bot).services.mailings
    assert isinstance(mailings, MailingService)
    return mailings


async def seed(bot: RunningBot) -> None:
    """Four guests: Telegram only, email only, both, neither."""
    guests = GuestRepository(app_of(bot).db)
    await guests.upsert_many(
        [
            GuestRecord(phone="+79160000001", first_name="Анна", last_name="Иванова",
                        balance_cents=123_450),
            GuestRecord(phone="+79160000002", first_name="Борис", email="boris@example.com"),
            GuestRecord(phone="+79160000003", first_name="Вера", email="vera@example.com",
                        tags=("vip",)),
            GuestRecord(phone="+79160000004", first_name="Глеб"),
        ]
    )  # fmt: skip
    await guests.link_telegram("+79160000001", user_id=501, chat_id=501)
    await guests.link_telegram("+79160000003", user_id=503, chat_id=503)


async def enable_email(bot: RunningBot) -> None:
    """Verified SMTP settings stored and the Email channel switched on (as /settings does)."""
    repo = MailingSettingsRepository(app_of(bot).db)
    now = datetime.now(UTC)
    await repo.save_verified(
        SmtpSettings(
            "127.0.0.1",
            2525,
            None,
            None,
            "none",
            "bonus@probonus.test",
            "ProBonus",
            now,
            now,
            ADMIN,
        )
    )
    assert await repo.set_channel("email", True, ADMIN)


async def state(bot: RunningBot) -> str | None:
    app = app_of(bot)
    context = app.dispatcher.fsm.get_context(bot=app.bot, chat_id=ADMIN, user_id=ADMIN)
    return await context.get_state()


async def mailings(bot: RunningBot) -> list[Mailing]:
    repo = MailingRepository(app_of(bot).db)
    return await repo.recent(limit=100)


def tomorrow(bot: RunningBot) -> str:
    day = datetime.now(bot.settings.tz).date() + timedelta(days=1)
    return day.strftime("%d.%m.%Y")


def picture(fmt: str = "JPEG", size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, fmt)
    return out.getvalue()


async def compose(
    bot: RunningBot,
    *,
    name: str = "Spring menu",
    segment: str = "All guests",
    day: str = TOMORROW,
    at: str = "18:30",
    channels: tuple[str, ...] = ("Telegram",),
    mode: str | None = None,
    subject: str | None = None,
    text: str | None = "Hello, {first_name}! Your balance: {balance}.",
    image: bytes | None = None,
) -> None:
    """Walk the conversation up to the preview."""
    await bot.say(ADMIN, "/new")
    assert "Type a name" in bot.last_text(ADMIN)
    await bot.say(ADMIN, name)
    await bot.press(ADMIN, segment)
    if day == "today":
        await bot.press(ADMIN, "Today")
    else:
        await bot.say(ADMIN, tomorrow(bot) if day == TOMORROW else day)
    if at == "now":
        await bot.press(ADMIN, "Now")
    else:
        await bot.say(ADMIN, at)
    for channel in channels:
        await bot.press(ADMIN, channel)
    await bot.press(ADMIN, "Done")
    if mode is not None:
        await bot.press(ADMIN, mode)
    if subject is not None:
        await bot.say(ADMIN, subject)
    if text is None:
        await bot.press(ADMIN, "Skip")
    else:
        await bot.say(ADMIN, text)
    if image is None:
        await bot.press(ADMIN, "Skip")
    else:
        bot.api.send_photo(ADMIN, image)
        await bot.settle()
    assert await state(bot) == "NewMailing:preview", bot.api.dump()


@pytest.mark.parametrize(
    ("channels", "mode", "stored", "send_mode", "counts"),
    [
        (("Telegram",), None, ("telegram",), "all",
         "Will get it: 2 of 4 guests\nWill get it in Telegram: 2 guests\n"
         "Unreachable by the chosen channels: 2 guests"),
        (("Email",), None, ("email",), "all",
         "Will get it: 2 of 4 guests\nWill get it by email: 2 guests\n"
         "Unreachable by the chosen channels: 2 guests"),
        (("Telegram", "Email"), "All selected", ("telegram", "email"), "all",
         "Will get it: 3 of 4 guests\nWill get it in Telegram: 2 guests\n"
         "Will get it by email: 2 guests\nUnreachable by the chosen channels: 1 guest"),
        (("Email", "Telegram"), "Telegram first", ("telegram", "email"), "priority",
         "Will get it: 3 of 4 guests\nWill get it in Telegram: 2 guests\n"
         "Will get it by email: 1 guest\nUnreachable by the chosen channels: 1 guest"),
        (("Telegram", "Email"), "Email first", ("email", "telegram"), "priority",
         "Will get it: 3 of 4 guests\nWill get it in Telegram: 1 guest\n"
         "Will get it by email: 2 guests\nUnreachable by the chosen channels: 1 guest"),
    ])  # fmt: skip
async def test_happy_path_for_each_channel_combination_and_mode(
    bot: RunningBot,
    channels: tuple[str, ...],
    mode: str | None,
    stored: tuple[str, ...],
    send_mode: str,
    counts: str,
) -> None:
    await seed(bot)
    await enable_email(bot)
    subject = "News for {first_name}" if "Email" in channels else None
    await compose(bot, channels=channels, mode=mode, subject=subject)
    summary = bot.last_text(ADMIN)
    assert "Segment: All guests — 4 guests" in summary
    assert "Reachable by Telegram: 2" in summary and "Reachable by email: 2" in summary
    assert "Reachable by neither: 1" in summary
    assert counts in summary, summary
    # The message as the guest sees it, rendered for a real guest of the segment.
    shown = bot.api.sent_texts(ADMIN)[-2]
    # Shown for a guest the channels reach (Анна: Telegram; Борис: email), never for Глеб.
    sample = "Hello, Борис!" if stored == ("email",) else "Hello, Анна! Your balance: 1,234.50."
    assert sample in shown, shown
    await bot.press(ADMIN, "Confirm")
    assert "is scheduled for" in bot.last_text(ADMIN)
    assert await state(bot) is None
    [mailing] = await mailings(bot)
    assert mailing.status == "scheduled" and mailing.name == "Spring menu"
    assert mailing.channels == stored and mailing.send_mode == send_mode
    assert mailing.text_html == "Hello, {first_name}! Your balance: {balance}."
    assert mailing.subject == subject
    expected = datetime.strptime(f"{tomorrow(bot)} 18:30", "%d.%m.%Y %H:%M")
    assert mailing.scheduled_at == expected.replace(tzinfo=bot.settings.tz).astimezone(UTC)


async def test_now_today_is_stored_as_the_moment_of_confirmation(bot: RunningBot) -> None:
    await seed(bot)
    await compose(bot, day="today", at="now")
    assert "now, at confirmation" in bot.last_text(ADMIN)
    # "Now" closed its question once: no second edit that Telegram refuses as unchanged.
    assert not any(call.status == 400 for call in bot.api.calls), bot.api.dump()
    before = datetime.now(UTC).replace(microsecond=0)
    since = bot.api.mark()
    await bot.press(ADMIN, "Confirm")
    await bot.expect(ADMIN, "starts now", since)
    [mailing] = await mailings(bot)
    assert before <= mailing.scheduled_at <= datetime.now(UTC) + timedelta(seconds=1)
    # It went out at once, well before the scheduler's next pass (every 30 s): the report
    # comes even when Telegram has asked the bot to slow down.
    await bot.expect(ADMIN, "is complete", since, timeout=15)
    [mailing] = await mailings(bot)
    assert mailing.status == "completed"


async def test_segments_are_listed_with_counts_all_guests_first(bot: RunningBot) -> None:
    await seed(bot)
    await SegmentRepository(app_of(bot).db).create("VIP", [Condition("tags", "any", ["vip"])])
    await bot.say(ADMIN, "/new")
    await bot.say(ADMIN, "For VIPs")
    buttons = [text for text, _ in bot.api.last_message(ADMIN).buttons()]
    assert buttons[0] == "All guests · 4" and "VIP · 1" in buttons
    await bot.press(ADMIN, "VIP · 1")
    assert "Segment: VIP" in bot.api.sent_texts(ADMIN)[-2]


async def test_formatting_is_kept_and_values_escaped(bot: RunningBot) -> None:
    await seed(bot)
    guests = GuestRepository(app_of(bot).db)
    await guests.upsert_many([GuestRecord(phone="+79160000001", first_name="<b>Ann & Co</b>")])
    await bot.say(ADMIN, "/new")
    await bot.say(ADMIN, "Formatted")
    await bot.press(ADMIN, "All guests")
    await bot.say(ADMIN, tomorrow(bot))
    await bot.say(ADMIN, "10:00")
    await bot.press(ADMIN, "Telegram")
    await bot.press(ADMIN, "Done")
    text = "Dear {first_name}, see our menu"
    entities = [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 27, "length": 4, "url": "https://r.example/menu"},
    ]
    bot.api.send_message(ADMIN, text, entities=entities)
    await bot.settle()
    await bot.press(ADMIN, "Skip")
    shown = [m for m in bot.api.messages[ADMIN].values() if m.text and "Dear" in m.text][-1]
    assert shown.text == (
        '<b>Dear</b> &lt;b&gt;Ann &amp; Co&lt;/b&gt;, see our <a href="https://r.example/menu">menu</a>'
    )
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.text_html == (
        '<b>Dear</b> {first_name}, see our <a href="https://r.example/menu">menu</a>'
    )


# ------------------------------------------------------------------ bad input at each step

PATIENT = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def typed(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text a person can send: not blank, not a command."""
    return strategy.filter(lambda t: t.strip() and not t.lstrip().startswith("/"))


async def at_step(bot: RunningBot, step: str, back_from: str) -> None:
    """Bring the conversation back to `step` after an example moved it on."""
    current = await state(bot)
    if current == f"NewMailing:{back_from}":
        await bot.press(ADMIN, "Back")
    assert await state(bot) == f"NewMailing:{step}", bot.api.dump()


async def start_at(bot: RunningBot, step: str) -> None:
    """A fresh conversation walked to `step` (Telegram only, tomorrow 18:30)."""
    await seed(bot)
    await bot.say(ADMIN, "/new")
    if step == "name":
        return
    await bot.say(ADMIN, "Example")
    await bot.press(ADMIN, "All guests")
    if step == "date":
        return
    await bot.say(ADMIN, tomorrow(bot))
    if step == "time":
        return
    await bot.say(ADMIN, "18:30")
    if step == "channels":
        return
    await bot.press(ADMIN, "Telegram")
    await bot.press(ADMIN, "Done")
    if step == "image":
        await bot.say(ADMIN, "Text of {first_name}")
    assert await state(bot) == f"NewMailing:{step}"


@pytest.fixture
async def name_step(bot: RunningBot) -> RunningBot:
    await start_at(bot, "name")
    return bot


@PATIENT
@given(text=typed(st.one_of(st.text(max_size=30), st.text(min_size=95, max_size=130))))
async def test_name_bad_input_keeps_the_step(name_step: RunningBot, text: str) -> None:
    bot = name_step
    await at_step(bot, "name", "segment")
    reply = (await bot.say(ADMIN, text)).plain_text or ""
    name = " ".join(text.split())
    try:
        check_typed(text)
    except InputError as refused:
        assert await state(bot) == "NewMailing:name"
        assert refused.code_point in reply if refused.char else "no visible characters" in reply
        return
    if 1 <= len(name) <= 100:
        assert await state(bot) == "NewMailing:segment"
    else:
        assert await state(bot) == "NewMailing:name"
        assert "the limit is 100" in reply or "cannot be empty" in reply


@pytest.fixture
async def date_step(bot: RunningBot) -> RunningBot:
    await start_at(bot, "date")
    return bot


dates = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"\A\d{1,2}\.\d{1,2}(\.(\d{2}|\d{4}))?\Z"),
    st.dates(date(2020, 1, 1), date(2040, 1, 1)).map(lambda d: d.strftime("%d.%m.%Y")),
)


@PATIENT
@given(text=typed(dates))
async def test_date_bad_input_is_refused_with_the_reason(date_step: RunningBot, text: str) -> None:
    bot = date_step
    await at_step(bot, "date", "time")
    today = datetime.now(bot.settings.tz).date()
    reply = (await bot.say(ADMIN, text)).plain_text or ""
    try:
        parse_date(text, today)
    except DateError as error:
        assert await state(bot) == "NewMailing:date"
        expected = {
            "format": "could not read",
            "impossible": "no such date",
            "past": "already passed",
            "too_far": "more than a year",
        }[error.code]
        assert expected in reply, reply
    else:
        assert await state(bot) == "NewMailing:time"


@pytest.fixture
async def time_step(bot: RunningBot) -> RunningBot:
    await start_at(bot, "time")
    return bot


times = st.one_of(
    st.text(max_size=8),
    st.from_regex(r"\A\d{1,2}[:.]\d{1,2}\Z"),
    st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(0, 30), st.integers(0, 70)),
)


@PATIENT
@given(text=typed(times))
async def test_time_bad_input_is_refused_with_the_reason(time_step: RunningBot, text: str) -> None:
    bot = time_step
    await at_step(bot, "time", "channels")
    reply = (await bot.say(ADMIN, text)).plain_text or ""
    try:
        parse_time(text)
    except TimeError as error:
        assert await state(bot) == "NewMailing:time"
        assert ("no such time" if error.code == "impossible" else "could not read") in reply
    else:
        assert await state(bot) == "NewMailing:channels"


@pytest.fixture
async def text_step(bot: RunningBot) -> RunningBot:
    await start_at(bot, "text")
    return bot


_pieces = st.sampled_from(
    ["{", "}", "{first_name}", "{full_name}", "{x}", "{0}", "{}", "{balance:>3}", "{{", "}}",
     "{first_name.upper}", "{today!r}", "{last_name[0]}", " ", "<b>", "&"]
)  # fmt: skip
templates = st.lists(st.one_of(st.text(max_size=6), _pieces), min_size=1, max_size=6).map("".join)
NOBODY = Recipient(None, None, None, Decimal(0))


@PATIENT
@given(text=typed(templates))
async def test_template_text_is_checked(text_step: RunningBot, text: str) -> None:
    bot = text_step
    await at_step(bot, "text", "image")
    reply = (await bot.say(ADMIN, text)).plain_text or ""
    template = html.escape(text, quote=False)
    try:
        check_typed(text)
    except InputError as refused:
        assert await state(bot) == "NewMailing:text"
        assert refused.code_point in reply if refused.char else "no visible characters" in reply
        return
    try:
        check_template(template)
    except TemplateError:
        assert await state(bot) == "NewMailing:text"
        assert "Variables you can use: {first_name} {last_name}" in reply, reply
        return
    ctx = RenderContext("en", date.today())
    if not telegram_text(render_telegram(template, NOBODY, ctx)).strip():
        assert await state(bot) == "NewMailing:text"
        assert "comes out empty" in reply
    else:
        assert await state(bot) == "NewMailing:image"


TEMPLATE_ANSWERS = [
    ("{first_name.__class__}", "Variables you can use: {first_name} {last_name}"),
    ("Hi {0}", "Variables you can use: {first_name} {last_name}"),
    ("{last_name[0]}!", "Variables you can use: {first_name} {last_name}"),
    ("{first_name} {last_name}", "comes out empty"),
    ("<b>{{</b>", None),  # literal braces: fine
]


async def test_template_answers_stated_literally(text_step: RunningBot) -> None:
    """Each text's fate is written here, not worked out by the renderer under test."""
    bot = text_step
    for text, refusal in TEMPLATE_ANSWERS:
        await at_step(bot, "text", "image")
        reply = (await bot.say(ADMIN, text)).plain_text or ""
        if refusal is None:
            assert await state(bot) == "NewMailing:image", (text, reply)
        else:
            assert refusal in reply, (text, reply)
            assert await state(bot) == "NewMailing:text", text


# ------------------------------------------------------------------ Back, Edit, restart, commands


async def test_back_goes_to_the_previous_step_and_keeps_answers(bot: RunningBot) -> None:
    await start_at(bot, "time")
    await bot.press(ADMIN, "Back")
    assert await state(bot) == "NewMailing:date"
    assert "Which day?" in bot.last_text(ADMIN)
    await bot.press(ADMIN, "Back")
    assert await state(bot) == "NewMailing:segment"
    await bot.press(ADMIN, "Back")
    assert await state(bot) == "NewMailing:name"
    assert "Current: Example" in bot.last_text(ADMIN)
    await bot.say(ADMIN, "Renamed")
    await bot.press(ADMIN, "All guests")
    await bot.say(ADMIN, tomorrow(bot))
    assert await state(bot) == "NewMailing:time"


async def test_edit_from_the_preview_returns_to_the_preview(bot: RunningBot) -> None:
    await seed(bot)
    await enable_email(bot)
    await compose(bot)
    await bot.press(ADMIN, "Edit")
    await bot.press(ADMIN, "Text")
    assert await state(bot) == "NewMailing:text"
    # The current text comes first, as a message of its own to copy, then the question.
    current, question = bot.api.sent_texts(ADMIN)[-2:]
    assert current == "Hello, {first_name}! Your balance: {balance}."
    assert "Send the text of the mailing" in question
    await bot.say(ADMIN, "New text for {full_name}")
    assert await state(bot) == "NewMailing:preview"
    assert any("New text for Иванова Анна" in t for t in bot.api.sent_texts(ADMIN)[-3:])
    # Adding Email asks only what is missing: the mode and the subject, then the preview.
    await bot.press(ADMIN, "Edit")
    await bot.press(ADMIN, "Channels")
    await bot.press(ADMIN, "Email")
    await bot.press(ADMIN, "Done")
    assert await state(bot) == "NewMailing:mode"
    await bot.press(ADMIN, "Email first")
    assert await state(bot) == "NewMailing:subject"
    await bot.say(ADMIN, "Hi {first_name}")
    assert await state(bot) == "NewMailing:preview"
    assert "Send mode: Email first, then Telegram" in bot.last_text(ADMIN)
    # Back from a step opened by Edit returns to the preview unchanged.
    await bot.press(ADMIN, "Edit")
    await bot.press(ADMIN, "Mailing name")
    await bot.press(ADMIN, "Back")
    assert await state(bot) == "NewMailing:preview"
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.text_html == "New text for {full_name}"
    assert mailing.channels == ("email", "telegram") and mailing.subject == "Hi {first_name}"


async def test_the_conversation_survives_a_restart_and_can_be_resumed(bot: RunningBot) -> None:
    await start_at(bot, "text")
    await bot.restart()
    reply = await bot.say(ADMIN, "/new")
    assert "composing the mailing “Example” (step: text)" in (reply.plain_text or "")
    await bot.press(ADMIN, "Continue")
    assert "Send the text of the mailing" in bot.last_text(ADMIN)
    await bot.restart()
    await bot.say(ADMIN, "After the restart, {first_name}")
    assert await state(bot) == "NewMailing:image"
    await bot.press(ADMIN, "Skip")
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.name == "Example" and mailing.text_html == "After the restart, {first_name}"


async def test_start_over_drops_the_unfinished_draft(bot: RunningBot) -> None:
    await start_at(bot, "text")
    await bot.say(ADMIN, "/new")
    await bot.press(ADMIN, "Start over")
    assert await state(bot) == "NewMailing:name"
    assert "Current:" not in bot.last_text(ADMIN)


async def test_other_commands_midway_say_how_to_go_on(bot: RunningBot) -> None:
    await start_at(bot, "date")
    for command in ("/guests", "/start", "/history", "/help"):
        reply = await bot.say(ADMIN, command)
        text = reply.plain_text or ""
        assert "composing the mailing “Example” (step: date)" in text, command
        assert "/cancel" in text
        assert await state(bot) == "NewMailing:date"
    await bot.press(ADMIN, "Continue")
    assert "Which day?" in bot.last_text(ADMIN)
    reply = await bot.say(ADMIN, "/cancel")
    assert "Cancelled" in (reply.plain_text or "")
    assert await state(bot) is None and await mailings(bot) == []


async def test_cancel_button_on_a_step_drops_the_draft(bot: RunningBot) -> None:
    await start_at(bot, "time")
    await bot.press(ADMIN, "Cancel")
    assert "cancelled" in bot.last_text(ADMIN) or "Cancelled" in bot.api.sent_texts(ADMIN)[-2]
    assert await state(bot) is None
    # A button of the finished draft (a client still showing the old keyboard) says so
    # instead of acting.
    answer = await bot.api.answer_of(bot.api.press_forged(ADMIN, "nmt:1800"))
    assert "finished or cancelled" in answer.params.get("text", "")


async def test_a_button_from_an_earlier_step_shows_the_current_question(bot: RunningBot) -> None:
    await start_at(bot, "channels")
    data = bot.api.messages[ADMIN]
    calendar_message = max(m for m, msg in data.items() if "Which day?" in (msg.text or ""))
    # A client still showing the time step's keyboard under an earlier message.
    since = bot.api.mark()
    bot.api.press_forged(ADMIN, "nmt:1800", message_id=calendar_message)
    await bot.expect(ADMIN, "Which channels?", since)
    assert await state(bot) == "NewMailing:channels"


async def test_buttons_only_steps_refuse_typing(bot: RunningBot) -> None:
    await start_at(bot, "channels")
    texts = await bot.texts_after(ADMIN, lambda: bot.api.send_message(ADMIN, "telegram"))
    assert "choose with the buttons" in texts[0]
    assert await state(bot) == "NewMailing:channels"


# ------------------------------------------------------------------ channels and lengths


async def test_a_channel_switched_off_is_shown_unavailable_with_the_reason(bot: RunningBot) -> None:
    await start_at(bot, "channels")
    question = bot.api.last_message(ADMIN)
    assert "Email is unavailable: the SMTP server is not set up" in (question.plain_text or "")
    assert any("Email — unavailable" in text for text, _ in question.buttons())
    answer = await bot.press(ADMIN, "Email — unavailable")
    assert "/settings" in answer.params["text"] and answer.params["show_alert"] is True
    answer = await bot.press(ADMIN, "Done")
    assert "at least one channel" in answer.params["text"]
    assert await state(bot) == "NewMailing:channels"


async def test_a_text_too_long_for_the_longest_name_in_the_segment_is_refused(
    bot: RunningBot,
) -> None:
    await start_at(bot, "text")
    guests = GuestRepository(app_of(bot).db)
    await guests.upsert_many([GuestRecord(phone="+79160000009", first_name="Щ" * 60)])
    text = "x" * 4040 + " {first_name}"  # 4041 characters typed, 4101 for the longest name
    reply = (await bot.say(ADMIN, text)).plain_text or ""
    assert "too long" in reply and "4101" in reply and "Shorten it by 5" in reply
    assert await state(bot) == "NewMailing:text"
    reply = (await bot.say(ADMIN, "{first_name} {last_name}")).plain_text or ""
    assert "comes out empty" in reply


# ------------------------------------------------------------------ images


def preview_sends(bot: RunningBot, since: int) -> list[str]:
    return [c.method for c in bot.api.calls[since:] if c.method in ("sendPhoto", "sendMessage")]


async def test_image_as_a_photo_is_kept_and_sent_by_its_file_id(bot: RunningBot) -> None:
    await seed(bot)
    since = bot.api.mark()
    await compose(bot, image=picture())
    [upload] = [c for c in bot.api.calls[since:] if c.method == "sendPhoto"]
    assert not upload.files, "a photo Telegram already has is sent by file_id"
    assert "Hello, Анна!" in str(upload.params.get("caption"))
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.image_file_id == upload.params["photo"]
    assert mailing.image_path and mailing.image_path.startswith("media/")
    assert (bot.settings.data_dir / mailing.image_path).is_file()


async def test_image_as_a_document_is_normalised_and_uploaded_once(bot: RunningBot) -> None:
    await start_at(bot, "text")
    await bot.say(ADMIN, "Poster for {first_name}")
    texts = await bot.send_file(ADMIN, "poster.png", picture("PNG"), mime_type="image/png")
    assert any("Image saved (640×480)" in t for t in texts), texts
    uploads = [c for c in bot.api.calls_of("sendPhoto", ADMIN) if c.files]
    assert len(uploads) == 1, "the preview uploads the normalised image"
    file_id = uploads[0].result["photo"][-1]["file_id"]
    await bot.press(ADMIN, "Send test to me")
    assert len([c for c in bot.api.calls_of("sendPhoto", ADMIN) if c.files]) == 1
    assert bot.api.calls_of("sendPhoto", ADMIN)[-1].params["photo"] == file_id
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.image_file_id == file_id and mailing.image_path.endswith(".jpg")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("filename", "content", "reason"),
    [
        ("photo.jpg", b"definitely not a picture", "not an image I can read"),
        ("anim.gif", b"GIF89a" + b"\0" * 100, "not an image I can read"),
        ("big.jpg", picture() + b"\0" * (10 * 1024 * 1024), "larger than 10 MB"),
        ("strip.png", b"", "not an image I can read"),
    ],
)
async def test_a_file_that_is_not_a_fitting_image_is_refused(
    bot: RunningBot, filename: str, content: bytes, reason: str
) -> None:
    await start_at(bot, "image")
    texts = await bot.send_file(ADMIN, filename, content)
    assert reason in texts[0], texts
    assert await state(bot) == "NewMailing:image"
    if len(content) > 10 * 1024 * 1024:
        assert not bot.api.downloads, "an oversized file is refused before the download"


async def test_a_narrow_image_is_refused_with_the_reason(bot: RunningBot) -> None:
    await start_at(bot, "image")
    texts = await bot.send_file(ADMIN, "banner.png", picture("PNG", (2100, 100)))
    assert "too narrow" in texts[0]
    texts = await bot.texts_after(ADMIN, lambda: bot.api.send_message(ADMIN, "here it is"))
    assert "Please send an image" in texts[0] and "Skip" in texts[0]


async def test_image_only_mailing_needs_the_image(bot: RunningBot) -> None:
    await start_at(bot, "text")
    await bot.press(ADMIN, "Skip")
    assert await state(bot) == "NewMailing:image"
    assert "needs" in bot.last_text(ADMIN) or "is needed" in bot.last_text(ADMIN)
    assert not any("Skip" in text for text, _ in bot.api.last_message(ADMIN).buttons())
    bot.api.send_photo(ADMIN, picture())
    await bot.settle()
    assert await state(bot) == "NewMailing:preview"
    photo = bot.api.calls_of("sendPhoto", ADMIN)[-1]
    assert not photo.params.get("caption")
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.text_html is None and mailing.image_file_id


async def test_long_text_with_an_image_goes_as_the_photo_then_the_text(bot: RunningBot) -> None:
    await seed(bot)
    since = bot.api.mark()
    await compose(bot, text="Long story. " * 120, image=picture())
    assert preview_sends(bot, since)[-3:] == ["sendPhoto", "sendMessage", "sendMessage"]
    photo = bot.api.calls_of("sendPhoto", ADMIN)[-1]
    assert not photo.params.get("caption")
    assert "guests get the photo, then the text" in bot.last_text(ADMIN)


# ------------------------------------------------------------------ test send


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


async def use_smtp(bot: RunningBot, server: RunningServer, cert: Certificate) -> None:
    """The bot's mailing settings pointed at the test server, trusting its certificate."""
    app = app_of(bot)
    settings_service = app.services.mailing_settings
    settings_service.tls_context = cert.client_context()
    settings_service.smtp_timeout = 5.0
    now = datetime.now(UTC)
    sealed = settings_service.seal_password(PASSWORD)
    await settings_service.repo.save_verified(
        SmtpSettings(
            HOST,
            server.port,
            USER,
            sealed,
            "starttls",
            "bonus@probonus.test",
            "ProBonus",
            now,
            now,
            ADMIN,
        )
    )
    assert await settings_service.repo.set_channel("email", True, ADMIN)


async def test_send_test_email_to_an_address(bot: RunningBot, cert: Certificate) -> None:
    await seed(bot)
    async with smtp_server("starttls", cert) as server:
        await use_smtp(bot, server, cert)
        await compose(bot, channels=("Email",), subject="News for {first_name}", image=picture())
        await bot.press(ADMIN, "Send test to me")
        await bot.press(ADMIN, "Email to an address")
        assert await state(bot) == "NewMailing:test_email"
        reply = await bot.say(ADMIN, "not an address")
        assert "does not look like an email address" in (reply.plain_text or "")
        texts = await bot.texts_after(
            ADMIN, lambda: bot.api.send_message(ADMIN, "manager@example.com")
        )
        assert "test email was sent to manager@example.com" in texts[-1], texts
        assert await state(bot) == "NewMailing:preview"
        [received] = server.received
    # The server is gone now: the failure is told in plain words, like in /settings.
    await bot.press(ADMIN, "Send test to me")
    await bot.press(ADMIN, "Email to an address")
    texts = await bot.texts_after(ADMIN, lambda: bot.api.send_message(ADMIN, "manager@example.com"))
    assert "was not sent" in texts[-1] and "refused the connection" in texts[-1], texts
    assert "Errno" not in texts[-1]
    assert await state(bot) == "NewMailing:preview"
    assert received.rcpt_tos == ["manager@example.com"]
    message = received.message
    # Previewed (and tested) for a guest the email reaches: Анна has no email.
    assert message["Subject"] == "News for Борис"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    assert "Hello, Борис! Your balance:" in plain.get_content()
    assert 'src="cid:' in rich.get_content()
    images = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert len(images) == 1


async def test_send_test_to_me_sends_the_telegram_message_again(bot: RunningBot) -> None:
    await seed(bot)
    await compose(bot)
    texts = await bot.texts_after(
        ADMIN, lambda: bot.api.press_button(ADMIN, bot.find_button(ADMIN, "Send test to me"))
    )
    assert texts[0] == "Hello, Анна! Your balance: 1,234.50."
    assert "The test message" in texts[1]
    assert await state(bot) == "NewMailing:preview"


async def test_in_russian_the_calendar_and_balance_follow_the_locale(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot(locale="ru")
    await seed(bot)
    await bot.say(ADMIN, "/new")
    assert "Новая рассылка" in bot.last_text(ADMIN)
    await bot.say(ADMIN, "Весна")
    await bot.press(ADMIN, "Все гости · 4")
    calendar = bot.api.last_message(ADMIN)
    labels = [text for text, _ in calendar.buttons()]
    today = datetime.now(bot.settings.tz).date()
    month = format_date(today, "LLLL yyyy", locale="ru")
    assert month.capitalize() in labels and "пн" in labels and "📅 Сегодня" in labels
    await bot.say(ADMIN, tomorrow(bot))
    await bot.say(ADMIN, "12:00")
    await bot.press(ADMIN, "Telegram")
    await bot.press(ADMIN, "Готово")
    await bot.say(ADMIN, "{first_name}, на счёте {balance} бонусов")
    await bot.press(ADMIN, "Пропустить")
    # A fractional balance takes the genitive singular: "бонусов" agrees to "бонуса".
    assert "Анна, на счёте 1\xa0234,50 бонуса" in bot.api.sent_texts(ADMIN)[-2]
    assert "Предпросмотр «Весна»" in bot.last_text(ADMIN)


async def test_today_in_the_preview_is_the_day_the_mailing_goes_out(bot: RunningBot) -> None:
    await seed(bot)
    await compose(bot, text="Offer of {today} for {first_name}")
    assert f"Offer of {tomorrow(bot)} for Анна" in bot.api.sent_texts(ADMIN)[-2]


async def test_a_channel_switched_off_before_confirm_sends_the_admin_back_to_channels(
    bot: RunningBot,
) -> None:
    await seed(bot)
    await compose(bot)
    # Another admin switches Telegram off in /settings while the preview is open.
    await MailingSettingsRepository(app_of(bot).db).set_channel("telegram", False, 1002)
    await bot.press(ADMIN, "Confirm")
    texts = bot.api.sent_texts(ADMIN)
    assert any("Telegram was switched off in /settings meanwhile" in t for t in texts[-3:])
    assert await state(bot) == "NewMailing:channels"
    assert await mailings(bot) == []
    answer = await bot.press(ADMIN, "Telegram — unavailable")
    assert "switched off in /settings" in answer.params["text"]
    # Switched on again: the same button now chooses it.
    await MailingSettingsRepository(app_of(bot).db).set_channel("telegram", True, 1002)
    await bot.press(ADMIN, "Telegram — unavailable")
    assert any("✅ Telegram" in t for t, _ in bot.api.last_message(ADMIN).buttons())
    await bot.press(ADMIN, "Done")
    assert await state(bot) == "NewMailing:preview"  # every other answer was kept
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.channels == ("telegram",) and mailing.name == "Spring menu"


async def test_a_photo_with_a_caption_at_the_text_step_gives_both_text_and_image(
    bot: RunningBot,
) -> None:
    await start_at(bot, "text")
    bot.api.send_photo(ADMIN, picture(), caption="Новое меню для {first_name}")
    await bot.settle()
    assert await state(bot) == "NewMailing:preview", bot.api.dump()
    texts = bot.api.sent_texts(ADMIN)
    assert any("Text saved" in t for t in texts) and any("Image saved" in t for t in texts)
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.text_html == "Новое меню для {first_name}" and mailing.image_path


async def test_a_caption_at_the_image_step_becomes_the_text_only_when_there_is_none(
    bot: RunningBot,
) -> None:
    await start_at(bot, "text")
    await bot.press(ADMIN, "Skip")
    bot.api.send_photo(ADMIN, picture(), caption="Только {first_name}")
    await bot.settle()
    assert await state(bot) == "NewMailing:preview", bot.api.dump()
    await bot.press(ADMIN, "Confirm")
    [mailing] = await mailings(bot)
    assert mailing.text_html == "Только {first_name}"

    await start_at(bot, "image")  # the text is "Text of {first_name}"
    bot.api.send_photo(ADMIN, picture(), caption="Другая подпись")
    await bot.settle()
    assert any("caption was not used" in t for t in bot.api.sent_texts(ADMIN)[-3:])
    assert await state(bot) == "NewMailing:preview"


async def test_the_preview_tells_how_many_guests_have_no_name_and_what_they_get(
    bot: RunningBot,
) -> None:
    await seed(bot)
    guests = GuestRepository(app_of(bot).db)
    await guests.upsert_many([GuestRecord(phone="+79160000011"), GuestRecord(phone="+79160000012")])
    await compose(bot, text="Hello, {first_name}! Your balance: {balance}.")
    summary = bot.last_text(ADMIN)
    assert "without a name the text uses: 2" in summary, summary
    assert "They get: «Hello! Your balance: 0.»" in summary
    await bot.say(ADMIN, "/cancel")
    await compose(bot, text="Our spring menu is here.")
    assert "without a name" not in bot.last_text(ADMIN)


async def test_date_answers_stated_literally(date_step: RunningBot) -> None:
    """Each typed date's fate is written here, not worked out by the parser under test."""
    bot = date_step
    today = datetime.now(bot.settings.tz).date()
    answers = [
        ("31.02.2027", "no such date"),
        ("32.01.2027", "no such date"),
        ("01.01.2020", "already passed"),
        ((today + timedelta(days=400)).strftime("%d.%m.%Y"), "more than a year"),
        ("next friday", "could not read"),
        (tomorrow(bot), None),
    ]
    for text, refusal in answers:
        await at_step(bot, "date", "time")
        reply = (await bot.say(ADMIN, text)).plain_text or ""
        if refusal is None:
            assert await state(bot) == "NewMailing:time", text
        else:
            assert await state(bot) == "NewMailing:date", text
            assert refusal in reply, (text, reply)


async def test_time_answers_stated_literally(time_step: RunningBot) -> None:
    """Each typed time's fate is written here, not worked out by the parser under test."""
    bot = time_step
    answers = [
        ("25:00", "no such time"),
        ("18:60", "no such time"),
        ("half past six", "could not read"),
        ("18:30", None),
    ]
    for text, refusal in answers:
        await at_step(bot, "time", "channels")
        reply = (await bot.say(ADMIN, text)).plain_text or ""
        if refusal is None:
            assert await state(bot) == "NewMailing:channels", text
        else:
            assert await state(bot) == "NewMailing:time", text
            assert refusal in reply, (text, reply)


async def test_name_answers_stated_literally(name_step: RunningBot) -> None:
    """Each typed name's fate is written here, not worked out by the validator under test."""
    bot = name_step
    answers = [
        ("\u200b\u200b", "no visible characters"),
        ("Spring\x1bmenu", "U+001B"),
        ("x" * 101, "the limit is 100"),
        ("  Spring   menu  ", None),
    ]
    for text, refusal in answers:
        await at_step(bot, "name", "segment")
        reply = (await bot.say(ADMIN, text)).plain_text or ""
        if refusal is None:
            assert await state(bot) == "NewMailing:segment", text
        else:
            assert await state(bot) == "NewMailing:name", repr(text)
            assert refusal in reply, (repr(text), reply)
