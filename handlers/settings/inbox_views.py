"""Texts and keyboards of the mailbox dialog (unsubscribes and bounces), and its status
line on the /settings page. The password only ever as a mask."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from html import escape
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.inbox.imap import DEFAULT_PORTS, ImapError, ImapFailure
from bot.inbox.service import InboxDraft, InboxService, InboxStatus
from handlers.components.texts import zone_words
from handlers.settings.callbacks import InboxAction, InboxCb
from handlers.settings.states import INBOX_ORDER, InboxStep
from storage.inbox import ImapSecurity

MASKED = "••••••••"

# The page is drawn at the end of every settings dialog, and not all of them carry the
# mailbox service: the middleware puts it here for the length of each update.
_service: ContextVar[InboxService | None] = ContextVar("inbox_service", default=None)


class InboxInContext(BaseMiddleware):
    """Makes the mailbox service known to the /settings page while an update is handled."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = _service.set(data.get("inbox"))
        try:
            return await handler(event, data)
        finally:
            _service.reset(token)


def security_label(mode: ImapSecurity) -> str:
    return {"tls": _("SSL/TLS (IMAPS, usually port 993)"), "starttls": "STARTTLS (143)"}[mode]


def status_line(status: InboxStatus, settings: Settings) -> str:
    """One line: whether the mailbox is read, when it last was, and what it handled."""
    if status.settings is None:
        return _("📥 Mailbox for unsubscribes and bounces: not set up")
    state = status.state
    if state.last_read_at is None:
        when = _("not read yet")
    else:
        local = state.last_read_at.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
        when = f"{local} {zone_words(settings)}"
    line = _(
        "📥 Mailbox {user}: last read {when}; unsubscribes: {unsubscribes}, bounces: {bounces}"
    ).format(
        user=escape(status.settings.username),
        when=when,
        unsubscribes=state.unsubscribes,
        bounces=state.bounces,
    )
    if state.last_error:
        line += "\n    " + _("⚠️ The last attempt to read it failed; I will try again.")
    return line


async def page_line(settings: Settings) -> str:
    """The status line for the /settings page ("" outside an update with the service)."""
    service = _service.get()
    if service is None:
        return ""
    return "\n\n" + status_line(await service.status(), settings)


def _current(step: InboxStep, draft: InboxDraft) -> str | None:
    if step is InboxStep.PASSWORD:
        return MASKED if draft.password_encrypted else None
    if step is InboxStep.SECURITY:
        return security_label(draft.security) if draft.security else None
    value = getattr(draft, step.value)
    return None if value is None else escape(str(value))


def summary(draft: InboxDraft) -> list[str]:
    return [
        _("Server: {server}").format(server=escape(f"{draft.host or '—'}:{draft.port or '—'}")),
        _("Security: {mode}").format(mode=_current(InboxStep.SECURITY, draft) or "—"),
        _("User: {user}").format(user=escape(draft.username or "—")),
        _("Password: {password}").format(password=MASKED if draft.password_encrypted else "—"),
    ]


def step_prompt(step: InboxStep, draft: InboxDraft) -> str:
    """The question of one step, with the value "Keep" takes."""
    if step is InboxStep.CONFIRM:
        lines = [_("<b>Check the mailbox settings</b>"), *summary(draft), ""]
        lines.append(
            _(
                "Press “Save and verify”: I will log in and open the inbox. The settings "
                "take force only if that works."
            )
        )
        return "\n".join(lines)
    head = _("<b>Mailbox for unsubscribes and bounces, step {n} of {total}</b>").format(
        n=INBOX_ORDER.index(step) + 1, total=len(INBOX_ORDER)
    )
    mode = draft.security or "tls"
    questions = {
        InboxStep.HOST: _(
            "Guests without Telegram unsubscribe by replying to the sender address, and "
            "mail servers report undeliverable addresses there. I will read that mailbox "
            "over IMAP every few minutes: unsubscribe requests and bounce reports are handled "
            "and marked read, other mail is left unread.\n\n"
            "Type the IMAP server, for example imap.yandex.ru."
        ),
        InboxStep.SECURITY: _("Choose the connection security."),
        InboxStep.PORT: _("Type the port, or take the usual one for {mode}: {port}.").format(
            mode=security_label(mode), port=DEFAULT_PORTS[mode]
        ),
        InboxStep.USERNAME: _("Type the login of the mailbox, usually its full address."),
        InboxStep.PASSWORD: _(
            "Type the password of the mailbox (an app password for Yandex, Mail.ru and Gmail). "
            "I will delete your message as soon as I have read it."
        ),
    }
    current = _current(step, draft)
    now = _("Current: {value}").format(value=current) if current else _("Current: not set")
    return f"{head}\n{questions[step]}\n\n{now}"


