"""The database file: migrations applied once, a newer schema refused, state kept on disk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.database import open_database
from storage.db import Database
from storage.schema import available_migrations, current_version, migrate
from storage.segments import Condition, SegmentRepository
from tests.conftest import ADMIN, RunningBot, make_settings
from tests.fakes.botapi import FakeBotAPI


async def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    db = await Database(tmp_path / "db.sqlite3").open()
    try:
        applied = await migrate(db.conn)
        assert applied == [m.version for m in available_migrations()]
        assert await migrate(db.conn) == []
        versions = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in versions] == applied
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
    finally:
        await db.close()


async def test_a_database_newer_than_the_code_refuses_to_start(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    settings = make_settings(api, tmp_path / "data")
    db = await open_database(settings)
    await db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')"
    )
    await db.close()
    with pytest.raises(ConfigError, match="newer than this code"):
        await open_database(settings)


async def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    db = await Database(tmp_path / "db.sqlite3").open()
    try:
        await migrate(db.conn)
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO audit_log (at, user_id, action) VALUES ('now', 1, 'x')"
                )
                raise RuntimeError("boom")
        assert await db.fetchval("SELECT COUNT(*) FROM audit_log") == 0
    finally:
        await db.close()


async def test_a_dialog_survives_a_restart_of_the_bot(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Search")
    await bot.restart()
    reply = await bot.say(ADMIN, "nobody-like-this")
    # Still in the search step: the text was taken as a search query.
    assert "Nobody found" in (reply.plain_text or "")


async def test_an_upgraded_base_keeps_who_got_a_mailing_recently(tmp_path: Path) -> None:
    """A base from before guests kept their last message (0014): the sent rows already in it
    count for "got a mailing within N days" after the upgrade."""
    db = await Database(tmp_path / "db.sqlite3").open()
    try:
        await current_version(db.conn)  # the migrations table
        for migration in available_migrations():
            if migration.version >= 14:
                break
            await db.conn.executescript(
                f"BEGIN;\n{migration.sql}\n;INSERT INTO schema_migrations (version, name, "
                f"applied_at) VALUES ({migration.version}, '{migration.name}', 'x');\nCOMMIT;"
            )
        await db.execute(
            "INSERT INTO guests (phone, search_text, created_at, updated_at) VALUES "
            "('+79160000001', '', 'x', 'x'), ('+79160000002', '', 'x', 'x')"
        )
        await db.execute(
            "INSERT INTO mailings (name, segment_id, scheduled_at, channels, created_by, "
            "created_at, updated_at) VALUES ('m', 1, '2026-03-01', 'telegram', 1, 'x', 'x')"
        )
        await db.execute(
            "INSERT INTO deliveries (mailing_id, guest_id, channel, status, sent_at) VALUES "
            "(1, 1, 'telegram', 'sent', '2026-03-08T10:00:00.000+00:00'), "
            "(1, 2, 'telegram', 'failed', NULL)"
        )
        assert 14 in await migrate(db.conn)
        repo = SegmentRepository(db)
        recent = await repo.create("recent", [Condition("mailed", "within_days", 7)])
        assert await repo.count(recent, today=date(2026, 3, 10)) == 1
        quiet = await repo.create("quiet", [Condition("mailed", "not_within_days", 7)])
        assert await repo.count(quiet, today=date(2026, 3, 10)) == 1
    finally:
        await db.close()
