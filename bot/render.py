"""Mailing templates: checking the admin's text and rendering it for one guest.

One module for the preview, the test send and the delivery engine, so a guest
gets exactly what the admin previewed. A template is the admin's message as
Telegram HTML (`message.html_text`) with `{variable}` fields; literal braces are
written `{{` and `}}`. Values are escaped for the target format; an empty value
leaves no double space behind.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

if TYPE_CHECKING:
    from storage.guests import Guest

VARIABLES: tuple[str, ...] = (
    "first_name",
    "last_name",
    "middle_name",
    "full_name",
    "balance",
    "today",
)
TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
TEMPLATE_ERROR_CODES = frozenset(
    {"unknown_variable", "attribute", "index", "format_spec", "conversion", "positional",
     "unbalanced"}
)  # fmt: skip

# Stands for an empty value until the spaces around it are tidied. A NUL cannot be
# part of a Telegram message, and it is removed from templates and values first.
_EMPTY = "\x00"
_TAGS = r"(?:<[^<>]*>)*"
_PUNCT = ",.!?;:…)»"
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tg"})


class TemplateError(ValueError):
    """A brace expression that is not one of VARIABLES; `code` says which kind."""

    def __init__(self, code: str, expression: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.expression = expression


@dataclass(frozen=True)
class _Field:
    name: str


_Token = str | _Field


def _field(expression: str) -> _Field:
    """Classify the inside of one `{...}`; a TemplateError unless it is a known variable."""
    shown = "{" + expression + "}"
    name = re.split(r"[.\[!:]", expression, maxsplit=1)[0]
    rest = expression[len(name) :]
    if not name or name.strip().isdigit():
        raise TemplateError("positional", shown, f"{shown}: a field needs a variable name")
    if rest.startswith("."):
        raise TemplateError("attribute", shown, f"{shown}: attribute access is not allowed")
    if rest.startswith("["):
        raise TemplateError("index", shown, f"{shown}: indexing is not allowed")
    if rest.startswith("!"):
        raise TemplateError("conversion", shown, f"{shown}: conversions are not allowed")
    if rest.startswith(":"):
        raise TemplateError("format_spec", shown, f"{shown}: format specs are not allowed")
    if name not in VARIABLES:
        raise TemplateError("unknown_variable", shown, f"{shown}: unknown variable")
    return _Field(name)


def _tokens(text: str) -> list[_Token]:
    """The template as literal text and fields; raises TemplateError on any bad brace."""
    tokens: list[_Token] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            raise TemplateError("unbalanced", "}", "a lone } (write }} for a literal brace)")
        elif ch == "{":
            end = text.find("}", i + 1)
            opening = text.find("{", i + 1)
            if end == -1 or (opening != -1 and opening < end):
                shown = text[i : (end + 1 if end != -1 else i + 20)]
                raise TemplateError(
                    "unbalanced", shown, f"{shown}: a {{ without its }} (write {{{{ for a brace)"
                )
            if literal:
                tokens.append("".join(literal))
                literal = []
            tokens.append(_field(text[i + 1 : end]))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        tokens.append("".join(literal))
    return tokens


def check_template(text: str) -> None:
    """Refuse any brace expression but the known variables (TemplateError)."""
    _tokens(text)


def used_variables(text: str) -> set[str]:
    """The variables a (valid) template uses."""
    return {t.name for t in _tokens(text) if isinstance(t, _Field)}


@dataclass(frozen=True)
class RenderContext:
    """What rendering depends on besides the guest: the language and today's date."""

    locale: str
    today: date

    @classmethod
    def now(cls, locale: str, tz: ZoneInfo) -> RenderContext:
        return cls(locale=locale, today=datetime.now(tz).date())


@dataclass(frozen=True)
class Recipient:
    """The guest data a template can show."""

    first_name: str | None
    last_name: str | None
    middle_name: str | None
    balance: Decimal

    @classmethod
    def of(cls, guest: Guest) -> Recipient:
        return cls(guest.first_name, guest.last_name, guest.middle_name, guest.balance)


def _clean(value: str | None) -> str:
    """A stored name as one tidy line: control characters dropped, spaces single."""
    if not value:
        return ""
    kept = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value)
    return " ".join(kept.split())


def format_balance(value: Decimal, locale: str) -> str:
    """A balance for the locale: 1 234 or 1 234,50 (ru), 1,234.50 (en)."""
    whole = value == value.to_integral_value()
    return format_decimal(value, format="#,##0" if whole else "#,##0.00", locale=locale)


# "{balance} баллов" agrees with the number: "1 балл", "3 балла", "5 баллов", and a
# fraction takes the genitive singular ("4 305,84 балла"); the same for "бонус".
_POINTS_WORD = re.compile(r"^((?:\s|&nbsp;|<[^<>]*>)+)(балл|бонус)(ов|а)?(?![а-яё])", re.I)


