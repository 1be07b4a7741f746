"""Nobody lost in an import: two people sharing a phone, and a summary too long for Telegram."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiogram.utils.i18n import I18n

from bot.catalogs import DOMAIN, LOCALES_DIR, compile_catalogs
from bot.guest_import import describe, import_guests
from bot.guest_import.report import MESSAGE_LIMIT, import_summary, plain, telegram_length
from storage.db import Database
from storage.guests import GuestRepository
from storage.schema import migrate
from tests.conftest import ADMIN, BotFactory, RunningBot
from tests.test_guests_e2e import read_xlsx, xlsx

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "guests.db").open()
    await migrate(database.conn)
    yield database
    await database.close()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Texts outside an update need an I18n context, as in the CLI."""
    i18n = I18n(path=LOCALES_DIR, default_locale="en", domain=DOMAIN)
    with i18n.context(), i18n.use_locale("en"):
        yield


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    return path


async def run(db: Database, path: Path) -> Any:
    return await import_guests(db, path, path.name, today=date(2024, 6, 15))


async def test_two_people_with_one_phone_are_not_merged_and_the_second_is_reported(
    db: Database, tmp_path: Path
) -> None:
    rows = [
        ["Телефон", "Фамилия", "Имя", "Дата рождения", "Номер карты"],
        ["89161234567", "Иванов", "Иван", "", "C1"],
        ["89030000000", "Петров", "Пётр", "", ""],
        ["+7 916 123 45 67", "Сидорова", "Мария", "05.05.1985", "C2"],
    ]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    guest = await GuestRepository(db).by_phone("+79161234567")
    assert guest is not None
    # Neither one person's name with the other's birthday, nor the second one vanished.
    assert (guest.last_name, guest.first_name, guest.birthday) == ("Иванов", "Иван", None)
    assert result.duplicates == []
    [refused] = result.rejected
    assert refused.row_number == 4 and refused.reason.codes == ("phone_other_person",)
    reason = describe(refused.reason)
    assert "row 4" in reason and "row 2" in reason and "different name" in reason, reason
    assert "Иванов Иван" in reason
    assert result.other_person == [4]
    # The refused row's card is free: it was never given to anyone.
    assert await GuestRepository(db).search("C2") == []
    assert "1 row has the phone or card of another person" in plain(import_summary(result, "g"))


async def test_the_same_person_twice_still_merges_and_the_summary_says_so(
    db: Database, tmp_path: Path
) -> None:
    rows = [
        ["Телефон", "ФИО", "Баланс", "Дата рождения"],
        ["89161234567", "Семёнова  Анна", "10", "01.02.1990"],
        ["+79161234567", "семенова анна", "20", ""],  # case, spaces and ё do not matter
        ["9161234567", "", "30", ""],  # no name: the same guest
        ["8 916 123-45-67", "Анна", "40", ""],  # only a first name, the same one
        ["89161234567", "Семёнова Ольга", "50", ""],  # another first name: another person
    ]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    assert [row for row, _ in result.duplicates] == [3, 4, 5]
    assert {earlier for _, earlier in result.duplicates} == {2}
    assert [r.row_number for r in result.rejected] == [6]
    guest = await GuestRepository(db).by_phone("+79161234567")
    assert guest is not None
    assert (guest.balance_cents, guest.birthday) == (4000, date(1990, 2, 1))
    summary = plain(import_summary(result, "g.csv"))
    assert "Merged with an earlier row of the same guest" in summary
    assert "rows 3, 4 and 5" in summary, summary


async def test_a_name_learnt_on_a_later_row_is_checked_on_the_next(
    db: Database, tmp_path: Path
) -> None:
    rows = [
        ["Телефон", "Фамилия", "Имя"],
        ["89161234567", "", ""],
        ["89161234567", "Иванов", "Иван"],
        ["89161234567", "Петров", "Иван"],
    ]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    assert result.duplicates == [(3, 2)]
    [refused] = result.rejected
    assert refused.row_number == 4
    assert "row 3" in describe(refused.reason) and "Иванов Иван" in describe(refused.reason)


def russian() -> I18n:
    return I18n(path=LOCALES_DIR, default_locale="ru", domain=DOMAIN)


async def test_in_russian_rows_read_naturally(db: Database, tmp_path: Path) -> None:
    compile_catalogs(only_stale=True)
    rows = [["Телефон", "Имя"], ["89161234567", "Анна"], ["89161234567", "Аня"]]
    rows += [["89161234567", ""], ["89030000000", "Олег"], ["89030000000", "олег"]]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    i18n = russian()
    with i18n.context(), i18n.use_locale("ru"):
        summary = plain(import_summary(result, "g.csv"))
        assert "строки 4 и 6" in summary, summary
        assert "1 строка не загружена: в ней телефон или карта другого человека" in summary
        one = plain(import_summary(type(result)("g.csv", duplicates=[(54, 2)]), "g.csv"))
        assert "строка 54" in one
        from aiogram.utils.i18n import gettext

        reason = describe(result.rejected[0].reason, gettext)
    assert reason.startswith("строка 3: тот же телефон, что в строке 2, но другое имя"), reason


LONG = "Дополнительное поле из программы лояльности номер "


def many_columns_csv(columns: int) -> bytes:
    header = ["Телефон", "Имя", *(f"{LONG}{i} 🍽" for i in range(columns))]
    lines = [header, ["89161234567", "Анна", *["x"] * columns], ["12", "Bad", *[""] * columns]]
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(lines)
    return out.getvalue().encode()


async def test_a_summary_of_a_file_with_very_many_columns_fits_telegram(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(many_columns_csv(400))
    result = await run(db, path)
    summary = import_summary(result, "очень длинное имя файла " * 40 + ".csv")
    assert telegram_length(summary) <= MESSAGE_LIMIT
    assert "and 390 more" in summary
    assert summary.count(LONG) == 10


async def test_import_with_120_long_unknown_columns_reports_and_sends_the_file(
    bot: RunningBot,
) -> None:
    texts = await bot.send_file(ADMIN, "wide.csv", many_columns_csv(120))
    summary = next(t for t in texts if "finished" in t)
    assert "Added: 1" in summary and "Rejected: 1" in summary, texts
    assert "and 110 more" in summary
    [doc] = bot.documents_to(ADMIN)
    rejected = read_xlsx(doc.files["document"][1])
    assert rejected[1][:2] == ["12", "Bad"]
    assert (await GuestRepository(bot.app.db).counts()).total == 1  # type: ignore[union-attr]


async def test_in_russian_two_people_with_one_phone_end_up_in_the_file(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot(locale="ru")
    rows = [
        ["Фамилия", "Имя", "Телефон", "Дата рождения"],
        ["Иванов", "Пётр", "8 (916) 123-45-67", ""],
        ["Смирнова", "Ольга", "+7 916 123 45 67", "01.02.1990"],
    ]
    texts = await bot.send_file(ADMIN, "база.xlsx", xlsx(rows))
    summary = next(t for t in texts if "Добавлено" in t)
    assert "Добавлено: 1" in summary, texts
    assert "1 строка не загружена: в ней телефон или карта другого человека" in summary
    [doc] = bot.documents_to(ADMIN)
    rejected = read_xlsx(doc.files["document"][1])
    assert rejected[1][:2] == ["Смирнова", "Ольга"]
    assert "строка 3" in rejected[1][-1] and "в строке 2" in rejected[1][-1]
    assert "«Иванов Пётр»" in rejected[1][-1]


def test_the_command_line_import_needs_no_handlers() -> None:
    code = "import sys, bot.cli; print(sorted(m for m in sys.modules if m.startswith('handlers')))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
