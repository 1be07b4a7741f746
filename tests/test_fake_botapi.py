"""The fake Bot API server, driven by a real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from PIL import Image

from tests.fakes.botapi import FakeBotAPI

USER = 555_001


def make_bot(fake: FakeBotAPI, token: str | None = None, timeout: float = 60) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url), timeout=timeout)
    return Bot(
        token or fake.token, session=session, default=DefaultBotProperties(parse_mode="HTML")
    )


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=text, callback_data=data)] for text, data in pairs]
    return InlineKeyboardMarkup(inline_keyboard=rows)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(fake)
    yield bot
    await bot.session.close()


async def test_get_me_and_calls_are_recorded(fake: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "probonus_test_bot", True)
    assert fake.base_url.startswith("http://127.0.0.1:")
    [call] = fake.calls_of("getMe")
    assert call.ok and call.status == 200 and call.result["id"] == 123456


async def test_send_message_keyboard_and_edits(fake: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(
        USER, "<b>Hello</b> &amp; welcome", reply_markup=keyboard(("Yes ✅", "y"), ("No", "n"))
    )
    assert sent.message_id == 1 and sent.text == "Hello & welcome"
    call = await fake.wait_for("sendMessage", chat_id=USER)
    assert call.params["chat_id"] == USER and call.params["parse_mode"] == "HTML"
    assert isinstance(call.params["reply_markup"], dict)
    message = fake.last_message(USER)
    assert message.text == "<b>Hello</b> &amp; welcome"
    assert message.plain_text == "Hello & welcome"
    assert message.buttons() == [("Yes ✅", "y"), ("No", "n")]
    assert message.button_data("Yes") == "y"
    with pytest.raises(AssertionError, match="Maybe"):
        message.button_data("Maybe")

    edited = await bot.edit_message_text("Done", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Done"
    assert fake.last_message(USER).text == "Done" and fake.last_message(USER).buttons() == []
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Done", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("Again", "a"))
    )
    assert fake.last_message(USER).button_data("Again") == "a"
    assert fake.sent_texts(USER) == ["<b>Hello</b> &amp; welcome", "Done"]

    await bot.send_message(
        USER,
        "Share",
        reply_markup=ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="Phone", request_contact=True)]]
        ),
    )
    assert fake.last_message(USER).reply_keyboard() == [{"text": "Phone", "request_contact": True}]
    assert await bot.delete_message(USER, 2)
    assert fake.last_message(USER).message_id == 1
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, 2)


async def test_telegram_checks(fake: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(USER, "a<br>b")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag"):
        await bot.send_message(USER, "<b>bold")
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(USER, "1 < 2")
    await bot.send_message(USER, "1 < 2", parse_mode=None)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=keyboard(("b", "d" * 65)))
    assert [c.status for c in fake.calls_of("sendMessage")] == [400, 400, 400, 200, 400, 400]
    assert fake.sent_texts(USER) == ["1 < 2"]


async def test_upload_document_and_photo_then_reuse(fake: FakeBotAPI, bot: Bot) -> None:
    data = b"name;phone\nAnna;+79990001122\n"
    sent = await bot.send_document(USER, BufferedInputFile(data, "guests.csv"), caption="List")
    assert sent.document is not None and sent.document.file_name == "guests.csv"
    assert sent.document.file_size == len(data) and sent.document.mime_type == "text/csv"
    call = fake.calls_of("sendDocument")[-1]
    assert call.files == {"document": ("guests.csv", data)}
    assert fake.file_bytes(sent.document.file_id) == data
    assert fake.last_message(USER).file_id == sent.document.file_id

    image = png(1200, 800)
    photo = await bot.send_photo(USER, BufferedInputFile(image, "promo.png"), caption="<i>Hi</i>")
    assert photo.photo is not None and len(photo.photo) == 2
    assert (photo.photo[-1].width, photo.photo[-1].height) == (1200, 800)
    assert photo.caption == "Hi" and fake.file_bytes(photo.photo[-1].file_id) == image
    again = await bot.send_photo(USER + 1, photo.photo[-1].file_id)
    assert again.photo == photo.photo
    assert not fake.calls_of("sendPhoto")[-1].files
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")
    await bot.edit_message_caption(chat_id=USER, message_id=photo.message_id, caption="New")
    assert fake.sent_texts(USER) == ["List", "<i>Hi</i>", "New"]


async def test_injected_document_and_photo_download(fake: FakeBotAPI, bot: Bot) -> None:
    content = b"PK\x03\x04 fake xlsx bytes"
    message_id = fake.send_document(USER, "list.xlsx", content, caption="import")
    photo_id = fake.send_photo(USER, png(), caption="look")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.message_id for u in updates if u.message] == [message_id, photo_id]
    document = updates[0].message.document if updates[0].message else None
    assert document is not None and document.file_name == "list.xlsx"
    assert document.file_size == len(content)
    downloaded = await bot.download(document)
    assert downloaded is not None and downloaded.read() == content
    photo = updates[1].message.photo if updates[1].message else None
    assert photo is not None and photo[0].width < photo[-1].width == 800
    full = await bot.download(photo[-1])
    assert full is not None and full.read() == png()
    assert fake.downloads and not fake.calls_of("getUpdates")


async def test_long_polling_returns_promptly_and_offset_confirms(
    fake: FakeBotAPI, bot: Bot
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    fake.send_message(USER, "/start promo", first_name="Anna", username="anna")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.5
    [update] = updates
    assert update.message is not None and update.message.text == "/start promo"
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")
    assert update.message.from_user is not None and update.message.from_user.first_name == "Anna"
    assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []
    assert fake.poll_count == 3 and fake.pending_updates == 0


async def test_contact_button_press_and_block(fake: FakeBotAPI, bot: Bot) -> None:
    fake.send_contact(USER, "+79990001122", contact_user_id=USER)
    sent = await bot.send_message(USER, "Pick", reply_markup=keyboard(("One", "pick:1")))
    query_id = fake.press_button(USER, "pick:1")
    fake.block_bot(USER)
    updates = await bot.get_updates(timeout=1)
    contact = updates[0].message.contact if updates[0].message else None
    assert contact is not None and contact.user_id == USER
    query = updates[1].callback_query
    assert isinstance(query, CallbackQuery) and query.data == "pick:1" and query.id == query_id
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert sent.message_id == 2  # ids per chat are shared with the user's messages
    member = updates[2].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    await bot.answer_callback_query(query_id, text="ok")
    answer = await fake.answer_of(query_id)
    assert answer.params["text"] == "ok"
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(USER, "still there?")
    fake.unblock_bot(USER)
    await bot.send_message(USER, "welcome back")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    member = updates[0].my_chat_member
    assert member is not None and member.old_chat_member.status == "kicked"
    assert member.new_chat_member.status == "member"


async def test_injected_errors(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", status=429, description="Too Many Requests", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(USER, "a")
    assert retry.value.retry_after == 7
    await bot.send_message(USER, "b")
    fake.fail_next("sendMessage", status=403, description="Forbidden: user is deactivated")
    with pytest.raises(TelegramForbiddenError, match="deactivated"):
        await bot.send_message(USER, "c")
    fake.fail_next("sendMessage", status=502, chat_id=USER + 1)
    await bot.send_message(USER, "d")
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER + 1, "e")
    fake.block_chat(USER + 2)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER + 2, "f")
    fake.known_chats = {USER}
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(USER + 3, "g")
    assert fake.injected_count == 3
    assert fake.sent_texts(USER) == ["b", "d"]
    assert [c.status for c in fake.calls_of("sendMessage")] == [429, 200, 403, 200, 502, 403, 400]


async def test_unknown_method_and_wrong_token(fake: FakeBotAPI, bot: Bot) -> None:
    wrong = make_bot(fake, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()
    assert fake.calls[-1].status == 401
    with pytest.raises(Exception, match="method not found"):
        await bot.set_my_default_administrator_rights()
    assert fake.calls[-1].method == "setMyDefaultAdministratorRights"


async def test_dropped_and_slow_answers(fake: FakeBotAPI) -> None:
    bot = make_bot(fake, timeout=1)
    try:
        fake.fail_next("sendMessage", status=0)
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(USER, "lost")
        assert fake.messages == {}
        fake.fail_next("sendMessage", status=0, deliver=True)
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(USER, "sent but answer lost")
        assert fake.last_message(USER).text == "sent but answer lost"
        fake.fail_next("sendMessage", status=200, delay=3)
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.send_message(USER, "slow")
        call = await fake.wait_for("sendMessage", lambda c: c.params["text"] == "slow")
        assert call.status == 0 and call.response is None
        fake.fail_next("sendMessage", status=200, delay=0.3)
        await bot.send_message(USER, "slow but fine")
    finally:
        await bot.session.close()


async def test_rate_limit(fake: FakeBotAPI, bot: Bot) -> None:
    fake.rate_limit = 3
    results = await asyncio.gather(
        *(bot.send_message(USER + i, f"n{i}") for i in range(5)), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert len(limited) == 2 and all(r.retry_after == 1 for r in limited)
    assert fake.rate_limited_count == 2
    await asyncio.sleep(1.05)
    await bot.send_message(USER, "after the window")


async def test_wait_for_timeout_dumps_calls(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "hello")
    mark = fake.mark()
    with pytest.raises(AssertionError, match="sendMessage chat=555001 status=200"):
        await fake.wait_for("sendMessage", chat_id=USER, since=mark, timeout=0.2)
    waiter = asyncio.create_task(fake.wait_for("sendMessage", since=mark, timeout=2))
    await asyncio.sleep(0.1)
    await bot.send_message(USER, "second")
    assert (await waiter).params["text"] == "second"


async def test_commands_and_misc(fake: FakeBotAPI, bot: Bot) -> None:
    commands = [BotCommand(command="start", description="Start")]
    scope = BotCommandScopeChat(chat_id=USER)
    await bot.set_my_commands(commands, scope=scope, language_code="ru")
    [got] = await bot.get_my_commands(scope=scope, language_code="ru")
    assert (got.command, got.description) == ("start", "Start")
    assert await bot.get_my_commands() == []
    assert fake.my_commands({"type": "chat", "chat_id": USER}, "ru")[0]["command"] == "start"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="x")])
    await bot.delete_my_commands(scope=scope, language_code="ru")
    assert await bot.get_my_commands(scope=scope, language_code="ru") == []
    assert await bot.send_chat_action(USER, "typing")
    assert await bot.delete_webhook(drop_pending_updates=True)
    chat = await bot.get_chat(USER)
    assert chat.id == USER and chat.type == "private"
    source = await bot.send_message(USER, "copy me")
    copied = await bot.copy_message(USER + 1, USER, source.message_id)
    assert fake.messages[USER + 1][copied.message_id].text == "copy me"


async def test_real_dispatcher_polling(fake: FakeBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Hi!", reply_markup=keyboard(("Go", "go")))

    @dp.callback_query(F.data == "go")
    async def go(query: CallbackQuery) -> None:
        await query.answer("going")
        if isinstance(query.message, Message):
            await query.message.edit_text("Gone")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        fake.send_message(USER, "/start")
        reply = await fake.wait_for("sendMessage", chat_id=USER)
        assert reply.params["text"] == "Hi!"
        query_id = fake.press_button(USER, fake.last_message(USER).button_data("Go"))
        assert (await fake.answer_of(query_id)).params["text"] == "going"
        await fake.wait_for("editMessageText", chat_id=USER)
        assert fake.last_message(USER).text == "Gone"
    finally:
        await dp.stop_polling()
        await polling


# ---------------------------------------------------------------- as strict as Telegram
EMOJI = "\N{GRINNING FACE}"  # outside the BMP: two UTF-16 code units


async def test_limits_are_on_by_default(fake: FakeBotAPI, bot: Bot) -> None:
    assert (fake.rate_limit, fake.chat_burst, fake.chat_refill) == (30, 20, 1.0)
    results = await asyncio.gather(
        *(bot.send_message(USER, f"n{i}") for i in range(21)), return_exceptions=True
    )
    assert [type(r) for r in results].count(TelegramRetryAfter) == 1
    assert fake.rate_limited_count == fake.chat_limited_count == 1


async def test_sends_and_edits_share_one_sliding_window() -> None:
    async with FakeBotAPI(rate_limit=3, chat_burst=None) as fake:
        bot = make_bot(fake)
        try:
            sent = await bot.send_message(USER, "one", reply_markup=keyboard(("A", "a")))
            await bot.edit_message_text("two", chat_id=USER, message_id=sent.message_id)
            await asyncio.sleep(0.6)
            await bot.edit_message_reply_markup(
                chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
            )
            with pytest.raises(TelegramRetryAfter) as limited:
                await bot.edit_message_text("three", chat_id=USER, message_id=sent.message_id)
            assert limited.value.retry_after == 1
            query_id = fake.press_button(USER, "b")
            assert await bot.answer_callback_query(query_id)  # answers and actions are free
            assert await bot.send_chat_action(USER, "typing")
            await asyncio.sleep(0.5)  # the first two left the window, the third is in it
            await bot.send_message(USER + 1, "four")
            await bot.send_message(USER + 2, "five")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(USER + 3, "six")
            assert fake.rate_limited_count == 2 and fake.chat_limited_count == 0
        finally:
            await bot.session.close()


async def test_a_chat_gets_a_burst_then_about_one_message_a_second() -> None:
    async with FakeBotAPI(rate_limit=None, chat_burst=3, chat_refill=4.0) as fake:
        bot = make_bot(fake)
        try:
            sent = await bot.send_message(USER, "one", reply_markup=keyboard(("A", "a")))
            await bot.send_message(USER, "two")
            await bot.edit_message_text(
                "one!", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
            )
            with pytest.raises(TelegramRetryAfter) as limited:
                await bot.send_message(USER, "three")
            assert limited.value.retry_after == 1
            await bot.send_message(USER + 1, "another chat has its own bucket")
            assert await bot.send_chat_action(USER, "typing")
            assert await bot.answer_callback_query(fake.press_button(USER, "a"))
            await asyncio.sleep(0.3)  # 4 a second refill one token
            await bot.send_message(USER, "three")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(USER, "four")
            assert fake.chat_limited_count == fake.rate_limited_count == 2
        finally:
            await bot.session.close()


async def test_lengths_count_utf16_code_units(fake: FakeBotAPI, bot: Bot) -> None:
    fake.chat_burst = None
    await bot.send_message(USER, EMOJI * 2048)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, EMOJI * 2049)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4095 + EMOJI)
    sent = await bot.send_photo(USER, BufferedInputFile(png(), "a.png"), caption=EMOJI * 512)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(png(), "b.png"), caption=EMOJI * 513)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.edit_message_caption(
            chat_id=USER, message_id=sent.message_id, caption=f"<b>{EMOJI * 513}</b>"
        )
    await bot.edit_message_caption(  # the markup does not count
        chat_id=USER, message_id=sent.message_id, caption=f"<b>{EMOJI * 512}</b>"
    )
    await bot.send_message(USER, "callback answers too")
    query_id = fake.press_forged(USER, "any")
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text=EMOJI * 101)
    assert await bot.answer_callback_query(query_id, text=EMOJI * 100)


@pytest.mark.parametrize(
    ("markup", "refusal"),
    [
        ("<a>link</a>", 'Tag "a" must have attribute "href"'),
        ('<a href="">link</a>', 'Wrong value of attribute "href"'),
        ("Tom &bogus; Jerry", 'Unsupported HTML entity "&bogus;" at byte offset 4'),
        ("&copy; 2025", 'Unsupported HTML entity "&copy;"'),
        ("&#0; zero", 'Unsupported HTML entity "&#0;"'),
        ('<b class="x">bold</b>', 'Unsupported attribute "class" of tag "b"'),
        ("<span>plain span</span>", 'Tag "span" must have attribute "class"'),
        ('<span class="big">x</span>', 'Wrong value of attribute "class" of tag "span"'),
        ('<a href="https://x.ru" target="_blank">x</a>', 'Unsupported attribute "target"'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', 'Wrong value of attribute "emoji-id"'),
        ('<pre class="python">x</pre>', 'Wrong value of attribute "class" of tag "pre"'),
        ("<b/>x", 'Unexpected "/" in tag "b"'),
        ("<b>x</b x>", "Unclosed end tag"),
    ],
)
async def test_html_refused_like_telegram(bot: Bot, markup: str, refusal: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities: " + re.escape(refusal)):
        await bot.send_message(USER, markup)


async def test_html_telegram_accepts(fake: FakeBotAPI, bot: Bot) -> None:
    accepted = {
        "&lt;b&gt; &amp; &quot;q&quot; &#65;&#x42;&#X43;": '<b> & "q" ABC',
        "Tom & Jerry &amp 1&2": "Tom & Jerry &amp 1&2",  # a lone "&" stays as it is
        "<a href='https://x.ru/?a=1&amp;b=2'>x</a> <A HREF=https://y.ru>y</A>": "x y",
        '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler>': "s t",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>': "👍",
        '<pre><code class="language-python">x = 1</code></pre>': "x = 1",
        "<blockquote expandable>long</blockquote> <b >b</b >": "long b",
    }
    for markup, plain in accepted.items():
        sent = await bot.send_message(USER, markup)
        assert sent.text == plain, markup
        assert fake.last_message(USER).text == markup


async def test_edits_in_a_chat_that_blocked_the_bot_are_refused(fake: FakeBotAPI, bot: Bot) -> None:
    text = await bot.send_message(USER, "progress 1", reply_markup=keyboard(("Stop", "stop")))
    photo = await bot.send_photo(USER, BufferedInputFile(png(), "p.png"), caption="c")
    fake.block_bot(USER)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.edit_message_text("progress 2", chat_id=USER, message_id=text.message_id)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=text.message_id)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.edit_message_caption(chat_id=USER, message_id=photo.message_id, caption="d")
    assert fake.last_message(USER).edits == 0 and fake.sent_texts(USER) == ["progress 1", "c"]


async def test_a_callback_query_is_answered_once(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "Pick", reply_markup=keyboard(("One", "pick:1")))
    query_id = fake.press_button(USER, "pick:1")
    assert await bot.answer_callback_query(query_id, text="ok")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id, text="again")
    assert [c.status for c in fake.calls_of("answerCallbackQuery")] == [200, 400]


async def test_a_press_needs_the_button_on_the_message_as_it_stands(
    fake: FakeBotAPI, bot: Bot
) -> None:
    first = await bot.send_message(USER, "Pick", reply_markup=keyboard(("One", "pick:1")))
    await bot.send_message(USER, "Later", reply_markup=keyboard(("Two", "pick:2")))
    with pytest.raises(AssertionError, match="no button with data 'made:up'"):
        fake.press_button(USER, "made:up")
    with pytest.raises(AssertionError, match="on message 2"):
        fake.press_button(USER, "pick:1", message_id=2)
    await bot.edit_message_reply_markup(chat_id=USER, message_id=first.message_id)
    with pytest.raises(AssertionError, match="pick:1"):  # the edit took the button away
        fake.press_button(USER, "pick:1")
    await bot.delete_message(USER, 2)
    with pytest.raises(AssertionError, match="pick:2"):
        fake.press_button(USER, "pick:2")
    forged = fake.press_forged(USER, "made:up")
    [update] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and (query.id, query.data) == (forged, "made:up")
    assert isinstance(query.message, Message) and query.message.message_id == first.message_id


async def test_the_api_fixture_has_telegrams_limits(api: FakeBotAPI) -> None:
    bot = make_bot(api)
    try:
        await asyncio.gather(*(bot.send_message(USER + i, f"n{i}") for i in range(30)))
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(USER + 99, "31st in a second")
        assert (api.rate_limit, api.chat_burst, api.rate_limited_count) == (30, 20, 1)
    finally:
        await bot.session.close()


@pytest.mark.fake_api(rate_limit=None, chat_burst=None)
async def test_a_test_may_ask_for_other_limits(api: FakeBotAPI) -> None:
    bot = make_bot(api)
    try:
        await asyncio.gather(*(bot.send_message(USER, f"n{i}") for i in range(40)))
        assert api.rate_limited_count == 0 and len(api.sent_texts(USER)) == 40
    finally:
        await bot.session.close()
