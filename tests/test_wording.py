"""Russian that reads like a manager wrote it: numbers agree with their nouns, zones and
durations are said in words, balances and phones are written the way people write them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from aiogram.utils.i18n import I18n, ngettext

from bot.catalogs import DOMAIN, LOCALES_DIR, compile_catalogs
from bot.delivery.notices import paused_text
from bot.delivery.progress import duration
from bot.render import Recipient, RenderContext, format_balance, points_ending, render_telegram
from bot.zones import utc_offset, zone_words
from handlers.formatting import money, phone_text


@pytest.fixture(scope="module")
def i18n() -> I18n:
    compile_catalogs(only_stale=True)
    return I18n(path=LOCALES_DIR, default_locale="ru", domain=DOMAIN)


@pytest.fixture
def russian(i18n: I18n) -> Iterator[None]:
    with i18n.context(), i18n.use_locale("ru"):
        yield


@pytest.fixture
def english(i18n: I18n) -> Iterator[None]:
    with i18n.context(), i18n.use_locale("en"):
        yield


GUESTS = ("Guest base: {total} guest.", "Guest base: {total} guests.")


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "В базе 1 гость."), (2, "В базе 2 гостя."), (5, "В базе 5 гостей."),
     (21, "В базе 21 гость."), (0, "В базе 0 гостей."), (12, "В базе 12 гостей.")],
)  # fmt: skip
def test_a_count_of_guests_agrees_with_its_noun(russian: None, n: int, words: str) -> None:
    assert ngettext(*GUESTS, n).format(total=n) == words


@pytest.mark.parametrize(
    ("n", "word"), [(1, "строки"), (2, "строк"), (5, "строк"), (21, "строки"), (0, "строк")]
)
def test_import_progress_says_rows_in_the_right_case(russian: None, n: int, word: str) -> None:
    text = ngettext(
        "Importing “{name}”: {done} of {total} row…",
        "Importing “{name}”: {done} of {total} rows…",
        n,
    ).format(name="база.xlsx", done=0, total=n)
    assert text == f"Загружаю «база.xlsx»: 0 из {n} {word}…"


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "1 сообщение будет"), (2, "2 сообщения будут"), (5, "5 сообщений будут"),
     (21, "21 сообщение будет"), (0, "0 сообщений будут")],
)  # fmt: skip
def test_resend_count_agrees(russian: None, n: int, words: str) -> None:
    one, many = "{count} message will be sent again.", "{count} messages will be sent again."
    assert ngettext(one, many, n).format(count=n).startswith(words)


@pytest.mark.parametrize(
    ("n", "words"), [(1, "1 ошибки"), (2, "2 ошибок"), (5, "5 ошибок"), (21, "21 ошибки")]
)
def test_a_paused_channel_counts_failures_in_the_genitive(i18n: I18n, n: int, words: str) -> None:
    text = paused_text(i18n, "ru", "Весна", "email", "timeout", n, 1)
    assert f"после {words} подряд" in text and "Канал Email" in text


def test_english_plurals_have_no_stray_s(english: None) -> None:
    assert ngettext(*GUESTS, 1).format(total=1) == "Guest base: 1 guest."
    assert ngettext(*GUESTS, 2).format(total=2) == "Guest base: 2 guests."


@pytest.mark.parametrize(
    ("zone", "words"),
    [("Europe/Moscow", "по московскому времени"),
     ("Europe/Kaliningrad", "по калининградскому времени"),
     ("Asia/Yekaterinburg", "по екатеринбургскому времени"),
     ("Asia/Vladivostok", "по владивостокскому времени"),
     ("Asia/Kamchatka", "по камчатскому времени")],
)  # fmt: skip
def test_russian_zones_are_named_as_people_say_them(russian: None, zone: str, words: str) -> None:
    assert zone_words(zone) == words


def test_other_zones_are_told_by_their_offset(russian: None) -> None:
    assert zone_words("Asia/Tokyo") == "по UTC+9"
    assert zone_words("UTC") == "по UTC"


def test_zones_in_english(english: None) -> None:
    assert zone_words("Europe/Moscow") == "Moscow time"
    assert zone_words("Asia/Tokyo") == "UTC+9"


def test_an_offset_follows_summer_time_and_half_hours() -> None:
    summer, winter = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert utc_offset("Europe/Berlin", summer) == "UTC+2"
    assert utc_offset("Europe/Berlin", winter) == "UTC+1"
    assert utc_offset("Asia/Kolkata", winter) == "UTC+5:30"
    assert utc_offset("America/New_York", winter) == "UTC−5"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "меньше секунды"), (0.4, "меньше секунды"), (12, "12 с"), (60, "1 мин"),
     (125, "2 мин 5 с"), (3600, "1 ч"), (3900, "1 ч 5 мин")],
)  # fmt: skip
def test_a_duration_reads_naturally(russian: None, seconds: float, words: str) -> None:
    assert duration(seconds) == words


@pytest.mark.parametrize(
    ("balance", "ending"),
    [("1", ""), ("2", "а"), ("5", "ов"), ("11", "ов"), ("21", ""), ("4 305,84", "а"),
     ("0,50", "а"), ("1,234.50", "а"), ("1,234", "а"), ("1\xa0000", "ов")],
)  # fmt: skip
def test_points_agree_with_the_balance(balance: str, ending: str) -> None:
    assert points_ending(balance) == ending


@pytest.mark.parametrize(
    ("balance", "text"),
    [("4305.84", "У вас 4\xa0305,84 балла!"), ("1", "У вас 1 балл!"),
     ("3", "У вас 3 балла!"), ("25", "У вас 25 баллов!")],
)  # fmt: skip
def test_the_points_word_after_balance_is_made_to_agree(balance: str, text: str) -> None:
    recipient = Recipient("Анна", None, None, Decimal(balance))
    ctx = RenderContext("ru", date(2026, 12, 4))
    assert render_telegram("У вас {balance} баллов!", recipient, ctx) == text
    # Any other word after the balance stays as the admin wrote it.
    assert render_telegram("{balance} руб.", recipient, ctx).endswith(" руб.")


def test_the_account_card_writes_a_balance_as_the_mailing_does(russian: None) -> None:
    assert money(Decimal("4305.84")) == format_balance(Decimal("4305.84"), "ru") == "4\xa0305,84"
    assert money(Decimal("1500.00")) == "1\xa0500"


def test_a_russian_phone_is_written_in_groups() -> None:
    assert phone_text("+79000000003") == "+7 900 000-00-03"
    assert phone_text("+380501234567") == "+380501234567"
