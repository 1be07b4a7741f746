"""aiogram routers, one per feature; `get_routers` gives them in matching order.

Each feature module has `create_router()`: a fresh Router per application, so a
process (the tests) can build the bot more than once.
"""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Admin features first (each guarded by IsAdmin), then the admin fallback,
    then the guests' router, which answers everyone else, forged buttons included."""
    from handlers import (
        admin_fallback,
        guests,
        history,
        journal,
        mailing_run,
        menu,
        new_mailing,
        promos,
        segments,
        settings,
        subscriber,
    )

    return [
        # First: mid-conversation it hears every command (/cancel leaves, others get a hint).
        # /settings mid-draft parks the draft instead of being refused by the conversation.
        settings.create_command_router(),
        new_mailing.create_router(),
        promos.create_router(),
        menu.create_router(),
        history.create_router(),
        journal.create_router(),
        mailing_run.create_router(),
        guests.create_router(),
        settings.create_router(),
        segments.create_router(),
        admin_fallback.create_router(),
        subscriber.create_router(),
    ]
