"""Mailing limits in the database: quiet hours and the global frequency cap (one row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum

from storage.db import Database
from storage.statuses import MailingStatus


class CapScope(StrEnum):
    """Which mailings the global frequency cap holds back."""

    PROMOTIONS = "promotions"  # promotions only: a one-off notice always gets through
    ALL = "all"  # every mailing, one-off ones too


class MailingKind(StrEnum):
    """A mailing's kind as mailings.kind stores it."""

    ONE_OFF = "one_off"
    PROMOTION = "promotion"


@dataclass(frozen=True)
class Limits:
    """Quiet hours (local times in TIMEZONE, None when off) and the global cap."""

    quiet_from: time | None = None
    quiet_until: time | None = None
    cap_days: int | None = None
    cap_scope: CapScope = CapScope.PROMOTIONS

    @property
    def quiet(self) -> tuple[time, time] | None:
        """The quiet window (from, until), or None when quiet hours are off."""
        if self.quiet_from is None or self.quiet_until is None:
            return None
        return self.quiet_from, self.quiet_until

    def cap_for(self, kind: str, own_days: int | None) -> int | None:
        """The cap a mailing of `kind` applies, in days: the stricter (longer) of its own
        (a promotion's) and the global one when the scope covers the kind; None: no cap."""
        days = [d for d in (own_days,) if d]
        if self.cap_days and (self.cap_scope is CapScope.ALL or kind == MailingKind.PROMOTION):
            days.append(self.cap_days)
        return max(days) if days else None


def _clock(value: str | None) -> time | None:
    """An "HH:MM" column as a time."""
    return None if value is None else time.fromisoformat(value)


class LimitsRepository:
    """SQL of mailing_limits."""

    def __init__(self, db: Database) -> None:
        """Use the application's database (or the engine's connection)."""
        self.db = db

    async def get(self) -> Limits:
        """The limits in force (all off when never set)."""
        row = await self.db.fetchone(
            "SELECT quiet_from, quiet_until, cap_days, cap_scope FROM mailing_limits WHERE id = 1"
        )
        if row is None:
            return Limits()
        return Limits(
            _clock(row["quiet_from"]),
            _clock(row["quiet_until"]),
            row["cap_days"],
            CapScope(row["cap_scope"]),
        )

    async def set_quiet(self, window: tuple[time, time] | None, user_id: int | None) -> None:
        """Set quiet hours (from, until), or turn them off with None."""
        start, end = (
            (None, None) if window is None else (f"{window[0]:%H:%M}", f"{window[1]:%H:%M}")
        )
        await self.db.execute(
            "UPDATE mailing_limits SET quiet_from = ?, quiet_until = ?, updated_at = ?, "
            "updated_by = ? WHERE id = 1",
            (start, end, datetime.now(UTC).isoformat(), user_id),
        )

    async def set_cap(self, days: int | None, scope: CapScope, user_id: int | None) -> None:
        """Set the global frequency cap (None: off) and which mailings it holds back."""
        await self.db.execute(
            "UPDATE mailing_limits SET cap_days = ?, cap_scope = ?, updated_at = ?, "
            "updated_by = ? WHERE id = 1",
            (days, scope, datetime.now(UTC).isoformat(), user_id),
        )

    # ------------------------------------------------------------------ the engine's side
    async def cap_of(self, mailing_id: int) -> tuple[str, int | None]:
        """The mailing's kind and its own frequency cap in days (a promotion's)."""
        row = await self.db.fetchone(
            "SELECT kind, cap_days FROM mailings WHERE id = ?", (mailing_id,)
        )
        if row is None:
            raise LookupError(f"mailing {mailing_id} does not exist")
        return str(row["kind"]), row["cap_days"]

    async def set_quiet_until(self, mailing_id: int, until: datetime | None) -> None:
        """Record that the mailing's run paused for quiet hours until `until` (None: not)."""
        await self.db.execute(
            "UPDATE mailing_runs SET quiet_until = ?, updated_at = ? WHERE mailing_id = ?",
            (
                None if until is None else until.astimezone(UTC).isoformat(),
                datetime.now(UTC).isoformat(),
                mailing_id,
            ),
        )

    async def quiet_paused(self) -> list[tuple[int, datetime]]:
        """Paused mailings waiting for quiet hours to end, with the moment they continue."""
        rows = await self.db.fetchall(
            "SELECT mailing_runs.mailing_id, mailing_runs.quiet_until FROM mailing_runs "
            "JOIN mailings ON mailings.id = mailing_runs.mailing_id "
            "WHERE mailings.status = ? AND mailing_runs.quiet_until IS NOT NULL",
            (MailingStatus.PAUSED,),
        )
        return [(int(r[0]), datetime.fromisoformat(r[1])) for r in rows]