def _button(
    text: str, step: InboxStep, action: InboxAction, value: str = ""
) -> InlineKeyboardButton:
    data = InboxCb(step=step, action=action, value=value).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def step_keyboard(step: InboxStep, draft: InboxDraft, *, in_force: bool) -> InlineKeyboardMarkup:
    """The buttons of a step: its choices, Keep (when there is a value), Cancel."""
    kb = InlineKeyboardBuilder()
    keep = step is not InboxStep.CONFIRM and _current(step, draft) is not None
    if step is InboxStep.SECURITY:
        for mode in ("tls", "starttls"):
            kb.row(_button(security_label(mode), step, InboxAction.SET, mode))
        keep = False
    elif step is InboxStep.PORT:
        usual = DEFAULT_PORTS[draft.security or "tls"]
        kb.row(_button(_("Use {port}").format(port=usual), step, InboxAction.SET, str(usual)))
        keep = draft.port is not None and draft.port != usual
    elif step is InboxStep.CONFIRM:
        kb.row(_button(_("✅ Save and verify"), step, InboxAction.SAVE))
        if in_force:
            kb.row(_button(_("⏹ Stop reading the mailbox"), step, InboxAction.OFF))
    if keep:
        label = _("Keep {value}").format(value=_current(step, draft))
        kb.row(_button(label, step, InboxAction.KEEP))
    kb.row(_button(_("✖️ Cancel"), step, InboxAction.CANCEL))
    return kb.as_markup()


def failure_reason(error: ImapError, draft: InboxDraft) -> str:
    """Why the mailbox could not be opened, in plain words with what to do about it."""
    server = escape(f"{draft.host}:{draft.port}")
    texts = {
        ImapFailure.HOST_NOT_FOUND: _("the server {host} was not found. Check the address."),
        ImapFailure.CONNECTION_REFUSED: _(
            "{server} refused the connection. Check the port: usually 993 for SSL/TLS, "
            "143 for STARTTLS."
        ),
        ImapFailure.TIMEOUT: _(
            "{server} did not answer in time. Check the address and the port; a firewall may "
            "block the connection."
        ),
        ImapFailure.TLS_FAILED: _(
            "the TLS handshake with {server} failed. Check the security: port 993 needs "
            "SSL/TLS, port 143 STARTTLS."
        ),
        ImapFailure.CERT_INVALID: _(
            "the certificate of {server} could not be verified: the server must present a "
            "valid certificate for {host}."
        ),
        ImapFailure.NO_STARTTLS: _("{server} does not offer STARTTLS. Choose SSL/TLS (993)."),
        ImapFailure.AUTH_FAILED: _(
            "the server rejected the login or password. Check them; Yandex, Mail.ru and Gmail "
            "need an app password, and IMAP access turned on in the mailbox settings."
        ),
        ImapFailure.NO_INBOX: _("the login worked, but the inbox could not be opened."),
        ImapFailure.DISCONNECTED: _("{server} closed the connection unexpectedly."),
        ImapFailure.KEY_MISMATCH: _(
            "the saved password cannot be decrypted: the key file secret.key in the data "
            "directory was replaced. Enter the password again."
        ),
    }
    text = texts.get(error.failure, _("unexpected error."))
    return text.format(server=server, host=escape(draft.host or ""))


def failure_keyboard(error: ImapError) -> InlineKeyboardMarkup:
    """After a failed check: change what it points to, try again, change all, or stop."""
    kb = InlineKeyboardBuilder()
    step = InboxStep.CONFIRM
    if error.failure in (ImapFailure.AUTH_FAILED, ImapFailure.KEY_MISMATCH):
        kb.row(
            _button(_("✏️ Change the password"), step, InboxAction.FIELD, InboxStep.PASSWORD),
            _button(_("✏️ Change the login"), step, InboxAction.FIELD, InboxStep.USERNAME),
        )
    kb.row(_button(_("🔁 Try again"), step, InboxAction.SAVE))
    kb.row(_button(_("✏️ Change the settings"), step, InboxAction.FIELD, InboxStep.HOST))
    kb.row(_button(_("✖️ Cancel"), step, InboxAction.CANCEL))
    return kb.as_markup()
