"""One table row to a GuestRecord, or a Rejection listing everything wrong with it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from functools import partial
from typing import Any

from bot.guest_import import values as v
from bot.guest_import.columns import ColumnMap
from bot.guest_import.messages import Problem, Rejection
from bot.phones import InvalidPhone, phone_from_cell
from storage.guests import GuestRecord

_NAMES = ("last_name", "first_name", "middle_name")


class RowValidator:
    """Validates the rows of one table; built once per file from its column map.

    A bad email does not cost the guest: a row valid but for it gives a record without
    the email, and `dropped` then lists the value left out (else it is empty).
    """

    def __init__(self, columns: ColumnMap, today: date | None = None) -> None:
        self.columns = columns
        self.today = today or date.today()
        # Registration and visits may be stamped in a time zone ahead of ours.
        latest_event = self.today + timedelta(days=1)
        parsers: dict[str, tuple[str, Callable[[Any], Any]]] = {
            "card_number": ("card_number", v.card),
            "email": ("email", v.email),
            "last_name": ("last_name", partial(v.text, fld="last_name")),
            "first_name": ("first_name", partial(v.text, fld="first_name")),
            "middle_name": ("middle_name", partial(v.text, fld="middle_name")),
            "sex": ("sex", v.sex),
            "birthday": ("birthday", partial(v.a_date, fld="birthday", latest=self.today)),
            "balance": ("balance_cents", partial(v.money, fld="balance")),
            "account_group": ("account_group", partial(v.text, fld="account_group")),
            "registered_at": (
                "registered_at",
                partial(v.a_date, fld="registered_at", latest=latest_event),
            ),
            "last_visit_at": (
                "last_visit_at",
                partial(v.a_date, fld="last_visit_at", latest=latest_event),
            ),
            "visits_count": ("visits_count", partial(v.count, fld="visits_count")),
            "total_spent": ("total_spent_cents", partial(v.money, fld="total_spent")),
            "tags": ("tags", _tags),
        }
        fields = columns.fields
        self.phone_index = fields["phone"]
        # (record field, column, parser) for the columns this file has.
        self.plan = [
            (name, fields[col], parse) for col, (name, parse) in parsers.items() if col in fields
        ]
        self.full_name_index = fields.get("full_name")
        self.dropped: tuple[Problem, ...] = ()

    def __call__(self, cells: Sequence[Any]) -> GuestRecord | Rejection:
        problems: list[Problem] = []
        width = len(cells)
        phone = self._phone(cells[self.phone_index] if self.phone_index < width else None, problems)
        values: dict[str, Any] = {}
        for name, index, parse in self.plan:
            value = cells[index] if index < width else None
            if value is None or value == "" or v.is_placeholder(value):
                continue
            try:
                values[name] = parse(value)
            except v.Bad as exc:
                problems.append(exc.problem)
        full = self.full_name_index
        if (
            full is not None
            and full < width
            and not v.is_placeholder(cells[full])
            and any(values.get(n) is None for n in _NAMES)
        ):
            try:
                split = v.full_name(cells[full])
            except v.Bad as exc:
                problems.append(exc.problem)
            else:  # a name's own cell wins; an empty one is filled from the full name
                for name, part in zip(_NAMES, split, strict=True):
                    if values.get(name) is None and part is not None:
                        values[name] = part
        self.dropped = ()
        if phone is not None and problems and all(p.code == "email_invalid" for p in problems):
            self.dropped = tuple(Problem("email_dropped", p.params) for p in problems)
            problems = []
        if problems or phone is None:
            return Rejection(tuple(problems))
        return GuestRecord(phone=phone, **values)

    @staticmethod
    def _phone(raw: Any, problems: list[Problem]) -> str | None:
        if raw is None or (isinstance(raw, str) and not raw.strip()) or v.is_placeholder(raw):
            problems.append(Problem("phone_missing"))
            return None
        try:
            return phone_from_cell(raw)
        except InvalidPhone as exc:
            problems.append(Problem(f"phone_{exc.code}", {"value": v.shown(raw)}))
            return None


def _tags(value: Any) -> tuple[str, ...] | None:
    """Tags of a cell; None (keep the guest's tags) when the cell holds none."""
    return v.tags(value) or None
