"""A mailing's numbers in guests: who was reached, on which channel, who not and why.

Deliveries are one row per guest per channel tried, so counting rows counts a
guest twice in mode "all" and counts the failed first try of a guest reached by
the fallback. Here each guest gets one state: a 4-bit code per channel (which
row it has there and how it stands), packed into one small integer. The SQL
groups a mailing's rows by guest into these states and counts guests per state
(a histogram of a few dozen entries); every number a manager sees is derived
from that histogram by `GuestCounts.of`, so the preview's plan, the progress
message, the summary and the card use one definition
(docs/architecture.md, "Delivery engine").

A finished mailing's histogram is kept in `mailing_guest_counts`; triggers drop
it whenever one of the mailing's rows changes, so a kept one is never stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from storage.db import Database
from storage.statuses import Channel, DeliveryStatus, MailingStatus


class Code(IntEnum):
    """How a guest stands on one channel (0: no row there)."""

    NONE = 0
    PENDING = 1
    SENDING = 2
    SENT = 3
    FAILED = 4
    UNREACHABLE = 5  # skipped for want of a working contact (no address, blocked, unsubscribed)
    WITHHELD = 6  # skipped for another reason: the mailing was cancelled, a frequency cap
    UNKNOWN = 7


# Bit offset of each channel's code in a guest's state.
SHIFT: dict[Channel, int] = {Channel.TELEGRAM: 0, Channel.EMAIL: 4}
# Skip reasons that mean "this channel cannot reach the guest" (storage/deliveries.py
# SKIP_REASONS writes them; tests/test_guest_counts.py keeps the two lists equal).
CONTACT_CODES = ("blocked", "unsubscribed", "no_telegram", "no_email", "bounced")
_ROW_STATUS: dict[Code, DeliveryStatus] = {
    Code.PENDING: DeliveryStatus.PENDING,
    Code.SENDING: DeliveryStatus.SENDING,
    Code.SENT: DeliveryStatus.SENT,
    Code.FAILED: DeliveryStatus.FAILED,
    Code.UNREACHABLE: DeliveryStatus.SKIPPED,
    Code.WITHHELD: DeliveryStatus.SKIPPED,
    Code.UNKNOWN: DeliveryStatus.UNKNOWN,
}
_CONTACT = ", ".join(f"'{c}'" for c in CONTACT_CODES)
# One row's code shifted into its channel's place (a guest has one row per channel at
# most, so the SUM over a guest's rows is their bitwise union).
_ROW_STATE = (
    f"(CASE status WHEN '{DeliveryStatus.PENDING}' THEN {Code.PENDING:d} "
    f"WHEN '{DeliveryStatus.SENDING}' THEN {Code.SENDING:d} "
    f"WHEN '{DeliveryStatus.SENT}' THEN {Code.SENT:d} "
    f"WHEN '{DeliveryStatus.FAILED}' THEN {Code.FAILED:d} "
    f"WHEN '{DeliveryStatus.UNKNOWN}' THEN {Code.UNKNOWN:d} "
    f"WHEN '{DeliveryStatus.SKIPPED}' THEN CASE WHEN error_code IS NULL "
    f"OR error_code IN ({_CONTACT}) THEN {Code.UNREACHABLE:d} ELSE {Code.WITHHELD:d} END "
    "ELSE 0 END) << (CASE channel "
    + " ".join(f"WHEN '{c}' THEN {s}" for c, s in SHIFT.items())
    + " ELSE 0 END)"
)
GUEST_STATES = (
    f"SELECT guest_id, SUM({_ROW_STATE}) FROM deliveries WHERE mailing_id = ? GROUP BY guest_id"
)
_HISTOGRAM = (
    "SELECT state, COUNT(*) FROM (SELECT SUM("
    + _ROW_STATE
    + ") AS state FROM deliveries WHERE mailing_id = ? GROUP BY guest_id) GROUP BY state"
)
_SAVE = (
    "INSERT OR REPLACE INTO mailing_guest_counts (mailing_id, histogram, counted_at) "
    "SELECT ?, json_group_object(CAST(state AS TEXT), guests), ? FROM ("
    + _HISTOGRAM.replace("COUNT(*)", "COUNT(*) AS guests", 1)
    + ")"
)


def code_of(status: str, error_code: str | None = None) -> Code:
    """A row's code from its status and, for a skipped row, why it was skipped."""
    if status == DeliveryStatus.SKIPPED:
        return Code.UNREACHABLE if error_code in (None, *CONTACT_CODES) else Code.WITHHELD
    return {
        DeliveryStatus.PENDING: Code.PENDING,
        DeliveryStatus.SENDING: Code.SENDING,
        DeliveryStatus.SENT: Code.SENT,
        DeliveryStatus.FAILED: Code.FAILED,
        DeliveryStatus.UNKNOWN: Code.UNKNOWN,
    }[DeliveryStatus(status)]


