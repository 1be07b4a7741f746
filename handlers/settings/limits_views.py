"""The /settings page's lines about quiet hours and the frequency cap."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.zones import zone_words
from storage.limits import CapScope, Limits


def quiet_line(limits: Limits, zone: str) -> str:
    """Quiet hours as the /settings page shows them."""
    window = limits.quiet
    if window is None:
        return _("🌙 Quiet hours: off")
    return _("🌙 Quiet hours: {start}–{end} ({zone})").format(
        start=f"{window[0]:%H:%M}", end=f"{window[1]:%H:%M}", zone=zone_words(zone)
    )


def cap_line(limits: Limits) -> str:
    """The global frequency cap as the /settings page shows it."""
    if limits.cap_days is None:
        return _("🔁 Frequency cap: off")
    every = ngettext(
        "🔁 Frequency cap: a guest gets at most one mailing a day",
        "🔁 Frequency cap: a guest gets at most one mailing every {n} days",
        limits.cap_days,
    ).format(n=limits.cap_days)
    scope = _("every mailing") if limits.cap_scope is CapScope.ALL else _("promotions only")
    return f"{every} ({scope})"