def points_ending(balance: str) -> str:
    """The ending "балл"/"бонус" takes after a formatted balance: "", "а" or "ов"."""
    if re.search(r"[.,]\d{2}$", balance):  # a fraction (thousands have 3 digits)
        return "а"
    digits = re.sub(r"\D", "", balance)
    n = int(digits) if digits else 0
    if n % 10 == 1 and n % 100 != 11:
        return ""
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "а"
    return "ов"


def _agree(value: str, text: str) -> str:
    """`text` that follows a balance, its first word "балл…" made to agree with it."""
    match = _POINTS_WORD.match(text)
    if match is None:
        return text
    space, word, old = match.group(1), match.group(2), match.group(3) or ""
    ending = points_ending(value)
    if old.isupper() or (not old and word.isupper()):
        ending = ending.upper()
    return space + word + ending + text[match.end() :]


def variables(recipient: Recipient, ctx: RenderContext) -> dict[str, str]:
    """Every variable's raw (unescaped) value for this guest."""
    first, last, middle = (
        _clean(recipient.first_name),
        _clean(recipient.last_name),
        _clean(recipient.middle_name),
    )
    return {
        "first_name": first,
        "last_name": last,
        "middle_name": middle,
        "full_name": " ".join(p for p in (last, first, middle) if p),
        "balance": format_balance(recipient.balance, ctx.locale),
        "today": ctx.today.strftime("%d.%m.%Y"),
    }


def _capitalised(match: re.Match[str]) -> str:
    """The tags around a dropped "{x}, " at a line start, and the next letter made capital."""
    return match.group(1) + match.group(2) + match.group(3) + match.group(4).upper()


def _tidy(text: str, *, markup: bool) -> str:
    """Remove the empty-value marks and the spaces they would leave doubled."""
    if _EMPTY not in text:
        return text
    tags = _TAGS if markup else ""
    mark = f"({tags}){_EMPTY}+({tags})"
    # "a {x} b" -> "a b"; "Hello {x}!" -> "Hello!"; "{x} at line start" -> "at line start";
    # "Hello, {x}!" -> "Hello!"; "{x}, welcome!" -> "Welcome!" (no comma left dangling).
    punct = re.escape(_PUNCT)
    rules: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
        (re.compile(f"[ \t]+{mark}[ \t]+"), r" \1\2"),
        (re.compile(f"[ \t]+{mark}(?=[{punct}]|$)", re.M), f"\\1{_EMPTY}\\2"),
        (re.compile(f",{mark}(?=[{punct}]|$)", re.M), f"\\1{_EMPTY}\\2"),
        (re.compile(f"^{mark},[ \t]*({tags})(\\w)", re.M), _capitalised),
        (re.compile(f"^{mark}[ \t]+", re.M), r"\1\2"),
    )
    changed = True
    while changed:  # "{a} {b} c" with both empty needs two passes
        changed = False
        for pattern, replacement in rules:
            text, count = pattern.subn(replacement, text)
            changed = changed or count > 0
    return text.replace(_EMPTY, "")


def _fill(
    tokens: list[_Token], values: dict[str, str], escape: Callable[[str], str], *, markup: bool
) -> str:
    """Fill the fields in with escaped values; empty ones tidied away."""
    out: list[str] = []
    balance = ""
    for token in tokens:
        if isinstance(token, _Field):
            value = values[token.name]
            out.append(escape(value) if value else _EMPTY)
            balance = value if token.name == "balance" else ""
        else:
            out.append(_agree(balance, token) if balance else token)
            balance = ""
    return _tidy("".join(out), markup=markup)


def _escape_html(value: str) -> str:
    return html.escape(value, quote=True)


def render_telegram(template_html: str, recipient: Recipient, ctx: RenderContext) -> str:
    """The message as Telegram HTML for this guest; values HTML-escaped."""
    tokens = _tokens(template_html.replace(_EMPTY, ""))
    return _fill(tokens, variables(recipient, ctx), _escape_html, markup=True)


class TelegramTemplate:
    """A template parsed once (TemplateError if bad): render() == render_telegram()."""

    def __init__(self, template_html: str) -> None:
        self._tokens = _tokens(template_html.replace(_EMPTY, ""))
        used = {t.name for t in self._tokens if isinstance(t, _Field)}
        self._used = [name for name in VARIABLES if name in used]
        self._ctx: RenderContext | None = None
        self._today = ""

    def render(self, recipient: Recipient, ctx: RenderContext) -> str:
        """The message as Telegram HTML for this guest (only the used variables computed)."""
        if ctx is not self._ctx:
            self._ctx, self._today = ctx, ctx.today.strftime("%d.%m.%Y")
        values: dict[str, str] = {}
        for name in self._used:
            if name == "balance":
                values[name] = format_balance(recipient.balance, ctx.locale)
            elif name == "today":
                values[name] = self._today
            elif name == "full_name":
                parts = (recipient.last_name, recipient.first_name, recipient.middle_name)
                values[name] = " ".join(p for p in map(_clean, parts) if p)
            else:
                values[name] = _clean(getattr(recipient, name))
        return _fill(self._tokens, values, _escape_html, markup=True)


