"""Texts and keyboards of /settings: the overview, the SMTP dialog's steps, failures.

Everything the admin reads is built here, HTML-escaped; the password only ever as a mask.
"""

from __future__ import annotations

import contextlib
from html import escape
from typing import Protocol

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.mailing_settings import MailingSettings, MailingSettingsService, SmtpDraft
from bot.smtp import DEFAULT_PORTS, SmtpFailure, SmtpStage, VerifyResult
from bot.validators import InputError, parse_email
from handlers.settings.callbacks import FormAction, OverviewAction, SettingsCb, SmtpFormCb
from handlers.settings.states import ORDER, FormStep
from storage.mailing_settings import Security, SmtpSettings

# Shown instead of the password, always the same length so it reveals nothing.
MASKED = "••••••••"

# ------------------------------------------------------------------ texts


def security_label(mode: Security) -> str:
    """The name of a security mode as the admin sees it."""
    return {"none": _("None (no encryption)"), "starttls": "STARTTLS", "tls": "SSL/TLS"}[mode]


def seconds_text(value: float) -> str:
    """A timeout as "15" rather than "15.0"."""
    return f"{value:g}"


def _sender(name: str | None, email: str | None) -> str:
    """The sender as guests see it: Name <address>."""
    if email is None:
        return _("not set")
    return f"{escape(name)} &lt;{escape(email)}&gt;" if name else escape(email)


def smtp_lines(smtp: SmtpSettings | SmtpDraft) -> list[str]:
    """The SMTP settings (in force or a draft) as lines; the password only masked."""
    server = f"{escape(smtp.host or '—')}:{smtp.port or '—'}"
    password = MASKED if smtp.password_encrypted else "—"
    return [
        _("Server: {server}").format(server=server),
        _("Security: {mode}").format(mode=security_label(smtp.security) if smtp.security else "—"),
        _("User: {user}").format(user=escape(smtp.username) if smtp.username else _("no login")),
        _("Password: {password}").format(password=password if smtp.username else "—"),
        _("Sender: {sender}").format(sender=_sender(smtp.sender_name, smtp.sender_email)),
    ]


def overview_text(current: MailingSettings, settings: Settings) -> str:
    """The /settings page: channel switches and the SMTP server in force."""
    channels = current.channels
    lines = [
        _("<b>Mailing settings</b>"),
        "",
        _("📧 Email: on") if channels.email_enabled else _("📧 Email: off"),
        _("✈️ Telegram: on") if channels.telegram_enabled else _("✈️ Telegram: off"),
    ]
    if not channels.enabled:
        lines.append(_("⚠️ Both channels are off: mailings cannot be sent."))
    lines += ["", _("<b>SMTP server</b>")]
    smtp = current.smtp
    if smtp is None:
        lines.append(_("Not set up yet. Email mailings need a verified SMTP server."))
    else:
        verified = smtp.verified_at.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
        lines += smtp_lines(smtp)
        lines.append(_("Last verified: {when}").format(when=verified))
    return "\n".join(lines)


def overview_keyboard(current: MailingSettings) -> InlineKeyboardMarkup:
    """Buttons of the /settings page: change each part."""
    kb = InlineKeyboardBuilder()

    def button(text: str, action: OverviewAction) -> None:
        kb.button(text=text, callback_data=SettingsCb(action=action))

    if current.smtp is None:
        button(_("⚙️ Set up the SMTP server"), OverviewAction.SMTP)
    else:
        button(_("✏️ Change the SMTP server"), OverviewAction.SMTP)
        button(_("✉️ Send a test email"), OverviewAction.TEST)
    if current.channels.email_enabled:
        button(_("📧 Turn Email off"), OverviewAction.EMAIL_OFF)
    else:
        button(_("📧 Turn Email on"), OverviewAction.EMAIL_ON)
    if current.channels.telegram_enabled:
        button(_("✈️ Turn Telegram off"), OverviewAction.TG_OFF)
    else:
        button(_("✈️ Turn Telegram on"), OverviewAction.TG_ON)
    kb.adjust(1)
    return kb.as_markup()


def reason_text(reason: str) -> str:
    """Why a typed value was refused, from a validator's reason code."""
    reasons = {
        "empty": _("The value is empty."),
        "has_spaces": _("The value must not contain spaces."),
        "has_scheme": _("Type only the server name, without smtp:// or https://."),
        "has_port": _("Type the address without “:port”: the port has its own step."),
        "looks_like_email": _(
            "This looks like an email address. Type the server name, for example smtp.yandex.ru."
        ),
        "invalid_host": _("This is not a valid server name or IP address."),
        "invalid_ip": _("This is not a valid IP address."),
        "too_long": _("The value is too long."),
        "not_a_number": _("The port must be a number."),
        "out_of_range": _("The port must be between 1 and 65535."),
        "with_name": _(
            "Type only the address, like bonus@restaurant.ru: the sender name is the next step."
        ),
        "no_at": _("An email address has exactly one “@”, like bonus@restaurant.ru."),
        "invalid_local_part": _("The part before “@” is not valid."),
        "invalid_domain": _("The part after “@” is not a valid domain, like restaurant.ru."),
        "control_char": _("The value must be one line without special characters."),
    }
    return reasons.get(reason, _("The value is not valid."))


