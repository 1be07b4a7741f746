"""What an import tells the admin: the summary, why a file was refused, the rejected rows.

Shared by the bot and the command line, so it uses aiogram's gettext, which
works wherever an I18n context is set (the bot's middleware, or the CLI's
`i18n.context()`). Texts are Telegram HTML; `plain` turns them into terminal text.

A summary must fit one Telegram message (4,096 characters as Telegram counts
them, in UTF-16 code units): every list in it is cut to its first few items
and "and N more", file and column names to a readable length. The rows behind
the numbers are in the rejected-rows file.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, time
from html import escape, unescape
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.guest_import import ImportResult, TableError, describe
from bot.guest_import.values import shown
from bot.xlsx import write_rows

MESSAGE_LIMIT = 4096  # Telegram's limit for a message's text, in UTF-16 code units
SHOWN_ITEMS = 10  # columns or rows named in a summary before "and N more"
NAME_CHARS = 60  # a file or column name in a summary is cut to this


def quote(text: str) -> str:
    """Text safe inside a Telegram HTML message."""
    return escape(text, quote=False)


def telegram_length(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _name(text: str) -> str:
    return quote(shown(text, NAME_CHARS))


def _more(items: Sequence[str], total: int) -> str:
    """ "a, b and c", or "a, b, … and 117 more" when only the first were given."""
    if total > len(items):
        rest = ngettext("and {n} more", "and {n} more", total - len(items))
        return f"{', '.join(items)} {rest.format(n=total - len(items))}"
    if len(items) == 1:
        return items[0]
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])


def row_list(numbers: Sequence[int]) -> str:
    """ "row 6", "rows 2 and 5", "rows 2, 5, … and 40 more"."""
    listing = _more([str(n) for n in numbers[:SHOWN_ITEMS]], len(numbers))
    if len(numbers) == 1:
        return _("row {row}").format(row=listing)
    return _("rows {rows}").format(rows=listing)


def column_list(names: Sequence[str]) -> str:
    """Column names quoted, the first few of them and "and N more"."""
    return _more([_("“{column}”").format(column=_name(n)) for n in names[:SHOWN_ITEMS]], len(names))


def fit(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message cut at a line boundary (or, failing that, anywhere) to fit `limit`."""
    if telegram_length(text) <= limit:
        return text
    lines = text.split("\n")
    while len(lines) > 1 and telegram_length("\n".join(lines) + "\n…") > limit:
        lines.pop()
    cut = "\n".join(lines)
    while telegram_length(cut + "\n…") > limit:  # one line alone too long: a safety net
        cut = cut[: len(cut) * 9 // 10]
    return _TAG_CUT.sub("", cut) + "\n…"


_TAG_CUT = re.compile(r"<[^>]*$")


def import_summary(result: ImportResult, name: str) -> str:
    """The message an import ends with: counts, merged rows, skipped columns."""
    lines = [
        _("<b>Import of “{name}” finished</b>").format(name=_name(name)),
        _("Added: {n}").format(n=result.added),
        _("Updated: {n}").format(n=result.updated),
        _("Already up to date: {n}").format(n=result.unchanged),
        _("Rejected: {n}").format(n=len(result.rejected)),
    ]
    if result.duplicates:
        lines.append(
            _(
                "Merged with an earlier row of the same guest (same phone, same name): {rows}. "
                "The later row's values were kept, its empty cells filled from the earlier one."
            ).format(rows=row_list([row for row, _earlier in result.duplicates]))
        )
    dropped = len(result.dropped)
    if dropped:
        lines.append(
            ngettext(
                "{n} guest imported without their email: the address is not valid "
                "(the file says why).",
                "{n} guests imported without their email: the addresses are not valid "
                "(the file says why).",
                dropped,
            ).format(n=dropped)
        )
    others = len(result.other_person)
    if others:
        lines.append(
            ngettext(
                "{n} row has the phone or card of another person from an earlier row "
                "and was not imported: it is in the file with both row numbers.",
                "{n} rows have the phone or card of another person from an earlier row "
                "and were not imported: they are in the file with both row numbers.",
                others,
            ).format(n=others)
        )
    if result.unknown_columns:
        lines.append(
            _("Columns not recognised and skipped: {columns}").format(
                columns=column_list(result.unknown_columns)
            )
        )
    return fit("\n".join(lines))


def table_error_text(error: TableError, name: str) -> str:
    """Why a file was refused, in the admin's language."""
    return fit(
        _("“{name}” was not imported: {reason}\nNothing was changed.").format(
            name=_name(name), reason=quote(describe(error, _))
        )
    )


async def save_rejected(path: Path, result: ImportResult) -> None:
    """The rows to check as an XLSX in the admin's language, written off the event loop
    (100,000 rows take seconds, and mailings must go on meanwhile)."""
    await asyncio.to_thread(write_report, path, result, _)


def write_report(path: Path, result: ImportResult, translate: Callable[[str], str]) -> int:
    """The rows not imported and those imported without a value, in file order: each
    with its row number in the admin's file, its cells as read, and why."""
    rows = sorted([*result.rejected, *result.dropped], key=lambda r: r.row_number)
    width = max([len(result.headers), *(len(r.raw.cells) for r in rows)])
    names = [
        (result.headers[i] if i < len(result.headers) else "") or f"#{i + 1}" for i in range(width)
    ]
    # The cells first, as in the admin's file (and as earlier reports had them).
    headers = [*names, translate("Row"), translate("Imported"), translate("Reason")]
    dropped = {id(r) for r in result.dropped}
    yes, no = translate("yes, without the value"), translate("no")

    def lines() -> Iterator[list[Any]]:
        for row in rows:
            cells = [_as_written(c) for c in row.raw.cells]
            cells += [None] * (width - len(cells))
            imported = yes if id(row) in dropped else no
            yield [*cells, row.row_number, imported, describe(row.reason, translate)]

    return write_rows(path, translate("Rows to check"), headers, lines())


def _as_written(cell: Any) -> Any:
    """A date cell read as midnight is a date: written without "00:00"."""
    if isinstance(cell, datetime) and cell.time() == time(0) and cell.tzinfo is None:
        return cell.date()
    return cell


_TAGS = re.compile(r"<[^>]+>")


def plain(html_text: str) -> str:
    """A message's text for a terminal: tags dropped, entities decoded."""
    return unescape(_TAGS.sub("", html_text))
