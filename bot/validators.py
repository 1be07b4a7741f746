"""Parsers of what an admin types for the SMTP settings: host, port, email, names.

Each returns the normalised value or raises InputError whose `reason` is a short
code the handler turns into a sentence. The typed text is never part of the
error, so a password pasted into the wrong step cannot leak through it.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

MAX_HOST = 253
MAX_LABEL = 63
MAX_EMAIL = 254
MAX_LOCAL_PART = 64
MAX_USERNAME = 254
MAX_PASSWORD = 512
MAX_SENDER_NAME = 100

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# RFC 5322 dot-atom characters of a local part (ASCII only: SMTPUTF8 is rare).
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


class InputError(ValueError):
    """Typed input refused; `reason` says why as a code (e.g. "out_of_range")."""

    def __init__(self, reason: str) -> None:
        """Keep only the reason code: the refused text itself may be a secret."""
        super().__init__(reason)
        self.reason = reason


def _has_control(text: str) -> bool:
    """True when the text holds a control character (line breaks included)."""
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _hostname(text: str) -> str:
    """A DNS name in lower-case ASCII (IDN turned to punycode) or InputError."""
    name = text.rstrip(".").lower()
    if not name:
        raise InputError("invalid_host")
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise InputError("invalid_host") from None
    if len(ascii_name) > MAX_HOST:
        raise InputError("too_long")
    labels = ascii_name.split(".")
    for label in labels:
        if len(label) > MAX_LABEL or not _LABEL.match(label):
            raise InputError("invalid_host")
    # An all-numeric name such as 10.0.0 is a mistyped IP address, not a host.
    if labels[-1].isdigit():
        raise InputError("invalid_ip")
    return ascii_name


def _filled(text: str) -> str:
    """The typed text without surrounding spaces; refused when nothing is left."""
    value = text.strip()
    if not value:
        raise InputError("empty")
    return value


def _refuse_spaces(value: str) -> None:
    """Refuse a value with spaces or control characters inside (a host, address, login)."""
    if any(ch.isspace() for ch in value) or _has_control(value):
        raise InputError("has_spaces")


def _one_line(value: str, limit: int) -> str:
    """`value` as it is, refused when empty, with control characters or over `limit`."""
    if not value:
        raise InputError("empty")
    if _has_control(value):
        raise InputError("control_char")
    if len(value) > limit:
        raise InputError("too_long")
    return value


def parse_host(text: str) -> str:
    """A server address: a host name (smtp.example.ru) or an IPv4/IPv6 address."""
    value = _filled(text)
    if "://" in value:
        raise InputError("has_scheme")
    _refuse_spaces(value)
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if "@" in value:
        raise InputError("looks_like_email")
    if value.count(":") == 1 and value.rsplit(":", 1)[1].isdigit():
        raise InputError("has_port")
    if ":" in value or "/" in value:
        raise InputError("invalid_host")
    return _hostname(value)


def parse_port(text: str) -> int:
    """A TCP port number, 1-65535."""
    value = _filled(text)
    if not value.isascii() or not value.isdigit():
        raise InputError("not_a_number")
    if len(value) > 5 or not 1 <= int(value) <= 65535:
        raise InputError("out_of_range")
    return int(value)


def parse_email(text: str) -> str:
    """An email address local@domain.tld; the domain is lower-cased and punycoded."""
    value = _filled(text)
    if re.search(r"<[^<>@\s]+@[^<>\s]+>", value):
        raise InputError("with_name")  # "Ресторан <bonus@x.ru>": the name has its own step
    _refuse_spaces(value)
    if value.count("@") != 1:
        raise InputError("no_at")
    local, domain = value.split("@")
    if not local or len(local) > MAX_LOCAL_PART or not _LOCAL.match(local):
        raise InputError("invalid_local_part")
    try:
        ascii_domain = _hostname(domain)
    except InputError:
        raise InputError("invalid_domain") from None
    if "." not in ascii_domain or not _TLD.match(ascii_domain.rsplit(".", 1)[1]):
        raise InputError("invalid_domain")
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_EMAIL:
        raise InputError("too_long")
    return address


def parse_username(text: str) -> str:
    """An SMTP login: one line, no spaces (often the mailbox address)."""
    value = _filled(text)
    _refuse_spaces(value)
    if len(value) > MAX_USERNAME:
        raise InputError("too_long")
    return value


def parse_password(text: str) -> str:
    """An SMTP password: kept exactly as typed (spaces included), one line."""
    return _one_line(text, MAX_PASSWORD)


def parse_sender_name(text: str) -> str:
    """The sender's display name, folded to one line because it goes into a mail header."""
    return _one_line(" ".join(text.split()), MAX_SENDER_NAME)
