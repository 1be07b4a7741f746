"""Guest import from real .xlsx/.csv files into a real SQLite file, and the XLSX writer."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from bot import guest_import
from bot.guest_import import (
    ColumnMap,
    Rejection,
    RowValidator,
    TableError,
    describe,
    export_headers,
    import_guests,
    open_table,
    read_table,
)
from bot.guest_import import tables as tables_module
from bot.guest_import.xlsx_rows import sheet_rows
from bot.xlsx import export_guests, write_rejected, write_rows
from storage.db import Database
from storage.guests import GuestRecord, GuestRepository
from storage.schema import migrate

TODAY = date(2024, 6, 15)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "guests.db").open()
    await migrate(database.conn)
    yield database
    await database.close()


@pytest.fixture
def repo(db: Database) -> GuestRepository:
    return GuestRepository(db)


def write_csv(
    path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8", delimiter: str = ";"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], title: str = "Guests") -> Path:
    """A workbook as Excel saves it (shared strings, a <dimension>)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


async def run(db: Database, path: Path, **kwargs: Any) -> guest_import.ImportResult:
    return await import_guests(db, path, path.name, today=TODAY, **kwargs)


async def snapshot(db: Database) -> list[tuple[Any, ...]]:
    rows = await db.fetchall("SELECT * FROM guests ORDER BY id")
    tags = await db.fetchall("SELECT * FROM guest_tags ORDER BY guest_id, tag")
    return [tuple(r) for r in rows] + [tuple(t) for t in tags]