def codes(state: int) -> dict[Channel, Code]:
    """A guest's state unpacked: the code of each channel it has a row on."""
    found = {c: Code((state >> s) & 15) for c, s in SHIFT.items()}
    return {c: code for c, code in found.items() if code}


class Bucket(IntEnum):
    """Where a guest stands in the mailing as a whole; each guest is in exactly one."""

    REACHED = 1  # some channel delivered
    PENDING = 2  # nothing delivered yet, some row still to send (or being sent)
    UNKNOWN = 3  # nothing known delivered, some send interrupted (it may have arrived)
    FAILED = 4  # nothing delivered, some channel failed
    WITHHELD = 5  # every row skipped, some for a cancellation or a cap
    UNREACHABLE = 6  # every row skipped: no chosen channel could reach the guest


def bucket(state: int) -> Bucket:
    """The guest's bucket: the first that applies in the order of Bucket."""
    found = set(codes(state).values())
    if Code.SENT in found:
        return Bucket.REACHED
    if found & {Code.PENDING, Code.SENDING}:
        return Bucket.PENDING
    if Code.UNKNOWN in found:
        return Bucket.UNKNOWN
    if Code.FAILED in found:
        return Bucket.FAILED
    if Code.WITHHELD in found:
        return Bucket.WITHHELD
    return Bucket.UNREACHABLE


@dataclass(frozen=True)
class ChannelGuests:
    """One channel's guests: delivered to, failed (and not reached by another channel),
    and planned (tried or to be tried: every row there not skipped)."""

    reached: int = 0
    failed: int = 0
    planned: int = 0


@dataclass(frozen=True)
class GuestCounts:
    """A mailing's guests by bucket (they sum to `recipients`) and by channel."""

    recipients: int = 0
    reached: int = 0
    pending: int = 0
    unknown: int = 0
    failed: int = 0
    withheld: int = 0
    unreachable: int = 0
    channels: dict[Channel, ChannelGuests] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """Guests with every row skipped (unreachable or withheld)."""
        return self.unreachable + self.withheld

    def channel(self, channel: Channel) -> ChannelGuests:
        """One channel's numbers (zeros when the mailing has no rows there)."""
        return self.channels.get(channel, ChannelGuests())

    @classmethod
    def of(cls, histogram: Mapping[int, int]) -> GuestCounts:
        """The numbers of a histogram {guest state: guests}."""
        buckets = dict.fromkeys(Bucket, 0)
        per: dict[Channel, list[int]] = {}
        for state, guests in histogram.items():
            if not guests:
                continue
            where = bucket(state)
            buckets[where] += guests
            for channel, code in codes(state).items():
                numbers = per.setdefault(channel, [0, 0, 0])
                numbers[0] += guests if code == Code.SENT else 0
                numbers[1] += guests if code == Code.FAILED and where != Bucket.REACHED else 0
                numbers[2] += 0 if code in (Code.UNREACHABLE, Code.WITHHELD) else guests
        return cls(
            recipients=sum(buckets.values()),
            reached=buckets[Bucket.REACHED],
            pending=buckets[Bucket.PENDING],
            unknown=buckets[Bucket.UNKNOWN],
            failed=buckets[Bucket.FAILED],
            withheld=buckets[Bucket.WITHHELD],
            unreachable=buckets[Bucket.UNREACHABLE],
            channels={c: ChannelGuests(*per[c]) for c in Channel if c in per},
        )


def rows_of(histogram: Mapping[int, int]) -> dict[str, dict[str, int]]:
    """Delivery rows by channel and status, from a histogram (one row per channel code)."""
    found: dict[str, dict[str, int]] = {}
    for state, guests in histogram.items():
        for channel, code in codes(state).items():
            per = found.setdefault(channel, {})
            status = _ROW_STATUS[code]
            per[status] = per.get(status, 0) + guests
    return found


