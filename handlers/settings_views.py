"""The SMTP failure texts for features outside /settings (a mailing's test email explains a
failure in the same words). They live in handlers/settings/views.py; import them from there."""

from __future__ import annotations

from handlers.settings.views import failure_reason, show_overview

__all__ = ["failure_reason", "show_overview"]
