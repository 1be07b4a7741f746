"""A mailing's numbers in guests: one bucket per guest, the same from SQL, from the run's
tally and from a kept snapshot, and a kept snapshot never outlives a change of a row."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import Database
from storage.deliveries import SKIP_REASONS, DeliveryRepository
from storage.guest_counts import (
    CONTACT_CODES,
    ChannelGuests,
    GuestCountRepository,
    GuestCounts,
    GuestTally,
)
from storage.schema import migrate
from storage.statuses import Channel

# (status, error_code) a row can stand at.
ROWS = [
    ("pending", None), ("sending", None), ("sent", None), ("failed", "http_500"),
    ("skipped", "no_email"), ("skipped", "blocked"), ("skipped", "cancelled"),
    ("unknown", "interrupted"),
]  # fmt: skip
GUEST = st.tuples(st.sampled_from([None, *ROWS]), st.sampled_from([None, *ROWS])).filter(
    lambda g: g != (None, None)
)


def expected(guests: list[tuple[tuple[str, str | None] | None, ...]]) -> GuestCounts:
    """The numbers by the definitions, guest by guest."""
    buckets = {k: 0 for k in ("reached", "pending", "unknown", "failed", "withheld", "unreach")}
    per: dict[Channel, list[int]] = {}
    for rows in guests:
        statuses = [r[0] for r in rows if r]
        if "sent" in statuses:
            where = "reached"
        elif {"pending", "sending"} & set(statuses):
            where = "pending"
        elif "unknown" in statuses:
            where = "unknown"
        elif "failed" in statuses:
            where = "failed"
        elif any(r and r[1] not in CONTACT_CODES for r in rows):
            where = "withheld"
        else:
            where = "unreach"
        buckets[where] += 1
        for channel, row in zip((Channel.TELEGRAM, Channel.EMAIL), rows, strict=True):
            if row is None:
                continue
            numbers = per.setdefault(channel, [0, 0, 0])
            numbers[0] += row[0] == "sent"
            numbers[1] += row[0] == "failed" and where != "reached"
            numbers[2] += row[0] != "skipped"
    return GuestCounts(
        recipients=len(guests),
        reached=buckets["reached"],
        pending=buckets["pending"],
        unknown=buckets["unknown"],
        failed=buckets["failed"],
        withheld=buckets["withheld"],
        unreachable=buckets["unreach"],
        channels={c: ChannelGuests(*per[c]) for c in Channel if c in per},
    )


async def world(
    path: Path, guests: Sequence[tuple[tuple[str, str | None] | None, ...]]
) -> Database:
    """A database with one mailing whose rows are `guests` (telegram row, email row)."""
    db = await Database(path).open()
    await migrate(db.conn)
    now = datetime.now(UTC).isoformat()
    await db.executemany(
        "INSERT INTO guests (id, phone, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [(i + 1, f"+7900{i:07d}", now, now) for i in range(len(guests))],
    )
    await db.execute(
        "INSERT INTO mailings (id, name, segment_id, scheduled_at, channels, status, created_by, "
        "created_at, updated_at) VALUES (1, 'm', 1, ?, 'telegram,email', 'completed', 1, ?, ?)",
        (now, now, now),
    )
    rows = [
        (i + 1, channel, row[0], row[1])
        for i, g in enumerate(guests)
        for channel, row in zip(("telegram", "email"), g, strict=True)
        if row is not None
    ]
    await db.executemany(
        "INSERT INTO deliveries (mailing_id, guest_id, channel, status, error_code) "
        "VALUES (1, ?, ?, ?, ?)",
        rows,
    )
    return db


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(GUEST, min_size=0, max_size=30))
async def test_sql_tally_and_snapshot_agree_with_the_definitions(
    guests: list[tuple[tuple[str, str | None] | None, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await world(Path(tmp) / "db.sqlite", guests)
        try:
            want = expected(guests)
            repo = GuestCountRepository(db)
            assert await repo.count(1) == want
            assert (await repo.tally(1)).counts() == want
            assert (await repo.many([1], "now"))[1] == want  # counted and kept
            assert (await repo.many([1], "now"))[1] == want  # read back as kept
            counts = want.reached + want.pending + want.unknown + want.failed + want.skipped
            assert counts == want.recipients == len(guests)
            rows = await DeliveryRepository(db).counts(1)
            assert (await DeliveryRepository(db).run_counts(1)).by_channel == rows.by_channel
        finally:
            await db.close()


async def test_the_tally_follows_finished_rows_like_a_recount(tmp_path: Path) -> None:
    guests = [(("pending", None), ("pending", None)), (("failed", "x"), ("pending", None))]
    db = await world(tmp_path / "db.sqlite", guests)
    try:
        tally = await GuestCountRepository(db).tally(1)
        tally.set(1, Channel.TELEGRAM, "sent")
        tally.set(1, Channel.TELEGRAM, "sent")  # told twice: no matter
        tally.set(2, Channel.EMAIL, "skipped", "cancelled")
        await db.execute(
            "UPDATE deliveries SET status = 'sent' WHERE guest_id = 1 AND channel = 'telegram'"
        )
        await db.execute(
            "UPDATE deliveries SET status = 'skipped', error_code = 'cancelled' "
            "WHERE guest_id = 2 AND channel = 'email'"
        )
        assert tally.counts() == await GuestCountRepository(db).count(1)
        assert tally.counts().reached == 1 and tally.counts().failed == 1
        assert GuestTally().counts() == GuestCounts()
    finally:
        await db.close()


async def test_a_kept_snapshot_is_dropped_when_a_row_changes(tmp_path: Path) -> None:
    db = await world(tmp_path / "db.sqlite", [(("unknown", "interrupted"), None)])
    try:
        repo = GuestCountRepository(db)
        assert (await repo.many([1], "now"))[1].unknown == 1
        assert await db.fetchval("SELECT COUNT(*) FROM mailing_guest_counts") == 1
        assert await DeliveryRepository(db).resend_unknown(1) == 1
        assert await db.fetchval("SELECT COUNT(*) FROM mailing_guest_counts") == 0
        assert (await repo.many([1], "now"))[1].pending == 1
    finally:
        await db.close()


def test_every_skip_for_want_of_a_contact_counts_as_unreachable() -> None:
    written = {code for reasons in SKIP_REASONS.values() for _, code, _ in reasons}
    assert written == set(CONTACT_CODES)
