"""What the real Bot API checks in a message before it accepts it, for the fake server.

HTML is parsed like Telegram's parser (tdlib) reads parse_mode=HTML: only the supported
tags, each attribute only where Telegram allows it, only the named entities &lt; &gt; &amp;
&quot; and numeric ones. Lengths are counted in UTF-16 code units after the markup is
parsed away, as Telegram counts them (an emoji outside the BMP is two units).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Json = dict[str, Any]

TEXT_MAX, CAPTION_MAX, CALLBACK_ANSWER_MAX = 4096, 1024, 200
_PREFIX = "can't parse entities: "
_MARKUP_RE = re.compile(r"[<&]")
_TAG_RE = re.compile(r"<(/?)([^\s>/]*)")
_ATTR_RE = re.compile(r"""\s+([^\s=>/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z][a-zA-Z0-9]*);")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _language(value: str) -> bool:
    return value.startswith("language-") and len(value) > len("language-")


# The tags Telegram knows, with the attributes each may carry and a check of the value.
_TAGS: dict[str, dict[str, Callable[[str], bool]]] = {
    **{tag: {} for tag in ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del")},
    "tg-spoiler": {},
    "a": {"href": bool},
    "span": {"class": lambda value: value == "tg-spoiler"},
    "tg-emoji": {"emoji-id": str.isdigit},
    "code": {"class": _language},
    "pre": {"class": _language},
    "blockquote": {"expandable": lambda value: True},
}
_REQUIRED = {"a": "href", "span": "class", "tg-emoji": "emoji-id"}


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> Json:
        body: Json = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _entity(text: str, start: int) -> tuple[str, int]:
    """The character an entity at `start` stands for and where the text goes on; a lone
    "&" that starts no entity is kept as it is, like Telegram does."""
    if (match := _ENTITY_RE.match(text, start)) is None:
        return "&", start + 1
    name = match.group(1)
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], match.end()
    if name.startswith("#"):
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF:
            return chr(code), match.end()
    where = f"at byte offset {_offset(text, start)}"
    raise bad_request(f'{_PREFIX}Unsupported HTML entity "{match.group()}" {where}')


def _start_tag(text: str, start: int, name: str, after: int) -> int:
    """Check a start tag's attributes; returns the index after its ">"."""
    where = f"at byte offset {_offset(text, start)}"
    allowed, seen, pos = _TAGS[name], set(), after
    while (attribute := _ATTR_RE.match(text, pos)) is not None:
        key = attribute.group(1).lower()
        value = next((v for v in attribute.groups()[1:] if v is not None), "")
        if key not in allowed:
            raise bad_request(f'{_PREFIX}Unsupported attribute "{key}" of tag "{name}" {where}')
        if not allowed[key](_plain_value(value)):
            raise bad_request(f'{_PREFIX}Wrong value of attribute "{key}" of tag "{name}" {where}')
        seen.add(key)
        pos = attribute.end()
    pos += len(text[pos:]) - len(text[pos:].lstrip())
    if pos >= len(text):
        raise bad_request(f"{_PREFIX}Unclosed start tag {where}")
    if text[pos] != ">":
        raise bad_request(f'{_PREFIX}Unexpected "{text[pos]}" in tag "{name}" {where}')
    if (required := _REQUIRED.get(name)) is not None and required not in seen:
        raise bad_request(f'{_PREFIX}Tag "{name}" must have attribute "{required}" {where}')
    return pos + 1


def _plain_value(value: str) -> str:
    return _ENTITY_RE.sub(lambda m: _entity(m.group(), 0)[0], value)


def html_to_plain(text: str) -> str:
    """Check Telegram HTML like the real server; return the text a client shows."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (found := _MARKUP_RE.search(text, pos)) is not None:
        start = found.start()
        out.append(text[pos:start])
        if text[start] == "&":
            char, pos = _entity(text, start)
            out.append(char)
            continue
        where = f"at byte offset {_offset(text, start)}"
        match = _TAG_RE.match(text, start)
        assert match is not None  # "<" always matches
        closing, name = bool(match.group(1)), match.group(2).lower()
        if match.end() >= len(text):
            raise bad_request(f"{_PREFIX}Unclosed start tag {where}")
        if not closing:
            if name not in _TAGS:
                raise bad_request(f'{_PREFIX}Unsupported start tag "{name}" {where}')
            pos = _start_tag(text, start, name, match.end())
            stack.append(name)
            continue
        if (end := text.find(">", match.end())) == -1 or text[match.end() : end].strip():
            raise bad_request(f"{_PREFIX}Unclosed end tag {where}")
        if not stack or stack[-1] != name:
            expected = f'expected "</{stack[-1]}>", ' if stack else ""
            raise bad_request(f'{_PREFIX}Unmatched end tag {where}, {expected}found "</{name}>"')
        stack.pop()
        pos = end + 1
    if stack:
        raise bad_request(f'{_PREFIX}Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out) + text[pos:]


def checked_text(text: str, parse_mode: Any, *, caption: bool) -> str:
    """The plain text of a message text (1-4096) or caption (0-1024), or the refusal."""
    plain = html_to_plain(text) if str(parse_mode or "").upper() == "HTML" else text
    if caption and utf16_len(plain) > CAPTION_MAX:
        raise bad_request("message caption is too long")
    if not caption and not plain.strip():
        raise bad_request("message text is empty")
    if not caption and utf16_len(plain) > TEXT_MAX:
        raise bad_request("message is too long")
    return plain


def check_markup(markup: Json | None) -> None:
    for row in (markup or {}).get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
