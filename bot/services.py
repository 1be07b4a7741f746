"""The services handlers may use, created once per application and typed.

They reach handlers as the Dispatcher's workflow data: a handler names the ones it
needs as keyword arguments (`mailings: MailingService`), and aiogram passes them.
No handler receives the database itself (docs/architecture.md, "Layers").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.guests import GuestService
from bot.history import HistoryService
from bot.inbox.service import InboxService
from bot.journal import JournalService
from bot.mailing_settings import MailingSettingsService
from bot.mailings import MailingService
from bot.promotions.service import PromotionService
from bot.quiet_hours import LimitsService
from bot.scheduler import MailingScheduler
from bot.segments import SegmentService
from bot.unsubscribe import UnsubscribeTokens
from storage.audit import AuditLog
from storage.prefs import AdminPrefsRepository


@dataclass(frozen=True)
class Services:
    """Everything a handler can ask for by name."""

    settings: Settings
    audit: AuditLog
    prefs: AdminPrefsRepository
    guests: GuestService
    journal: JournalService
    mailings: MailingService
    mailing_settings: MailingSettingsService
    unsubscribe_tokens: UnsubscribeTokens
    engine: DeliveryEngine
    scheduler: MailingScheduler
    segments: SegmentService
    limits: LimitsService
    inbox: InboxService
    promotions: PromotionService
    history: HistoryService

    def workflow_data(self) -> dict[str, Any]:
        """Name -> service, as the Dispatcher hands them to handlers."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