RUSSIAN = [
    ["Телефон", "Фамилия", "Имя", "Отчество", "Пол", "Дата рождения", "Баланс", "Email"],
    ["8 916 123-45-67", "Иванов", "Иван", "Иванович", "м", "01.02.1990", "1 234,50", "I@X.RU"],
    ["+7 (903) 000-00-01", "Семёнова", "Анна", "", "Ж", "1985-12-31", "0", ""],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
async def test_csv_encodings_and_delimiters(
    db: Database, repo: GuestRepository, tmp_path: Path, encoding: str, delimiter: str
) -> None:
    path = write_csv(tmp_path / "guests.csv", RUSSIAN, encoding, delimiter)
    result = await run(db, path)
    assert (result.total_rows, result.added, result.rejected) == (2, 2, [])
    ivan = await repo.by_phone("+79161234567")
    assert ivan is not None
    assert (ivan.last_name, ivan.first_name, ivan.middle_name, ivan.sex) == (
        "Иванов",
        "Иван",
        "Иванович",
        "male",
    )
    assert (ivan.birthday, ivan.balance_cents, ivan.email) == (date(1990, 2, 1), 123450, "i@x.ru")
    anna = await repo.by_phone("+79030000001")
    assert anna is not None
    assert (anna.last_name, anna.middle_name, anna.sex, anna.birthday, anna.email) == (
        "Семёнова",
        None,
        "female",
        date(1985, 12, 31),
        None,
    )


async def test_csv_with_excel_sep_line_and_decimal_commas(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    path = tmp_path / "g.csv"
    path.write_text("sep=;\nPhone;Balance\n89161234567;1,5\n", encoding="utf-8")
    result = await run(db, path)
    assert result.added == 1
    guest = await repo.by_phone("+79161234567")
    assert guest is not None and guest.balance_cents == 150


async def test_english_headers_any_order_and_spelling(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    rows = [
        [" E-MAIL ", "Card Number", "mobile", "Surname", "first name", "Gender", "Tags", "Visits"],
        ["a@b.com", "C-1", "+79161234567", "Smith", "John", "male", "vip; coffee, vip", "3"],
    ]
    result = await run(db, write_xlsx(tmp_path / "g.xlsx", rows))
    assert result.added == 1 and result.unknown_columns == ()
    assert result.columns["phone"] == "mobile"
    guest = await repo.by_phone("+79161234567")
    assert guest is not None
    assert (guest.email, guest.card_number, guest.last_name, guest.first_name) == (
        "a@b.com",
        "C-1",
        "Smith",
        "John",
    )
    assert (guest.sex, guest.visits_count) == ("male", 3)
    assert await repo.tags(guest.id) == ["coffee", "vip"]


def test_header_matching() -> None:
    columns = ColumnMap.from_headers(
        ["ТЕЛЕФОН", "дата  рождения", "Ёмкость", "Баланс (руб.)", "Эл. почта", None, "Телефон"]
    )
    assert columns.fields == {"phone": 0, "birthday": 1, "balance": 3, "email": 4}
    assert columns.unknown == ("Ёмкость", "Телефон")  # unknown, and a repeated field
    assert export_headers("ru")[0] == "Телефон" and export_headers("en")[0] == "Phone"
    for locale in ("ru", "en"):
        mapped = ColumnMap.from_headers(export_headers(locale))
        assert len(mapped.fields) == len(export_headers(locale)) and not mapped.unknown


async def test_xlsx_typed_cells(db: Database, repo: GuestRepository, tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["Телефон", "Дата рождения", "Баланс", "Номер карты", "Визиты", "Последний визит"],
        [79161234567, datetime(1990, 2, 1), 1234.5, 100200, 7.0, date(2024, 6, 1)],
        [79161234568.0, date(1991, 3, 4), 10, "00123", 0, datetime(2024, 6, 16, 1, 0)],
    ]
    result = await run(db, write_xlsx(tmp_path / "g.xlsx", rows))
    assert (result.added, result.rejected) == (2, [])
    first = await repo.by_phone("+79161234567")
    second = await repo.by_phone("+79161234568")
    assert first is not None and second is not None
    assert (first.birthday, first.balance_cents, first.card_number, first.visits_count) == (
        date(1990, 2, 1),
        123450,
        "100200",
        7,
    )
    assert (second.card_number, second.balance_cents, second.last_visit_at) == (
        "00123",
        1000,
        date(2024, 6, 16),  # a day ahead is tolerated (time zones)
    )


async def test_header_not_in_first_row_and_blank_rows(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [
        [None, None],
        ["Телефон", "Имя"],
        [None, None],
        ["89161234567", "Анна"],
        ["", "  "],
    ]
    result = await run(db, write_xlsx(tmp_path / "g.xlsx", rows))
    assert (result.total_rows, result.added) == (1, 1)


async def test_sheet_with_phones_is_chosen(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "g.xlsx"
    wb = openpyxl.Workbook()
    notes = wb.active
    assert notes is not None
    notes.append(["Заметки"])
    notes.append(["что-то"])
    guests = wb.create_sheet("Гости")
    guests.append(["Телефон"])
    guests.append(["89161234567"])
    wb.save(path)
    assert (await run(db, path)).added == 1


BAD_ROWS = [
    ("Телефон", "", "phone_missing"),
    ("Телефон", "нет телефона", "phone_letters"),
    ("Телефон", "12345", "phone_too_short"),
    ("Телефон", "7,91612E+10", "phone_scientific"),
    ("Пол", "оно", "sex_invalid"),
    ("Дата рождения", "31.02.1990", "date_invalid"),
    ("Дата рождения", "1990", "date_invalid"),
    ("Дата рождения", "01.01.1899", "date_too_old"),
    ("Дата рождения", "16.06.2024", "date_future"),
    ("Дата регистрации", "17.06.2024", "date_future"),
    ("Баланс", "-5", "number_negative"),
    ("Баланс", "много", "number_invalid"),
    ("Баланс", "1,234", "number_precision"),
    ("Баланс", "NaN", "number_invalid"),
    ("Баланс", "99999999999", "number_too_large"),
    ("Визиты", "2.5", "integer_invalid"),
    ("Визиты", "-1", "number_negative"),
    ("Сумма покупок", "1e5", "number_invalid"),
    ("Фамилия", "Я" * 101, "too_long"),
]


@pytest.mark.parametrize(("column", "value", "code"), BAD_ROWS)
async def test_each_bad_row_gives_its_reason(
    db: Database, tmp_path: Path, column: str, value: str, code: str
) -> None:
    headers = ["Телефон", "Email", "Пол", "Дата рождения", "Дата регистрации", "Баланс"]
    headers += ["Визиты", "Сумма покупок", "Фамилия"]
    bad = ["89161234567"] + [""] * (len(headers) - 2) + ["Иванов"]
    bad[headers.index(column)] = value
    good = ["89031234567"] + [""] * (len(headers) - 1)
    path = write_csv(tmp_path / "g.csv", [headers, good, bad])
    result = await run(db, path)
    assert result.added == 1 and len(result.rejected) == 1
    rejected = result.rejected[0]
    assert rejected.row_number == 3
    assert rejected.reason.codes == (code,)
    assert rejected.values[column] == value
    text = describe(rejected.reason)
    assert text and "{" not in text


async def test_a_row_reports_every_problem(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [["Телефон", "Email", "Пол"], ["abc", "x@", "?"]])
    result = await run(db, path)
    reason = result.rejected[0].reason
    assert reason.codes == ("phone_letters", "email_invalid", "sex_invalid")
    assert describe(reason, lambda s: s.upper()).count(";") == 2


def test_describe_translates_field_names() -> None:
    problem = guest_import.Problem("date_future", {"field": "birthday", "value": "01.01.2100"})
    translations = {
        "birthday": "дата рождения",
        "{field} {value} is in the future": "{field} {value} в будущем",
    }
    assert (
        describe(problem, lambda s: translations.get(s, s)) == "дата рождения 01.01.2100 в будущем"
    )
    broken = {"{field} {value} is in the future": "{oops"}
    assert describe(problem, lambda s: broken.get(s, s)) == "birthday 01.01.2100 is in the future"
    assert str(TableError("empty")) == "The table has no rows under its header."


def make_bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "not_a_table": tmp_path / "photo.csv",
        "old_xls": tmp_path / "old.xls",
        "empty": tmp_path / "empty.csv",
        "header_only": tmp_path / "header.csv",
        "no_phone_column": tmp_path / "nophone.xlsx",
        "no_phone_csv": tmp_path / "nophone.csv",
        "unreadable": tmp_path / "broken.xlsx",
        "html": tmp_path / "export.xls",
    }
    files["not_a_table"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    files["old_xls"].write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    files["empty"].write_bytes(b"")
    files["header_only"].write_text("Телефон;Имя\n\n;\n", encoding="utf-8")
    write_xlsx(files["no_phone_column"], [["Имя", "Фамилия"], ["Иван", "Иванов"]])
    files["no_phone_csv"].write_text("Имя;Фамилия\nИван;Иванов\n", encoding="cp1251")
    files["unreadable"].write_bytes(b"PK\x03\x04" + b"garbage" * 100)
    files["html"].write_text("<html><table><tr><td>Телефон</td></tr></table></html>")
    return files


EXPECTED_CODES = {
    "not_a_table": "not_a_table",
    "old_xls": "old_xls",
    "empty": "empty",
    "header_only": "empty",
    "no_phone_column": "no_phone_column",
    "no_phone_csv": "no_phone_column",
    "unreadable": "unreadable",
    "html": "not_a_table",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_CODES))
async def test_each_bad_file_changes_nothing(
    db: Database, repo: GuestRepository, tmp_path: Path, kind: str
) -> None:
    await repo.upsert_many([GuestRecord(phone="+79161234567", first_name="Before")])
    before = await snapshot(db)
    path = make_bad_files(tmp_path)[kind]
    with pytest.raises(TableError) as info:
        await run(db, path)
    assert info.value.code == EXPECTED_CODES[kind]
    assert describe(info.value)
    assert await snapshot(db) == before


async def test_no_phone_column_names_the_columns(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [["Имя", "Город"], ["Иван", "Москва"]])
    with pytest.raises(TableError) as info:
        await run(db, path)
    assert "“Город”" in describe(info.value)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
async def test_too_big_and_too_many_rows_change_nothing(
    db: Database,
    repo: GuestRepository,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    await repo.upsert_many([GuestRecord(phone="+79161234567", first_name="Before")])
    before = await snapshot(db)
    rows = [["Телефон"]] + [[f"8916{i:07d}"] for i in range(50)]
    path = tmp_path / f"g.{suffix}"
    (write_csv if suffix == "csv" else write_xlsx)(path, rows)
    monkeypatch.setattr(tables_module, "MAX_ROWS", 49)
    with pytest.raises(TableError) as info:
        await run(db, path, batch_size=10)
    assert info.value.code == "too_many_rows"
    monkeypatch.setattr(tables_module, "MAX_ROWS", 50)
    monkeypatch.setattr(tables_module, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(TableError) as info:
        await run(db, path)
    assert info.value.code == "too_big"
    assert await snapshot(db) == before


async def test_reimport_updates_and_does_not_duplicate(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "g.csv", RUSSIAN)
    await run(db, path)
    again = await run(db, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    changed = [row[:] for row in RUSSIAN]
    changed[1][6] = "99,99"
    changed[2][2] = ""  # an empty cell keeps the stored name
    result = await run(db, write_csv(tmp_path / "g2.csv", changed))
    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)
    assert (await repo.counts()).total == 2
    ivan = await repo.by_phone("+79161234567")
    anna = await repo.by_phone("+79030000001")
    assert ivan is not None and ivan.balance_cents == 9999
    assert anna is not None and anna.first_name == "Анна"


async def test_duplicate_phones_later_row_wins(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    rows = [
        ["Телефон", "Имя", "Фамилия", "Баланс"],
        ["89161234567", "Иван", "Иванов", "10"],
        ["89030000000", "Пётр", "", ""],
        ["+7 916 123 45 67", "иван", "", "20"],
    ]
    for batch_size in (1000, 1):  # the same whether or not the rows share a batch
        await run(db, write_csv(tmp_path / "g.csv", rows), batch_size=batch_size)
        guest = await repo.by_phone("+79161234567")
        assert guest is not None
        assert (guest.first_name, guest.last_name, guest.balance_cents) == ("иван", "Иванов", 2000)
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    assert result.duplicates == [(4, 2)]
    assert result.added + result.updated + result.unchanged + len(result.rejected) == 3
    assert (await repo.counts()).total == 2


async def test_card_repeated_with_another_phone_is_refused(db: Database, tmp_path: Path) -> None:
    rows = [["Телефон", "Карта"], ["89161234567", "C1"], ["89031234567", "C1"]]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    assert result.added == 1
    assert [r.reason.codes for r in result.rejected] == [("card_repeated",)]
    assert "row 2" in describe(result.rejected[0].reason)


async def test_card_of_a_stored_guest_is_refused(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    await repo.upsert_many([GuestRecord(phone="+79030000000", card_number="C1")])
    await repo.upsert_many([GuestRecord(phone="+79161234567")])
    rows = [["Телефон", "Карта"], ["89161234567", "C1"]]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    assert [r.reason.codes for r in result.rejected] == [("card_taken",)]
    assert "+79030000000" in describe(result.rejected[0].reason)


async def test_full_name_fills_the_names_not_given_apart(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    rows = [
        ["Телефон", "ФИО", "Имя"],
        ["89161111111", "Иванов Иван Иванович", ""],
        ["89162222222", "Алиев Рашид Мамед оглы", "Рашидик"],
        ["89163333333", "Мадонна", ""],
    ]
    await run(db, write_csv(tmp_path / "g.csv", rows))
    ivan = await repo.by_phone("+79161111111")
    rashid = await repo.by_phone("+79162222222")
    madonna = await repo.by_phone("+79163333333")
    assert ivan is not None and rashid is not None and madonna is not None
    assert (ivan.last_name, ivan.first_name, ivan.middle_name) == ("Иванов", "Иван", "Иванович")
    assert (rashid.last_name, rashid.first_name, rashid.middle_name) == (
        "Алиев",
        "Рашидик",  # the separate column wins
        "Мамед оглы",
    )
    assert (madonna.last_name, madonna.first_name) == (None, "Мадонна")


async def test_unknown_columns_are_reported(db: Database, tmp_path: Path) -> None:
    rows = [["Телефон", "Город", "", "Любимое блюдо"], ["89161234567", "Москва", "x", "борщ"]]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    assert result.unknown_columns == ("Город", "Любимое блюдо")


async def test_progress_is_reported(db: Database, tmp_path: Path) -> None:
    rows = [["Телефон"]] + [[f"8916{i:07d}"] for i in range(25)] + [["bad"]]
    calls: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None) -> None:
        calls.append((done, total))

    for path in (write_csv(tmp_path / "g.csv", rows), write_xlsx(tmp_path / "g.xlsx", rows)):
        calls.clear()
        result = await run(db, path, progress=progress, batch_size=10)
        assert result.total_rows == 26
        assert calls == [(10, 26), (20, 26), (26, 26)]


DANGEROUS = ['=HYPERLINK("http://evil","x")', "+79161234567", "-1", "@SUM(A1)", "=1+1", "#N/A"]


async def test_formula_looking_data_round_trips_as_text(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    rows = [["Телефон", "Фамилия", "Имя", "Группа", "Теги"]]
    rows += [
        [f"8916000000{i}", text, "Имя", text, "=cmd|' /C calc'!A0"]
        for i, text in enumerate(DANGEROUS)
    ]
    await run(db, write_csv(tmp_path / "g.csv", rows))
    out = tmp_path / "export.xlsx"
    assert await export_guests(repo, out, export_headers("ru")) == len(DANGEROUS)

    wb = openpyxl.load_workbook(out)  # full mode: it would see a formula as data_type "f"
    ws = wb.active
    assert ws is not None
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    headers = [c.value for c in ws[1]]
    last_name = headers.index("Фамилия") + 1
    for row in range(2, ws.max_row + 1):
        cell = ws.cell(row, last_name)
        assert cell.data_type == "s"
        assert cell.value in DANGEROUS
    tags = ws.cell(2, headers.index("Теги") + 1)
    assert (tags.data_type, tags.value) == ("s", "=cmd|' /C calc'!A0")

    again = await run(db, out)
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 6, [])


async def test_export_reimports_unchanged(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    rows = [
        ["Телефон", "ФИО", "Пол", "Дата рождения", "Баланс", "Сумма покупок", "Карта", "Теги"],
        ["89161234567", "Иванов Иван Иванович", "м", "01.02.1990", "1234,5", "10", "C1", "a, b"],
        ["89031234567", "Смит Джон", "f", "", "", "", "", ""],
    ]
    await run(db, write_csv(tmp_path / "g.csv", rows))
    for locale in ("ru", "en"):
        out = tmp_path / f"export-{locale}.xlsx"
        await export_guests(repo, out, export_headers(locale))
        again = await run(db, out)
        assert (again.unchanged, again.rejected, again.unknown_columns) == (2, [], ())
    wb = openpyxl.load_workbook(tmp_path / "export-ru.xlsx")
    ws = wb.active
    assert ws is not None
    values = {str(h.value): c for h, c in zip(ws[1], ws[2], strict=True)}
    assert values["Баланс"].value == Decimal("1234.50") or values["Баланс"].value == 1234.5
    assert values["Баланс"].number_format == "0.00"
    assert values["Дата рождения"].value == datetime(1990, 2, 1)
    assert values["Пол"].value == "м"
    with pytest.raises(ValueError, match="headers"):
        await export_guests(repo, out, ["Телефон"])


async def test_write_rejected(db: Database, tmp_path: Path) -> None:
    rows = [["Телефон", "Email"], ["abc", "=bad"], ["89161234567", "ok@x.ru"]]
    result = await run(db, write_csv(tmp_path / "g.csv", rows))
    out = tmp_path / "rejected.xlsx"
    assert write_rejected(out, result, "Причина") == 1
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws is not None
    assert [c.value for c in ws[1]] == ["Телефон", "Email", "Причина"]
    assert [c.value for c in ws[2]][:2] == ["abc", "=bad"]
    assert ws.cell(2, 2).data_type == "s"
    assert "abc" in str(ws.cell(2, 3).value)


def test_write_rows_types(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    stamp = datetime(2024, 1, 2, 3, 4)
    rows = [["=1", 5, 1.5, Decimal("2.50"), date(2024, 1, 2), stamp, None, True, "a\x00b"]]
    write_rows(out, "Лист: 1/2", [f"h{i}" for i in range(9)], rows)
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws is not None and ws.title == "Лист_ 1_2"
    cells = list(ws[2])
    assert [c.data_type for c in cells[:4]] == ["s", "n", "n", "n"]
    assert cells[0].value == "=1" and cells[3].number_format == "0.00"
    assert cells[4].value == datetime(2024, 1, 2) and cells[4].number_format == "DD.MM.YYYY"
    assert cells[5].value == stamp
    assert cells[7].value is True and cells[8].value == "ab"
    assert ws.column_dimensions["A"].width >= 8


def test_fast_sheet_reader_matches_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "tricky.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"] = "Телефон"
    ws["C1"] = CellRichText("Ба", TextBlock(InlineFont(b=True), "ланс"))
    ws["A3"] = 79161234567
    ws["B3"] = datetime(1990, 2, 1)
    ws["C3"] = 12.5
    ws["D3"] = True
    ws["E3"] = "=1+1"  # no cached value: None either way
    ws["F3"] = "  x_x000D_y  "
    ws["H5"] = date(2000, 1, 1)
    ws["AA5"] = "far"
    wb.save(path)
    streamed = tmp_path / "streamed.xlsx"
    write_rows(streamed, "s", ["Телефон", "Дата"], [["=x", date(1990, 1, 1)], [None, 3]])
    for source in (path, streamed):
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        fast = list(sheet_rows(book, sheet) or [])
        slow = list(enumerate(sheet.iter_rows(values_only=True), start=1))
        book.close()

        def filled(rows: list[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, tuple[Any, ...]]]:
            return [(n, tuple(r)) for n, r in rows if any(c is not None for c in r)]

        assert filled(fast) == filled(slow) and fast


def test_read_table(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", [["Телефон", "Имя", ""], ["1", "2", "3", "4"]])
    rows = list(read_table(path, "g.csv"))
    assert [(r.number, r.values) for r in rows] == [
        (2, {"Телефон": "1", "Имя": "2", "#3": "3", "#4": "4"})
    ]
    with open_table(path, "g.csv") as table:
        assert (table.kind, table.estimated_rows, table.header_row) == ("csv", 1, 1)


def test_damaged_zip_member_is_unreadable(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "g.xlsx", [["Телефон"], ["89161234567"]])
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("sheet1.xml"):
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    with pytest.raises(TableError) as info:
        list(read_table(broken))
    assert info.value.code == "unreadable"


cell_values = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(["89161234567", "01.02.1990", "1 234,50", "м", "a@b.ru", "=1+1", "  "]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 1)),
    st.dates(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.times(),
    st.timedeltas(max_value=timedelta(days=10**5), min_value=timedelta(days=-(10**5))),
)
VALIDATOR = RowValidator(
    ColumnMap.from_headers(
        [
            *("Телефон", "Email", "Фамилия", "Имя", "Отчество", "ФИО", "Пол", "Баланс"),
            *("Дата рождения", "Номер карты", "Группа", "Теги", "Дата регистрации"),
            *("Последний визит", "Визиты", "Сумма покупок"),
        ]
    ),
    TODAY,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cell_values, max_size=18))
def test_arbitrary_cells_never_crash_the_validator(cells: list[Any]) -> None:
    result = VALIDATOR(tuple(cells))
    assert isinstance(result, GuestRecord | Rejection)
    if isinstance(result, Rejection):
        assert result.problems
        assert describe(result)
    else:
        assert result.phone.startswith("+")
        assert result.balance_cents is None or result.balance_cents >= 0


async def test_real_world_exports_import(
    db: Database, repo: GuestRepository, tmp_path: Path
) -> None:
    """A title row above the headers, loyalty-system header names, placeholders for
    "no value", cards with spaces, two-digit years and date cells left as numbers."""
    path = write_xlsx(
        tmp_path / "export.xlsx",
        [
            ["Выгрузка гостей на 01.02.2024"],
            [],
            ["№ карты", "Телефон гостя", "Клиент", "Пол", "Дата рожд.", "Бонусный счёт", "Email"],
            ["1234 5678", "8 (916) 123-45-67", "Иванова Анна", "Не указан", "01.02.90", "—", "—"],
            ["", "+7 916 123-45-68", "Петров Пётр", "м", 32874, "1 234,50", "нет"],
            [1.234567890123456e15, "+7 916 123-45-69", "Сидоров", "-", "-", 0, None],
        ],
    )
    result = await run(db, path)
    assert (result.added, len(result.rejected)) == (2, 1)
    [bad] = result.rejected
    assert bad.reason.codes == ("card_scientific",)
    anna = await repo.by_phone("+79161234567")
    assert anna is not None
    assert (anna.card_number, anna.first_name, anna.last_name) == ("12345678", "Анна", "Иванова")
    assert anna.sex is None and anna.email is None and anna.balance_cents == 0
    assert anna.birthday == date(1990, 2, 1)
    petr = await repo.by_phone("+79161234568")
    assert petr is not None and petr.birthday == date(1990, 1, 1)  # Excel's day 32874
    assert petr.balance_cents == 123_450 and petr.sex == "male"
    # The card is found however it is typed.
    assert [g.phone for g in await repo.search("1234 5678")] == ["+79161234567"]
    assert [g.phone for g in await repo.search("12345678")] == ["+79161234567"]


async def test_repeated_phones_are_reported(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "g.csv",
        [["Телефон", "Имя"], ["89161234567", "Анна"], ["+79161234567", "АННА"], ["9161234567", ""]],
    )
    result = await run(db, path)
    assert result.added == 1 and [row for row, _ in result.duplicates] == [3, 4]
