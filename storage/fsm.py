"""aiogram FSM storage on the application's SQLite database.

Conversation state lives in the same database as everything else, so an admin's
half-finished dialog survives a restart of the bot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)

from storage.db import Database


class SQLiteStorage(BaseStorage):
    """State and data per chat/user key, data as JSON (never pickle)."""

    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.db.execute(
            "INSERT INTO fsm_state (storage_key, state) VALUES (?, ?) "
            "ON CONFLICT (storage_key) DO UPDATE SET state = excluded.state",
            (self._key(key), value),
        )

    async def get_state(self, key: StorageKey) -> str | None:
        value = await self.db.fetchval(
            "SELECT state FROM fsm_state WHERE storage_key = ?", (self._key(key),)
        )
        return None if value is None else str(value)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.db.execute(
            "INSERT INTO fsm_state (storage_key, data) VALUES (?, ?) "
            "ON CONFLICT (storage_key) DO UPDATE SET data = excluded.data",
            (self._key(key), json.dumps(dict(data), ensure_ascii=False)),
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        value = await self.db.fetchval(
            "SELECT data FROM fsm_state WHERE storage_key = ?", (self._key(key),)
        )
        return {} if value is None else dict(json.loads(value))

    async def close(self) -> None:
        # The database belongs to the application, which closes it.
        return None
