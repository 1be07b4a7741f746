"""Texts built from data: the account card, import summaries. HTML-escaped throughout."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from decimal import Decimal
from html import escape, unescape
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.guest_import import ImportResult, TableError, describe
from bot.guest_import.columns import export_headers as headers_for
from bot.xlsx import write_rejected
from storage.guests import Guest


def quote(text: str) -> str:
    """Text safe inside a Telegram HTML message."""
    return escape(text, quote=False)


def _locale() -> str:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else "ru"


def money(value: Decimal) -> str:
    """A balance in the admin's locale: 1 234,50 (ru) or 1,234.50 (en)."""
    return format_decimal(value, format="#,##0.00", locale=_locale())


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
        (_("Phone"), quote(guest.phone)),
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


def table_error_text(error: TableError, name: str) -> str:
    return _("“{name}” was not imported: {reason}\nNothing was changed.").format(
        name=quote(name), reason=quote(describe(error, _))
    )


async def save_rejected(path: Path, result: ImportResult) -> None:
    """The rejected rows as an XLSX in the admin's language, written off the event loop
    (100,000 rows take seconds, and mailings must go on meanwhile)."""
    await asyncio.to_thread(
        write_rejected, path, result, _("Reason"), translate=_, sheet_title=_("Rejected rows")
    )


def import_summary(result: ImportResult, name: str) -> str:
    lines = [
        _("<b>Import of “{name}” finished</b>").format(name=quote(name)),
        _("Added: {n}").format(n=result.added),
        _("Updated: {n}").format(n=result.updated),
        _("Already up to date: {n}").format(n=result.unchanged),
        _("Rejected: {n}").format(n=len(result.rejected)),
    ]
    if result.duplicates:
        rows = ", ".join(str(row) for row, _earlier in result.duplicates[:10])
        more = ", …" if len(result.duplicates) > 10 else ""
        lines.append(
            _(
                "Rows repeating a phone of an earlier row: {n} (rows {rows}). "
                "The later row's values were kept."
            ).format(n=len(result.duplicates), rows=rows + more)
        )
    if result.unknown_columns:
        lines.append(
            _("Columns not recognised and skipped: {columns}").format(
                columns=quote(", ".join(result.unknown_columns))
            )
        )
    return "\n".join(lines)


_TAGS = re.compile(r"<[^>]+>")


def plain(html_text: str) -> str:
    """A message's text for a terminal: tags dropped, entities decoded."""
    return unescape(_TAGS.sub("", html_text))
