"""The /settings dialogs' states, and the SMTP form's steps they stand for."""

from __future__ import annotations

from enum import StrEnum

from aiogram.fsm.state import State, StatesGroup


class FormStep(StrEnum):
    """A step of the SMTP form (the draft field it asks for), its check, or the test email.
    Dialog buttons carry the step they were shown in, so a stale one is recognised."""

    HOST = "host"
    SECURITY = "security"
    PORT = "port"
    USERNAME = "username"
    PASSWORD = "password"  # noqa: S105 (the step's name, not a password)
    SENDER_EMAIL = "sender_email"
    SENDER_NAME = "sender_name"
    CONFIRM = "confirm"
    TEST = "test"


# The questions in the order asked; security comes before the port so that the usual port
# for the mode can be proposed. CONFIRM follows the last one.
ORDER: tuple[FormStep, ...] = (
    FormStep.HOST,
    FormStep.SECURITY,
    FormStep.PORT,
    FormStep.USERNAME,
    FormStep.PASSWORD,
    FormStep.SENDER_EMAIL,
    FormStep.SENDER_NAME,
)


class SmtpForm(StatesGroup):
    """Editing the SMTP settings, one value per step, then save and verify."""

    host = State()
    security = State()
    port = State()
    username = State()
    password = State()
    sender_email = State()
    sender_name = State()
    confirm = State()


class EmailTestForm(StatesGroup):
    """Sending a test email: the address to send it to."""

    address = State()


class InboxStep(StrEnum):
    """A step of the mailbox dialog (unsubscribes and bounces); buttons carry it."""

    HOST = "host"
    SECURITY = "security"
    PORT = "port"
    USERNAME = "username"
    PASSWORD = "password"  # noqa: S105 (the step's name, not a password)
    CONFIRM = "confirm"


INBOX_ORDER: tuple[InboxStep, ...] = (
    InboxStep.HOST,
    InboxStep.SECURITY,
    InboxStep.PORT,
    InboxStep.USERNAME,
    InboxStep.PASSWORD,
)


class InboxForm(StatesGroup):
    """Setting up the mailbox read for unsubscribes and bounces, then verify by logging in."""

    host = State()
    security = State()
    port = State()
    username = State()
    password = State()
    confirm = State()


STATE_OF_STEP: dict[FormStep, State] = {
    **{step: getattr(SmtpForm, step.value) for step in (*ORDER, FormStep.CONFIRM)},
    FormStep.TEST: EmailTestForm.address,
}
_STEP_OF_STATE: dict[str, FormStep] = {str(s.state): step for step, s in STATE_OF_STEP.items()}


def step_of_state(state: str | None) -> FormStep | None:
    """The step a dialog is at, from its FSM state (None outside the /settings dialogs)."""
    return _STEP_OF_STATE.get(str(state))


class LimitsForm(StatesGroup):
    """Quiet hours, then the global frequency cap and, with a cap, its scope."""

    quiet = State()
    cap = State()
    scope = State()
