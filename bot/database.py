"""DATA_DIR's database, opened as the bot and the command line both need it.

Apart from bot.app, which wires the bot's routers: the CLI needs no handlers.
"""

from __future__ import annotations

import contextlib
import os

from bot.config import ConfigError, Settings, ensure_data_dir
from storage.db import Database
from storage.schema import SchemaTooNewError, migrate

# The database and its -wal/-shm files hold guests' contacts: for the owner's eyes only.
# SQLite gives the -wal and -shm files the mode of the database file.
DATABASE_MODE = 0o600


def _private_database(path: os.PathLike[str]) -> None:
    """Create the database file owner-only (or make an older one so) before SQLite opens it."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, DATABASE_MODE))
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{os.fspath(path)}{suffix}", DATABASE_MODE)


async def open_database(settings: Settings) -> Database:
    """Open DATA_DIR's database and bring its schema up to date."""
    ensure_data_dir(settings.data_dir)
    _private_database(settings.database_path)
    db = await Database(settings.database_path).open()
    try:
        await migrate(db.conn)
    except SchemaTooNewError as exc:
        await db.close()
        raise ConfigError(f"DATA_DIR: {exc}") from None
    except BaseException:
        await db.close()
        raise
    return db
