"""Restaurants' exports in .xls and .ods import like .xlsx; a bad email does not drop a guest."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwt
from aiogram.utils.i18n import I18n
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

from bot.catalogs import DOMAIN, LOCALES_DIR
from bot.guest_import import TableError, describe, import_guests
from bot.guest_import.report import import_summary, plain, write_report
from bot.guests import GuestService
from storage.db import Database
from storage.guests import GuestRepository
from storage.schema import migrate
from tests.conftest import ADMIN, RunningBot
from tests.test_import_limits import import_in_a_process

HEADERS = ["Телефон", "ФИО", "Дата рождения", "Email", "Баланс"]
TITLE = "Выгрузка гостей на 01.06.2024"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "guests.db").open()
    await migrate(database.conn)
    yield database
    await database.close()


def write_xls(path: Path, rows: list[list[Any]]) -> Path:
    """An .xls as an old loyalty system saves it: a title row, then the table."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Гости")
    as_date = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, date):
                ws.write(r, c, value, as_date)
            elif value is not None:
                ws.write(r, c, value)
    wb.save(str(path))
    return path


def write_ods(path: Path, rows: list[list[Any]]) -> Path:
    doc = OpenDocumentSpreadsheet()
    table = Table(name="Гости")
    for row in rows:
        tr = TableRow()
        for value in row:
            if isinstance(value, date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
            elif isinstance(value, int | float):
                cell = TableCell(valuetype="float", value=value)
            elif value is None:
                cell = TableCell()
            else:
                cell = TableCell(valuetype="string")
            if value is not None:
                cell.addElement(P(text=str(value)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


ROWS: list[list[Any]] = [
    [TITLE],
    [],
    HEADERS,
    ["89161234567", "Иванова Анна", date(1990, 2, 1), "anna@mail.ru", 150.5],
    [89161234568, "Козлов Пётр", 32874, "kozlov@mail", 0],
    ["нет", "Сидоров", date(1985, 5, 5), "", ""],
]


@pytest.mark.parametrize("kind", ["xls", "ods"])
async def test_an_xls_or_ods_export_imports_like_an_xlsx(
    db: Database, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / f"Выгрузка.{kind}"
    (write_xls if kind == "xls" else write_ods)(path, ROWS)
    result = await GuestService(db).import_file(path, path.name)
    assert (result.total_rows, result.added, len(result.rejected)) == (3, 2, 1)
    assert result.rejected[0].row_number == 6  # the title rows counted, as the admin sees them
    repo = GuestRepository(db)
    anna = await repo.by_phone("+79161234567")
    assert anna is not None
    assert (anna.last_name, anna.birthday, anna.email) == (
        "Иванова",
        date(1990, 2, 1),
        "anna@mail.ru",
    )
    assert anna.balance_cents == 15050
    petr = await repo.by_phone("+79161234568")
    assert petr is not None
    assert (petr.first_name, petr.birthday, petr.email) == ("Пётр", date(1990, 1, 1), None)
    [dropped] = result.dropped
    assert dropped.row_number == 5
    assert describe(dropped.reason) == "email “kozlov@mail” not imported: no domain"


async def test_a_guest_with_a_bad_email_is_imported_without_it(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "g.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([TITLE])
    ws.append(HEADERS)
    ws.append(["89161234567", "Козлов Пётр", datetime(1990, 2, 1), "kozlov@mail", 10])
    ws.append(["89161234568", "Иванов", datetime(1991, 3, 2), "a@b.ru, c@d.ru", 0])
    ws.append(["", "Без телефона", datetime(1992, 4, 3), "x@", 0])
    wb.save(path)
    repo = GuestRepository(db)
    result = await import_guests(db, path, path.name)
    assert (result.added, len(result.rejected), len(result.dropped)) == (2, 1, 2)
    petr = await repo.by_phone("+79161234567")
    assert petr is not None and petr.email is None and petr.birthday == date(1990, 2, 1)
    # A row refused for another reason lists the email's fault beside it.
    assert result.rejected[0].reason.codes == ("phone_missing", "email_invalid")
    english = I18n(path=LOCALES_DIR, default_locale="en", domain=DOMAIN)
    with english.context(), english.use_locale("en"):
        summary = plain(import_summary(result, path.name))
    assert "2 guests imported without their email" in summary
    russian = I18n(path=LOCALES_DIR, default_locale="ru", domain=DOMAIN)
    with russian.context(), russian.use_locale("ru"):
        summary = plain(import_summary(result, path.name))
    assert "2 гостя загружены без адреса email" in summary

    report = tmp_path / "report.xlsx"
    assert write_report(report, result, lambda s: s) == 3
    sheet = openpyxl.load_workbook(report).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (*HEADERS, "Row", "Imported", "Reason")
    assert [r[-3] for r in rows[1:]] == [3, 4, 5]  # rows of the admin's file
    assert rows[1][-1] == "email “kozlov@mail” not imported: no domain"
    assert rows[1][-2] == "yes, without the value"
    assert rows[2][-1] == "email “a@b.ru, c@d.ru” not imported: more than one address in the cell"
    assert rows[3][-2] == "no"
    birthday = sheet.cell(row=2, column=3)
    assert birthday.value == datetime(1990, 2, 1)
    assert birthday.number_format == "DD.MM.YYYY"  # a date, no "00:00"

    # Importing again: the stored email is kept, never blanked by the bad one.
    again = await import_guests(db, path, path.name)
    assert again.unchanged == 2


def test_an_xls_that_would_unpack_to_gigabytes_is_refused_within_the_bound(
    tmp_path: Path,
) -> None:
    """Two cells at opposite corners: calamine would allocate the whole grid between."""
    path = tmp_path / "sparse.xls"
    wb = xlwt.Workbook()
    ws = wb.add_sheet("G")
    ws.write(0, 0, "Телефон")
    ws.write(1, 0, "89161234567")
    ws.write(65535, 255, 1)
    wb.save(str(path))
    assert path.stat().st_size < 100_000
    assert import_in_a_process(path)["refused"] == "xlsx_too_large"  # the bot's peak < 300 MB


def test_an_ods_repeating_a_row_a_million_times_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "repeat.ods"
    write_ods(path, [HEADERS, ["89161234567", "Анна", None, None, None]])
    content = zipfile.ZipFile(path).read("content.xml")
    many = b'<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
    many += b'office:value-type="string" table:number-columns-repeated="1000"><text:p>x'
    many += b"</text:p></table:table-cell></table:table-row></table:table>"
    content = content.replace(b"</table:table>", many, 1)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "hostile.ods", "w") as dst:
        for item in src.infolist():
            dst.writestr(item, content if item.filename == "content.xml" else src.read(item))
    result = import_in_a_process(tmp_path / "hostile.ods")
    # calamine refuses a grid past 100 million cells itself; below that the child runs out.
    assert result["refused"] in ("xlsx_too_large", "too_many_rows", "unreadable")


async def test_a_password_protected_or_damaged_xls_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(TableError) as info:
        await import_guests(db, path, path.name)
    assert info.value.code == "old_xls"


async def test_an_xls_sent_to_the_bot_is_imported_and_its_email_warning_comes_back(
    bot: RunningBot, tmp_path: Path
) -> None:
    rows = [
        ["Телефон", "Имя", "Email"],
        ["+79161112233", "Олег", "oleg@example.com"],
        ["+79161112244", "Козлов", "kozlov@mail"],
    ]
    content = write_xls(tmp_path / "Выгрузка.xls", rows).read_bytes()
    texts = await bot.send_file(ADMIN, "Выгрузка.xls", content)
    summary = "\n".join(texts)
    assert "Added: 2" in summary and "Rejected: 0" in summary, summary
    assert "1 guest imported without their email" in summary
    await bot.api.wait_for("sendDocument", lambda c: c.chat_id == ADMIN and c.ok, timeout=10)
    assert bot.documents_to(ADMIN), "the report with the dropped email never arrived"
