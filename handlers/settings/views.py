"""Texts and keyboards of /settings: the overview, the SMTP dialog's steps, failures.

Everything the admin reads is built here, HTML-escaped; the password only ever as a mask.
"""

from __future__ import annotations

import contextlib
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.mailing_settings import MailingSettings, MailingSettingsService, SmtpDraft
from bot.smtp import DEFAULT_PORTS
from bot.validators import InputError, parse_email
from handlers.components.texts import zone_words
from handlers.settings.callbacks import (
    FieldCb,
    FormAction,
    OverviewAction,
    SettingsCb,
    SmtpFormCb,
)

# /new's test email explains failures the same way.
from handlers.settings.failures import failure_reason as failure_reason
from handlers.settings.inbox_views import page_line as inbox_page_line
from handlers.settings.limits_views import cap_line, quiet_line
from handlers.settings.states import ORDER, FormStep
from storage.mailing_settings import Security, SmtpSettings

# Shown instead of the password, always the same length so it reveals nothing.
MASKED = "••••••••"

# ------------------------------------------------------------------ texts


def security_label(mode: Security) -> str:
    """The name of a security mode as the admin sees it."""
    return {"none": _("None (no encryption)"), "starttls": "STARTTLS", "tls": "SSL/TLS"}[mode]


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


def email_off_hint(current: MailingSettings) -> str:
    """Why Email is off and what turns it on (the page's buttons)."""
    if current.smtp is None:
        return _("Mailings do not use email: set up the SMTP server with the button below.")
    return _("Mailings do not use email until you turn it on with “Turn Email on” below.")


def overview_text(current: MailingSettings, settings: Settings) -> str:
    """The /settings page: channel switches and the SMTP server in force."""
    channels = current.channels
    lines = [_("<b>Mailing settings</b>"), ""]
    if channels.email_enabled:
        lines.append(_("📧 Email: on"))
    else:
        lines += [_("📧 Email: off"), "    " + email_off_hint(current)]
    lines.append(_("✈️ Telegram: on") if channels.telegram_enabled else _("✈️ Telegram: off"))
    if not channels.enabled:
        lines.append(_("⚠️ Both channels are off: mailings cannot be sent."))
    lines += ["", _("<b>SMTP server</b>")]
    smtp = current.smtp
    if smtp is None:
        lines.append(_("Not set up yet. Email mailings need a verified SMTP server."))
    else:
        verified = smtp.verified_at.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
        verified += " " + zone_words(settings)
        lines += smtp_lines(smtp)
        lines.append(_("Last verified: {when}").format(when=verified))
    lines += ["", quiet_line(current.limits, settings.timezone), cap_line(current.limits)]
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
    button(_("🌙 Quiet hours and frequency cap"), OverviewAction.LIMITS)
    button(_("📥 Mailbox for unsubscribes and bounces"), OverviewAction.INBOX)
    kb.adjust(1)
    if current.smtp is not None:
        # One value can be changed alone; it is verified like the whole form.
        fields = [
            InlineKeyboardButton(
                text="✏️ " + field_name(step), callback_data=FieldCb(field=step).pack()
            )
            for step in ORDER
        ]
        kb.row(*fields, width=2)
    return kb.as_markup()


def field_name(step: FormStep) -> str:
    """A form field as a "Change: …" button names it."""
    return {
        FormStep.HOST: _("Server"),
        FormStep.PORT: _("Port"),
        FormStep.SECURITY: _("Security"),
        FormStep.USERNAME: _("Login"),
        FormStep.PASSWORD: _("Password"),
        FormStep.SENDER_EMAIL: _("Sender address"),
        FormStep.SENDER_NAME: _("Sender name"),
    }[step]


def switch_email_on_keyboard() -> InlineKeyboardMarkup:
    """The one button that puts Email to use (under a test email sent while it is off)."""
    on = SettingsCb(action=OverviewAction.EMAIL_ON).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("📧 Turn Email on"), callback_data=on)]]
    )


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


def _current(step: FormStep, draft: SmtpDraft) -> str | None:
    """The draft's value for a step as shown to the admin (None when not set)."""
    if step is FormStep.PASSWORD:
        return MASKED if draft.password_encrypted else None
    if step is FormStep.SECURITY:
        return security_label(draft.security) if draft.security else None
    value = getattr(draft, step.value)
    return None if value is None else escape(str(value))


def step_prompt(step: FormStep, draft: SmtpDraft, *, answered: bool = False) -> str:
    """The question of one step of the SMTP dialog, with the value kept by Skip; once
    `answered`, with the answer instead (the question stays in the chat as a record)."""
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
    if answered:
        now = "✅ " + (current or "—")
    elif current:
        now = _("Current: {value}").format(value=current)
    else:
        now = _("Current: not set")
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
        _button(_("« Back"), step, FormAction.BACK),
        _button(_("✖️ Cancel"), step, FormAction.CANCEL),
    )
    return kb.as_markup()


def change_field_label(step: FormStep) -> str:
    """The button that asks one field again after a failed check."""
    return {
        FormStep.HOST: _("✏️ Change the server"),
        FormStep.PORT: _("✏️ Change the port"),
        FormStep.SECURITY: _("✏️ Change the security"),
        FormStep.USERNAME: _("✏️ Change the login"),
        FormStep.PASSWORD: _("✏️ Change the password"),
        FormStep.SENDER_EMAIL: _("✏️ Change the sender address"),
        FormStep.SENDER_NAME: _("✏️ Change the sender name"),
    }[step]


def failure_keyboard(step: FormStep, fields: tuple[FormStep, ...] = ()) -> InlineKeyboardMarkup:
    """After a failed check or test email: change what the failure points to, try again,
    change all the settings, or stop."""
    kb = InlineKeyboardBuilder()
    for field in fields:
        kb.row(_button(change_field_label(field), step, FormAction.FIELD, field.value))
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
    text = overview_text(current, settings) + await inbox_page_line(settings)
    await target.answer(text, reply_markup=overview_keyboard(current))
