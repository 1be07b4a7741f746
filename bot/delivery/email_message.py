"""One mailing email as MIME: plain and HTML alternatives, the image inline, honest headers.

The bot's one email builder: the delivery engine, the preview's "send test email"
and the settings' test email (plain text, shown as HTML too) all build here, so
they put the same kind of message on the wire. Built for speed (a mailing builds one per
guest): headers are folded once and stored raw, bodies are base64 encoded in C,
and the image part's encoding is computed once per image, not per message.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import secrets
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache
from urllib.parse import quote

from aiogram.utils.i18n import I18n

UNSUBSCRIBE_WORD = "unsubscribe"
_MAX_LINE = 76
_BOUNDARY = re.compile(r'^multipart/[a-z]+; boundary="([^"]+)"$')


def _(text: str) -> str:
    """`text` in the language of the current i18n context, English outside one."""
    i18n = I18n.get_current(no_error=True)
    return text if i18n is None else i18n.gettext(text)


def unsubscribe_mailto(sender_email: str, token: str) -> str:
    """The mailto: URL a guest's mail client uses to ask for unsubscription: an email to the
    sender's own mailbox, which the bot reads (docs/architecture.md, "Delivery engine")."""
    return f"mailto:{sender_email}?subject={UNSUBSCRIBE_WORD}-{quote(token, safe='-')}"


def _footers(sender_email: str, token: str, page: str | None) -> tuple[str, str]:
    """The unsubscribe lines for the plain and the HTML body, in the current language: a
    request by email, which needs nothing but the mailbox the guest reads this in, and
    the one-tap link to the bot (`page`) for guests who use Telegram."""
    subject = f"{UNSUBSCRIBE_WORD}-{token}"
    by_mail = _("To unsubscribe, send an email to {address} with the subject: {subject}").format(
        address=sender_email, subject=subject
    )
    mailto = html_lib.escape(unsubscribe_mailto(sender_email, token), quote=True)
    word = html_lib.escape(_("Unsubscribe"))
    note = html_lib.escape(_("You receive this email as a member of our loyalty programme."))
    links = f'<a href="{mailto}">{word}</a>'
    plain = by_mail
    if page:
        plain = _("To unsubscribe, open {link}").format(link=page) + "\n" + by_mail
        in_telegram = html_lib.escape(_("Unsubscribe in Telegram"))
        links += f' · <a href="{html_lib.escape(page, quote=True)}">{in_telegram}</a>'
    html = f'<p style="color:#888;font-size:12px;margin-top:24px">{note} {links}</p>'
    return plain, html


def html_of_plain(text: str) -> str:
    """Plain text as an HTML fragment: escaped, each paragraph a <p>, line breaks kept."""
    parts = []
    for paragraph in text.replace("\r\n", "\n").split("\n\n"):
        if paragraph.strip():
            lines = html_lib.escape(paragraph.strip("\n")).replace("\n", "<br>\n")
            parts.append(f"<p>{lines}</p>")
    return "\n".join(parts)


def _append_html(document: str, footer: str) -> str:
    """The HTML with the footer placed just before </body> (or at the end of a fragment)."""
    at = document.lower().rfind("</body>")
    if at == -1:
        return document + footer
    return document[:at] + footer + document[at:]


def _encoded(name: str, value: str) -> str:
    """A header value RFC 2047-encoded when not ASCII and folded to 76-character lines."""
    value = " ".join(value.split())
    if value.isascii() and len(value) + len(name) + 2 <= _MAX_LINE:
        return value
    return Header(value, "utf-8", _MAX_LINE, header_name=name).encode("\r\n")


def _address(name: str, display: str | None, address: str) -> str:
    """A From/To value: the display name encoded as needed, then <address>."""
    display = " ".join((display or "").split())
    if not display:
        return address
    if display.isascii():
        value = formataddr((display, address))
        if len(value) + len(name) + 2 <= _MAX_LINE:
            return value
        display = formataddr((display, "")).removesuffix(" <>")
    # The address goes on its own line, so no line grows past 78 characters.
    return f"{_encoded(name, display)}\r\n <{address}>"


def _boundary() -> str:
    """A multipart boundary that cannot occur in base64 text ('_' is not in its alphabet)."""
    return f"=_{secrets.token_hex(12)}"


def _text_part(text: str, subtype: str) -> EmailMessage:
    """A UTF-8 text part, base64 encoded (Cyrillic text stays small and exact)."""
    part = EmailMessage(policy=SMTP)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_payload(base64.encodebytes(text.encode("utf-8")).decode("ascii"))
    return part


@lru_cache(maxsize=4)
def _image_payload(image: bytes) -> str:
    """The base64 body of an image; cached, as every message of a mailing has the same one."""
    return base64.encodebytes(image).decode("ascii")


