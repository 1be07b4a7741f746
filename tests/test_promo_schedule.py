"""A promotion's schedule: the next occurrence in TIMEZONE, month ends, leap years, DST."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.promotions.schedule import (
    Schedule,
    ScheduleError,
    ScheduleKind,
    local_moment,
    next_after,
    occurrences_between,
)

BERLIN = ZoneInfo("Europe/Berlin")  # moves its clocks
MOSCOW = ZoneInfo("Europe/Moscow")  # does not (since 2014)
ZONES = st.sampled_from([BERLIN, MOSCOW])
START = date(2020, 1, 1)

times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
schedules = st.one_of(
    st.builds(Schedule, st.just(ScheduleKind.DAILY), times),
    st.builds(
        lambda at, days: Schedule(ScheduleKind.WEEKLY, at, tuple(sorted(days))),
        times,
        st.sets(st.integers(0, 6), min_size=1),
    ),
    st.builds(lambda at, d: Schedule(ScheduleKind.MONTHLY, at, day=d), times, st.integers(1, 31)),
    st.builds(
        lambda at, n: Schedule(ScheduleKind.EVERY_N_DAYS, at, every=n), times, st.integers(1, 40)
    ),
)


def exists(day: date, at: time, tz: ZoneInfo) -> bool:
    """Whether the wall time `at` happens on `day` (not skipped by the clocks)."""
    local = datetime.combine(day, at, tzinfo=tz)
    return local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None)


@settings(max_examples=300, deadline=None)
@given(schedules, moments, ZONES)
def test_the_next_occurrence_is_after_the_moment_on_a_day_of_the_schedule(
    schedule: Schedule, after: datetime, tz: ZoneInfo
) -> None:
    found = next_after(schedule, after, tz, START)
    assert found is not None and found > after
    local = found.astimezone(tz)
    if exists(local.date(), schedule.at, tz):
        assert local.time() == schedule.at
        assert schedule.runs_on(local.date(), START)
    else:  # skipped by the clocks: the first moment after the gap, on that very day
        assert local.time() > schedule.at
        assert schedule.runs_on(local.date(), START)
        assert found - timedelta(seconds=1) < local_moment(local.date(), schedule.at, tz)


@settings(max_examples=200, deadline=None)
@given(schedules, moments, ZONES)
def test_no_occurrence_is_jumped_over(schedule: Schedule, after: datetime, tz: ZoneInfo) -> None:
    found = next_after(schedule, after, tz, START)
    assert found is not None
    day = after.astimezone(tz).date() - timedelta(days=1)
    while day < found.astimezone(tz).date():
        if schedule.runs_on(day, START):
            assert local_moment(day, schedule.at, tz) <= after
        day += timedelta(days=1)
    # Asking again just before it gives it again: nothing between.
    assert next_after(schedule, found - timedelta(seconds=1), tz, START) == found


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 31), times, st.integers(2020, 2034), ZONES)
def test_monthly_runs_once_a_month_on_its_day_or_the_last_day(
    day: int, at: time, year: int, tz: ZoneInfo
) -> None:
    schedule = Schedule(ScheduleKind.MONTHLY, at, day=day)
    start = datetime(year, 1, 1, tzinfo=tz) - timedelta(seconds=1)
    end = datetime(year + 1, 1, 1, tzinfo=tz) - timedelta(seconds=1)
    found = occurrences_between(schedule, start, end, tz, START)
    assert [m.astimezone(tz).month for m in found] == list(range(1, 13))
    for moment in found:
        local = moment.astimezone(tz)
        assert local.day == min(day, calendar.monthrange(local.year, local.month)[1])


def test_the_31st_in_a_leap_february_is_the_29th_and_in_a_common_one_the_28th() -> None:
    schedule = Schedule(ScheduleKind.MONTHLY, time(10, 0), day=31)
    for year, last in ((2024, 29), (2025, 28), (2100, 28), (2000, 29)):
        after = datetime(year, 2, 1, tzinfo=UTC)
        found = next_after(schedule, after, MOSCOW, date(1999, 1, 1))
        assert found is not None
        assert found.astimezone(MOSCOW).date() == date(year, 2, last)


@settings(max_examples=100, deadline=None)
@given(times, moments)
def test_without_dst_a_daily_promotion_runs_every_24_hours(at: time, after: datetime) -> None:
    schedule = Schedule(ScheduleKind.DAILY, at)
    found = occurrences_between(schedule, after, after + timedelta(days=30), MOSCOW, START)
    assert len(found) == 30
    assert all(b - a == timedelta(hours=24) for a, b in itertools.pairwise(found))


def test_a_time_the_clocks_skip_runs_at_the_first_moment_after() -> None:
    # 31 March 2024, Berlin: 02:00 CET -> 03:00 CEST; 02:30 does not happen.
    schedule = Schedule(ScheduleKind.DAILY, time(2, 30))
    found = next_after(schedule, datetime(2024, 3, 30, 12, tzinfo=UTC), BERLIN, START)
    assert found == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    assert found.astimezone(BERLIN).strftime("%d.%m %H:%M") == "31.03 03:00"
    following = next_after(schedule, found, BERLIN, START)
    assert following is not None and following.astimezone(BERLIN).strftime("%H:%M") == "02:30"


def test_a_time_that_repeats_runs_once_at_its_first_passage() -> None:
    # 27 October 2024, Berlin: 03:00 CEST -> 02:00 CET; 02:30 happens twice.
    schedule = Schedule(ScheduleKind.DAILY, time(2, 30))
    day_start = datetime(2024, 10, 27, tzinfo=BERLIN)
    found = occurrences_between(schedule, day_start, day_start + timedelta(hours=23), BERLIN, START)
    assert found == [datetime(2024, 10, 27, 0, 30, tzinfo=UTC)]  # 02:30 CEST, not 02:30 CET


@settings(max_examples=100, deadline=None)
@given(schedules, ZONES)
def test_nothing_before_the_start_or_after_the_end(schedule: Schedule, tz: ZoneInfo) -> None:
    starts, ends = date(2025, 3, 10), date(2025, 4, 20)
    found = occurrences_between(
        schedule,
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        tz,
        starts,
        ends,
    )
    assert all(starts <= m.astimezone(tz).date() <= ends for m in found)


def test_every_n_days_counts_from_the_start_date() -> None:
    schedule = Schedule(ScheduleKind.EVERY_N_DAYS, time(9, 0), every=3)
    found = occurrences_between(
        schedule, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 12, tzinfo=UTC), MOSCOW,
        date(2025, 1, 2),
    )  # fmt: skip
    assert [m.astimezone(MOSCOW).day for m in found] == [2, 5, 8, 11]


@given(schedules)
def test_the_json_round_trip_keeps_the_schedule(schedule: Schedule) -> None:
    assert Schedule.loads(schedule.dumps()) == schedule


@pytest.mark.parametrize(
    "raw",
    [
        {"kind": "hourly", "at": "10:00"},
        {"kind": "daily", "at": "25:00"},
        {"kind": "daily", "at": "1000"},
        {"kind": "weekly", "at": "10:00", "weekdays": []},
        {"kind": "weekly", "at": "10:00", "weekdays": [7]},
        {"kind": "weekly", "at": "10:00", "weekdays": [2, 1]},
        {"kind": "monthly", "at": "10:00", "day": 32},
        {"kind": "monthly", "at": "10:00", "day": True},
        {"kind": "every_n_days", "at": "10:00", "every": 0},
        {"kind": "daily", "at": "10:00", "day": 3},
        {"kind": "daily", "at": "10:00", "colour": "red"},
        ["daily"],
    ],
)
def test_a_broken_schedule_is_refused(raw: object) -> None:
    with pytest.raises(ScheduleError):
        Schedule.from_json(raw)
