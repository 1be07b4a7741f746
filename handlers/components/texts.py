"""Words the mailing dialogs share: names of segments, channels and modes, and refusal reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.config import Settings
from bot.delivery.progress import duration, guest_lines
from bot.images import MAX_ASPECT, MAX_BYTES, MAX_SIDES_SUM, MIN_SIDE, ImageError
from bot.parsing import DateError, TimeError
from bot.render import VARIABLES, TemplateError
from bot.zones import zone_words as _zone_words
from handlers.formatting import quote
from storage.guest_counts import GuestCounts
from storage.segments import Segment
from storage.statuses import Channel, DeliveryStatus, MailingStatus, ModeChoice


def locale() -> str:
    """The admin's interface language (Babel's names of months and weekdays follow it)."""
    current = I18n.get_current(no_error=True)
    return current.current_locale if current is not None else "en"


def segment_label(segment: Segment) -> str:
    """A segment's name as plain text (buttons); the built-in one translated."""
    return _("All guests") if segment.is_all_guests else segment.name


def segment_title(segment: Segment) -> str:
    """A segment's name for an HTML message."""
    return quote(segment_label(segment))


def channel_name(channel: str) -> str:
    names: dict[str, str] = {Channel.TELEGRAM: _("Telegram"), Channel.EMAIL: _("Email")}
    return names.get(channel, channel)


def mode_name(mode: str) -> str:
    names: dict[str, str] = {
        ModeChoice.ALL: _("All selected channels"),
        ModeChoice.PRIORITY_TELEGRAM: _("Telegram first, then Email"),
        ModeChoice.PRIORITY_EMAIL: _("Email first, then Telegram"),
    }
    return names.get(mode, mode)


def channels_text(channels: tuple[str, ...] | list[str]) -> str:
    return ", ".join(channel_name(c) for c in Channel if c in channels) or "—"


def zone_words(settings: Settings) -> str:
    """The configured time zone as people say it after a time: "по московскому времени",
    "Moscow time", "по UTC+3" (shown wherever a time is, instead of "Europe/Moscow")."""
    return _zone_words(settings.timezone)


def day_text(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def moment_text(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y %H:%M")


def variables_help() -> str:
    listed = " ".join(f"<code>{{{name}}}</code>" for name in VARIABLES)
    return _("Variables you can use: {variables}").format(variables=listed)


def template_error_text(error: TemplateError) -> str:
    """Why a text or subject with a brace expression was refused, and what is allowed."""
    shown = quote(error.expression if len(error.expression) <= 60 else error.expression[:57] + "…")
    reasons = {
        "unknown_variable": _("{expression} is not a variable I know."),
        "attribute": _("{expression}: attributes (a dot after the name) are not allowed."),
        "index": _("{expression}: indexing (square brackets) is not allowed."),
        "format_spec": _("{expression}: formatting after a colon is not allowed."),
        "conversion": _("{expression}: conversions (an exclamation mark) are not allowed."),
        "positional": _("{expression}: a variable needs a name."),
        "unbalanced": _("{expression}: a brace is not closed or not opened."),
    }
    reason = reasons.get(error.code, reasons["unknown_variable"]).format(
        expression=f"<code>{shown}</code>"
    )
    literal = _("To show a brace itself, write it twice: {{ or }}.")
    return f"{reason}\n{variables_help()}\n{quote(literal)}"


def date_error_text(error: DateError, today: date) -> str:
    return {
        "format": _("I could not read this as a date. Type it like {example} or pick a day."),
        "impossible": _("There is no such date in the calendar. Check the day and the month."),
        "past": _("This date has already passed (today is {today}). Choose today or later."),
        "too_far": _("This date is more than a year ahead. Choose a date within a year."),
    }.get(error.code, _("I could not read this as a date.")).format(
        example=day_text(today), today=day_text(today)
    )


def time_error_text(error: TimeError) -> str:
    if error.code == "impossible":
        return _("There is no such time. Hours go from 0 to 23, minutes from 0 to 59.")
    return _("I could not read this as a time. Type it like 18:30 (or 9:05, 18.30).")


def image_error_text(error: ImageError) -> str:
    return {
        "too_large": _("The image is larger than {mb} MB. Send a smaller one.").format(
            mb=MAX_BYTES // 1024 // 1024
        ),
        "not_image": _("This file is not an image I can read. Send a JPEG, PNG or WebP picture."),
        "format": _("Only JPEG, PNG and WebP images can be sent. Convert it and send again."),
        "too_small": _("The image is too small: each side must be at least {px} px.").format(
            px=MIN_SIDE
        ),
        "too_big_dimensions": _(
            "The image is too big: width + height may be at most {px} px. Scale it down."
        ).format(px=MAX_SIDES_SUM),
        "aspect": _("The image is too narrow: one side may be at most {n} times the other.").format(
            n=MAX_ASPECT
        ),
    }.get(error.code, _("This file is not an image I can read. Send a JPEG, PNG or WebP picture."))


def status_name(status: str) -> str:
    names: dict[str, str] = {
        MailingStatus.SCHEDULED: _("scheduled"),
        MailingStatus.RUNNING: _("sending"),
        MailingStatus.PAUSED: _("paused"),
        MailingStatus.COMPLETED: _("completed"),
        MailingStatus.CANCELLED: _("cancelled"),
        MailingStatus.MISSED: _("missed (the bot was down at its time)"),
    }
    return names.get(status, status)


def delivery_status_name(status: str) -> str:
    """A delivery's status in words (the journal, its export, the chart's legend)."""
    names: dict[str, str] = {
        DeliveryStatus.PENDING: _("waiting"),
        DeliveryStatus.SENDING: _("being sent"),
        DeliveryStatus.SENT: _("sent"),
        DeliveryStatus.FAILED: _("failed"),
        DeliveryStatus.SKIPPED: _("skipped"),
        DeliveryStatus.UNKNOWN: _("unknown"),
    }
    return names.get(status, status)


def guest_counts_text(
    counts: GuestCounts, started: datetime | None = None, finished: datetime | None = None
) -> str:
    """A mailing's numbers in guests for its card, worded as its progress message and
    summary word them, then how long it took (so far) and how fast it went."""
    lines = guest_lines(counts)
    if started is not None:
        seconds = ((finished or datetime.now(UTC)) - started).total_seconds()
        done = counts.reached + counts.failed + counts.unknown
        rate = done / seconds if seconds >= 1 else 0.0
        lines.append(
            _("Took {time} · {rate} guests/s").format(
                time=duration(max(seconds, 0.0)),
                rate=format_decimal(round(rate, 1), "#,##0.0", locale=locale()),
            )
        )
    return "\n".join(lines)
