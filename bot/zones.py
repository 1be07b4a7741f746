"""A time zone as people name it: "по московскому времени", "Moscow time", "по UTC+3".

Admins think in their city's time, not in tz database names; a zone not in the
map is shown by its offset from UTC now.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _


def _zone_names() -> dict[str, str]:
    # A function, so each name is translated in the current locale when asked.
    return {
        "Europe/Kaliningrad": _("Kaliningrad time"),
        "Europe/Moscow": _("Moscow time"),
        "Europe/Samara": _("Samara time"),
        "Asia/Yekaterinburg": _("Yekaterinburg time"),
        "Asia/Omsk": _("Omsk time"),
        "Asia/Novosibirsk": _("Novosibirsk time"),
        "Asia/Krasnoyarsk": _("Krasnoyarsk time"),
        "Asia/Irkutsk": _("Irkutsk time"),
        "Asia/Yakutsk": _("Yakutsk time"),
        "Asia/Vladivostok": _("Vladivostok time"),
        "Asia/Magadan": _("Magadan time"),
        "Asia/Kamchatka": _("Kamchatka time"),
    }


def utc_offset(zone: str, at: datetime | None = None) -> str:
    """The zone's offset from UTC at `at` (now by default): "UTC+3", "UTC+5:30", "UTC"."""
    offset = (at or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(zone)).utcoffset()
    minutes = round(offset.total_seconds() / 60) if offset is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_words(zone: str) -> str:
    """Words that follow a time to say which zone it is in: "18:30 по московскому времени"."""
    named = _zone_names().get(zone)
    if named is not None:
        return named
    # English "UTC+3"; Russian "по UTC+3", so that a time reads the same with any zone.
    return _("UTC{offset}").format(offset=utc_offset(zone).removeprefix("UTC"))