class GuestTally:
    """The running engine's guest states, kept up to date as rows finish.

    A GROUP BY over a big mailing's rows takes about half a second per million rows,
    too slow for every progress edit; so the run reads every guest's state once per
    round (a byte per guest id) and sets a channel's code as each finished row is
    written. Setting (not adding) makes a repeated update harmless.
    """

    def __init__(self, states: Iterable[tuple[int, int]] = ()) -> None:
        """Start from (guest id, state) pairs, as GUEST_STATES reads them."""
        pairs = list(states)
        self._states = bytearray(max((g for g, _ in pairs), default=0) + 1)
        self.histogram: dict[int, int] = {}
        for guest_id, state in pairs:
            self._states[guest_id] = state
            self.histogram[state] = self.histogram.get(state, 0) + 1
        self._counts: GuestCounts | None = None

    def set(
        self, guest_id: int, channel: Channel, status: str, error_code: str | None = None
    ) -> None:
        """The guest's row on `channel` now stands at `status` (written already)."""
        if guest_id >= len(self._states):
            self._states.extend(bytes(guest_id + 1 - len(self._states)))
        old = self._states[guest_id]
        shift = SHIFT[channel]
        new = (old & ~(15 << shift)) | (code_of(status, error_code) << shift)
        if new == old:
            return
        self._states[guest_id] = new
        if old:
            self.histogram[old] -= 1
        self.histogram[new] = self.histogram.get(new, 0) + 1
        self._counts = None

    def counts(self) -> GuestCounts:
        """The numbers now (derived once per change)."""
        if self._counts is None:
            self._counts = GuestCounts.of(self.histogram)
        return self._counts


class GuestCountRepository:
    """A mailing's guest numbers: counted from its rows, or its kept snapshot."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def histogram(self, mailing_id: int) -> dict[int, int]:
        """Guests per state, counted from the mailing's rows now."""
        rows = await self.db.fetchall(_HISTOGRAM, (mailing_id,))
        return {int(state): int(guests) for state, guests in rows if state is not None}

    async def count(self, mailing_id: int) -> GuestCounts:
        """The mailing's numbers, counted from its rows now."""
        return GuestCounts.of(await self.histogram(mailing_id))

    async def tally(self, mailing_id: int) -> GuestTally:
        """Every guest's state, for a run to keep up to date."""
        rows = await self.db.fetchall(GUEST_STATES, (mailing_id,))
        return GuestTally((int(r[0]), int(r[1])) for r in rows)

    async def save(self, mailing_id: int, now: str) -> None:
        """Count the mailing's rows and keep the result, in one statement (so no row can
        change between the count and the keeping; a later change drops it)."""
        await self.db.execute(_SAVE, (mailing_id, now, mailing_id))

    async def many(self, mailing_ids: Sequence[int], now: str) -> dict[int, GuestCounts]:
        """Numbers of several mailings: kept ones as kept, running ones counted now, and
        others counted now and kept (finished before snapshots existed, or changed)."""
        if not mailing_ids:
            return {}
        marks = ", ".join("?" * len(mailing_ids))
        rows = await self.db.fetchall(
            f"SELECT mailings.id, mailings.status, kept.histogram FROM mailings "
            f"LEFT JOIN mailing_guest_counts AS kept ON kept.mailing_id = mailings.id "
            f"WHERE mailings.id IN ({marks})",
            list(mailing_ids),
        )
        found: dict[int, GuestCounts] = {}
        for mailing_id, status, kept in rows:
            if kept is not None and status != MailingStatus.RUNNING:
                histogram = {int(k): int(v) for k, v in json.loads(kept).items()}
                found[mailing_id] = GuestCounts.of(histogram)
            elif status in (MailingStatus.SCHEDULED, MailingStatus.RUNNING):
                # Nothing to keep yet (no rows), or changing every moment.
                found[mailing_id] = await self.count(mailing_id)
            else:
                await self.save(mailing_id, now)
                found[mailing_id] = await self._kept(mailing_id)
        return found

    async def _kept(self, mailing_id: int) -> GuestCounts:
        """The kept numbers (counted now if a row changed since)."""
        kept = await self.db.fetchval(
            "SELECT histogram FROM mailing_guest_counts WHERE mailing_id = ?", (mailing_id,)
        )
        if kept is None:
            return await self.count(mailing_id)
        return GuestCounts.of({int(k): int(v) for k, v in json.loads(kept).items()})
