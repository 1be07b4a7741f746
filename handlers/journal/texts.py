"""The journal's words: delivery statuses, reasons in plain words, rows and file names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.components.texts import channel_name, delivery_status_name
from handlers.formatting import phone_text
from storage.journal import JournalFilter, JournalRow

EMPTY = "—"  # any unknown value, in the chat and in the files


delivery_status = delivery_status_name  # the shared words


def reason(code: str | None, error: str | None) -> str:
    """Why a row failed or was skipped, as a manager would say it; the stored text when
    the code is not one of ours (it is the sender's short English message)."""
    if code is None:
        return error or ""
    if code == "frequency_cap":  # the stored text ends "... in the last N days"
        days = int(found[-1]) if (found := re.findall(r"\d+", error or "")) else 0
        return ngettext(
            "held back by the frequency cap: another mailing within the last {n} day",
            "held back by the frequency cap: another mailing within the last {n} days",
            days,
        ).format(n=days)
    words: dict[str, str] = {
        "blocked": _("the guest blocked the bot"),
        "unsubscribed": _("the guest unsubscribed"),
        "no_telegram": _("no Telegram linked"),
        "no_email": _("no active email address"),
        "bounced": _("the address bounced"),
        "cancelled": _("the mailing was cancelled"),
        "interrupted": _("the bot stopped during the send; it may have arrived"),
        "no_answer": _("no answer from Telegram; it may have arrived"),
        "chat_not_found": _("the Telegram chat no longer exists"),
        "bad_address": _("the Telegram chat id is wrong"),
        "too_large": _("the message is too large for Telegram"),
        "bad_file_id": _("Telegram refused the image"),
        "empty": _("the mailing has neither text nor image"),
        "smtp_refused": _("the mail server refused the address"),
        "smtp_deferred": _("the mail server kept deferring it"),
        "smtp_unreachable": _("the mail server could not be reached"),
        "smtp_not_configured": _("email is not set up (/settings)"),
        "bad_message": _("the mail server refused the message"),
        "channel_off": _("the channel is switched off in /settings"),
        "image_missing": _("the mailing's image file is missing"),
        "internal_error": _("an error in the bot"),
    }
    return words.get(code, error or code)


def filter_text(flt: JournalFilter) -> str:
    status = delivery_status(flt.status) if flt.status else _("all statuses")
    channel = channel_name(flt.channel) if flt.channel else _("all channels")
    return f"{status} · {channel}"


def guest_name(row: JournalRow) -> str:
    return row.name or EMPTY


def moment(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%d.%m %H:%M") if value else EMPTY


def export_headers() -> list[str]:
    return [
        _("No."), _("Guest"), _("Phone"), _("Channel"), _("Status"), _("Reason"),
        _("Address"), _("Time"),
    ]  # fmt: skip


def export_values(row: JournalRow) -> Sequence[Any]:
    """A row of the XLSX: numbers as numbers, the time as a date (the writer puts it in
    TIMEZONE), words in the admin's language, unknown values as "—"."""
    return [
        row.id,
        row.name or EMPTY,
        phone_text(row.phone) if row.phone else EMPTY,
        channel_name(row.channel),
        delivery_status(row.status),
        reason(row.error_code, row.error) or EMPTY,
        row.address or EMPTY,
        row.at or EMPTY,
    ]
