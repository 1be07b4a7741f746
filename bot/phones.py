"""Phone numbers as guests and spreadsheets write them, normalised to E.164 ("+79161234567").

The phone is the key of a guest, so every way a number reaches the bot (an
imported cell, a typed search, a shared Telegram contact) goes through here.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, ClassVar

E164 = re.compile(r"^\+[1-9]\d{7,14}$")

# What people put between digits: spaces of every kind, dashes, dots, brackets, slashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.()/\\]+")
_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE][+-]?\d+$")


class InvalidPhone(ValueError):
    """Not a phone number; `code` names the reason (see MESSAGES), str() says it in English."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "empty": "empty",
        "letters": "contains letters or symbols",
        "plus": "'+' is allowed only at the start",
        "scientific": "written as a number in scientific notation, digits were lost",
        "too_short": "too few digits",
        "too_long": "too many digits",
        "country": "a number cannot start with 0 after the country code",
        "national": "no country code: write it as +7... or 8...",
        "russian_length": "a number starting with +7 must have 10 digits after it",
    }

    def __init__(self, code: str) -> None:
        super().__init__(self.MESSAGES.get(code, code))
        self.code = code


def _plain_digits(text: str) -> str:
    """Separators removed; raises unless only digits with an optional leading '+' remain."""
    if re.fullmatch(r"\+?\d+\.0+", text):
        text = text.split(".", 1)[0]  # "79161234567.0": a number exported as text
    compact = _SEPARATORS.sub("", text.replace("\ufeff", ""))
    if not compact:
        raise InvalidPhone("empty")
    if _SCIENTIFIC.match(compact):
        raise InvalidPhone("scientific")
    has_plus = compact[0] in "+\uff0b"
    body = compact[1:] if has_plus else compact
    if not body:
        raise InvalidPhone("empty")
    if not (body.isascii() and body.isdigit()):
        if "+" in body and body.replace("+", "").isdigit():
            raise InvalidPhone("plus")
        raise InvalidPhone("letters")
    return "+" + body if has_plus else body


def normalize_phone(raw: str, default_country: str = "7") -> str:
    """E.164 form of a phone as people write it; raises InvalidPhone with the reason."""
    compact = _plain_digits(raw.strip())
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]  # 00 is the international prefix in most countries
    else:
        digits = _national(compact, default_country)
    if default_country == "7" and len(digits) == 11 and digits.startswith("89"):
        digits = "7" + digits[1:]  # "+8 916 ..." is a common slip for +7 916 ...
    if not digits:
        raise InvalidPhone("too_short")
    if digits[0] == "0":
        raise InvalidPhone("country")
    if digits[0] == "7" and len(digits) != 11:
        raise InvalidPhone("too_short" if len(digits) < 11 else "russian_length")
    if len(digits) < 8:
        raise InvalidPhone("too_short")
    if len(digits) > 15:
        raise InvalidPhone("too_long")
    return "+" + digits


def _national(digits: str, default_country: str) -> str:
    """Country code and number of a phone written without '+'."""
    if default_country == "7":
        if len(digits) == 11 and digits[0] in "78":
            return "7" + digits[1:]
        if len(digits) == 10 and digits[0] == "9":
            return "7" + digits
        if len(digits) < 10:
            raise InvalidPhone("too_short")
        if len(digits) > 11:
            raise InvalidPhone("too_long")
        raise InvalidPhone("national")
    if digits.startswith(default_country) and len(digits) > 10:
        return digits
    return default_country + digits.lstrip("0")


def phone_from_cell(value: Any, default_country: str = "7") -> str:
    """E.164 form of a spreadsheet cell: text, or a number Excel made of the phone."""
    if value is None:
        raise InvalidPhone("empty")
    if isinstance(value, bool):
        raise InvalidPhone("letters")
    if isinstance(value, int):
        if value < 0:
            raise InvalidPhone("letters")
        return normalize_phone(str(value), default_country)
    if isinstance(value, float | Decimal):
        if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
            raise InvalidPhone("letters")
        if value != int(value) or value < 0:
            raise InvalidPhone("letters")
        if value >= 1e15 and isinstance(value, float):
            raise InvalidPhone("scientific")  # above 2**53 a float has lost digits
        return normalize_phone(str(int(value)), default_country)
    return normalize_phone(str(value), default_country)


def phone_from_contact(phone_number: str) -> str:
    """E.164 form of Telegram's contact.phone_number, which is international but may lack '+'."""
    text = phone_number.strip()
    if text and not text.startswith("+") and not text.startswith("00"):
        text = "+" + text
    return normalize_phone(text)


def phone_digits(phone: str) -> str:
    """Only the digits of a phone ("+7 916..." -> "7916...")."""
    return "".join(ch for ch in phone if ch.isdigit())
