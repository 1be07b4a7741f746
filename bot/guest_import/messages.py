"""Why a file or a row was refused: codes with parameters, and their English texts.

The import runs in the bot and from the command line, outside any update, so
it returns codes; `describe` turns them into words with whatever gettext the
caller has (the English texts below are the msgids, marked with N_ for pybabel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def N_(text: str) -> str:
    """Mark a message for extraction (pybabel extract -k N_) without translating it here."""
    return text


MESSAGES: dict[str, str] = {
    # The whole file.
    "too_big": N_("The file is larger than {limit_mb} MB, the most a bot can download."),
    "too_many_rows": N_("The table has more than {limit} rows: split it into several files."),
    "not_a_table": N_("This is not a table: send an .xlsx, .xls, .ods or .csv file."),
    # An OLE2 container calamine cannot read: a password, or damage.
    "old_xls": N_(
        "The workbook has a password or is damaged: save it without a password "
        "as .xlsx (Excel Workbook) or .csv and send it again."
    ),
    "unreadable": N_("The file is damaged and cannot be read as a table."),
    "empty": N_("The table has no rows under its header."),
    "xlsx_too_large": N_(
        "Unpacked, the workbook would take more than {limit_mb} MB, far more than any "
        "guest table needs: it is damaged or is not a guest table. "
        "Open it in Excel, save it again as .xlsx or .csv and send it again."
    ),
    "xlsx_too_many_strings": N_(
        "The workbook holds more than {limit} different texts, more than a guest table "
        "of this size can have: split it into several files."
    ),
    "xlsx_too_many_parts": N_(
        "The workbook is made of more than {limit} parts: it is damaged or is not a guest "
        "table. Save it again as .xlsx or .csv."
    ),
    "cell_too_long": N_(
        "A cell holds more than {limit} characters, more than Excel allows: the file is "
        "damaged or was not saved by Excel. Save it again as .xlsx or .csv."
    ),
    "no_phone_column": N_(
        "No phone column. Columns found: {columns}. "
        "Name the column with phone numbers “Телефон” or “Phone”."
    ),
    # One row.
    "phone_missing": N_("no phone number"),
    "phone_empty": N_("no phone number"),
    "phone_letters": N_("phone “{value}” contains letters or symbols"),
    "phone_plus": N_("phone “{value}”: “+” is allowed only at the start"),
    "phone_scientific": N_(
        "phone “{value}” was turned into a number by Excel and lost digits: "
        "format the column as text"
    ),
    "phone_too_short": N_("phone “{value}” has too few digits"),
    "phone_too_long": N_("phone “{value}” has too many digits"),
    "phone_country": N_("phone “{value}”: the country code cannot start with 0"),
    "phone_national": N_("phone “{value}” has no country code: write it as +7… or 8…"),
    "phone_russian_length": N_("phone “{value}”: after +7 there must be 10 digits"),
    "email_invalid": N_("email “{value}” is not a valid address: {why}"),
    # A value left out of a guest who was imported without it.
    "email_dropped": N_("email “{value}” not imported: {why}"),
    "sex_invalid": N_("sex “{value}” is not one of: м, ж, male, female"),
    "date_invalid": N_("{field} “{value}” is not a date: write it as DD.MM.YYYY"),
    "date_future": N_("{field} {value} is in the future"),
    "date_too_old": N_("{field} {value} is before 1900"),
    "number_invalid": N_("{field} “{value}” is not a number"),
    "number_negative": N_("{field} {value} is negative"),
    "number_precision": N_("{field} “{value}” has more than 2 digits after the decimal point"),
    "number_too_large": N_("{field} {value} is too large"),
    "integer_invalid": N_("{field} “{value}” is not a whole number"),
    "too_long": N_("{field} is longer than {limit} characters"),
    "card_scientific": N_(
        "card number “{value}” was turned into a number by Excel and lost digits: "
        "format the column as text"
    ),
    "card_taken": N_("card number {card} belongs to another guest (phone {phone})"),
    "card_repeated": N_("card number {card} is already on row {row} with another phone"),
    "phone_other_person": N_(
        "row {row}: same phone as row {first}, different name (“{name}” there); "
        "not merged, as they may be two people: correct the phone or the name"
    ),
}

FIELD_LABELS: dict[str, str] = {
    "phone": N_("phone"),
    "email": N_("email"),
    "last_name": N_("last name"),
    "first_name": N_("first name"),
    "middle_name": N_("middle name"),
    "full_name": N_("full name"),
    "sex": N_("sex"),
    "balance": N_("balance"),
    "birthday": N_("birthday"),
    "card_number": N_("card number"),
    "account_group": N_("group"),
    "tags": N_("tags"),
    "registered_at": N_("registration date"),
    "last_visit_at": N_("last visit"),
    "visits_count": N_("visits"),
    "total_spent": N_("total spent"),
}


# Why an email address is not one ({why} above).
EMAIL_FAULTS: dict[str, str] = {
    "several": N_("more than one address in the cell"),
    "no_at": N_("no @"),
    "no_name": N_("nothing before @"),
    "no_domain": N_("no domain"),
    "characters": N_("characters an address cannot have"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: a MESSAGES code and the values its text needs."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a row was not imported: one or more problems, all reported at once."""

    problems: tuple[Problem, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)


class TableError(Exception):
    """The file as a whole cannot be imported; nothing was written."""

    def __init__(self, code: str, params: Mapping[str, Any] | None = None) -> None:
        self.code = code
        self.params: Mapping[str, Any] = dict(params or {})
        super().__init__(describe(self))


class _Keep(dict[str, Any]):
    """format_map mapping that leaves an unknown {placeholder} as it is."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _identity(text: str) -> str:
    return text


def describe(
    item: Problem | Rejection | TableError, translate: Callable[[str], str] = _identity
) -> str:
    """The reason in words; pass gettext as `translate` for the admin's language."""
    if isinstance(item, Rejection):
        return "; ".join(describe(p, translate) for p in item.problems)
    code, params = item.code, item.params
    template = MESSAGES.get(code, code)
    values = _Keep(params)
    if "field" in params:
        values["field"] = translate(FIELD_LABELS.get(str(params["field"]), str(params["field"])))
    if "why" in params:
        values["why"] = translate(EMAIL_FAULTS.get(str(params["why"]), str(params["why"])))
    try:
        return translate(template).format_map(values)
    except (ValueError, IndexError, AttributeError):  # a broken translation
        return template.format_map(values)
