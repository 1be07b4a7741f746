"""Both languages: every user-facing string has a Russian translation; admins switch theirs."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.catalogs import clashes, read_catalog
from tests.conftest import ADMIN, GUEST, OTHER_ADMIN, BotFactory, RunningBot

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "__": None, "lazy_gettext": None}


def source_msgids() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, keywords=KEYWORDS, comment_tags=()
        ):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_every_user_facing_string_has_a_russian_translation() -> None:
    catalog = read_catalog("ru")
    missing = sorted(m for m in source_msgids() if not (catalog.get(m) and catalog[m].string))
    assert not missing, "untranslated:\n" + "\n".join(missing)


def test_no_message_is_translated_two_ways() -> None:
    assert not clashes("ru"), "\n".join(clashes("ru"))


def test_translations_keep_every_placeholder() -> None:
    import re

    placeholder = re.compile(r"\{[a-z_]*\}")
    catalog = read_catalog("ru")

    def found(text: str) -> list[str]:
        return sorted(placeholder.findall(text))

    # A plural message has two English forms and three Russian ones: each form
    # keeps the placeholders of the English plural.
    wrong = [
        (m.id, m.string)
        for m in catalog
        if m.id
        and m.string
        and any(
            found(form) != found(m.id[-1] if isinstance(m.id, tuple) else str(m.id))
            for form in (m.string if isinstance(m.string, tuple) else (str(m.string),))
        )
    ]
    assert not wrong


async def test_russian_is_the_default_interface(start_bot: BotFactory) -> None:
    bot = await start_bot(locale="ru")
    reply = await bot.say(ADMIN, "/start")
    assert "Рассылки" in (reply.plain_text or "") or "рассыл" in (reply.plain_text or "")
    guest = await bot.say(GUEST, "/start")
    assert "телефон" in (guest.plain_text or "")


async def test_an_admin_switches_their_own_language_and_it_sticks(start_bot: BotFactory) -> None:
    bot: RunningBot = await start_bot(locale="ru")
    await bot.say(ADMIN, "/language")
    await bot.press(ADMIN, "English")
    assert "English" in bot.api.sent_texts(ADMIN)[-2]
    reply = await bot.say(ADMIN, "/help")
    assert "What I can do" in (reply.plain_text or "")
    # The other admin and the guests keep LOCALE.
    other = await bot.say(OTHER_ADMIN, "/help")
    assert "Что я умею" in (other.plain_text or "")
    # The admin's command menu follows the language.
    menu = bot.api.my_commands({"type": "chat", "chat_id": ADMIN})
    assert any(c["description"] == "Main menu" for c in menu)
    await bot.restart()
    reply = await bot.say(ADMIN, "/help")
    assert "What I can do" in (reply.plain_text or "")
