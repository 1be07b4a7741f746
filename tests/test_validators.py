"""What an admin may type: every free-text value, and the SMTP dialog's values; good values
pass, the rest gets a reason."""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.validators import (
    MAX_PASSWORD,
    MAX_SENDER_NAME,
    InputError,
    check_typed,
    is_control,
    is_visible,
    parse_email,
    parse_host,
    parse_password,
    parse_port,
    parse_sender_name,
    parse_username,
)

REASONS = {
    "empty",
    "has_spaces",
    "has_scheme",
    "has_port",
    "looks_like_email",
    "invalid_host",
    "invalid_ip",
    "too_long",
    "not_a_number",
    "out_of_range",
    "no_at",
    "with_name",
    "invalid_local_part",
    "invalid_domain",
    "control_char",
    "invisible",
    "invisible_char",
}
PARSERS: list[Callable[[str], object]] = [
    parse_host,
    parse_port,
    parse_email,
    parse_username,
    parse_password,
    parse_sender_name,
]

label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
tld = st.from_regex(r"\A[a-z]{2,10}\Z")
hostname = st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(label, max_size=3), tld)
local_part = st.from_regex(r"\A[A-Za-z0-9_+-]{1,20}(\.[A-Za-z0-9_+-]{1,10}){0,2}\Z")
domain = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(label, min_size=1, max_size=3), tld
)
email = st.builds(lambda local, host: f"{local}@{host}", local_part, domain)


@given(st.text(max_size=300), st.sampled_from(PARSERS))
def test_any_text_is_either_accepted_or_refused_with_a_known_reason(
    text: str, parser: Callable[[str], object]
) -> None:
    try:
        parser(text)
    except InputError as exc:
        assert exc.reason in REASONS
        assert str(exc) == exc.reason  # never the typed text: it may be a password


@given(hostname)
def test_host_names_are_accepted_in_lower_case(name: str) -> None:
    assert parse_host(f"  {name.upper()}. ") == name


@given(st.ip_addresses())
def test_ip_addresses_are_accepted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert parse_host(str(address)) == str(address)
    if address.version == 6:
        assert parse_host(f"[{address}]") == str(address)


@given(hostname, st.integers(1, 65535))
def test_a_host_with_a_port_is_refused_with_its_own_reason(name: str, port: int) -> None:
    with pytest.raises(InputError, match="has_port"):
        parse_host(f"{name}:{port}")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("smtp://smtp.yandex.ru", "has_scheme"),
        ("smtp yandex.ru", "has_spaces"),
        ("bonus@yandex.ru", "looks_like_email"),
        ("smtp_yandex.ru", "invalid_host"),
        ("-smtp.yandex.ru", "invalid_host"),
        ("10.0.0", "invalid_ip"),
        ("999.1.1.1", "invalid_ip"),
        ("a" * 64 + ".ru", "invalid_host"),
    ],
)
def test_bad_hosts_get_their_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_host(text)
    assert raised.value.reason == reason


def test_an_international_host_name_becomes_punycode() -> None:
    assert parse_host("Почта.РФ") == "почта.рф".encode("idna").decode()


@given(st.integers(1, 65535))
def test_ports_in_range_are_accepted(port: int) -> None:
    assert parse_port(f" {port} ") == port


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=65536)))
def test_ports_out_of_range_are_refused(port: int) -> None:
    with pytest.raises(InputError) as raised:
        parse_port(str(port))
    assert raised.value.reason == ("not_a_number" if port < 0 else "out_of_range")


@given(st.text(alphabet=string.ascii_letters + ".,-+ ", min_size=1).filter(str.strip))
def test_ports_that_are_not_numbers_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="not_a_number"):
        parse_port(text)


@given(email)
def test_email_addresses_are_accepted_and_stable(address: str) -> None:
    assert parse_email(address) == address
    assert parse_email(parse_email(f" {address} ")) == address


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bonus.restaurant.ru", "no_at"),
        ("Ресторан <bonus@restaurant.ru>", "with_name"),
        ("bonus@@restaurant.ru", "no_at"),
        ("@restaurant.ru", "invalid_local_part"),
        ("bo..nus@restaurant.ru", "invalid_local_part"),
        ("бонус@restaurant.ru", "invalid_local_part"),
        ("bonus@restaurant", "invalid_domain"),
        ("bonus@restaurant.r", "invalid_domain"),
        ("bonus@192.168.1.1", "invalid_domain"),
        ("bonus @restaurant.ru", "has_spaces"),
    ],
)
def test_bad_email_addresses_get_their_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_email(text)
    assert raised.value.reason == reason


