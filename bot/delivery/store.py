"""What a mailing run needs from storage, as two narrow interfaces.

The SQLite repositories satisfy them (storage/deliveries.py: DeliveryRepository,
storage/delivery_writer.py: DeliveryWriter); a PostgreSQL store plugs in here
(docs/architecture.md, "Storage").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from storage.deliveries import Counts, Finish, PendingDelivery, RunState
from storage.delivery_writer import Committed
from storage.segments import Segment
from storage.statuses import Channel, MailingStatus, SendMode


class RunStore(Protocol):
    """A run's own record, its rows in bulk, and its mailing's status."""

    async def run_state(self, mailing_id: int) -> RunState | None:
        """The run record of the mailing (None if it never started)."""

    async def segment(self, segment_id: int) -> Segment | None:
        """The segment whose guests the run writes rows for."""

    async def freeze_segment(self, mailing_id: int) -> int:
        """Fix the largest guest id the run covers (first call only); returns it."""

    async def populate_page(
        self,
        mailing_id: int,
        channels: Sequence[Channel],
        send_mode: SendMode,
        segment: Segment,
        today: date,
        after_id: int,
        upto_id: int,
        *,
        last: bool,
        cap: tuple[int, str] | None = None,
    ) -> int:
        """Write one page of the segment's rows with the populate cursor, atomically
        (holding back guests under the frequency cap `cap`: days, since)."""

    async def counts(self, mailing_id: int) -> Counts:
        """The mailing's rows by channel and status."""

    async def run_counts(self, mailing_id: int) -> Counts:
        """The mailing's rows by channel and status, with every guest's state."""

    async def save_guest_counts(self, mailing_id: int) -> None:
        """Keep the mailing's numbers in guests (its run ended)."""

    async def set_paused_channels(
        self, mailing_id: int, channels: Sequence[Channel], last_error: str | None = None
    ) -> None:
        """Record which channels are paused, and why."""

    async def set_progress_message(self, mailing_id: int, chat_id: int, message_id: int) -> None:
        """Remember the progress message (a restarted bot edits the same one)."""

    async def set_image_file_id(self, mailing_id: int, file_id: str | None) -> None:
        """Remember (or forget) the Telegram file_id of the mailing's image."""

    async def status(self, mailing_id: int) -> MailingStatus | None:
        """The mailing's status now."""

    async def move(
        self, mailing_id: int, status: MailingStatus, expected: Sequence[MailingStatus]
    ) -> bool:
        """Compare-and-set the mailing's status."""

    async def complete(self, mailing_id: int) -> bool:
        """Running -> completed unless rows became pending meanwhile."""

    async def cancel(self, mailing_id: int, expected: Sequence[MailingStatus]) -> bool:
        """Cancel the mailing and skip its unsent rows, atomically."""

    async def end_run(self, mailing_id: int) -> None:
        """The run ended with every claimed row finished and written."""


class JournalStore(Protocol):
    """The hot path: pending rows in pages, claims and finishes in one commit."""

    async def pending_page(
        self, mailing_id: int, channel: Channel, after_id: int, limit: int
    ) -> list[PendingDelivery]:
        """Pending rows of one channel after `after_id`, in id order."""

    async def commit(self, claims: Sequence[int], finishes: Sequence[Finish]) -> Committed:
        """Finish rows and claim rows in one transaction."""
