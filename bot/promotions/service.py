"""Promotion use-cases for the handlers and the scheduler: CRUD, on/off, duplicate, delete,
run once now, the next run and the last run's result, and each occurrence's mailing.

The clock is a `now` callable given at construction, so simulated days need no patching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.mailings import Draft, channels_in_order
from bot.promotions.schedule import Schedule, ScheduleError, next_after, occurrences_between
from storage.db import Database
from storage.deliveries import Counts, DeliveryRepository
from storage.mailings import Mailing, MailingRepository
from storage.promotions import Promotion, PromotionRepository
from storage.segments import Segment, SegmentRepository
from storage.statuses import Channel, MailingStatus, ModeChoice

CAP_MAX = 365
NAME_MAX = 100


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PromotionDraft:
    """A promotion being composed, as its editor keeps it in FSM data (JSON)."""

    name: str | None = None
    segment_id: int | None = None
    schedule: Schedule | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    channels: tuple[str, ...] = ()
    mode: str = ModeChoice.ALL  # a ModeChoice value
    subject: str | None = None
    text_html: str | None = None
    image_path: str | None = None
    cap_days: int | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PromotionDraft:
        raw = data.get("schedule")
        try:
            schedule = Schedule.from_json(raw) if raw else None
        except ScheduleError:
            schedule = None
        starts, ends = data.get("starts_on"), data.get("ends_on")
        return cls(
            name=data.get("name"),
            segment_id=data.get("segment_id"),
            schedule=schedule,
            starts_on=date.fromisoformat(starts) if starts else None,
            ends_on=date.fromisoformat(ends) if ends else None,
            channels=tuple(data.get("channels") or ()),
            mode=data.get("mode") or ModeChoice.ALL,
            subject=data.get("subject"),
            text_html=data.get("text_html"),
            image_path=data.get("image_path"),
            cap_days=data.get("cap_days"),
        )

    @staticmethod
    def data_of(promotion: Promotion) -> dict[str, Any]:
        """A stored promotion as the editor's FSM data (to edit it)."""
        return {
            "promotion_id": promotion.id,
            "name": promotion.name,
            "segment_id": promotion.segment_id,
            "schedule": Schedule.loads(promotion.schedule).to_json(),
            "starts_on": promotion.starts_on.isoformat(),
            "ends_on": promotion.ends_on.isoformat() if promotion.ends_on else None,
            "no_end": promotion.ends_on is None,
            "channels": list(promotion.channels),
            "mode": ModeChoice.of(promotion.send_mode, promotion.channels).value,
            "subject": promotion.subject,
            "text_html": promotion.text_html,
            "no_text": not promotion.text_html,
            "image_path": promotion.image_path,
            "no_image": not promotion.image_path,
            "cap_days": promotion.cap_days,
            "no_cap": promotion.cap_days is None,
        }

    @property
    def uses_email(self) -> bool:
        return Channel.EMAIL in self.channels

    def fields(self) -> dict[str, Any]:
        """The columns a complete draft stores; ValueError when it is not complete."""
        if not (self.name and self.segment_id and self.schedule and self.starts_on):
            raise ValueError("the promotion is not complete")
        if not self.channels or not (self.text_html or self.image_path):
            raise ValueError("the promotion has no message")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("the promotion ends before it starts")
        mode = ModeChoice(self.mode if len(self.channels) == 2 else ModeChoice.ALL)
        return {
            "name": self.name,
            "segment_id": self.segment_id,
            "schedule": self.schedule.dumps(),
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "channels": channels_in_order(self.channels, mode),
            "send_mode": mode.send_mode,
            "subject": self.subject if self.uses_email else None,
            "text_html": self.text_html,
            "image_path": self.image_path,
            "cap_days": self.cap_days,
        }


@dataclass(frozen=True)
class LastRun:
    """A promotion's latest occurrence: its mailing and, once it ran, its rows."""

    mailing: Mailing
    counts: Counts | None