def test_an_international_email_domain_becomes_punycode() -> None:
    assert parse_email("Bonus@Ресторан.РФ") == "Bonus@" + "ресторан.рф".encode("idna").decode()


@given(
    st.text(min_size=1, max_size=MAX_PASSWORD).filter(
        lambda t: t.isprintable() and any(map(is_visible, t))
    )
)
def test_passwords_are_kept_exactly_as_typed(password: str) -> None:
    assert parse_password(password) == password


@given(st.text(max_size=20), st.sampled_from(["\n", "\r", "\t", "\x00"]), st.text(max_size=20))
def test_a_password_with_a_line_break_is_refused(before: str, control: str, after: str) -> None:
    with pytest.raises(InputError, match="control_char"):
        parse_password(before + control + after)


@given(st.text(max_size=MAX_SENDER_NAME * 2))
def test_a_sender_name_is_one_line_fit_for_a_mail_header(text: str) -> None:
    try:
        name = parse_sender_name(text)
    except InputError:
        return
    assert "\n" not in name and "\r" not in name
    assert name == name.strip() and 0 < len(name) <= MAX_SENDER_NAME


@given(st.text(alphabet=string.ascii_letters + string.digits + "@._-", min_size=1, max_size=60))
def test_user_names_without_spaces_are_kept(name: str) -> None:
    assert parse_username(name) == name


# ------------------------------------------------------------------ any typed value

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", " ", "\u00a0", "\u3164", "\u2800"]
CONTROLS = ["\x00", "\x07", "\x1b", "\r", "\x7f", "\x85", "\x9b"]


@given(st.text(max_size=200))
def test_any_typed_text_is_accepted_only_with_something_visible_and_no_control(
    text: str,
) -> None:
    try:
        kept = check_typed(text)
    except InputError as exc:
        assert exc.reason in {"empty", "invisible", "control_char"}
        assert str(exc) == exc.reason
        if exc.reason == "control_char":
            assert exc.char is not None and is_control(exc.char) and exc.char in text
            assert exc.code_point == f"U+{ord(exc.char):04X}"
        else:
            assert not any(map(is_visible, text))
        return
    assert kept == text
    assert any(map(is_visible, text))
    assert all(ch in "\n\t" for ch in text if is_control(ch))


@given(st.lists(st.sampled_from(INVISIBLE), min_size=1, max_size=8).map("".join))
def test_text_of_zero_width_characters_and_spaces_is_refused_as_invisible(text: str) -> None:
    with pytest.raises(InputError, match="invisible"):
        check_typed(text)


@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_is_refused_by_its_code_point(control: str) -> None:
    with pytest.raises(InputError) as raised:
        check_typed(f"Spring{control} menu")
    assert raised.value.reason == "control_char"
    assert raised.value.code_point == f"U+{ord(control):04X}"
    assert control not in str(raised.value)


@pytest.mark.parametrize(
    "text",
    ["Spring menu", "Line one\nline two\tend", "👨\u200d👩\u200d👧 family day", "\u200bSale", "é"],
)
def test_visible_text_with_line_breaks_tabs_and_joiners_is_kept(text: str) -> None:
    assert check_typed(text) == text


@pytest.mark.parametrize("parser", PARSERS[:1] + PARSERS[2:])
@pytest.mark.parametrize("text", [*INVISIBLE, " \u200b ", "\ufeff\u2060"])
def test_every_smtp_value_refuses_invisible_text(
    parser: Callable[[str], object], text: str
) -> None:
    with pytest.raises(InputError) as raised:
        parser(text)
    assert raised.value.reason == "invisible"


@pytest.mark.parametrize("parser", PARSERS[:1] + PARSERS[2:])
def test_every_smtp_value_refuses_escape_by_its_code_point(
    parser: Callable[[str], object],
) -> None:
    with pytest.raises(InputError) as raised:
        parser("bonus\x1b@restaurant.ru")
    assert raised.value.reason == "control_char"
    assert raised.value.code_point == "U+001B"


@pytest.mark.parametrize("parser", [parse_host, parse_email, parse_username])
def test_a_zero_width_character_inside_a_one_word_value_is_refused(
    parser: Callable[[str], object],
) -> None:
    with pytest.raises(InputError) as raised:
        parser("bonus\u200b@restaurant.ru")
    assert raised.value.reason == "invisible_char"
    assert raised.value.code_point == "U+200B"


@given(st.integers(1, 40))
def test_a_password_of_spaces_only_is_refused(n: int) -> None:
    with pytest.raises(InputError, match="invisible"):
        parse_password(" " * n)


def test_a_password_with_spaces_inside_is_kept() -> None:
    assert parse_password("  open sesame ") == "  open sesame "
