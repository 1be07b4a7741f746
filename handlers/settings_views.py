"""Where a mailing's test email (handlers/new_mailing) finds the words for an SMTP failure,
the same as /settings uses. They live in handlers/settings/views.py: new code imports from
there, and this module goes once nothing imports it."""

from __future__ import annotations

from handlers.settings.views import failure_reason

__all__ = ["failure_reason"]