class PromotionService:
    """The promotion rules between handlers, the scheduler and storage."""

    def __init__(
        self, db: Database, settings: Settings, now: Callable[[], datetime] = utc_now
    ) -> None:
        self.settings = settings
        self.tz = settings.tz
        self.now = now
        self.repo = PromotionRepository(db)
        self.mailings = MailingRepository(db)
        self.deliveries = DeliveryRepository(db, settings.tz)
        self.segments = SegmentRepository(db, settings.tz)

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()

    # ------------------------------------------------------------ CRUD
    async def create(self, draft: PromotionDraft, admin_id: int) -> Promotion:
        return await self.repo.create(
            **draft.fields(),
            locale=self.settings.locale,
            created_by=admin_id,
            now=self.now(),
        )

    async def update(self, promotion_id: int, draft: PromotionDraft) -> Promotion:
        """Store an edit; LookupError when the promotion is gone. Occurrences from now on
        follow it (the ones before the edit are not caught up)."""
        if not await self.repo.update(promotion_id, self.now(), **draft.fields()):
            raise LookupError("the promotion no longer exists")
        found = await self.repo.get(promotion_id)
        assert found is not None
        return found

    async def get(self, promotion_id: int) -> Promotion | None:
        return await self.repo.get(promotion_id)

    async def segment(self, segment_id: int) -> Segment | None:
        return await self.segments.get(segment_id)

    async def all(self) -> list[Promotion]:
        return await self.repo.all()

    async def enabled(self) -> list[Promotion]:
        return await self.repo.enabled()

    async def set_enabled(self, promotion_id: int, enabled: bool) -> bool:
        """Switch on or off; switched on, it runs from its next occurrence (none caught up)."""
        return await self.repo.set_enabled(promotion_id, enabled, self.now())

    async def duplicate(self, promotion_id: int, admin_id: int, mark: str = " (copy)") -> Promotion:
        """A copy named with `mark`, switched off (two copies must not both run before the
        admin edits one)."""
        source = await self.repo.get(promotion_id)
        if source is None:
            raise LookupError("the promotion no longer exists")
        fields = PromotionDraft.from_data(PromotionDraft.data_of(source)).fields()
        fields["name"] = source.name[: NAME_MAX - len(mark)] + mark
        return await self.repo.create(
            **fields,
            enabled=False,
            locale=source.locale,
            created_by=admin_id,
            now=self.now(),
        )

    async def delete(self, promotion_id: int) -> bool:
        """Delete: it stops; its past mailings stay in the history under its name."""
        return await self.repo.delete(promotion_id, self.now())

    # ------------------------------------------------------------ schedule
    @staticmethod
    def schedule_of(promotion: Promotion) -> Schedule:
        return Schedule.loads(promotion.schedule)

    def next_run(self, promotion: Promotion, after: datetime | None = None) -> datetime | None:
        """Its next occurrence after `after` (now by default); None when off or over."""
        if not promotion.enabled or promotion.deleted_at is not None:
            return None
        return next_after(
            self.schedule_of(promotion),
            after or self.now(),
            self.tz,
            promotion.starts_on,
            promotion.ends_on,
        )

    async def due_occurrences(self, promotion: Promotion, now: datetime) -> list[datetime]:
        """Occurrences that came since the later of its last occurrence and its last change
        (switching on or editing does not reach back), up to `now`, oldest first."""
        since = promotion.updated_at
        last = await self.mailings.of_promotion(promotion.id, limit=1)
        if last and last[0].occurrence_at is not None:
            since = max(since, last[0].occurrence_at)
        return occurrences_between(
            self.schedule_of(promotion),
            since,
            now,
            self.tz,
            promotion.starts_on,
            promotion.ends_on,
        )

    async def occurrence(
        self,
        promotion: Promotion,
        moment: datetime,
        status: MailingStatus = MailingStatus.SCHEDULED,
    ) -> tuple[Mailing, bool]:
        """The mailing of the occurrence at `moment` (made once, whoever asks); True when
        this call made it."""
        return await self.mailings.create_occurrence(
            promotion_id=promotion.id,
            occurrence_at=moment,
            name=promotion.name,
            segment_id=promotion.segment_id,
            channels=promotion.channels,
            send_mode=promotion.send_mode,
            subject=promotion.subject,
            text_html=promotion.text_html,
            image_path=promotion.image_path,
            locale=promotion.locale,
            created_by=promotion.created_by,
            cap_days=promotion.cap_days,
            status=status,
        )

    async def run_now(self, promotion_id: int) -> Mailing:
        """An extra occurrence at this moment (to the second); LookupError when gone."""
        promotion = await self.repo.get(promotion_id)
        if promotion is None:
            raise LookupError("the promotion no longer exists")
        mailing, _created = await self.occurrence(promotion, self.now().replace(microsecond=0))
        return mailing

    async def last_run(self, promotion: Promotion) -> LastRun | None:
        """Its latest occurrence's mailing and rows, if it ever had one."""
        found = await self.mailings.of_promotion(promotion.id, limit=1)
        if not found:
            return None
        mailing = found[0]
        counts = None
        if mailing.status not in (MailingStatus.SCHEDULED, MailingStatus.MISSED):
            counts = await self.deliveries.counts(mailing.id)
        return LastRun(mailing, counts)


def mailing_draft(promotion_data: dict[str, Any], now: datetime, tz: ZoneInfo) -> Draft:
    """The editor's promotion as a mailing draft (the shared preview renders it), dated on
    its next occurrence after `now` so {today} reads as guests will see it."""
    draft = PromotionDraft.from_data(promotion_data)
    day = None
    if draft.schedule is not None and draft.starts_on is not None:
        moment = next_after(draft.schedule, now, tz, draft.starts_on, draft.ends_on)
        day = moment.astimezone(tz).date() if moment else None
    return Draft(
        name=draft.name,
        segment_id=draft.segment_id,
        day=day,
        at=draft.schedule.at.strftime("%H:%M") if draft.schedule else None,
        channels=draft.channels,
        mode=draft.mode,
        subject=draft.subject,
        text_html=draft.text_html,
        image_path=draft.image_path,
    )


def first_run(promotion_data: dict[str, Any], now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the editor's promotion would first run after `now` (None: never)."""
    draft = PromotionDraft.from_data(promotion_data)
    if draft.schedule is None or draft.starts_on is None:
        return None
    return next_after(draft.schedule, now, tz, draft.starts_on, draft.ends_on)
