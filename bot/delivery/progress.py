"""What the admin sees of a run: one progress message edited at most every 3 s, a summary.

The run pushes its counters here as they move; the message shows them. A new
message to the admin takes a slot of the bot's one limiter like every broadcast
send (docs/architecture.md, "Engine invariants"); the engine's other notices to
an admin are in notices.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import time
from collections import deque
from datetime import datetime
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.delivery.limiter import RateLimiter
from bot.zones import zone_words
from storage.deliveries import Counts
from storage.guest_counts import GuestCounts
from storage.statuses import Channel, DeliveryStatus, MailingStatus

log = logging.getLogger(__name__)

EDIT_INTERVAL = 3.0
_RATE_WINDOW = 30.0
CHANNEL_NAMES: dict[str, str] = {Channel.TELEGRAM: "Telegram", Channel.EMAIL: "Email"}
# The progress of a run stopped with the bot (the mailing stays running; it resumes at start).
STOPPED = "stopped"
SENT, FAILED, SKIPPED = DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED
UNKNOWN = DeliveryStatus.UNKNOWN


class RunKeyboards(Protocol):
    """Buttons the engine puts under its messages (made by the handlers layer)."""

    def controls(self, mailing_id: int, status: str, unknown: int) -> InlineKeyboardMarkup | None:
        """Pause / Resume / Cancel / Resend unknown, as fits the status."""

    def send_now(self, mailing_id: int) -> InlineKeyboardMarkup:
        """The "Send now" button under a missed mailing's notice."""


def duration(seconds: float) -> str:
    """A duration as people say it: "less than a second", "12 s", "2 min 5 s", "1 h"."""
    if seconds < 1:
        return _("less than a second")
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        if not minutes:
            return _("{hours} h").format(hours=hours)
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if minutes:
        if not secs:
            return _("{minutes} min").format(minutes=minutes)
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=secs)
    return _("{seconds} s").format(seconds=secs)