def render_subject(template: str, recipient: Recipient, ctx: RenderContext) -> str:
    """The email subject for this guest: one plain line (no header injection)."""
    tokens = _tokens(template.replace(_EMPTY, ""))
    text = _fill(tokens, variables(recipient, ctx), lambda v: v, markup=False)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return " ".join(text.split())


def telegram_text(telegram_html: str) -> str:
    """The text a Telegram client shows for the HTML: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^<>]*>", "", telegram_html))


def telegram_length(telegram_html: str) -> int:
    """The length Telegram counts: tags removed, entities decoded, in UTF-16 code units."""
    plain = telegram_text(telegram_html)
    return len(plain.encode("utf-16-le", errors="surrogatepass")) // 2


# ---------------------------------------------------------------- Telegram HTML -> email


_EMAIL_TAGS = {
    "b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u",
    "s": "s", "strike": "s", "del": "s", "a": "a", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-spoiler": "span",
}  # fmt: skip
_STYLES = {
    "a": "color:#1a73e8;",
    "code": "font-family:Consolas,Menlo,monospace;background:#f3f3f3;padding:0 2px;",
    "pre": "font-family:Consolas,Menlo,monospace;background:#f3f3f3;padding:8px;"
    "white-space:pre-wrap;margin:8px 0;",
    "blockquote": "margin:8px 0;padding:4px 12px;border-left:3px solid #ccc;color:#555;",
}


def _safe_href(href: str | None) -> str | None:
    if not href:
        return None
    try:
        scheme = urlsplit(href.strip()).scheme.lower()
    except ValueError:
        return None
    return href.strip() if scheme in _LINK_SCHEMES else None


class _Converter(HTMLParser):
    """Reads rendered Telegram HTML; writes email HTML and plain text side by side."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html: list[str] = []
        self.plain: list[str] = []
        self.stack: list[str | None] = []  # the email tag opened for each start tag
        self.links: list[tuple[str | None, int]] = []  # (href, start in plain)
        self.in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        target = _EMAIL_TAGS.get(tag)
        if tag == "span" and attributes.get("class") == "tg-spoiler":
            target = "span"
        href = _safe_href(attributes.get("href")) if tag == "a" else None
        if tag == "a":
            self.links.append((href, len(self.plain)))
            if href is None:
                target = None
        if target is None:
            self.stack.append(None)
            return
        self.stack.append(target)
        if target == "pre":
            self.in_pre += 1
        style = _STYLES.get(target)
        extra = f' href="{_escape_html(href)}"' if href else ""
        extra += f' style="{style}"' if style else ""
        self.html.append(f"<{target}{extra}>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            return
        target = self.stack.pop()
        if tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.plain[start:])
            if href and href not in (text, f"mailto:{text}"):
                self.plain.append(f" ({href})")
        if target is not None:
            self.html.append(f"</{target}>")
            if target == "pre":
                self.in_pre -= 1

    def handle_data(self, data: str) -> None:
        self.plain.append(data)
        escaped = _escape_html(data)
        self.html.append(escaped if self.in_pre else escaped.replace("\n", "<br>\n"))

    def finish(self) -> None:
        self.close()
        while self.stack:
            self.handle_endtag("")


def _convert(telegram_html: str) -> _Converter:
    converter = _Converter()
    converter.feed(telegram_html)
    converter.finish()
    return converter


_EMAIL_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body style="margin:0;padding:16px;background:#ffffff;">
<div style="max-width:600px;margin:0 auto;font-family:Arial,Helvetica,sans-serif;\
font-size:15px;line-height:1.5;color:#222222;">
{image}<div>{body}</div>
</div>
</body>
</html>
"""


def render_email_html(
    template_html: str,
    recipient: Recipient,
    ctx: RenderContext,
    *,
    image_cid: str | None = None,
) -> str:
    """A complete, simple HTML email for this guest; the image (if any) above the text."""
    body = "".join(_convert(render_telegram(template_html, recipient, ctx)).html)
    image = ""
    if image_cid:
        image = (
            f'<img src="cid:{_escape_html(image_cid)}" alt="" '
            'style="display:block;max-width:100%;height:auto;border:0;margin:0 0 12px;">\n'
        )
    lang = re.sub(r"[^A-Za-z-]", "", ctx.locale.replace("_", "-")) or "ru"
    return _EMAIL_PAGE.format(lang=lang, image=image, body=body)


def render_plain(template_html: str, recipient: Recipient, ctx: RenderContext) -> str:
    """The plain-text alternative of the email: markup dropped, links as "text (url)"."""
    return "".join(_convert(render_telegram(template_html, recipient, ctx)).plain)
