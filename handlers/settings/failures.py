"""Why an SMTP check or a test email failed, in plain words with what to do about it, and
the fields the failure points to (the ones the admin is offered to change alone)."""

from __future__ import annotations

from html import escape
from typing import Protocol

from aiogram.utils.i18n import gettext as _

from bot.mailing_settings import SmtpDraft
from bot.smtp import SmtpFailure, SmtpStage, VerifyResult
from handlers.settings.states import FormStep
from storage.mailing_settings import Security


def seconds_text(value: float) -> str:
    """A timeout as "15" rather than "15.0"."""
    return f"{value:g}"


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


def failure_fields(result: VerifyResult, server: SmtpDraft) -> tuple[FormStep, ...]:
    """The fields a failed check points to: what the admin most likely has to change."""
    failure = result.failure
    if failure == SmtpFailure.TIMEOUT and result.stage == SmtpStage.GREETING:
        return (FormStep.SECURITY,)  # a port expecting SSL/TLS from the start
    if failure in (SmtpFailure.AUTH_FAILED, SmtpFailure.KEY_MISMATCH):
        return (FormStep.PASSWORD,) if server.username else (FormStep.USERNAME,)
    fields = {
        SmtpFailure.HOST_NOT_FOUND: (FormStep.HOST,),
        SmtpFailure.CONNECTION_REFUSED: (FormStep.HOST, FormStep.PORT),
        SmtpFailure.TIMEOUT: (FormStep.HOST, FormStep.PORT),
        SmtpFailure.TLS_FAILED: (FormStep.SECURITY,),
        SmtpFailure.NO_STARTTLS: (FormStep.SECURITY,),
        SmtpFailure.AUTH_NOT_SUPPORTED: (FormStep.SECURITY,),
        SmtpFailure.CERT_INVALID: (FormStep.HOST,),
        SmtpFailure.SENDER_REFUSED: (FormStep.SENDER_EMAIL,),
    }
    return fields.get(failure, ()) if failure else ()
