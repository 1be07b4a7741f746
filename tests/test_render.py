"""The renderer: what a guest sees is the admin's text with their own data, safely escaped."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import (
    TEMPLATE_ERROR_CODES,
    VARIABLES,
    Recipient,
    RenderContext,
    TemplateError,
    check_template,
    render_email_html,
    render_plain,
    render_subject,
    render_telegram,
    telegram_length,
    used_variables,
    variables,
)
from tests.fakes.botapi import ApiError, _html_to_plain

CTX = RenderContext(locale="ru", today=date(2026, 3, 8))
EN = RenderContext(locale="en", today=date(2026, 3, 8))
ANNA = Recipient("Анна", "Иванова", "Петровна", Decimal("1234.50"))
NOBODY = Recipient(None, None, None, Decimal(0))

NASTY = ["<b>", "</a>", "&", '"', "'", "&amp;", "<script>alert(1)</script>", "{first_name}",
         "}", "{", "\r\nBcc: x@y.z", "\x00", "\u2028", "  ", "<a href='javascript:x'>"]  # fmt: skip
names = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(NASTY))
balances = st.decimals(
    min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
)
recipients = st.builds(Recipient, names, names, names, balances)
contexts = st.builds(
    RenderContext, st.sampled_from(["ru", "en"]), st.dates(date(2000, 1, 1), date(2100, 1, 1))
)


def _text(value: str) -> str:
    """Plain admin text as Telegram HTML: escaped, braces doubled."""
    return html.escape(value, quote=False).replace("{", "{{").replace("}", "}}")


_tags = st.sampled_from(
    [("<b>", "</b>"), ("<i>", "</i>"), ("<u>", "</u>"), ("<s>", "</s>"), ("<code>", "</code>"),
     ("<pre>", "</pre>"), ("<blockquote>", "</blockquote>"), ("<tg-spoiler>", "</tg-spoiler>"),
     ('<a href="https://example.com/?a=1&amp;b=2">', "</a>"),
     ('<span class="tg-spoiler">', "</span>")]
)  # fmt: skip
_field = st.sampled_from([f"{{{name}}}" for name in VARIABLES])
_plain = st.text(max_size=30).map(_text)
_part = st.one_of(_plain, _field, st.tuples(_tags, st.lists(st.one_of(_plain, _field))).map(
    lambda t: t[0][0] + "".join(t[1]) + t[0][1]
))  # fmt: skip
templates = st.lists(_part, min_size=1, max_size=8).map("".join)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(document: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(document)
    return parser.tags


# ------------------------------------------------------------------ examples


def test_each_variable_has_its_value() -> None:
    values = variables(ANNA, CTX)
    assert values == {
        "first_name": "Анна",
        "last_name": "Иванова",
        "middle_name": "Петровна",
        "full_name": "Иванова Анна Петровна",
        "balance": "1\xa0234,50",
        "today": "08.03.2026",
    }
    assert variables(ANNA, EN)["balance"] == "1,234.50"
    assert variables(Recipient("A", None, None, Decimal(1500)), EN)["balance"] == "1,500"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello, {first_name}!", "Hello, Анна!"),
        ("{last_name}", "Иванова"),
        ("{middle_name}", "Петровна"),
        ("Dear {full_name}", "Dear Иванова Анна Петровна"),
        ("You have {balance} points", "You have 1\xa0234,50 points"),
        ("As of {today}", "As of 08.03.2026"),
        ("Braces: {{first_name}}", "Braces: {first_name}"),
    ],
)
def test_examples(template: str, expected: str) -> None:
    assert render_telegram(template, ANNA, CTX) == expected


def test_missing_parts_leave_no_double_spaces() -> None:
    guest = Recipient("Анна", None, None, Decimal(0))
    assert variables(guest, CTX)["full_name"] == "Анна"
    assert render_telegram("Hi {last_name} {first_name} {middle_name}!", guest, CTX) == "Hi Анна!"
    assert render_telegram("{last_name} {middle_name} Hello", guest, CTX) == "Hello"
    assert render_telegram("<b>{middle_name}</b> {first_name}", guest, CTX) == "<b></b>Анна"
    assert render_plain("Hello, {middle_name} friend", guest, CTX) == "Hello, friend"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Привет, {first_name}! У вас {balance} бонусов", "Привет! У вас 0 бонусов"),
        ("{first_name}, привет!", "Привет!"),
        ("Привет, {first_name}, как дела?", "Привет, как дела?"),
        ("{last_name} {first_name}, ждём вас", "Ждём вас"),
        ("Привет,{first_name}", "Привет"),
    ],
)
def test_a_guest_without_a_name_gets_no_dangling_comma(template: str, expected: str) -> None:
    nameless = Recipient(None, None, None, Decimal(0))
    assert render_telegram(template, nameless, CTX) == expected
    assert render_plain(template, nameless, CTX) == expected


def test_values_are_escaped_for_each_format() -> None:
    evil = Recipient('<b>"Bob" & co</b>', "</a>", None, Decimal(0))
    tg = render_telegram('<a href="https://x.y/{first_name}">{last_name}</a>', evil, CTX)
    assert "&lt;b&gt;&quot;Bob&quot; &amp; co&lt;/b&gt;" in tg and "&lt;/a&gt;" in tg
    assert _html_to_plain(tg) == "</a>"
    page = render_email_html("Hi {first_name}", evil, CTX)
    assert "&lt;b&gt;&quot;Bob&quot; &amp; co&lt;/b&gt;" in page
    assert render_plain("Hi {first_name}", evil, CTX) == 'Hi <b>"Bob" & co</b>'


def test_email_maps_telegram_formatting_and_keeps_only_safe_links() -> None:
    template = (
        "<b>b</b><strong>st</strong><i>i</i><em>em</em><u>u</u><ins>ins</ins><s>s</s>"
        "<del>d</del><strike>k</strike><code>c</code><pre>line1\nline2</pre>"
        "<blockquote>q</blockquote><tg-spoiler>sp</tg-spoiler>"
        '<a href="https://ok.example">ok</a> <a href="javascript:alert(1)">bad</a>'
        '<a href="mailto:a@b.c">mail</a> <a href="tg://resolve?domain=x">tg</a>\nend'
    )
    page = render_email_html(template, ANNA, CTX, image_cid="img-1@probonus")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    names = [tag for tag, _ in tags_of(page)]
    assert {"b", "i", "u", "s", "code", "pre", "blockquote", "span", "br", "img"} <= set(names)
    hrefs = [attrs["href"] for tag, attrs in tags_of(page) if tag == "a"]
    assert hrefs == ["https://ok.example", "mailto:a@b.c", "tg://resolve?domain=x"]
    assert "javascript" not in page and ">bad<" not in page and "bad" in page
    assert "line1\nline2</pre>" in page
    assert 'src="cid:img-1@probonus"' in page
    assert 'lang="ru"' in page


def test_plain_text_shows_links_with_their_address() -> None:
    template = '<b>Sale</b> <a href="https://r.example/menu">menu</a> <a href="https://x.y">https://x.y</a>'
    assert render_plain(template, ANNA, CTX) == "Sale menu (https://r.example/menu) https://x.y"


def test_subject_is_one_line() -> None:
    guest = Recipient("Ann\r\nBcc: spy@example.com", None, None, Decimal(0))
    subject = render_subject("Hi {first_name}\r\nX-Evil: 1", guest, CTX)
    assert subject == "Hi Ann Bcc: spy@example.com X-Evil: 1"


def test_telegram_length_counts_like_telegram() -> None:
    assert telegram_length("<b>a&amp;b</b>") == 3
    assert telegram_length("😀") == 2  # a UTF-16 surrogate pair
    assert telegram_length('<a href="https://very.long/url">x</a>') == 1


@pytest.mark.parametrize(
    ("template", "code"),
    [
        ("{name}", "unknown_variable"),
        ("{first_name.upper}", "attribute"),
        ("{first_name[0]}", "index"),
        ("{balance:>10}", "format_spec"),
        ("{first_name!r}", "conversion"),
        ("{0}", "positional"),
        ("{}", "positional"),
        ("Hello {first_name", "unbalanced"),
        ("Hello }", "unbalanced"),
        ("{a{b}}", "unbalanced"),
        ("{ first_name }", "unknown_variable"),
    ],
)
def test_refused_brace_expressions(template: str, code: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_template(template)
    assert caught.value.code == code
    assert caught.value.expression
    assert str(caught.value)


@pytest.mark.parametrize(
    ("template", "code", "message"),
    [
        ("{first_name.__class__}", "attribute",
         "{first_name.__class__}: attribute access is not allowed"),
        ("{first_name[0]}", "index", "{first_name[0]}: indexing is not allowed"),
        ("{0}", "positional", "{0}: a field needs a variable name"),
    ],
)  # fmt: skip
def test_a_template_cannot_reach_into_python_objects_and_says_why(
    template: str, code: str, message: str
) -> None:
    """str.format would walk into the guest's objects here; the template refuses it."""
    with pytest.raises(TemplateError) as caught:
        check_template(template)
    assert (caught.value.code, caught.value.expression) == (code, template)
    assert str(caught.value) == message


