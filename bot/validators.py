"""What an admin types: the one check of every free-text value (check_typed), and the
parsers of the SMTP settings (host, port, email, names, password) built on it.

Each returns the normalised value or raises InputError whose `reason` is a short
code the handler turns into a sentence. The typed text is never part of the
error, so a password pasted into the wrong step cannot leak through it; a refused
control character travels only as its code point (U+001B), never as itself.
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


# Control characters a person types on purpose: the parsers fold or refuse them by their
# own one-line rules, and a mailing's text keeps them.
TYPED_WHITESPACE = frozenset("\n\t")
# Letters and symbols that draw nothing: Hangul fillers and the blank Braille pattern,
# favourites for "empty" names in messengers.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Categories with nothing to see on their own: controls, format characters (zero-width
# space and joiners, word joiner, BOM, direction marks), separators, unassigned code
# points, surrogates and combining marks without a base.
_UNSEEN = frozenset({"Cc", "Cf", "Cn", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})


class InputError(ValueError):
    """Typed input refused; `reason` says why as a code (e.g. "out_of_range"), `char` is the
    offending character when the reason is "control_char" or "invisible_char"."""

    def __init__(self, reason: str, char: str | None = None) -> None:
        """Keep only the reason code: the refused text itself may be a secret."""
        super().__init__(reason)
        self.reason = reason
        self.char = char

    @property
    def code_point(self) -> str:
        """The refused character as the admin may see it: U+001B, never the character."""
        return f"U+{ord(self.char):04X}" if self.char else ""


def is_control(ch: str) -> bool:
    """A C0 or C1 control character (NUL, ESC, DEL, U+0080-U+009F; line breaks included)."""
    return unicodedata.category(ch) == "Cc"


def is_visible(ch: str) -> bool:
    """True when the character draws something by itself."""
    return unicodedata.category(ch) not in _UNSEEN and ch not in _BLANK_GLYPHS


def _is_hidden(ch: str) -> bool:
    """A character that draws nothing even inside a word (zero-width space, BOM, filler);
    combining marks are not: some scripts' words need them."""
    return unicodedata.category(ch) in ("Cf", "Cn", "Cs") or ch in _BLANK_GLYPHS


def check_typed(text: str) -> str:
    """The check every free-text value an admin types goes through first: the text is
    refused when it holds a control character other than a line break or a tab
    ("control_char", with the character's code point) or has nothing visible ("empty" when
    there is no character at all, else "invisible": spaces, zero-width characters).
    Returned unchanged.

    Zero-width joiners and the like stay allowed inside visible text: emoji and some
    scripts are made with them."""
    for ch in text:
        if is_control(ch) and ch not in TYPED_WHITESPACE:
            raise InputError("control_char", ch)
    if not any(is_visible(ch) for ch in text):
        raise InputError("invisible" if text else "empty")
    return text


def _one_line(text: str) -> None:
    """Refuse any control character, line breaks and tabs included (a header, a password)."""
    for ch in text:
        if is_control(ch):
            raise InputError("control_char", ch)


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


def _one_word(value: str) -> None:
    """A value without spaces (host, login, address): visible characters only."""
    if any(ch.isspace() for ch in value):
        raise InputError("has_spaces")
    hidden = next((ch for ch in value if _is_hidden(ch)), None)
    if hidden is not None:
        # A zero-width space pasted along with a login would fail at the server, unseen.
        raise InputError("invisible_char", hidden)


def parse_host(text: str) -> str:
    """A server address: a host name (smtp.example.ru) or an IPv4/IPv6 address."""
    value = check_typed(text).strip()
    _one_word(value)
    if "://" in value:
        raise InputError("has_scheme")
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
    value = text.strip()
    if not value:
        raise InputError("empty")
    if not value.isascii() or not value.isdigit():
        raise InputError("not_a_number")
    if len(value) > 5 or not 1 <= int(value) <= 65535:
        raise InputError("out_of_range")
    return int(value)


def parse_email(text: str) -> str:
    """An email address local@domain.tld; the domain is lower-cased and punycoded."""
    value = check_typed(text).strip()
    if re.search(r"<[^<>@\s]+@[^<>\s]+>", value):
        raise InputError("with_name")  # "Ресторан <bonus@x.ru>": the name has its own step
    _one_word(value)
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
    value = check_typed(text).strip()
    _one_word(value)
    if len(value) > MAX_USERNAME:
        raise InputError("too_long")
    return value


def parse_password(text: str) -> str:
    """An SMTP password: kept exactly as typed (spaces included), one line.

    One made only of spaces is refused ("invisible"): Telegram apps trim the spaces at the
    edges of a message, so such a password cannot arrive as typed, and it is far likelier a
    slip than what the mail server expects."""
    if not text:
        raise InputError("empty")
    _one_line(text)
    check_typed(text)
    if len(text) > MAX_PASSWORD:
        raise InputError("too_long")
    return text


def parse_sender_name(text: str) -> str:
    """The sender's display name, folded to one line because it goes into a mail header."""
    value = " ".join(check_typed(text).split())
    if len(value) > MAX_SENDER_NAME:
        raise InputError("too_long")
    return value