class SmtpServer(Protocol):
    """The server a failure is about: the settings in force, a draft or a connection's config."""

    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def security(self) -> Security | None: ...
    @property
    def sender_email(self) -> str | None: ...


def failure_reason(
    result: VerifyResult, server: SmtpServer | None, timeout: float, recipient: str = ""
) -> str:
    """What went wrong with the SMTP `server` (None: no settings in force), in plain words
    with what to do about it; `timeout` is how long it was given to answer."""
    if server is None:
        host, port, security, sender = "", 0, "none", ""
    else:
        host, port = server.host or "", server.port or 0
        security, sender = server.security or "none", server.sender_email or ""
    detail = f" ({escape(result.detail)})" if result.detail else ""
    values = {
        "server": escape(f"{host}:{port}"),
        "host": escape(host),
        "port": port,
        "seconds": seconds_text(timeout),
        "sender": escape(sender),
        "recipient": escape(recipient),
        "detail": detail,
    }
    failure = result.failure
    if failure == SmtpFailure.TIMEOUT and result.stage == SmtpStage.GREETING:
        if security != "tls":
            text = _(
                "{server} accepted the connection but did not greet within {seconds} s. "
                "If this port expects SSL/TLS from the start (usually 465), choose SSL/TLS."
            )
        else:
            text = _("{server} accepted the connection but did not greet within {seconds} s.")
        return text.format(**values)
    texts = {
        SmtpFailure.HOST_NOT_FOUND: _(
            "the server {host} was not found. Check the address for typos."
        ),
        SmtpFailure.CONNECTION_REFUSED: _(
            "{server} refused the connection: nothing accepts mail on port {port}. "
            "Check the port: usually 587 for STARTTLS, 465 for SSL/TLS."
        ),
        SmtpFailure.TIMEOUT: _(
            "{server} did not answer within {seconds} s. Check the address and the port; "
            "a firewall may block the connection."
        ),
        SmtpFailure.DISCONNECTED: _("{server} closed the connection unexpectedly{detail}."),
        SmtpFailure.TLS_FAILED: _(
            "the TLS handshake with {server} failed{detail}. Check the security mode: "
            "port 465 usually needs SSL/TLS, port 587 STARTTLS."
        ),
        SmtpFailure.CERT_INVALID: _(
            "the certificate of {server} could not be verified{detail}. "
            "The server must present a valid certificate for {host}."
        ),
        SmtpFailure.NO_STARTTLS: _(
            "{server} does not offer STARTTLS. Choose SSL/TLS (usually port 465), "
            "or None only inside a trusted network."
        ),
        SmtpFailure.AUTH_FAILED: _(
            "the server rejected the user name or password{detail}. Check them; "
            "Yandex, Mail.ru and Gmail need an app password here."
        ),
        SmtpFailure.AUTH_NOT_SUPPORTED: _(
            "the server does not accept a login on this connection{detail}. "
            "Turn on STARTTLS or SSL/TLS, or choose “No login” if the server needs none."
        ),
        SmtpFailure.SENDER_REFUSED: _(
            "the server refused the sender address {sender}{detail}. "
            "Use an address this account may send from."
        ),
        SmtpFailure.RECIPIENT_REFUSED: _("the server refused the recipient {recipient}{detail}."),
        SmtpFailure.KEY_MISMATCH: _(
            "the saved password cannot be decrypted: the key file secret.key in the data "
            "directory was replaced. Enter the password again."
        ),
        SmtpFailure.NOT_CONFIGURED: _("the SMTP server is not set up yet."),
    }
    default = _("unexpected error{detail}.")
    return texts.get(failure, default).format(**values) if failure else ""


def _current(step: FormStep, draft: SmtpDraft) -> str | None:
    """The draft's value for a step as shown to the admin (None when not set)."""
    if step is FormStep.PASSWORD:
        return MASKED if draft.password_encrypted else None
    if step is FormStep.SECURITY:
        return security_label(draft.security) if draft.security else None
    value = getattr(draft, step.value)
    return None if value is None else escape(str(value))


