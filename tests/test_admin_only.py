"""Only ADMIN_IDS reach admin features: by command, by text, by file or by a forged button."""

from __future__ import annotations

import importlib
import logging
import pkgutil

import pytest
from aiogram.filters.callback_data import CallbackData

import handlers
from bot.commands import admin_commands, guest_commands
from storage.guests import GuestRecord, GuestRepository
from tests.conftest import ADMIN, STRANGER, RunningBot

# One real payload per callback factory: what an admin's button would carry.
SAMPLES: dict[str, list[str]] = {
    "MenuCb": [
        "menu:guests",
        "menu:language",
        "menu:help",
        "menu:new",
        "menu:history",
        "menu:settings",
    ],
    "GuestsCb": ["gst:import", "gst:search", "gst:export", "gst:results"],
    "CardCb": ["card:1"],
    "GuestEmailCb": ["gem:1:0", "gem:1:1"],
    "LangCb": ["lang:ru", "lang:en"],
    "NavCb": ["nav:cancel"],
    "NmNavCb": ["nmn:back", "nmn:cancel", "nmn:skip", "nmn:resume", "nmn:restart"],
    "NmSegmentCb": ["nms:1"],
    "CalendarCb": ["cal:day:2030:1:15", "cal:month:2030:2:0", "cal:today:0:0:0", "cal:noop:0:0:0"],
    "NmTimeCb": ["nmt:now", "nmt:1830"],
    "NmChannelCb": ["nmc:toggle:telegram", "nmc:off:email", "nmc:done:"],
    "NmModeCb": ["nmm:all", "nmm:priority-telegram"],
    "NmPreviewCb": ["nmp:confirm", "nmp:edit", "nmp:test", "nmp:test_tg", "nmp:test_email"],
    "NmEditCb": ["nme:text", "nme:date"],
    "NmConfirmCb": ["nmk:0123456789abcdef0123456789abcdef"],
    "ParkedCb": ["prk"],
    "HistoryCb": [
        "hist:open:1:0:",
        "hist:cancel:1:0:",
        "hist:move:1:0:",
        "hist:time:0:0:1830",
        "hist:filter:0:0:7d",
        "hist:export:0:0:",
        "hist:chart:1:0:",
        "hist:copy:1:0:",
        "hist:failed:1:0:",
    ],
    "SettingsCb": ["cfg:smtp", "cfg:test", "cfg:email_on", "cfg:email_off", "cfg:tg_on"],
    "SmtpFormCb": ["smtp:host:skip:", "smtp:security:set:tls", "smtp:confirm:save:"],
    "FieldCb": ["cfgf:password", "cfgf:host", "segf:balance", "segf:birthday"],
    "SegCb": [
        "seg:open:2",
        "seg:new:0",
        "seg:rename:2",
        "seg:edit:2",
        "seg:dup:2",
        "seg:del:2",
        "seg:del_yes:2",
    ],
    "BuildCb": ["segb:add", "segb:or", "segb:undo", "segb:save", "segb:back", "segb:cancel"],
    "OpCb": ["sego:gte", "sego:within_days"],
    "ValueCb": ["segv:male", "segv:in"],
    "LimitsCb": ["lim:quiet:off", "lim:cap:keep", "lim:scope:all", "lim:scope:cancel"],
    "InboxCb": ["inbox:host:keep:", "inbox:confirm:save:", "inbox:confirm:off:", "cfg:inbox"],
    "PromoCb": [
        "pr:list:0",
        "pr:open:1",
        "pr:on:1",
        "pr:off:1",
        "pr:dup:1",
        "pr:del_yes:1",
        "pr:new:0",
        "pr:edit:1",
        "pr:del:1",
        "pr:run_yes:1",
        "pr:show:1",
    ],
    "PrNavCb": ["prn:save", "prn:cancel", "prn:back", "prn:no_end", "prn:edit"],
    "PrSegmentCb": ["prs:1"],
    "PrKindCb": ["prf:daily", "prf:weekly"],
    "PrWeekdayCb": ["prw:0"],
    "PrCapCb": ["prc:7"],
    "PrEditCb": ["pre:name", "pre:cap"],
    "JournalCb": [
        "jr:p:1:--:0:0",
        "jr:b:1:f-:9:0",
        "jr:f:1:--:0:0",
        "jr:r:1:--:0:1",
        "jr:x:1:--:0:0",
    ],
    "RunCb": ["run:pause:1", "run:resume:1", "run:cancel_yes:1", "run:unknown:1", "run:now:1"],
}


