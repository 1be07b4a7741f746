"""Texts built from data: the account card and its fields. HTML-escaped throughout.

An import's summary and report are bot/guest_import/report.py's (the CLI shares them)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.guest_import.columns import export_headers as headers_for
from bot.render import format_balance
from storage.guests import Guest


def quote(text: str) -> str:
    """Text safe inside a Telegram HTML message."""
    return escape(text, quote=False)


def _locale() -> str:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else "ru"


def money(value: Decimal) -> str:
    """A balance in the admin's locale, as guests see it in a mailing: 1 234 or 1 234,50 (ru),
    1,234.50 (en)."""
    return format_balance(value, _locale())


def phone_text(phone: str) -> str:
    """A stored +7 phone as people write it: +7 900 000-00-03; others as stored."""
    if len(phone) == 12 and phone.startswith("+7") and phone[1:].isdigit():
        d = phone[2:]
        return f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}"
    return phone


def day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def telegram_status(status: str) -> str:
    return {
        "none": _("not linked"),
        "active": _("subscribed"),
        "blocked": _("blocked the bot"),
        "unsubscribed": _("unsubscribed"),
    }.get(status, status)


def email_status(status: str) -> str:
    return {
        "none": _("no address"),
        "active": _("active"),
        "bounced": _("bounced"),
        "unsubscribed": _("unsubscribed"),
    }.get(status, status)


def sex_text(value: str | None) -> str:
    return {"male": _("male"), "female": _("female")}.get(value or "", "—")


def card_text(guest: Guest, tags: list[str]) -> str:
    """The account card: every field the base keeps about a guest."""
    telegram = telegram_status(guest.tg_status)
    if guest.tg_username:
        telegram = f"@{quote(guest.tg_username)} · {telegram}"
    email = f"{quote(guest.email)} · {email_status(guest.email_status)}" if guest.email else "—"
    rows = [
        (_("Card"), quote(guest.card_number or "—")),
        (_("Phone"), quote(phone_text(guest.phone))),
        (_("Email"), email),
        (_("Name"), quote(guest.full_name or "—")),
        (_("Sex"), sex_text(guest.sex)),
        (_("Birthday"), day(guest.birthday)),
        (_("Balance"), money(guest.balance)),
        (_("Group"), quote(guest.account_group or "—")),
        (_("Tags"), quote(", ".join(tags)) if tags else "—"),
        (_("Registered"), day(guest.registered_at)),
        (_("Last visit"), day(guest.last_visit_at)),
        (_("Visits"), str(guest.visits_count)),
        (_("Total spent"), money(guest.total_spent)),
        (_("Telegram"), telegram),
    ]
    lines = [f"<b>{_('Account card')}</b>"]
    lines += [f"{label}: {value}" for label, value in rows]
    return "\n".join(lines)


def export_headers() -> list[str]:
    """Column names of an export, in the admin's language, readable back by the import."""
    return headers_for(_locale())
