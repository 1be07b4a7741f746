"""Mailing use-cases for the handlers: segments with counts, reach, checks, preview, create.

Handlers keep the conversation; the rules live here (what a draft needs, how many
guests each channel carries, the worst-case length of a text, when "now" is) and
SQL stays in the repositories.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.delivery.email_message import build_email
from bot.images import StoredImage, normalise_image
from bot.render import (
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    Recipient,
    RenderContext,
    format_balance,
    render_email_html,
    render_plain,
    render_subject,
    render_telegram,
    telegram_length,
    telegram_text,
    used_variables,
)
from bot.smtp import SmtpConfig, VerifyResult, send_one_email
from storage.db import Database
from storage.deliveries import Counts, DeliveryRepository, now_text
from storage.guest_counts import GuestCountRepository, GuestCounts
from storage.guests import Guest
from storage.mailing_settings import ChannelSwitches, MailingSettingsRepository
from storage.mailings import Mailing, MailingRepository
from storage.segments import Reach, Segment, SegmentRepository
from storage.statuses import Channel, ModeChoice

log = logging.getLogger(__name__)

NOW = "now"  # the time of a draft that goes at the moment of confirmation
IMAGE_CID = "mailing-image@probonus"


@dataclass(frozen=True)
class Draft:
    """A mailing being composed, as the conversation keeps it in FSM data (JSON)."""

    name: str | None = None
    segment_id: int | None = None
    day: date | None = None
    at: str | None = None  # "HH:MM" or NOW
    channels: tuple[str, ...] = ()
    mode: str = ModeChoice.ALL  # a ModeChoice value
    subject: str | None = None
    text_html: str | None = None
    image_path: str | None = None
    image_file_id: str | None = None
    key: str | None = None  # the draft's identity: it becomes at most one mailing

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        day = data.get("day")
        return cls(
            name=data.get("name"),
            segment_id=data.get("segment_id"),
            day=date.fromisoformat(day) if day else None,
            at=data.get("at"),
            channels=tuple(data.get("channels") or ()),
            mode=data.get("mode") or ModeChoice.ALL,
            subject=data.get("subject"),
            text_html=data.get("text_html"),
            image_path=data.get("image_path"),
            image_file_id=data.get("image_file_id"),
            key=data.get("draft_key"),
        )

    @property
    def uses_email(self) -> bool:
        return Channel.EMAIL in self.channels

    @property
    def uses_telegram(self) -> bool:
        return Channel.TELEGRAM in self.channels

    @property
    def both_channels(self) -> bool:
        return len(self.channels) == 2


@dataclass(frozen=True)
class Audience:
    """Who a mailing reaches: the segment's reach and what each channel will carry."""

    reach: Reach
    telegram: int
    email: int
    unreachable: int


@dataclass(frozen=True)
class LengthCheck:
    """The longest the text can come out for the segment, against Telegram's limits."""

    length: int
    limit: int
    split: bool  # with an image and over the caption limit: photo, then the text
    may_be_empty: bool

    @property
    def ok(self) -> bool:
        return self.length <= self.limit


@dataclass(frozen=True)
class Preview:
    """Everything the preview shows."""

    draft: Draft
    segment: Segment
    recipient: Recipient
    guest: Guest | None  # None: the segment is empty, a sample guest stands in
    rendered: str
    audience: Audience
    lengths: LengthCheck
    scheduled_at: datetime | None  # None for "now"
    ctx: RenderContext
    nameless: int = 0  # guests missing a name part the text uses
    nameless_rendered: str = ""  # the text as those guests get it (the worst case)


class MomentPassedError(ValueError):
    """The chosen moment is already in the past."""

    def __init__(self, moment: datetime, now: datetime) -> None:
        super().__init__(f"{moment.isoformat()} is before {now.isoformat()}")
        self.moment = moment
        self.now = now


def channels_in_order(channels: tuple[str, ...] | list[str], mode: str) -> tuple[Channel, ...]:
    """Channels as stored: the priority channel first for a priority mode, else Telegram
    first. `mode` is a ModeChoice value."""
    return ModeChoice(mode).order([c for c in Channel if c in channels])