def _factories() -> set[str]:
    """Every CallbackData factory the handlers define (imported so they register)."""
    for module in pkgutil.walk_packages(handlers.__path__, "handlers."):
        importlib.import_module(module.name)
    found: set[str] = set()
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("handlers"):
            found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def test_every_callback_factory_has_a_forged_sample() -> None:
    assert _factories() == set(SAMPLES), "add the new factory's payloads to SAMPLES"


async def _seed(bot: RunningBot) -> GuestRepository:
    assert bot.app is not None
    repo = GuestRepository(bot.app.db)
    await repo.upsert_many([GuestRecord(phone="+79161234567", first_name="Анна")])
    return repo


async def test_admin_commands_from_a_non_admin_get_the_guest_flow(bot: RunningBot) -> None:
    await _seed(bot)
    assert bot.app is not None
    with bot.app.i18n.context():
        guest_names = {c.command for c in guest_commands()}
        names = [c.command for c in admin_commands() if c.command not in guest_names]
    assert "guests" in names
    for name in names:
        reply = await bot.say(STRANGER, f"/{name}")
        text = reply.plain_text or ""
        assert "Анна" not in text and "Guest base" not in text, name
        assert not reply.buttons(), f"/{name} showed admin buttons to a stranger"
        assert reply.reply_keyboard()[0].get("request_contact") is True


async def test_start_from_a_non_admin_is_the_subscription_not_the_menu(bot: RunningBot) -> None:
    reply = await bot.say(STRANGER, "/start")
    assert "ProBonus Mailer" not in (reply.plain_text or "")
    assert not reply.buttons()


@pytest.mark.parametrize("payload", [p for payloads in SAMPLES.values() for p in payloads])
async def test_a_forged_button_from_a_non_admin_is_refused_and_changes_nothing(
    bot: RunningBot, payload: str
) -> None:
    repo = await _seed(bot)
    assert bot.app is not None
    prefs_before = await bot.app.db.fetchall("SELECT * FROM admin_prefs")
    await bot.say(STRANGER, "/start")  # the stranger needs a bot message to press on
    since = bot.api.mark()
    query_id = bot.api.press_forged(STRANGER, payload)
    answer = await bot.api.answer_of(query_id)
    await bot.settle()
    assert answer.params.get("show_alert") is True
    assert "not available" in answer.params.get("text", "")
    later = bot.api.calls[since:]
    assert not [c for c in later if c.chat_id == STRANGER and c.method != "answerCallbackQuery"]
    assert (await repo.counts()).total == 1
    assert await bot.app.db.fetchall("SELECT * FROM admin_prefs") == prefs_before
    assert await bot.app.db.fetchval("SELECT COUNT(*) FROM fsm_state WHERE state IS NOT NULL") == 0


async def test_a_guest_table_from_a_non_admin_is_not_imported(bot: RunningBot) -> None:
    repo = await _seed(bot)
    csv = "Телефон;Имя\n+79031112233;Олег\n".encode()
    texts = await bot.send_file(STRANGER, "guests.csv", csv)
    assert texts and all("Import" not in t for t in texts)
    assert (await repo.counts()).total == 1
    assert not bot.api.downloads


async def test_the_same_button_works_for_an_admin(bot: RunningBot) -> None:
    await _seed(bot)
    await bot.say(ADMIN, "/guests")
    assert bot.find_button(ADMIN, "Export") == "gst:export"  # the button the stranger forged
    bot.api.press_button(ADMIN, "gst:export")
    await bot.settle()
    assert bot.documents_to(ADMIN), "the admin's export produced no document"


async def test_a_stranger_pressing_forged_buttons_cannot_flood_the_log(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say(STRANGER, "/start")
    with caplog.at_level(logging.WARNING, logger="handlers.subscriber"):
        for _ in range(5):
            answer = await bot.api.answer_of(bot.api.press_forged(STRANGER, "gst:export"))
            assert answer.params.get("show_alert") is True  # each press is still refused
    refusals = [r for r in caplog.records if "refused a button press" in r.getMessage()]
    assert len(refusals) == 1
