"""Quiet hours arithmetic and the typed values of the limits dialog, as properties."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.quiet_hours import QuietHours, parse_cap, parse_window
from storage.limits import CapScope, Limits

ZONES = [ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
# Whole minutes, so a window never starts inside an hour the clocks skip or repeat
# ambiguously by accident of seconds.
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def windows(draw: st.DrawFn) -> QuietHours:
    start, end = draw(clocks), draw(clocks)
    if start == end:
        end = time((start.hour + 1) % 24, start.minute)
    return QuietHours(start, end, draw(st.sampled_from(ZONES)))


def local(moment: datetime, quiet: QuietHours) -> time:
    return moment.astimezone(quiet.tz).time().replace(tzinfo=None)


@given(windows(), moments)
def test_a_moment_is_inside_exactly_when_its_wall_clock_is_in_the_window(
    quiet: QuietHours, moment: datetime
) -> None:
    clock = local(moment, quiet)
    if quiet.start < quiet.end:
        expected = quiet.start <= clock < quiet.end
    else:  # across midnight: the evening part or the morning part
        expected = not (quiet.end <= clock < quiet.start)
    assert quiet.contains(moment) == expected


@given(windows(), moments)
def test_quiet_hours_end_after_the_moment_within_a_day_at_their_end_time(
    quiet: QuietHours, moment: datetime
) -> None:
    end = quiet.end_after(moment)
    assert moment < end <= moment + timedelta(hours=25)  # a DST day is 25 hours long
    shown = local(end, quiet)
    # The end's wall clock; a skipped end (spring forward) is the moment it really is.
    assert (
        shown == quiet.end
        or end.astimezone(quiet.tz).dst() != (end - timedelta(hours=2)).astimezone(quiet.tz).dst()
    )


@given(windows(), moments)
def test_a_run_inside_quiet_hours_stays_quiet_until_their_end(
    quiet: QuietHours, moment: datetime
) -> None:
    if not quiet.contains(moment):
        return
    end = quiet.end_after(moment)
    # Every minute between now and the end is quiet; the end itself is not.
    step = max((end - moment) / 20, timedelta(minutes=1))
    at = moment
    while at < end - timedelta(minutes=1):
        assert quiet.contains(at), (at, end)
        at += step
    if local(end, quiet) == quiet.end:
        assert not quiet.contains(end)


@given(windows(), moments)
def test_the_next_start_is_ahead_and_nothing_between_is_quiet(
    quiet: QuietHours, moment: datetime
) -> None:
    if quiet.contains(moment):
        return
    start = quiet.next_start(moment)
    assert moment < start <= moment + timedelta(hours=25)
    step = max((start - moment) / 20, timedelta(minutes=1))
    at = moment
    while at < start - timedelta(minutes=1):
        assert not quiet.contains(at), (at, start)
        at += step


def test_the_night_window_across_midnight_in_moscow() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    quiet = QuietHours(time(22), time(9), moscow)
    late = datetime(2025, 3, 10, 23, 30, tzinfo=moscow)
    assert quiet.contains(late)
    assert quiet.end_after(late) == datetime(2025, 3, 11, 9, 0, tzinfo=moscow)
    noon = datetime(2025, 3, 10, 12, 0, tzinfo=moscow)
    assert not quiet.contains(noon)
    assert quiet.next_start(noon) == datetime(2025, 3, 10, 22, 0, tzinfo=moscow)


def test_a_window_ending_in_the_hour_berlin_skips_ends_when_the_clock_jumps() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 2025-03-30: 02:00 -> 03:00
    quiet = QuietHours(time(22), time(2, 30), berlin)
    night = datetime(2025, 3, 30, 1, 0, tzinfo=berlin)
    end = quiet.end_after(night)
    assert end > night and not quiet.contains(end)
    assert end.astimezone(berlin).time() == time(3, 30)


@given(clocks, clocks)
def test_a_typed_window_reads_back_as_typed(start: time, end: time) -> None:
    text = f"{start:%H:%M}-{end:%H:%M}"
    if start == end:
        with pytest.raises(ValueError, match="empty"):
            parse_window(text)
    else:
        assert parse_window(text) == (start, end)
        assert parse_window(f" {start:%H.%M} – {end:%H:%M} ") == (start, end)


@given(st.text(max_size=20))
def test_any_other_text_is_refused_or_off(text: str) -> None:
    try:
        window = parse_window(text)
    except ValueError as error:
        assert str(error) in {"format", "range", "empty"}
    else:
        assert window is None or window[0] != window[1]


@pytest.mark.parametrize("text", ["24:00-09:00", "22:60-09:00", "22-09", "ночью", ""])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text)


@given(st.integers(-5, 400))
def test_a_cap_is_a_whole_number_of_days_within_a_year(days: int) -> None:
    if 1 <= days <= 365:
        assert parse_cap(str(days)) == days
    elif days == 0:  # "0" days reads as no cap
        assert parse_cap("0") is None
    else:
        with pytest.raises(ValueError):
            parse_cap(str(days))
    assert parse_cap("off") is None


@given(st.sampled_from(["one_off", "promotion"]), st.none() | st.integers(1, 30),
       st.none() | st.integers(1, 30), st.sampled_from(list(CapScope)))  # fmt: skip
def test_the_stricter_cap_applies_and_one_offs_only_with_scope_all(
    kind: str, own: int | None, global_days: int | None, scope: CapScope
) -> None:
    cap = Limits(cap_days=global_days, cap_scope=scope).cap_for(kind, own)
    covered = global_days if (scope is CapScope.ALL or kind == "promotion") else None
    expected = [d for d in (own, covered) if d]
    assert cap == (max(expected) if expected else None)