class Progress:
    """The launching admin's progress message of one mailing run."""

    def __init__(
        self,
        bot: Bot,
        i18n: I18n,
        locale: str,
        chat_id: int,
        name: str,
        keyboards: RunKeyboards | None,
        mailing_id: int,
        limiter: RateLimiter | None = None,
    ) -> None:
        """Report on mailing `name` to `chat_id` in `locale`."""
        self.bot, self.i18n, self.locale = bot, i18n, locale
        self.chat_id, self.name = chat_id, name
        # The run's live counters, as it last pushed them (changed in place between pushes).
        self.counts = Counts({})
        self.keyboards, self.mailing_id = keyboards, mailing_id
        self.limiter = limiter
        self.message_id: int | None = None
        self.started = time.monotonic()
        self._samples: deque[tuple[float, int]] = deque()
        self._shown = ""
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.state: str = MailingStatus.RUNNING
        # Paused for quiet hours: the local moment they end (the run continues then).
        self.quiet_until: datetime | None = None

    def _done(self) -> int:
        """Rows sent, failed or unknown so far."""
        counts = self.counts
        return counts.total(SENT) + counts.total(FAILED) + counts.total(UNKNOWN)

    def _rate(self) -> float:
        """Messages per second over the last half minute."""
        now = time.monotonic()
        self._samples.append((now, self._done()))
        while len(self._samples) > 2 and now - self._samples[0][0] > _RATE_WINDOW:
            self._samples.popleft()
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 - t0 >= 1 else 0.0

    def text(self) -> str:
        """The progress message as it should read now."""
        with self.i18n.context(), self.i18n.use_locale(self.locale):
            counts = self.counts
            left = counts.total(DeliveryStatus.PENDING) + counts.total(DeliveryStatus.SENDING)
            states: dict[str, str] = {
                MailingStatus.RUNNING: _("running"),
                MailingStatus.PAUSED: _("paused"),
                MailingStatus.COMPLETED: _("completed"),
                MailingStatus.CANCELLED: _("cancelled"),
                STOPPED: _("stopped with the bot; resumes at start"),
            }
            lines = [
                _("📨 <b>{name}</b> — {state}").format(
                    name=html.escape(self.name), state=states.get(self.state, self.state)
                ),
                *guest_lines(guests_of(counts)),
            ]
            if self.quiet_until is not None and self.state == MailingStatus.PAUSED:
                lines.append(
                    _(
                        "Paused for quiet hours until {time} ({zone}); it continues by itself."
                    ).format(
                        time=f"{self.quiet_until:%H:%M}",
                        zone=zone_words(str(self.quiet_until.tzinfo)),
                    )
                )
            if self.state == MailingStatus.RUNNING:
                rate = self._rate()
                eta = duration(left / rate) if rate > 0 and left else "—"
                lines.append(
                    _("Rate: {rate}/s · time left: {eta}").format(
                        rate=format_decimal(round(rate, 1), "#,##0.0", locale=self.locale), eta=eta
                    )
                )
            else:
                lines.append(
                    _("Took {time}").format(time=duration(time.monotonic() - self.started))
                )
            return "\n".join(lines)

    def markup(self) -> InlineKeyboardMarkup | None:
        """The run's buttons for the current state."""
        if self.keyboards is None:
            return None
        with self.i18n.context(), self.i18n.use_locale(self.locale):
            return self.keyboards.controls(self.mailing_id, self.state, self.counts.total(UNKNOWN))

    async def open(self, message_id: int | None, counts: Counts) -> int | None:
        """Show the progress (editing `message_id` if it still exists); start the ticker."""
        self.message_id, self.counts = message_id, counts
        # A new message only when the old one is gone: a refused edit (a 429, a network
        # blip) keeps it, so the admin never gets two with live buttons.
        if self.message_id is None or await self._edit(force=True) is False:
            self.message_id = await self._send(self.text(), self.markup())
        self._task = asyncio.create_task(self._ticker(), name=f"progress-{self.mailing_id}")
        return self.message_id

    def follow(self, counts: Counts) -> None:
        """Show these counters from now on (read again by the run; no edit by itself)."""
        self.counts = counts

    def changed(self, counts: Counts) -> None:
        """Counters moved; the ticker edits at its next turn."""
        self.counts = counts
        self._dirty.set()

    async def close(self, state: str, counts: Counts, *, final: bool = True) -> None:
        """Stop the ticker and show the end state; `final`: the run is over, so a summary
        follows as a new message."""
        self.state, self.counts = state, counts
        text = summary(self.i18n, self.locale, state, self.name, counts) if final else None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._edit(force=True)
        if text:
            await self._send(text, self.markup())

    async def _ticker(self) -> None:
        """Edit the message when something changed, at most every EDIT_INTERVAL seconds."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self._edit()
            await asyncio.sleep(EDIT_INTERVAL)

    async def _edit(self, *, force: bool = False) -> bool | None:
        """Edit the progress message if its text changed; False when it is gone (deleted,
        too old to edit), None when the edit failed for now."""
        if self.message_id is None:
            return False
        text = self.text()
        if text == self._shown and not force:
            return True
        try:
            await self.bot.edit_message_text(
                text=text,
                chat_id=self.chat_id,
                message_id=self.message_id,
                reply_markup=self.markup(),
            )
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                self._shown = text
                return True
            log.info("progress message of mailing %d: %s", self.mailing_id, exc.message)
            gone = ("not found", "can't be edited", "message_id_invalid")
            return False if any(g in exc.message.lower() for g in gone) else None
        except TelegramAPIError as exc:
            log.info("progress message of mailing %d: %s", self.mailing_id, exc)
            return None
        self._shown = text
        return True

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None) -> int | None:
        """Send a new message to the admin; its id (None when Telegram refused)."""
        message_id = await send_admin(self.bot, self.chat_id, text, markup, self.limiter)
        if message_id is not None:
            self._shown = text
        return message_id


async def send_admin(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    limiter: RateLimiter | None = None,
) -> int | None:
    """Send the engine's message to an admin, waiting out a 429; the message id, or None
    when Telegram refused it (never raises). Its slot of the bot's budget is taken by the
    session (bot/telegram_session.py), like every message the bot sends or edits."""
    for _attempt in range(3):
        try:
            message = await bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            if limiter is not None:
                limiter.pause(exc.retry_after)
            else:
                await asyncio.sleep(exc.retry_after)
            continue
        except TelegramAPIError as exc:
            log.warning("cannot tell admin %d: %s", chat_id, exc)
            return None
        return message.message_id
    log.warning("cannot tell admin %d: Telegram kept asking to wait", chat_id)
    return None


async def notify(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    limiter: RateLimiter | None = None,
) -> None:
    """Tell an admin something (a missed mailing, a paused channel); never raises."""
    await send_admin(bot, chat_id, text, markup, limiter)


def guests_of(counts: Counts) -> GuestCounts:
    """The run's numbers in guests (none before its first read)."""
    return counts.guests.counts() if counts.guests is not None else GuestCounts()


