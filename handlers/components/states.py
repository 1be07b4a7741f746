"""What the message parts need of the conversation that hosts them.

The parts keep no StatesGroup of their own: they run in the host's states, so a stored
state such as "NewMailing:text" still resumes where it was after an upgrade.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import InlineKeyboardButton, Message

from bot.mailings import MailingService


@dataclass(frozen=True)
class PartsStates:
    """The host's states for the steps of the message parts."""

    channels: State
    mode: State
    subject: State
    text: State
    image: State


class PartsHost(Protocol):
    """The conversation the message parts run in: its states, buttons and order of steps."""

    @property
    def states(self) -> PartsStates:
        """Where each step of the parts waits for its answer."""

    def nav_row(
        self, step: str, data: dict[str, Any], *, skip: bool = False
    ) -> list[InlineKeyboardButton]:
        """The host's Back / Skip / Cancel row under a step's question."""

    async def show_step(
        self, target: Message, state: FSMContext, step: str, mailings: MailingService
    ) -> None:
        """Ask a step's question (a part's or the host's own) and move there."""

    async def go_next(
        self, target: Message, state: FSMContext, current: str, mailings: MailingService
    ) -> None:
        """Go on after `current` was answered: the next step, or how the host finishes."""


@dataclass(frozen=True)
class FunctionsHost:
    """A PartsHost made of a conversation's own functions (its states, navigation row,
    step display and order), so each host is declared in one line."""

    states: PartsStates
    row: Callable[..., list[InlineKeyboardButton]]
    show: Callable[[Message, FSMContext, str, MailingService], Awaitable[None]]
    after: Callable[[Message, FSMContext, str, MailingService], Awaitable[None]]

    def nav_row(
        self, step: str, data: dict[str, Any], *, skip: bool = False
    ) -> list[InlineKeyboardButton]:
        return self.row(step, data, skip=skip)

    async def show_step(
        self, target: Message, state: FSMContext, step: str, mailings: MailingService
    ) -> None:
        await self.show(target, state, step, mailings)

    async def go_next(
        self, target: Message, state: FSMContext, current: str, mailings: MailingService
    ) -> None:
        await self.after(target, state, current, mailings)
