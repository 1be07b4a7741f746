"""Starting the bot as an operator does: `python -m bot` with a .env, one clear line on errors."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fakes.botapi import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_", "DATA_"))}
    for key in ("TIMEZONE", "LOCALE", "TELEGRAM_API_URL", "TELEGRAM_RATE", "LOG_LEVEL"):
        env.pop(key, None)
    env["PYTHONPATH"] = str(ROOT)
    env.update(values)
    return env


async def _run_bot(cwd: Path, env: dict[str, str], timeout: float = 30) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, (out + err).decode()


@pytest.mark.parametrize(
    ("env_file", "expected"),
    [
        ("ADMIN_IDS=1\n", "BOT_TOKEN is not set"),
        ("BOT_TOKEN=1:abc\n", "ADMIN_IDS is not set"),
        ("BOT_TOKEN=1:abc\nADMIN_IDS=1,me\n", "ADMIN_IDS must be numbers"),
        ("BOT_TOKEN=1:abc\nADMIN_IDS=\n", "ADMIN_IDS is empty"),
        ("BOT_TOKEN=1:abc\nADMIN_IDS=1\nTIMEZONE=Mars/Olympus\n", "TIMEZONE unknown time zone"),
        ("BOT_TOKEN=1:abc\nADMIN_IDS=1\nLOCALE=de\n", "LOCALE must be one of: ru, en"),
        ("BOT_TOKEN=nocolon\nADMIN_IDS=1\n", "BOT_TOKEN does not look like a bot token"),
        ("BOT_TOKEN=1:abc\nADMIN_IDS=1\nTELEGRAM_RATE=-5\n", "TELEGRAM_RATE"),
    ],
)
async def test_a_wrong_setting_ends_the_start_with_one_line_naming_it(
    tmp_path: Path, env_file: str, expected: str
) -> None:
    (tmp_path / ".env").write_text(env_file + "DATA_DIR=./data\n")
    code, output = await _run_bot(tmp_path, _env())
    assert code != 0
    assert expected in output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1
    assert "abc" not in output  # the token is never echoed


async def test_an_unwritable_data_dir_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    (tmp_path / ".env").write_text(f"BOT_TOKEN=1:abc\nADMIN_IDS=1\nDATA_DIR={blocker}/data\n")
    code, output = await _run_bot(tmp_path, _env())
    assert code != 0
    assert "DATA_DIR" in output and "not writable" in output
    assert "Traceback" not in output


async def test_a_token_telegram_rejects_ends_the_start(tmp_path: Path, api: FakeBotAPI) -> None:
    env_file = f"BOT_TOKEN=999:WRONG\nADMIN_IDS=1\nTELEGRAM_API_URL={api.base_url}\n"
    (tmp_path / ".env").write_text(env_file)
    code, output = await _run_bot(tmp_path, _env())
    assert code != 0
    assert "BOT_TOKEN was rejected by Telegram" in output
    assert "WRONG" not in output
    assert "Traceback" not in output


async def test_an_unreachable_api_server_is_tried_for_a_while_then_named(tmp_path: Path) -> None:
    env_file = (
        "BOT_TOKEN=1:abc\nADMIN_IDS=1\nTELEGRAM_API_URL=http://127.0.0.1:9\n"
        "STARTUP_WAIT_SECONDS=2\n"
    )
    (tmp_path / ".env").write_text(env_file)
    code, output = await _run_bot(tmp_path, _env())
    assert code != 0
    assert "TELEGRAM_API_URL" in output and "cannot be reached" in output
    assert "trying again" in output  # a passing fault would have been waited out
    assert "Traceback" not in output


async def test_the_bot_starts_polls_and_stops_gracefully_on_sigterm(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    env_file = f"BOT_TOKEN={api.token}\nADMIN_IDS=1001\nTELEGRAM_API_URL={api.base_url}\n"
    (tmp_path / ".env").write_text(env_file)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(300):
            if api.poll_count:
                break
            await asyncio.sleep(0.05)
        assert api.poll_count, "the bot never polled for updates"
        # Commands menus: guests' by default, admins' in the admin's chat.
        assert [c["command"] for c in api.my_commands()] == ["start", "stop"]
        admin_scope = {"type": "chat", "chat_id": 1001}
        assert "guests" in [c["command"] for c in api.my_commands(admin_scope)]
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == 0, (out + err).decode()
    assert (tmp_path / "data" / "probonus.sqlite3").exists()


async def _start_in_process(api: FakeBotAPI, tmp_path: Path, **overrides: object) -> None:
    """Build the app as `python -m bot` does, then close it again."""
    from bot.app import create_app
    from tests.conftest import make_settings

    app = await create_app(make_settings(api, tmp_path / "data", **overrides))
    await app.close()


async def test_a_502_at_getme_is_waited_out_and_the_bot_starts(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    api.fail_next("getMe", status=502)
    await _start_in_process(api, tmp_path)
    assert [c.ok for c in api.calls_of("getMe")] == [False, True]


async def test_a_server_without_setmycommands_starts_the_bot_without_menus(
    tmp_path: Path, api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("setMyCommands", status=404, description="Not Found", count=100)
    await _start_in_process(api, tmp_path)
    assert "command menus not set" in caplog.text
    assert api.my_commands() == []


async def test_data_dir_and_database_are_readable_by_their_owner_only(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    await _start_in_process(api, tmp_path)
    data = tmp_path / "data"
    assert data.stat().st_mode & 0o777 == 0o700
    for path in data.glob("probonus.sqlite3*"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_debug_logging_keeps_sql_parameters_out_of_the_log() -> None:
    import logging

    from bot.__main__ import OWN_LOGGERS, configure_logging

    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    try:
        root.handlers.clear()
        configure_logging("DEBUG")
        assert logging.getLogger("bot.delivery").getEffectiveLevel() == logging.DEBUG
        assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for name in OWN_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
