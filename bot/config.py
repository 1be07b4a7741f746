"""Settings from the environment and .env (README, "Settings"), validated at start."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOCALES = ("ru", "en")


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: SecretStr
    admin_ids: Annotated[frozenset[int], NoDecode]
    data_dir: Path = Path("./data")
    timezone: str = "Europe/Moscow"
    locale: Literal["ru", "en"] = "ru"
    telegram_api_url: str = "https://api.telegram.org"
    telegram_rate: float = Field(default=25, gt=0, le=1000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # A mailing whose start passed while the bot was down still goes out within this window.
    missed_grace_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    # Connections kept open to the SMTP server during a mailing.
    smtp_pool_size: int = Field(default=3, ge=1, le=20)
    # Consecutive channel-wide failures (server down, auth lost) that pause a mailing.
    channel_failure_limit: int = Field(default=20, ge=1, le=10_000)
    # How long a start keeps trying a Bot API that answers 5xx, 429 or cannot be reached.
    startup_wait_seconds: float = Field(default=60, ge=0, le=3600)

    @field_validator("bot_token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError("is empty")
        if ":" not in token:
            raise ValueError("does not look like a bot token (expected 123456:ABC...)")
        return SecretStr(token)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> frozenset[int]:
        if isinstance(value, int):
            return frozenset({value})
        if isinstance(value, list | tuple | set | frozenset):
            items = [str(v) for v in value]
        else:
            items = [part for part in str(value).replace(";", ",").split(",")]
        items = [item.strip() for item in items if item.strip()]
        if not items:
            raise ValueError("is empty; list the admins' Telegram user ids, comma-separated")
        ids: set[int] = set()
        for item in items:
            if not item.lstrip("-").isdigit():
                raise ValueError(f"must be numbers separated by commas, got {item!r}")
            ids.add(int(item))
        return frozenset(ids)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Moscow)") from None
        return value

    @field_validator("locale", mode="before")
    @classmethod
    def _lower_locale(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "probonus.sqlite3"

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


def _describe(error: ValidationError) -> str:
    """One line naming the first bad setting, without echoing secret values."""
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    if first["type"] == "missing":
        return f"{name} is not set; add it to .env (see .env.example)"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "literal_error" and name == "LOCALE":
        message = f"must be one of: {', '.join(LOCALES)}"
    return f"{name} {message}"


def ensure_data_dir(path: Path) -> None:
    """Create DATA_DIR (only its owner may enter it) and prove it is writable."""
    try:
        if not path.exists():
            path.mkdir(mode=0o700, parents=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(f"DATA_DIR {str(path)!r} is not writable: {exc.strerror}") from None


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read and check every setting; raise ConfigError with one clear line."""
    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    ensure_data_dir(settings.data_dir)
    return settings