def _image_part(image: bytes, subtype: str, cid: str) -> EmailMessage:
    """The inline image part, referenced from the HTML as cid:<cid>."""
    extension = "jpg" if subtype == "jpeg" else subtype
    part = EmailMessage(policy=SMTP)
    part.set_raw("Content-Type", f"image/{subtype}")
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_raw("Content-ID", f"<{cid}>")
    part.set_raw("Content-Disposition", f'inline; filename="image.{extension}"')
    part.set_payload(_image_payload(image))
    return part


def _multipart(subtype: str, parts: list[EmailMessage]) -> EmailMessage:
    """A multipart container holding `parts`."""
    container = EmailMessage(policy=SMTP)
    container.set_raw("Content-Type", f'multipart/{subtype}; boundary="{_boundary()}"')
    container.set_payload(list(parts))
    return container


def build_email(
    *,
    sender_email: str,
    sender_name: str | None,
    to_email: str,
    to_name: str | None,
    subject: str,
    html: str,
    plain: str,
    image: bytes | None,
    image_subtype: str | None,
    image_cid: str | None,
    unsubscribe_token: str | None,
    message_id_domain: str,
    unsubscribe_link: str | None = None,
) -> EmailMessage:
    """A multipart/alternative email (plain + HTML, the image inline by Content-ID).

    Names and the subject may be Cyrillic: headers are RFC 2047-encoded, bodies
    UTF-8 in base64, lines end in CRLF (the SMTP policy). The HTML must already
    refer to the image as `cid:<image_cid>`. With a token the message carries
    List-Unsubscribe (mailto: to the sender, then the one-tap `unsubscribe_link` when
    given) and an unsubscribe footer line with both.
    """
    if image is not None and (not image_cid or not image_subtype):
        raise ValueError("an inline image needs image_cid and image_subtype")
    headers = [
        ("From", _address("From", sender_name, sender_email)),
        ("To", _address("To", to_name, to_email)),
        ("Subject", _encoded("Subject", subject)),
        ("Date", format_datetime(datetime.now(UTC))),
        ("Message-ID", make_msgid(domain=message_id_domain)),
    ]
    if unsubscribe_token:
        mailto = unsubscribe_mailto(sender_email, unsubscribe_token)
        # The mailto first: a mail client's Unsubscribe button takes the first it can use,
        # and an email-only guest may have no Telegram.
        targets = f"<{mailto}>,\r\n <{unsubscribe_link}>" if unsubscribe_link else f"<{mailto}>"
        headers.append(("List-Unsubscribe", f"\r\n {targets}"))
        plain_footer, html_footer = _footers(sender_email, unsubscribe_token, unsubscribe_link)
        plain = f"{plain.rstrip()}\n\n-- \n{plain_footer}\n"
        html = _append_html(html, html_footer)
    html_part = _text_part(html, "html")
    if image is not None:
        assert image_cid is not None and image_subtype is not None
        html_part = _multipart("related", [html_part, _image_part(image, image_subtype, image_cid)])
    message = _multipart("alternative", [_text_part(plain, "plain"), html_part])
    body_headers = list(message.raw_items())
    for name, _value in body_headers:
        del message[name]
    for name, value in [*headers, ("MIME-Version", "1.0"), *body_headers]:
        message.set_raw(name, value)
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """`message.as_bytes()` for a message made by build_email, byte for byte, cheaply.

    The standard generator parses every Content-Type header again to walk the parts
    (most of the cost of a mailing email). build_email stores every header raw and
    every body already encoded, so writing it out is joining strings: headers folded
    by the same policy call the generator makes, CRLF line ends, the boundaries
    read back from the headers this module wrote. Anything else goes the long way.
    """
    out: list[bytes] = []
    if not _flatten(message, out):
        return message.as_bytes()
    return b"".join(out)


def _flatten(part: EmailMessage, out: list[bytes]) -> bool:
    """Append the part's bytes to `out`; False if it is not one build_email makes."""
    boundary = None
    for name, value in part.raw_items():
        if name == "Content-Type" and value.startswith("multipart/"):
            match = _BOUNDARY.match(value)
            if match is None:
                return False
            boundary = match.group(1)
        out.append(SMTP.fold_binary(name, value))
    out.append(b"\r\n")
    payload = part.get_payload()
    if isinstance(payload, list):
        if boundary is None or part.preamble is not None or part.epilogue is not None:
            return False
        for at, sub in enumerate(payload):
            out.append(f"{'' if at == 0 else chr(13) + chr(10)}--{boundary}\r\n".encode())
            if not isinstance(sub, EmailMessage) or not _flatten(sub, out):
                return False
        out.append(f"\r\n--{boundary}--\r\n".encode())
        return True
    if not isinstance(payload, str) or "\r" in payload or not payload.isascii():
        return False
    out.append(payload.replace("\n", "\r\n").encode("ascii"))
    return True