def guest_lines(counts: GuestCounts, *, final: bool = False) -> list[str]:
    """A mailing's numbers in guests, worded the same in the progress message, the
    summary and the history card (each guest counted once, in one bucket); `final`
    adds the hint under unknown ones. Called inside the reader's locale."""
    lines = [
        ngettext(
            "Reached: {n} of {total} guest", "Reached: {n} of {total} guests", counts.recipients
        ).format(n=counts.reached, total=counts.recipients)
    ]
    for channel, numbers in counts.channels.items():
        if channel == Channel.TELEGRAM:
            text = ngettext(
                "Got it in Telegram: {n} guest", "Got it in Telegram: {n} guests", numbers.reached
            )
        else:
            text = ngettext(
                "Got it by email: {n} guest", "Got it by email: {n} guests", numbers.reached
            )
        lines.append(text.format(n=numbers.reached))
    lines.append(
        ngettext(
            "Failed (no channel delivered): {n} guest",
            "Failed (no channel delivered): {n} guests",
            counts.failed,
        ).format(n=counts.failed)
    )
    lines.append(
        ngettext(
            "Unreachable by the chosen channels: {n} guest",
            "Unreachable by the chosen channels: {n} guests",
            counts.unreachable,
        ).format(n=counts.unreachable)
    )
    if counts.withheld:
        lines.append(
            ngettext(
                "Not sent (cancelled or held back): {n} guest",
                "Not sent (cancelled or held back): {n} guests",
                counts.withheld,
            ).format(n=counts.withheld)
        )
    if counts.unknown:
        text = ngettext(
            "Unknown (in flight when the bot stopped): {n} guest",
            "Unknown (in flight when the bot stopped): {n} guests",
            counts.unknown,
        ).format(n=counts.unknown)
        if final:
            text += " " + _("They may have got it; you can resend.")
        lines.append(text)
    if counts.pending:
        lines.append(
            ngettext(
                "Still to send: {n} guest", "Still to send: {n} guests", counts.pending
            ).format(n=counts.pending)
        )
    return lines


def summary(i18n: I18n, locale: str, state: str, name: str, counts: Counts) -> str:
    """The final word on a run: how it ended and where every row stands."""
    with i18n.context(), i18n.use_locale(locale):
        titles: dict[str, str] = {
            MailingStatus.COMPLETED: _("✅ Mailing “{name}” is complete."),
            MailingStatus.CANCELLED: _("✖️ Mailing “{name}” was cancelled."),
            MailingStatus.PAUSED: _("⏸ Mailing “{name}” is paused."),
        }
        guests = guests_of(counts)
        lines = [
            titles.get(state, "{name}").format(name=html.escape(name)),
            *guest_lines(guests, final=True),
        ]
        return "\n".join(lines)