def test_used_variables() -> None:
    assert used_variables("{first_name} {{balance}} {today}") == {"first_name", "today"}


# ------------------------------------------------------------------ properties


@given(template=templates, recipient=recipients, ctx=contexts)
def test_telegram_output_is_always_valid_telegram_html(
    template: str, recipient: Recipient, ctx: RenderContext
) -> None:
    check_template(template)
    rendered = render_telegram(template, recipient, ctx)
    try:
        plain = _html_to_plain(rendered)
    except ApiError as error:  # pragma: no cover - the failure report
        raise AssertionError(f"{rendered!r}: {error.description}") from None
    if "{first_name}" in template and variables(recipient, ctx)["first_name"]:
        assert variables(recipient, ctx)["first_name"] in plain
    assert telegram_length(rendered) >= len(plain)


@given(template=templates, recipient=recipients, ctx=contexts)
def test_email_html_never_carries_guest_markup(
    template: str, recipient: Recipient, ctx: RenderContext
) -> None:
    page = render_email_html(template, recipient, ctx, image_cid="i@x")
    allowed = {"html", "head", "meta", "body", "div", "img", "br", "b", "i", "u", "s", "a",
               "code", "pre", "blockquote", "span"}  # fmt: skip
    for tag, attrs in tags_of(page):
        assert tag in allowed
        assert set(attrs) <= {"lang", "charset", "name", "content", "style", "src", "alt", "href"}
        if tag == "a":
            assert str(attrs["href"]).startswith(("https://example.com/", "http", "mailto:", "tg:"))
    assert "<script" not in page.lower()
    render_plain(template, recipient, ctx)


