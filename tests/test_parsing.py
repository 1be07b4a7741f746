"""Typed dates and times: every sensible form accepted, everything else refused with a reason."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.parsing import MAX_DAYS_AHEAD, DateError, TimeError, parse_date, parse_time

TODAY = date(2026, 3, 8)
todays = st.dates(date(2000, 1, 1), date(2090, 12, 31))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08.03.2026", date(2026, 3, 8)),
        ("9.3.2026", date(2026, 3, 9)),
        (" 31.12.2026 ", date(2026, 12, 31)),
        ("15.04.26", date(2026, 4, 15)),
        ("15.04", date(2026, 4, 15)),
        ("01.03", date(2027, 3, 1)),  # already passed this year: next year
        ("8.3", date(2026, 3, 8)),
    ],
)
def test_dates_accepted(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "format"),
        ("tomorrow", "format"),
        ("2026-03-09", "format"),
        ("1.2.3.4", "format"),
        ("31.02.2026", "impossible"),
        ("00.05.2026", "impossible"),
        ("10.13", "impossible"),
        ("29.02", "impossible"),  # neither this year nor the next has it
        ("07.03.2026", "past"),
        ("01.01.2020", "past"),
        ("01.01.2062", "too_far"),
    ],
)
def test_dates_refused(text: str, code: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(text, TODAY)
    assert caught.value.code == code
    assert str(caught.value)


@given(today=todays, ahead=st.integers(0, MAX_DAYS_AHEAD))
def test_any_coming_date_round_trips(today: date, ahead: int) -> None:
    day = today + timedelta(days=ahead)
    assert parse_date(day.strftime("%d.%m.%Y"), today) == day
    assert parse_date(f"{day.day}.{day.month}.{day.year}", today) == day
    if ahead < 365 and (day.month, day.day) != (2, 29):
        assert parse_date(day.strftime("%d.%m"), today) == day


@given(today=todays, back=st.integers(1, 5000))
def test_any_past_date_is_refused_as_past(today: date, back: int) -> None:
    day = today - timedelta(days=back)
    assume(day.year >= 1)
    with pytest.raises(DateError) as caught:
        parse_date(day.strftime("%d.%m.%Y"), today)
    assert caught.value.code == "past"


@given(text=st.text(max_size=30), today=todays)
def test_any_text_is_a_coming_date_or_a_clear_refusal(text: str, today: date) -> None:
    try:
        day = parse_date(text, today)
    except DateError as error:
        assert error.code in {"format", "impossible", "past", "too_far"}
    else:
        assert today <= day <= today + timedelta(days=MAX_DAYS_AHEAD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("18:30", time(18, 30)), ("9:05", time(9, 5)), ("09.05", time(9, 5)), ("0:00", time(0))],
)
def test_times_accepted(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "format"), ("18", "format"), ("18:3", "format"), ("noon", "format"),
     ("24:00", "impossible"), ("12:60", "impossible"), ("99.99", "impossible")],
)  # fmt: skip
def test_times_refused(text: str, code: str) -> None:
    with pytest.raises(TimeError) as caught:
        parse_time(text)
    assert caught.value.code == code


@given(hour=st.integers(0, 23), minute=st.integers(0, 59), sep=st.sampled_from([":", "."]))
def test_any_clock_time_round_trips(hour: int, minute: int, sep: str) -> None:
    assert parse_time(f"{hour:02d}{sep}{minute:02d}") == time(hour, minute)
    assert parse_time(f"{hour}{sep}{minute:02d}") == time(hour, minute)


@given(text=st.text(max_size=20))
def test_any_text_is_a_time_or_a_clear_refusal(text: str) -> None:
    try:
        parse_time(text)
    except TimeError as error:
        assert error.code in {"format", "impossible"}


def test_feb_29_without_a_year_is_the_coming_leap_day() -> None:
    assert parse_date("29.02", date(2027, 3, 8)) == date(2028, 2, 29)
