"""Cell values to typed guest fields; every refusal is a Problem with a reason code."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bot.guest_import.messages import Problem
from storage.guests import Sex

MAX_NAME = 100
MAX_EMAIL = 254
MAX_CARD = 64
MAX_TAG = 64
MAX_MONEY = Decimal(10) ** 10  # roubles; far above any bonus balance, far below int64 kopecks
MAX_COUNT = 10**9
CENT = Decimal("0.01")


# What exports write in an empty cell; read as empty, never as a value.
PLACEHOLDERS = frozenset(
    {
        "-", "--", "—", "–", "n/a", "na", "none", "null", "нет", "н/д", "нд", "не указан",
        "не указана", "не указано", "нет данных", "00.00.0000", "0000-00-00",
    }
)  # fmt: skip


def is_placeholder(value: Any) -> bool:
    """A cell that only says "no value" ("—", "Не указан", "00.00.0000", ...)."""
    return type(value) is str and " ".join(value.split()).casefold() in PLACEHOLDERS


def card(value: Any) -> str | None:
    """A card number without spaces ("1234 5678" -> "12345678"); refused when Excel
    turned a long number into a float and lost its last digits."""
    # Excel keeps 15 significant digits: a longer number cell has lost its last ones.
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 1e15:
        raise Bad("card_scientific", value=shown(value))
    result = text(value, "card_number", MAX_CARD)
    return "".join(result.split()) if result else None


class Bad(ValueError):
    """A value refused; carries the Problem to report."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.problem = Problem(code, params)


def shown(value: Any, limit: int = 40) -> str:
    """A value as quoted in a reason, cut to a readable length."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text(value: Any, fld: str, limit: int = MAX_NAME) -> str | None:
    """Stripped text with inner whitespace collapsed; None when blank."""
    if type(value) is str:  # the common case, first
        result = " ".join(value.split()) if "  " in value or not value.isprintable() else value
        result = result.strip()
        if len(result) > limit:
            raise Bad("too_long", field=fld, limit=limit)
        return result or None
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime) and value.time() == time(0):
        value = value.date()
    result = " ".join(str(value).split())
    if not result:
        return None
    if len(result) > limit:
        raise Bad("too_long", field=fld, limit=limit)
    return result


_EMAIL = re.compile(
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)$"
)


def email(value: Any) -> str | None:
    """A single address, lower-cased; "mailto:" dropped."""
    result = text(value, "email", MAX_EMAIL)
    if result is None:
        return None
    result = result.lower().removeprefix("mailto:")
    if not _EMAIL.match(result):
        raise Bad("email_invalid", value=shown(value), why=_email_fault(result))
    return result


def _email_fault(address: str) -> str:
    """What is wrong with an address, in a word the admin can act on (EMAIL_FAULTS)."""
    if address.count("@") > 1 or any(sep in address for sep in ",; "):
        return "several"
    local, at, domain = address.partition("@")
    if not at:
        return "no_at"
    if not local:
        return "no_name"
    if "." not in domain.strip(".") or not domain.rsplit(".", 1)[-1]:
        return "no_domain"
    return "characters"


_SEX: dict[str, Sex] = {
    **dict.fromkeys(("м", "муж", "мужской", "мужчина", "m", "male", "man"), "male"),
    **dict.fromkeys(("ж", "жен", "женский", "женщина", "f", "female", "woman", "w"), "female"),
}


def sex(value: Any) -> Sex | None:
    result = text(value, "sex")
    if result is None:
        return None
    found = _SEX.get(result.casefold().rstrip("."))
    if found is None:
        raise Bad("sex_invalid", value=shown(value))
    return found


_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})" + _TIME)
# Excel's serial day numbers: a date cell left formatted as a number (10000 is 1927).
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIALS = range(10_000, 80_000)


def _year(digits: str, latest: date) -> int:
    """A 4-digit year as is; a 2-digit one in the century that keeps it not after `latest`."""
    year = int(digits)
    if len(digits) == 4:
        return year
    year += 2000
    return year if year <= latest.year else year - 100


_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME)


def a_date(value: Any, fld: str, latest: date) -> date | None:
    """DD.MM.YYYY, YYYY-MM-DD, DD/MM/YYYY (a time after it ignored) or a date cell."""
    if type(value) is str and (match := _DMY.match(value)):  # the common case, first
        try:
            result = date(_year(match[3], latest), int(match[2]), int(match[1]))
        except ValueError:
            raise Bad("date_invalid", field=fld, value=shown(value)) from None
    elif value is None:
        return None
    elif isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)  # a number cell can hold inf (int(inf) raises)
        and value == int(value)
        and int(value) in _SERIALS
    ):
        result = _EXCEL_EPOCH + timedelta(days=int(value))
    else:
        raw = " ".join(str(value).split())
        if not raw:
            return None
        result = _parse_date(raw, fld, value)
    if result.year < 1900:
        raise Bad("date_too_old", field=fld, value=result.strftime("%d.%m.%Y"))
    if result > latest:
        raise Bad("date_future", field=fld, value=result.strftime("%d.%m.%Y"))
    return result


def _parse_date(raw: str, fld: str, value: Any) -> date:
    if isinstance(value, int | float | Decimal | time | timedelta):  # bool is an int
        raise Bad("date_invalid", field=fld, value=shown(value))
    try:
        if match := _DMY.match(raw):
            return date(_year(match[3], date.today()), int(match[2]), int(match[1]))
        if match := _YMD.match(raw):
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        pass
    raise Bad("date_invalid", field=fld, value=shown(value))


_CURRENCY = re.compile(r"(?:₽|руб\.?|р\.?|rub\.?|rur)$", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def _decimal_text(raw: str) -> str:
    """ "1 234,50" / "1,234.50" / "1.234,50" -> "1234.50"; the last separator is the decimal one."""
    compact = _CURRENCY.sub("", "".join(raw.split())).replace("'", "")
    commas, dots = compact.count(","), compact.count(".")
    if commas and dots:
        decimal_sep = "," if compact.rfind(",") > compact.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        compact = compact.replace(thousands, "").replace(decimal_sep, ".")
    elif commas > 1 or dots > 1:
        compact = compact.replace(",", "").replace(".", "")
    else:
        compact = compact.replace(",", ".")
    return compact


def money(value: Any, fld: str) -> int | None:
    """An amount of roubles in kopecks: "1 234,50", "1234.5", a number cell; never negative."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Bad("number_invalid", field=fld, value=shown(value))
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Bad("number_invalid", field=fld, value=shown(value))
        amount = Decimal(repr(value))
    else:
        raw = str(value).strip()
        if not raw:
            return None
        compact = _decimal_text(raw)
        if not _NUMBER.match(compact):
            raise Bad("number_invalid", field=fld, value=shown(value))
        amount = Decimal(compact)
    try:
        if not amount.is_finite():
            raise Bad("number_invalid", field=fld, value=shown(value))
        if amount < 0:
            raise Bad("number_negative", field=fld, value=shown(value))
        if amount >= MAX_MONEY:
            raise Bad("number_too_large", field=fld, value=shown(value))
        if isinstance(value, float):
            amount = amount.quantize(CENT, ROUND_HALF_UP)  # float noise: 1234.5000000001
        elif amount != amount.quantize(CENT, ROUND_HALF_UP):
            raise Bad("number_precision", field=fld, value=shown(value))
        return int(amount * 100)
    except InvalidOperation as exc:
        raise Bad("number_invalid", field=fld, value=shown(value)) from exc