def step_prompt(step: FormStep, draft: SmtpDraft) -> str:
    """The question of one step of the SMTP dialog, with the value kept by Skip."""
    if step is FormStep.CONFIRM:
        lines = [_("<b>Check the new SMTP settings</b>"), *smtp_lines(draft), ""]
        lines.append(
            _(
                "Press “Save and verify”: I will connect to the server and check them. "
                "The settings in force change only if the check passes."
            )
        )
        return "\n".join(lines)
    head = _("<b>SMTP server, step {n} of {total}</b>").format(
        n=ORDER.index(step) + 1, total=len(ORDER)
    )
    mode = draft.security or "starttls"
    questions = {
        FormStep.HOST: _(
            "Type the SMTP server address, for example smtp.yandex.ru or 192.168.1.10."
        ),
        FormStep.SECURITY: _(
            "Choose the connection security:\n"
            "• STARTTLS — usually port 587\n"
            "• SSL/TLS — usually port 465\n"
            "• None — no encryption, only inside a trusted network (port 25)"
        ),
        FormStep.PORT: _(
            "Type the port (1-65535), or take the usual one for {mode}: {port}."
        ).format(mode=security_label(mode), port=DEFAULT_PORTS[mode]),
        FormStep.USERNAME: _(
            "Type the user name (login) for the server, usually the full mailbox address. "
            "If the server needs no login, press “No login”."
        ),
        FormStep.PASSWORD: _(
            "Type the password for {user}. Yandex, Mail.ru and Gmail need an app password. "
            "I will delete your message as soon as I have read it."
        ).format(user=escape(draft.username or "")),
        FormStep.SENDER_EMAIL: _(
            "Type the sender address guests will see, for example bonus@restaurant.ru."
        ),
        FormStep.SENDER_NAME: _(
            "Type the sender name guests will see, for example Restaurant “Pushkin”."
        ),
    }
    current = _current(step, draft)
    now = _("Current: {value}").format(value=current) if current else _("Current: not set")
    return f"{head}\n{questions[step]}\n\n{now}"


# ------------------------------------------------------------------ keyboards


def _button(text: str, step: FormStep, action: FormAction, value: str = "") -> InlineKeyboardButton:
    """One dialog button bound to its step."""
    data = SmtpFormCb(step=step, action=action, value=value).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def step_keyboard(step: FormStep, draft: SmtpDraft) -> InlineKeyboardMarkup:
    """The buttons of a step: its choices, Skip (when there is a value to keep), Back, Cancel."""
    kb = InlineKeyboardBuilder()
    keep = step is not FormStep.CONFIRM and _current(step, draft) is not None
    if step is FormStep.SECURITY:
        for mode in ("starttls", "tls", "none"):
            mark = "✓ " if draft.security == mode else ""
            kb.row(_button(mark + security_label(mode), step, FormAction.SET, mode))
    elif step is FormStep.PORT:
        usual = DEFAULT_PORTS[draft.security or "starttls"]
        kb.row(_button(_("Use {port}").format(port=usual), step, FormAction.SET, str(usual)))
        keep = draft.port is not None and draft.port != usual
    elif step is FormStep.USERNAME:
        kb.row(_button(_("No login"), step, FormAction.CLEAR))
    elif step is FormStep.SENDER_EMAIL and draft.username and draft.username != draft.sender_email:
        # A login that is a mailbox address is the likely sender: offer it as one tap.
        with contextlib.suppress(InputError):
            login = parse_email(draft.username)
            kb.row(_button(_("Use {address}").format(address=login), step, FormAction.LOGIN))
    elif step is FormStep.SENDER_NAME:
        kb.row(_button(_("No name"), step, FormAction.CLEAR))
    elif step is FormStep.CONFIRM:
        kb.row(_button(_("✅ Save and verify"), step, FormAction.SAVE))
    if keep:
        on_port = step is FormStep.PORT
        label = _("Keep {port}").format(port=draft.port) if on_port else _("⏭ Keep current")
        kb.row(_button(label, step, FormAction.SKIP))
    kb.row(
        _button(_("⬅️ Back"), step, FormAction.BACK),
        _button(_("✖️ Cancel"), step, FormAction.CANCEL),
    )
    return kb.as_markup()


def failure_keyboard(step: FormStep) -> InlineKeyboardMarkup:
    """After a failed check or test email: try again, change the settings, or stop."""
    kb = InlineKeyboardBuilder()
    kb.row(_button(_("🔁 Try again"), step, FormAction.RETRY))
    if step is FormStep.CONFIRM:
        kb.row(_button(_("✏️ Change the settings"), step, FormAction.EDIT))
    kb.row(_button(_("✖️ Cancel"), step, FormAction.CANCEL))
    return kb.as_markup()


def address_keyboard(sender_email: str) -> InlineKeyboardMarkup:
    """The test email question's buttons: send to the sender's own mailbox, or cancel."""
    kb = InlineKeyboardBuilder()
    send = _("Send to {address}").format(address=sender_email)
    kb.row(_button(send, FormStep.TEST, FormAction.TO_SENDER))
    kb.row(_button(_("✖️ Cancel"), FormStep.TEST, FormAction.CANCEL))
    return kb.as_markup()


async def show_overview(
    target: Message, mailing_settings: MailingSettingsService, settings: Settings
) -> None:
    """Send the /settings page (also for a main menu button)."""
    current = await mailing_settings.current()
    await target.answer(overview_text(current, settings), reply_markup=overview_keyboard(current))
