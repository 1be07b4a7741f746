"""A run's first step: write the mailing's segment as delivery rows, in pages.

The segment is evaluated once, as of the run's start, and its rows written a
page of guest ids per transaction with the cursor, in constant memory
(docs/architecture.md, "Engine invariants").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from storage.mailings import Mailing

if TYPE_CHECKING:
    from bot.delivery.store import RunStore

POPULATE_PAGE = 20_000  # guest ids per populate transaction (~0.1 s of write lock)


async def populate(
    store: RunStore,
    mailing: Mailing,
    today: date,
    stopping: Callable[[], bool],
    cap: tuple[int, str] | None = None,
) -> None:
    """Write the segment's guests as rows, a page of guest ids per transaction, until
    done or `stopping()`; a crash resumes at the page. `cap` (days, since: UTC ISO): the
    frequency cap, written in the same page (a guest sent another mailing since then is
    skipped with that reason)."""
    state = await store.run_state(mailing.id)
    if state is None:
        raise LookupError(f"mailing {mailing.id} has no run record")
    if state.populated:
        return
    segment = await store.segment(mailing.segment_id)
    if segment is None:
        raise LookupError(f"segment {mailing.segment_id} of mailing {mailing.id}")
    until = await store.freeze_segment(mailing.id)
    cursor = state.populate_cursor
    while not stopping():
        upto = min(cursor + POPULATE_PAGE, until)
        await store.populate_page(
            mailing.id,
            mailing.channels,
            mailing.send_mode,
            segment,
            today,
            cursor,
            upto,
            last=upto >= until,
            cap=cap,
        )
        cursor = upto
        if cursor >= until:
            return
        await asyncio.sleep(0)  # let other writers in between pages