@given(template=st.text(max_size=80), recipient=recipients, ctx=contexts)
def test_any_admin_text_is_refused_cleanly_or_renders(
    template: str, recipient: Recipient, ctx: RenderContext
) -> None:
    try:
        check_template(template)
    except TemplateError as error:
        assert error.code in TEMPLATE_ERROR_CODES
        return
    render_telegram(template, recipient, ctx)
    render_email_html(template, recipient, ctx)
    render_plain(template, recipient, ctx)
    subject = render_subject(template, recipient, ctx)
    assert not any(ch in subject for ch in "\r\n\x00\u2028\u2029")


@given(template=st.text(max_size=60), recipient=recipients, ctx=contexts)
def test_subject_never_has_a_line_break(
    template: str, recipient: Recipient, ctx: RenderContext
) -> None:
    template = template.replace("{", "{{").replace("}", "}}") + " {full_name} {first_name}"
    subject = render_subject(template, recipient, ctx)
    assert subject == subject.strip()
    assert not any(ch.isspace() and ch != " " for ch in subject)
    assert "  " not in subject


@given(
    words=st.lists(
        st.one_of(
            _field, st.text(st.characters(categories=["L", "N", "P"]), min_size=1).map(_text)
        ),
        min_size=1,
        max_size=8,
    ),
    recipient=recipients,
    ctx=contexts,
)
def test_empty_values_never_leave_double_spaces(
    words: list[str], recipient: Recipient, ctx: RenderContext
) -> None:
    rendered = render_plain(" ".join(words), recipient, ctx)
    assert "  " not in rendered
    assert rendered == rendered.strip(" ")
