"""Guests: subscribe by sharing their own phone, /stop, bot blocked; refusals for the rest."""

from __future__ import annotations

import logging
import time

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import (
    KICKED,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
    CommandStart,
)
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _

from bot.guests import GuestService
from bot.phones import InvalidPhone
from bot.unsubscribe import PAYLOAD_PREFIX, UnsubscribeTokens
from handlers.formatting import quote
from storage.guests import Guest

log = logging.getLogger(__name__)
# A guest pressing forged buttons could flood the log: one line per user per window.
REFUSAL_LOG_WINDOW = 300.0


def share_phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def ask_phone_text() -> str:
    return _("To get our news and offers here, tap the button below to share your phone number.")


def _name(guest: Guest) -> str:
    return " ".join((guest.first_name or "").split())


def subscribed_text(guest: Guest, *, just_now: bool) -> str:
    """The guest is subscribed; called by the name on their card when it has one."""
    name = _name(guest)
    if just_now and name:
        text = _(
            "Thank you, {name}! You are subscribed: news and offers will come here. "
            "/stop to unsubscribe."
        )
    elif just_now:
        text = _(
            "Thank you! You are subscribed: news and offers will come here. /stop to unsubscribe."
        )
    elif name:
        text = _(
            "Hello, {name}! You are subscribed: news and offers will come here. "
            "/stop to unsubscribe."
        )
    else:
        text = _("You are subscribed: news and offers will come here. /stop to unsubscribe.")
    return text.format(name=quote(name))


async def on_start(message: Message, guests: GuestService) -> None:
    user = message.from_user
    if user is None:
        return
    guest = await guests.resubscribe(user.id)
    if guest is None:
        await message.answer(
            _("Hello! This is the loyalty programme's bot.") + "\n" + ask_phone_text(),
            reply_markup=share_phone_keyboard(),
        )
        return
    await message.answer(
        subscribed_text(guest, just_now=False),
        reply_markup=ReplyKeyboardRemove(),
    )


def masked_email(address: str) -> str:
    """anna@example.com -> a***@example.com: enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


async def on_unsubscribe_link(
    message: Message,
    command: CommandObject,
    guests: GuestService,
    unsubscribe_tokens: UnsubscribeTokens,
) -> None:
    """The unsubscribe link of an email opened the bot: stop emails to that guest."""
    guest_id = unsubscribe_tokens.guest_of_payload(command.args or "")
    guest = await guests.unsubscribe_email(guest_id) if guest_id is not None else None
    if guest is None:
        await message.answer(
            _(
                "This unsubscribe link is not valid. Please open it again from the email, "
                "or reply to the email and ask us to unsubscribe you."
            )
        )
        return
    if guest.email is None or guest.email_status == "none":
        await message.answer(_("We no longer send emails to this address."))
        return
    log.info("guest %s unsubscribed from email by the link", guest.id)
    await message.answer(
        _(
            "Done: {address} will get no more emails from us. "
            "Changed your mind? Ask us in the restaurant to subscribe you again."
        ).format(address=quote(masked_email(guest.email)))
    )


async def on_contact(message: Message, guests: GuestService) -> None:
    user = message.from_user
    contact = message.contact
    if user is None or contact is None:
        return
    if contact.user_id != user.id:
        await message.answer(
            _("This is someone else's contact. Please share your own number with the button.")
            + "\n"
            + ask_phone_text(),
            reply_markup=share_phone_keyboard(),
        )
        return
    try:
        guest = await guests.link_telegram(
            phone=contact.phone_number,
            user_id=user.id,
            chat_id=message.chat.id,
            username=user.username,
            first_name=contact.first_name or user.first_name,
            last_name=contact.last_name or user.last_name,
        )
    except InvalidPhone:
        await message.answer(
            _("This phone number cannot be used. Please share your own mobile number.")
            + "\n"
            + ask_phone_text(),
            reply_markup=share_phone_keyboard(),
        )
        return
    await message.answer(
        subscribed_text(guest, just_now=True),
        reply_markup=ReplyKeyboardRemove(),
    )


async def on_stop(message: Message, guests: GuestService) -> None:
    if message.from_user and await guests.unsubscribe(message.from_user.id):
        await message.answer(
            _("You have unsubscribed and will get no more mailings. /start to subscribe again."),
            reply_markup=ReplyKeyboardRemove(),
        )
    else:
        await message.answer(_("You are not subscribed. /start to subscribe."))


async def on_other(message: Message, guests: GuestService) -> None:
    """Typed phones, stickers, anything else: explain and ask again."""
    user = message.from_user
    guest = await guests.by_telegram_user(user.id) if user else None
    if guest is not None and guest.tg_status == "active":
        await message.answer(
            _("You are subscribed: news and offers will come here. /stop to unsubscribe.")
        )
        return
    if guest is not None:
        await message.answer(_("You are not subscribed. /start to subscribe."))
        return
    await message.answer(
        _("Please use the button below: it sends your number safely, no typing needed.")
        + "\n"
        + ask_phone_text(),
        reply_markup=share_phone_keyboard(),
    )


class ForeignButtons:
    """Refuses button presses from non-admins; logs them at most once per user per window."""

    def __init__(self) -> None:
        self.logged: dict[int, float] = {}

    async def refuse(self, query: CallbackQuery) -> None:
        """A button press from someone who is not an admin: refuse, change nothing."""
        self._log(query.from_user.id)
        await query.answer(_("This button is not available to you."), show_alert=True)

    def _log(self, user_id: int) -> None:
        now = time.monotonic()
        if now - self.logged.get(user_id, -REFUSAL_LOG_WINDOW) < REFUSAL_LOG_WINDOW:
            return
        if len(self.logged) > 10_000:  # forget users whose window has passed
            for old in [u for u, at in self.logged.items() if now - at >= REFUSAL_LOG_WINDOW]:
                del self.logged[old]
        self.logged[user_id] = now
        log.warning(
            "refused a button press from non-admin user %s (more within %d s not logged)",
            user_id,
            REFUSAL_LOG_WINDOW,
        )


async def on_blocked(event: ChatMemberUpdated, guests: GuestService) -> None:
    """The guest blocked the bot: no mailing tries Telegram for them until they /start again."""
    await guests.mark_blocked(event.from_user.id)


def create_router() -> Router:
    router = Router(name="subscriber")
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(
        on_unsubscribe_link,
        CommandStart(deep_link=True, magic=F.args.startswith(PAYLOAD_PREFIX)),
        private,
    )
    router.message.register(on_start, CommandStart(), private)
    router.message.register(on_stop, Command("stop"), private)
    router.message.register(on_contact, F.contact, private)
    router.message.register(on_other, private)
    router.callback_query.register(ForeignButtons().refuse)
    router.my_chat_member.register(
        on_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED), private
    )
    return router
