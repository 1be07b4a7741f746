"""Segment conditions in plain words, as the builder and the segment card show them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.formatting import quote
from storage.segment_conditions import Condition
from storage.segments import Reach, Segment


def field_name(field: str) -> str:
    names = {
        "sex": _("Sex"),
        "age": _("Age"),
        "birthday": _("Birthday"),
        "balance": _("Balance"),
        "visits": _("Visits"),
        "total_spent": _("Total spent"),
        "avg_bill": _("Average bill"),
        "registered": _("Registration date"),
        "last_visit": _("Last visit"),
        "group": _("Account group"),
        "tags": _("Tags"),
        "telegram": _("Telegram"),
        "email": _("Email"),
        "subscribed": _("Subscribed"),
        "mailed": _("Recent mailings"),
    }
    return names.get(field, field)


def op_name(field: str, op: str) -> str:
    """The operator's button."""
    reach = {
        "telegram": (_("reachable by Telegram"), _("not reachable by Telegram")),
        "email": (_("reachable by email"), _("not reachable by email")),
        "subscribed": (_("subscribed"), _("not subscribed")),
    }
    if field in reach:
        return reach[field][0 if op == "present" else 1]
    names = {
        "=": _("is"),
        "at_least": _("at least"),
        "at_most": _("at most"),
        "between": _("between"),
        "today": _("today"),
        "in_days": _("in exactly N days"),
        "month": _("in month"),
        "before": _("before a date"),
        "after": _("after a date"),
        "older_than_days": _("more than N days ago"),
        "in": _("one of"),
        "any": _("has any of"),
        "all": _("has all of"),
        "not_within_days": _("no mailing within N days"),
    }
    if op == "within_days":
        if field == "birthday":
            return _("within the next N days")
        if field == "mailed":
            return _("got a mailing within N days")
        return _("within the last N days")
    return names.get(op, op)


def month_name(month: int) -> str:
    months = (
        _("January"), _("February"), _("March"), _("April"), _("May"), _("June"), _("July"),
        _("August"), _("September"), _("October"), _("November"), _("December"),
    )  # fmt: skip
    return months[month - 1]


def _days(n: int) -> str:
    return ngettext("{n} day", "{n} days", n).format(n=n)


def _amount(value: Any) -> str:
    return _("{amount} ₽").format(amount=value)


def _date(value: str) -> str:
    return f"{date.fromisoformat(value):%d.%m.%Y}"


def _range(c: Condition, show: Any) -> str:
    if c.op == "between":
        low, high = c.value
        return _("{field} from {low} to {high}").format(
            field=field_name(c.field), low=show(low), high=show(high)
        )
    template = _("{field} at least {value}") if c.op == "at_least" else _("{field} at most {value}")
    return template.format(field=field_name(c.field), value=show(c.value))


def _dates(c: Condition) -> str:
    field = field_name(c.field)
    if c.op == "before":
        text = _("{field} before {date}").format(field=field, date=_date(c.value))
    elif c.op == "after":
        text = _("{field} after {date}").format(field=field, date=_date(c.value))
    elif c.op == "within_days":
        text = _("{field} within the last {days}").format(field=field, days=_days(c.value))
    else:
        text = _("{field} more than {days} ago").format(field=field, days=_days(c.value))
    extra = _("guests with no date included") if c.missing else _("guests with no date left out")
    return f"{text} ({extra})"


def _birthday(c: Condition) -> str:
    if c.op == "today":
        return _("birthday today")
    if c.op == "in_days":
        return _("birthday in exactly {days}").format(days=_days(c.value))
    if c.op == "within_days":
        return _("birthday within the next {days}").format(days=_days(c.value))
    return _("birthday in {month}").format(month=month_name(int(c.value)))


def describe(c: Condition) -> str:
    """One condition as a phrase (plain text; quote it for HTML)."""
    if c.field == "sex":
        return _("men") if c.value == "male" else _("women")
    if c.field in ("balance", "total_spent", "avg_bill") and c.op in (
        "at_least",
        "at_most",
        "between",
    ):
        text = _range(c, _amount)
        return text + (
            _(" (guests with no visits have no average bill)") if c.field == "avg_bill" else ""
        )
    if c.field in ("age", "visits") and c.op in ("at_least", "at_most", "between"):
        return _range(c, str) + (
            _(" (guests with no birthday are left out)") if c.field == "age" else ""
        )
    if c.field == "birthday":
        return _birthday(c)
    if c.field in ("registered", "last_visit"):
        return _dates(c)
    if c.field == "group":
        names = ", ".join(c.value) if isinstance(c.value, list) else str(c.value)
        if c.op == "!=":
            return _("account group is not {names}").format(names=names)
        return _("account group is one of: {names}").format(names=names)
    if c.field == "tags":
        names = ", ".join(c.value)
        templates = {
            "any": _("has any of the tags: {names}"),
            "all": _("has all of the tags: {names}"),
            "none": _("has none of the tags: {names}"),
        }
        return templates[c.op].format(names=names)
    if c.field == "subscribed":
        if c.op == "present":
            return _("subscribed (reachable by Telegram or email and not unsubscribed)")
        return _("not subscribed (reachable by neither Telegram nor email)")
    if c.field in ("telegram", "email"):
        return op_name(c.field, c.op)
    if c.field == "mailed":
        if c.op == "within_days":
            return _("got a mailing within the last {days}").format(days=_days(c.value))
        return _("got no mailing within the last {days}").format(days=_days(c.value))
    # Version 1 comparisons (=, <, >…) kept from segments stored before.
    return f"{field_name(c.field)} {c.op} {c.value}"


def describe_groups(groups: Sequence[Sequence[Condition]]) -> str:
    """Conditions as HTML lines: AND inside a group, OR between groups."""
    if not any(groups):
        return _("All guests (no conditions).")
    parts = []
    for group in groups:
        if group:
            parts.append("\n".join("• " + quote(describe(c)) for c in group))
    return f"\n<b>{_('— or —')}</b>\n".join(parts)


def reach_words(reach: Reach) -> str:
    return ngettext(
        "{n} guest now (Telegram: {tg}, email: {email})",
        "{n} guests now (Telegram: {tg}, email: {email})",
        reach.total,
    ).format(n=reach.total, tg=reach.telegram, email=reach.email)


def problem_words(segment: Segment) -> str:
    return _(
        "⚠️ This segment's stored conditions cannot be read ({reason}); it reaches no guest "
        "until its conditions are built again."
    ).format(reason=quote(segment.problem or ""))


FEB29_NOTE = "feb29"


def feb29_note() -> str:
    return _("Guests born on 29 February count on 28 February in common years.")