def count(value: Any, fld: str) -> int | None:
    """A whole number >= 0 ("12", "12.0", 12.0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Bad("integer_invalid", field=fld, value=shown(value))
    if isinstance(value, float | Decimal):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite or value != int(value):
            raise Bad("integer_invalid", field=fld, value=shown(value))
        value = int(value)
    if isinstance(value, int):
        result = value
    else:
        raw = "".join(str(value).split())
        if not raw:
            return None
        match = re.fullmatch(r"([+-]?\d+)(?:[.,]0+)?", raw)
        if not match:
            raise Bad("integer_invalid", field=fld, value=shown(value))
        result = int(match[1])
    if result < 0:
        raise Bad("number_negative", field=fld, value=shown(value))
    if result >= MAX_COUNT:
        raise Bad("number_too_large", field=fld, value=shown(value))
    return result


def tags(value: Any) -> tuple[str, ...]:
    """Tags split by "," or ";", trimmed, without repeats; () for a blank cell (keep the tags)."""
    raw = text(value, "tags", limit=10_000) or ""
    seen: dict[str, None] = {}
    for part in re.split(r"[,;]", raw):
        tag = " ".join(part.split())
        if len(tag) > MAX_TAG:
            raise Bad("too_long", field="tags", limit=MAX_TAG)
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


def full_name(value: Any) -> tuple[str | None, str | None, str | None]:
    """ "Иванов Иван Иванович" -> (last, first, middle); one word is taken as the first name."""
    words = (text(value, "full_name", limit=3 * MAX_NAME) or "").split()
    if not words:
        return None, None, None
    if len(words) == 1:
        return None, words[0], None
    middle = " ".join(words[2:]) or None
    if middle is not None and len(middle) > MAX_NAME:
        raise Bad("too_long", field="middle_name", limit=MAX_NAME)
    if max(len(words[0]), len(words[1])) > MAX_NAME:
        raise Bad("too_long", field="full_name", limit=MAX_NAME)
    return words[0], words[1], middle