def audience_of(reach: Reach, channels: tuple[str, ...], mode: str) -> Audience:
    """How many messages each channel will carry for the segment in the given mode
    (a ModeChoice value)."""
    telegram = reach.telegram if Channel.TELEGRAM in channels else 0
    email = reach.email if Channel.EMAIL in channels else 0
    first = ModeChoice(mode).first if len(channels) == 2 else None
    if first is Channel.TELEGRAM:
        email = reach.email - reach.both
    elif first is Channel.EMAIL:
        telegram = reach.telegram - reach.both
    if len(channels) == 2:
        unreachable = reach.neither
    elif Channel.TELEGRAM in channels:
        unreachable = reach.total - reach.telegram
    else:
        unreachable = reach.total - reach.email
    return Audience(reach, telegram, email, unreachable)


class MailingService:
    """The mailing rules between handlers and storage."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.settings = settings
        self.mailings = MailingRepository(db)
        self.segments = SegmentRepository(db, settings.tz)
        self.channel_settings = MailingSettingsRepository(db)

    # ------------------------------------------------------------ time
    def today(self) -> date:
        return datetime.now(self.settings.tz).date()

    def now_local(self) -> datetime:
        return datetime.now(self.settings.tz)

    def context(self, draft: Draft | None = None) -> RenderContext:
        """Rendering settings; for a draft, {today} is the day it goes out."""
        ctx = RenderContext.now(self.settings.locale, self.settings.tz)
        if draft is not None and draft.day is not None and draft.day > ctx.today:
            return RenderContext(ctx.locale, draft.day)
        return ctx

    def quick_times(self, day: date | None) -> tuple[bool, list[str]]:
        """What the time step offers for `day`: "Now" (today only) and round times still ahead."""
        now = self.now_local()
        if day is None or day < now.date():
            return False, []
        if day > now.date():
            return False, ["10:00", "12:00", "15:00", "18:00", "19:00"]
        start = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        slots = [start + timedelta(hours=i) for i in range(4)]
        return True, [s.strftime("%H:%M") for s in slots if s.date() == now.date()]

    def moment(self, day: date, at: str) -> datetime | None:
        """The moment of day + "HH:MM" in TIMEZONE (None for "now"); MomentPassedError."""
        if at == NOW:
            return None
        clock = time.fromisoformat(at)
        # Through UTC and back: a time the clocks skip (spring forward) becomes the
        # moment it really is (02:30 -> 03:30), so what the admin is shown is when it goes.
        moment = datetime.combine(day, clock, tzinfo=self.settings.tz).astimezone(UTC)
        moment = moment.astimezone(self.settings.tz)
        now = self.now_local()
        if moment <= now:
            raise MomentPassedError(moment, now)
        return moment

    # ------------------------------------------------------------ segments and reach
    async def segments_with_counts(self) -> list[tuple[Segment, int]]:
        """Every segment with its current guest count, "All guests" first."""
        today = self.today()
        found = []
        for segment in await self.segments.list():
            found.append((segment, await self.segments.count(segment, today=today)))
        return found

    async def segment(self, segment_id: int | None) -> Segment | None:
        return None if segment_id is None else await self.segments.get(segment_id)

    async def channel_switches(self) -> ChannelSwitches:
        return await self.channel_settings.get_channels()

    async def smtp_configured(self) -> bool:
        return await self.channel_settings.get_smtp() is not None

    async def audience(self, segment: Segment, channels: tuple[str, ...], mode: str) -> Audience:
        reach = await self.segments.reach(segment, today=self.today())
        return audience_of(reach, channels, mode)

    # ------------------------------------------------------------ text checks
    async def worst_recipient(self, segment: Segment) -> Recipient:
        """A made-up guest with the segment's longest names and widest balance."""
        longest = await self.segments.longest(segment, today=self.today())
        balances = [Decimal(longest.max_balance_cents), Decimal(longest.min_balance_cents)]
        widest = max(
            (b.scaleb(-2) for b in balances),
            key=lambda b: len(format_balance(b, self.settings.locale)),
        )
        return Recipient(
            first_name="W" * longest.first_name or None,
            last_name="W" * longest.last_name or None,
            middle_name="W" * longest.middle_name or None,
            balance=widest,
        )

    async def check_length(
        self, template_html: str, segment: Segment, *, has_image: bool
    ) -> LengthCheck:
        """The worst-case length of the text for the segment and the limit that applies."""
        ctx = self.context()
        worst = await self.worst_recipient(segment)
        length = telegram_length(render_telegram(template_html, worst, ctx))
        nobody = Recipient(None, None, None, Decimal(0))
        empty = not telegram_text(render_telegram(template_html, nobody, ctx)).strip()
        split = has_image and length > TELEGRAM_CAPTION_LIMIT
        return LengthCheck(length, TELEGRAM_TEXT_LIMIT, split, empty)

    # ------------------------------------------------------------ preview
    async def sample(
        self, segment: Segment, fallback: Recipient, channels: tuple[str, ...] = ()
    ) -> tuple[Recipient, Guest | None]:
        """A real guest of the segment (one the channels reach, when there is one) to show
        the preview for, or the fallback when the segment is empty."""
        guest = await self.segments.sample(segment, today=self.today(), channels=channels)
        return (Recipient.of(guest), guest) if guest else (fallback, None)

    async def preview(self, draft: Draft, fallback: Recipient) -> Preview:
        """Render the draft for a sample guest and count its audience."""
        segment = await self.segment(draft.segment_id)
        if segment is None:
            raise LookupError("the draft's segment no longer exists")
        recipient, guest = await self.sample(segment, fallback, tuple(draft.channels))
        ctx = self.context(draft)
        rendered = render_telegram(draft.text_html or "", recipient, ctx)
        audience = await self.audience(segment, draft.channels, self.stored_mode(draft))
        lengths = await self.check_length(
            draft.text_html or "", segment, has_image=bool(draft.image_path)
        )
        scheduled = None
        if draft.day and draft.at and draft.at != NOW:
            scheduled = datetime.combine(
                draft.day, time.fromisoformat(draft.at), tzinfo=self.settings.tz
            )
        nameless, nameless_rendered = await self._nameless(draft, segment, ctx)
        return Preview(
            draft,
            segment,
            recipient,
            guest,
            rendered,
            audience,
            lengths,
            scheduled,
            ctx,
            nameless,
            nameless_rendered,
        )

    async def _nameless(
        self, draft: Draft, segment: Segment, ctx: RenderContext
    ) -> tuple[int, str]:
        """How many guests lack a name part the text uses, and what the text becomes for them."""
        used = used_variables(draft.text_html or "")
        names = {"first_name", "last_name", "middle_name"}
        parts = names if "full_name" in used else used & names
        count = await self.segments.count_without(segment, sorted(parts), today=self.today())
        if not count:
            return 0, ""
        nobody = Recipient(None, None, None, Decimal(0))
        return count, render_telegram(draft.text_html or "", nobody, ctx)

    @staticmethod
    def stored_mode(draft: Draft) -> str:
        """The draft's ModeChoice value (one channel is always "all")."""
        return draft.mode if draft.both_channels else ModeChoice.ALL

    # ------------------------------------------------------------ images
    async def store_image(self, data: bytes) -> StoredImage:
        """Check, clean and keep an uploaded image (in a thread: Pillow is CPU work)."""
        return await asyncio.to_thread(normalise_image, data, self.settings.data_dir)

    def image_file(self, relative_path: str) -> Path:
        return self.settings.data_dir / relative_path

    # ------------------------------------------------------------ mailings
    async def create(self, draft: Draft, admin_id: int) -> Mailing:
        """Store the draft as a scheduled mailing; "now" is this very moment.

        Raises MomentPassedError when the chosen time went by during the conversation,
        DraftTaken when the draft (by its key) is already a mailing.
        """
        if not (draft.name and draft.segment_id and draft.day and draft.at and draft.channels):
            raise ValueError("the draft is not complete")
        when = self.moment(draft.day, draft.at) or datetime.now(UTC)
        mode = ModeChoice(self.stored_mode(draft))
        return await self.mailings.create(
            name=draft.name,
            segment_id=draft.segment_id,
            scheduled_at=when,
            channels=channels_in_order(draft.channels, mode),
            send_mode=mode.send_mode,
            subject=draft.subject if draft.uses_email else None,
            text_html=draft.text_html,
            image_path=draft.image_path,
            image_file_id=draft.image_file_id,
            locale=self.settings.locale,
            created_by=admin_id,
            draft_key=draft.key,
        )

    async def by_draft_key(self, draft_key: str) -> Mailing | None:
        """The mailing a draft became, if it did."""
        return await self.mailings.by_draft_key(draft_key)

    async def get(self, mailing_id: int) -> Mailing | None:
        return await self.mailings.get(mailing_id)

    async def recent(self, *, limit: int, offset: int) -> tuple[list[Mailing], int]:
        """A page of the history list and the total number of mailings."""
        return await self.mailings.recent(limit=limit, offset=offset), await self.mailings.count()

    async def reschedule(self, mailing_id: int, day: date, at: str) -> datetime:
        """Move a scheduled mailing; returns the new moment. MomentPassedError, LookupError."""
        when = self.moment(day, at) or datetime.now(UTC)
        if not await self.mailings.reschedule(mailing_id, when):
            raise LookupError("the mailing is no longer scheduled")
        return when

    async def cancel(self, mailing_id: int) -> bool:
        return await self.mailings.cancel(mailing_id)

    async def delivery_counts(self, mailing_id: int) -> Counts:
        """The mailing's delivery rows by channel and status (a card's "Resend unknown")."""
        return await DeliveryRepository(self.mailings.db, self.settings.tz).counts(mailing_id)

    async def guest_counts(self, mailing_id: int) -> GuestCounts:
        """The mailing's numbers in guests (reached, per channel, failed, unreachable...),
        the units of the preview, the progress message and the summary."""
        found = await self.guest_counts_many([mailing_id])
        return found.get(mailing_id, GuestCounts())

    async def guest_counts_many(self, mailing_ids: Sequence[int]) -> dict[int, GuestCounts]:
        """Numbers in guests of several mailings (a page of the history list): a finished
        run's kept numbers, counted now for running ones (and kept for others)."""
        return await GuestCountRepository(self.mailings.db).many(list(mailing_ids), now_text())

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.tz)

    # ------------------------------------------------------------ test email
    async def send_test_email(
        self, draft: Draft, recipient: Recipient, to: str, config: SmtpConfig
    ) -> VerifyResult:
        """Send the draft's email, rendered for `recipient`, to `to`; the outcome."""
        ctx = self.context(draft)
        image: bytes | None = None
        subtype: str | None = None
        if draft.image_path:
            path = self.image_file(draft.image_path)
            image = await asyncio.to_thread(path.read_bytes)
            subtype = "png" if path.suffix == ".png" else "jpeg"
        template = draft.text_html or ""
        message = build_email(
            sender_email=config.sender_email,
            sender_name=config.sender_name,
            to_email=to,
            to_name=None,
            subject=render_subject(draft.subject or draft.name or "", recipient, ctx),
            html=render_email_html(
                template, recipient, ctx, image_cid=IMAGE_CID if image else None
            ),
            plain=render_plain(template, recipient, ctx),
            image=image,
            image_subtype=subtype,
            image_cid=IMAGE_CID if image else None,
            unsubscribe_token=None,
            message_id_domain=config.sender_email.rsplit("@", 1)[-1],
        )
        result = await send_one_email(config, message, to)
        if not result.ok:
            log.info("test email to %s failed: %s", to, result)
        return result
