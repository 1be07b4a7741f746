"""A promotion in words: its schedule ("every day at 10:00 Moscow time"), its card, its
last run."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.config import Settings
from bot.promotions.schedule import Schedule, ScheduleKind
from bot.promotions.service import LastRun
from handlers.components.texts import day_text, moment_text, status_name, zone_words
from handlers.formatting import quote
from storage.promotions import Promotion
from storage.statuses import DeliveryStatus, MailingStatus


def weekday_short(day: int) -> str:
    """A weekday on a button (0 = Monday)."""
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))[day]


def weekday_plural(day: int) -> str:
    """A weekday as it follows "on" for every week: "Mondays" ("понедельникам")."""
    return (
        _("Mondays"), _("Tuesdays"), _("Wednesdays"), _("Thursdays"), _("Fridays"),
        _("Saturdays"), _("Sundays"),
    )[day]  # fmt: skip


def _joined(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(words) == 1:
        return words[0]
    return _("{items} and {last}").format(items=", ".join(words[:-1]), last=words[-1])


def schedule_words(schedule: Schedule, settings: Settings | None = None) -> str:
    """The schedule as a manager says it, with the time zone when `settings` are given."""
    at = schedule.at.strftime("%H:%M")
    if settings is not None:  # the zone right after the time: "в 10:00 по московскому времени"
        at = f"{at} {zone_words(settings)}"
    if schedule.kind is ScheduleKind.WEEKLY and len(schedule.weekdays) < 7:
        days = _joined([weekday_plural(d) for d in schedule.weekdays])
        text = _("on {days} at {time}").format(days=days, time=at)
    elif schedule.kind is ScheduleKind.MONTHLY and schedule.day > 28:
        text = _("monthly on day {day} at {time} (in shorter months, on the last day)").format(
            day=schedule.day, time=at
        )
    elif schedule.kind is ScheduleKind.MONTHLY:
        text = _("monthly on day {day} at {time}").format(day=schedule.day, time=at)
    elif schedule.kind is ScheduleKind.EVERY_N_DAYS and schedule.every > 1:
        text = ngettext(
            "every {n} day at {time}", "every {n} days at {time}", schedule.every
        ).format(n=schedule.every, time=at)
    else:
        text = _("every day at {time}").format(time=at)
    return text


def cap_words(cap_days: int | None) -> str:
    if cap_days is None:
        return _("none")
    return ngettext(
        "a guest gets at most one mailing every {n} day",
        "a guest gets at most one mailing every {n} days",
        cap_days,
    ).format(n=cap_days)


def period_words(promotion: Promotion) -> str:
    if promotion.ends_on is None:
        return _("from {start}, no end date").format(start=day_text(promotion.starts_on))
    return _("from {start} to {end}").format(
        start=day_text(promotion.starts_on), end=day_text(promotion.ends_on)
    )


def last_run_words(last: LastRun | None, settings: Settings) -> str:
    """The latest occurrence: when, and how it went."""
    if last is None:
        return _("not yet")
    mailing = last.mailing
    moment = mailing.occurrence_at or mailing.scheduled_at
    when = moment_text(moment.astimezone(settings.tz))
    if last.counts is None or mailing.status is MailingStatus.MISSED:
        return _("{when}: {status}").format(when=when, status=status_name(mailing.status))
    sent = last.counts.total(DeliveryStatus.SENT)
    failed = last.counts.total(DeliveryStatus.FAILED)
    return _("{when}: {status}, sent {sent}, failed {failed}").format(
        when=when, status=status_name(mailing.status), sent=sent, failed=failed
    )


def next_run_words(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return "—"
    return moment_text(moment.astimezone(settings.tz))


def on_off(promotion: Promotion) -> str:
    return _("🟢 on") if promotion.enabled else _("⚪️ off")


def list_line(promotion: Promotion, schedule: Schedule, upcoming: datetime | None,
              last: LastRun | None, settings: Settings) -> str:  # fmt: skip
    """One promotion in the list."""
    return "\n".join(
        [
            f"<b>{quote(promotion.name)}</b> · {on_off(promotion)}",
            schedule_words(schedule),
            _("Next run: {when}").format(when=next_run_words(upcoming, settings)),
            _("Last run: {result}").format(result=last_run_words(last, settings)),
        ]
    )
