"""Interface language: gettext catalogs (ru default, en) and each admin's own choice."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.catalogs import DOMAIN, LOCALES_DIR, compile_catalogs
from bot.config import LOCALES


def create_i18n(default_locale: str) -> I18n:
    """The I18n object for the whole process; compiles catalogs that are stale."""
    compile_catalogs(only_stale=True)
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


class LocaleMiddleware(I18nMiddleware):
    """Admins see the language they picked; everyone else sees LOCALE.

    The choices are kept in the database (admin_prefs) and mirrored here, so
    finding an update's language costs no query.
    """

    def __init__(self, i18n: I18n, admin_ids: frozenset[int], choices: dict[int, str]) -> None:
        super().__init__(i18n)
        self.admin_ids = admin_ids
        self.choices = dict(choices)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is not None and user.id in self.admin_ids:
            return self.choices.get(user.id, self.i18n.default_locale)
        return self.i18n.default_locale

    def remember(self, user_id: int, locale: str) -> None:
        if locale not in LOCALES:
            raise ValueError(f"unknown locale {locale!r}")
        self.choices[user_id] = locale
