"""Phone normalisation: the forms people and spreadsheets write, and properties."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.phones import (
    InvalidPhone,
    normalize_phone,
    phone_digits,
    phone_from_cell,
    phone_from_contact,
)

E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+79161234567", "+79161234567"),
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8 916 123 45 67", "+79161234567"),
        ("8(916)123-45-67", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("79161234567", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("916.123.45.67", "+79161234567"),
        ("  +7\u00a0916\u00a0123\u00a045\u00a067 ", "+79161234567"),
        ("+7–916–123–45–67", "+79161234567"),  # en dashes
        ("79161234567.0", "+79161234567"),  # a number exported as text
        ("+89161234567", "+79161234567"),  # "+8" slip
        ("84951234567", "+74951234567"),  # a Moscow landline with 8
        ("+380 50 123 4567", "+380501234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 202 555 0123", "+12025550123"),
        ("+49 30 1234567", "+49301234567"),
    ],
)
def test_normalizes(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("+", "empty"),
        ("-()", "empty"),
        ("нет", "letters"),
        ("+7 916 123 45 67 доб. 12", "letters"),
        ("7+9161234567", "plus"),
        ("7,91612E+10", "scientific"),
        ("7.9161234567E10", "scientific"),
        ("123456", "too_short"),
        ("916123456", "too_short"),
        ("+1234567", "too_short"),
        ("+1234567890123456", "too_long"),
        ("123456789012", "too_long"),
        ("+0123456789", "country"),
        ("+7916123456", "too_short"),
        ("+791612345678", "russian_length"),
        ("4951234567", "national"),  # 10 digits not starting with 9: which country?
        ("12025550123", "national"),
    ],
)
def test_refuses_with_reason(raw: str, code: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)
    assert info.value.code == code
    assert str(info.value)  # an English reason, for logs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (79161234567, "+79161234567"),
        (79161234567.0, "+79161234567"),
        (89161234567, "+79161234567"),
        (9161234567, "+79161234567"),
        (Decimal("79161234567"), "+79161234567"),
        ("+7 916 123-45-67", "+79161234567"),
        ("79161234567.0", "+79161234567"),
    ],
)
def test_from_cell(value: Any, expected: str) -> None:
    assert phone_from_cell(value) == expected


@pytest.mark.parametrize("value", [None, True, 7.5, float("nan"), float("inf"), -79161234567, 1e20])
def test_from_cell_refuses(value: Any) -> None:
    with pytest.raises(InvalidPhone):
        phone_from_cell(value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("79161234567", "+79161234567"),
        ("+79161234567", "+79161234567"),
        ("380501234567", "+380501234567"),  # Telegram sends international numbers, maybe no "+"
        ("12025550123", "+12025550123"),
    ],
)
def test_from_contact(raw: str, expected: str) -> None:
    assert phone_from_contact(raw) == expected


def test_phone_digits() -> None:
    assert phone_digits("+7 916 123-45-67") == "79161234567"


phone_like = st.from_regex(r"\A[+]?[0-9 ()\-.]{0,22}\Z")


@given(st.one_of(st.text(), phone_like))
def test_any_text_normalises_to_e164_or_refuses(raw: str) -> None:
    try:
        result = normalize_phone(raw)
    except InvalidPhone as exc:
        assert exc.code in InvalidPhone.MESSAGES
        return
    assert E164.match(result)
    assert normalize_phone(result) == result  # idempotent


@given(st.one_of(st.text(), phone_like))
def test_contact_normalisation_is_idempotent(raw: str) -> None:
    try:
        result = phone_from_contact(raw)
    except InvalidPhone:
        return
    assert E164.match(result)
    assert phone_from_contact(result) == result == normalize_phone(result)


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=False),
        st.text(),
    )
)
def test_any_cell_normalises_or_refuses(value: Any) -> None:
    try:
        result = phone_from_cell(value)
    except InvalidPhone:
        return
    assert E164.match(result)


@given(st.integers(min_value=9_000_000_000, max_value=9_999_999_999))
def test_every_russian_mobile_in_every_form(number: int) -> None:
    digits = str(number)
    expected = "+7" + digits
    forms = [digits, "8" + digits, "7" + digits, "+7" + digits]
    forms.append(f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}")
    assert {normalize_phone(f) for f in forms} == {expected}
    assert phone_from_cell(float("7" + digits)) == expected
