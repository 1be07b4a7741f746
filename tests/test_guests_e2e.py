"""The admin brings in the guest base, finds a guest, opens the card, exports the base."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from storage.guests import GuestRepository
from tests.conftest import ADMIN, BotFactory, RunningBot


def xlsx(rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    for cells in ws.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text as typed, even when it looks like a formula
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_xlsx(content: bytes) -> list[list[Any]]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    assert ws is not None
    return [list(row) for row in ws.iter_rows(values_only=True)]


BASE = [
    ["Фамилия", "Имя", "Телефон", "Email", "Баланс", "Дата рождения", "Номер карты", "Теги"],
    ["Иванов", "Пётр", "8 (916) 123-45-67", "petr@example.com", "1 234,50", "01.02.1990",
     "1001", "vip"],
    ["Смирнова", "Ольга", "+7 903 111 22 33", "", "0", "", "1002", ""],
    ["Кузнецов", "Олег", "12345", "not-an-email", "-5", "31.02.1990", "1003", ""],
    ["=HYPERLINK(\"http://x\")", "Ева", "+79035556677", "", "10", "", "", ""],
]  # fmt: skip


def repo(bot: RunningBot) -> GuestRepository:
    assert bot.app is not None
    return GuestRepository(bot.app.db)


async def test_import_reports_counts_and_returns_rejected_rows_with_reasons(
    bot: RunningBot,
) -> None:
    texts = await bot.send_file(ADMIN, "base.xlsx", xlsx(BASE))
    summary = texts[-2] if len(texts) > 1 else texts[-1]
    assert "Added: 3" in summary and "Rejected: 1" in summary, texts
    docs = bot.documents_to(ADMIN)
    assert len(docs) == 1
    rejected = read_xlsx(docs[0].files["document"][1])
    assert rejected[0][-1] == "Reason"
    assert rejected[1][2] == "12345"
    reason = rejected[1][-1]
    assert "phone" in reason and "email" in reason and "negative" in reason
    assert (await repo(bot).counts()).total == 3
    guest = await repo(bot).by_phone("+79161234567")
    assert guest is not None and str(guest.balance) == "1234.50"


async def test_reimport_updates_without_duplicates_and_keeps_what_a_file_leaves_empty(
    bot: RunningBot,
) -> None:
    await bot.send_file(ADMIN, "base.xlsx", xlsx(BASE))
    update = [["Phone", "Balance", "Email"], ["+79161234567", "99", ""]]
    texts = await bot.send_file(ADMIN, "update.xlsx", xlsx(update))
    assert "Updated: 1" in texts[-1] and "Added: 0" in texts[-1]
    assert (await repo(bot).counts()).total == 3
    guest = await repo(bot).by_phone("+79161234567")
    assert guest is not None
    assert str(guest.balance) == "99.00"
    assert guest.email == "petr@example.com"  # an empty cell does not erase


async def test_a_file_that_cannot_be_imported_says_why_and_changes_nothing(
    bot: RunningBot,
) -> None:
    cases = [
        ("notes.pdf", b"%PDF-1.4", "not a table I can read"),
        ("fake.xlsx", b"this is not a zip", "cannot be read"),
        ("empty.csv", b"", "The table has no rows under its header."),
        ("nophone.csv", "Имя;Email\nОлег;o@x.ru\n".encode(), "No phone column"),
        ("header-only.csv", "Телефон;Имя\n".encode(), "no rows"),
    ]
    for name, content, reason in cases:
        since = bot.api.mark()
        bot.api.send_document(ADMIN, name, content)
        said = (await bot.expect(ADMIN, reason, since)).plain_text or ""
        assert "Added" not in said, (name, said)
        if name.endswith(".csv"):  # read as a table, then refused as a whole
            assert said.startswith(f"“{name}” was not imported: "), (name, said)
            assert said.endswith("Nothing was changed."), (name, said)
    assert (await repo(bot).counts()).total == 0
    assert not bot.documents_to(ADMIN)


async def test_a_file_over_the_limit_is_refused_before_download(bot: RunningBot) -> None:
    since = bot.api.mark()
    bot.api.send_document(ADMIN, "huge.csv", b"x")
    # Pretend Telegram reports a 25 MB file: patch the queued update's size.
    bot.api._updates[-1]["message"]["document"]["file_size"] = 25 * 1024 * 1024
    await bot.expect(ADMIN, "too large", since)
    assert not bot.api.downloads


async def test_cp1251_csv_with_commas_imports(bot: RunningBot) -> None:
    content = "Телефон,Фамилия,Имя\n89161234567,Иванов,Пётр\n".encode("cp1251")
    texts = await bot.send_file(ADMIN, "base.csv", content)
    assert "Added: 1" in texts[-1]
    guest = await repo(bot).by_phone("+79161234567")
    assert guest is not None and guest.last_name == "Иванов"


async def test_search_by_name_phone_or_card_opens_the_account_card(bot: RunningBot) -> None:
    await bot.send_file(ADMIN, "base.xlsx", xlsx(BASE))
    await bot.say(ADMIN, "/guests")
    overview = bot.last_text(ADMIN)
    assert "Guests: 3" in overview
    for query in ("ИВАНОВ", "иванов пётр", "петр", "916123", "1001"):
        await bot.press(ADMIN, "Search")
        reply = await bot.say(ADMIN, query)
        card = reply.plain_text or ""
        assert "Account card" in card, query
        assert "Иванов Пётр" in card and "+7 916 123-45-67" in card
        assert "1,234.50" in card  # balance in the admin's locale (en)
        assert "vip" in card and "01.02.1990" in card


async def test_several_matches_list_buttons_that_open_cards(bot: RunningBot) -> None:
    await bot.send_file(ADMIN, "base.xlsx", xlsx(BASE))
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Search")
    reply = await bot.say(ADMIN, "+7")
    assert "Choose a guest" in (reply.plain_text or "")
    await bot.press(ADMIN, "Смирнова")
    assert "Смирнова Ольга" in bot.last_text(ADMIN)


async def test_nobody_found_keeps_the_search_open(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Search")
    reply = await bot.say(ADMIN, "Зильберштейн")
    assert "Nobody found" in (reply.plain_text or "")
    reply = await bot.say(ADMIN, "x")
    assert "at least 2" in (reply.plain_text or "")


async def test_export_opens_in_a_spreadsheet_and_reimports_cleanly(bot: RunningBot) -> None:
    await bot.send_file(ADMIN, "base.xlsx", xlsx(BASE))
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Export")
    docs = bot.documents_to(ADMIN)
    content = docs[-1].files["document"][1]
    rows = read_xlsx(content)
    assert len(rows) == 4
    header = rows[0]
    assert "Phone" in header
    by_phone = {row[header.index("Phone")]: row for row in rows[1:]}
    assert by_phone["+79161234567"][header.index("Last name")] == "Иванов"
    # Guest data that looks like a formula stays text.
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    assert ws is not None
    cells = [c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("http://x")']
    assert cells and all(c.data_type == "s" for c in cells)
    # The export is a valid import: nothing new, nothing rejected.
    texts = await bot.send_file(ADMIN, "export.xlsx", content)
    assert "Added: 0" in texts[-1] and "Rejected: 0" in texts[-1]


async def test_import_from_the_guests_menu_and_cancel(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Import")
    assert "phone column is required" in bot.last_text(ADMIN)
    reply = await bot.say(ADMIN, "hello")
    assert "as a file" in (reply.plain_text or "")
    reply = await bot.say(ADMIN, "/cancel")
    assert "Cancelled" in (reply.plain_text or "")
    reply = await bot.say(ADMIN, "/cancel")
    assert "nothing to cancel" in (reply.plain_text or "")


async def test_an_import_that_finished_leaves_nothing_to_cancel(bot: RunningBot) -> None:
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Import")
    cancel = bot.find_button(ADMIN, "Cancel")
    chat = bot.api.messages[ADMIN]
    prompt = max(m for m in chat if cancel in (data for _, data in chat[m].buttons()))
    texts = await bot.send_file(ADMIN, "base.xlsx", xlsx(BASE))
    assert any("Added:" in t for t in texts), texts
    # The prompt's Cancel is gone once the import is done ...
    assert bot.api.messages[ADMIN][prompt].buttons() == []
    # ... and a Cancel pressed on it anyway (an old client) cancels nothing.
    query_id = bot.api.press_forged(ADMIN, cancel, message_id=prompt)
    answer = await bot.api.answer_of(query_id)
    assert "nothing to cancel" in (answer.params.get("text") or ""), answer
    await bot.settle()
    assert not any("Cancelled" in t for t in bot.api.sent_texts(ADMIN))


async def test_in_russian_the_rejected_rows_and_repeats_are_explained_in_russian(
    start_bot: BotFactory,
) -> None:
    bot = await start_bot(locale="ru")
    rows = [*BASE, ["ИВАНОВ", "Петр", "+7 916 123-45-67", "", "", "", "", ""]]
    texts = await bot.send_file(ADMIN, "база.xlsx", xlsx(rows))
    summary = next(t for t in texts if "Добавлено" in t)
    assert "тот же гость (тот же телефон и то же имя): строка 6." in summary, texts
    [doc] = bot.documents_to(ADMIN)
    rejected = read_xlsx(doc.files["document"][1])
    assert rejected[0][-1] == "Причина"
    reason = rejected[1][-1]
    assert "телефон" in reason and "отрицательн" in reason, reason
    assert "phone" not in reason


async def test_emails_to_a_guest_are_stopped_and_resumed_from_the_card(bot: RunningBot) -> None:
    await bot.send_file(ADMIN, "base.xlsx", xlsx(BASE))
    await bot.say(ADMIN, "/guests")
    await bot.press(ADMIN, "Search")
    await bot.say(ADMIN, "1001")
    answer = await bot.press(ADMIN, "Stop emails")
    assert answer.params["text"] == "Emails stopped."
    guest = await repo(bot).by_phone("+79161234567")
    assert guest is not None and guest.email_status == "unsubscribed"
    card = bot.api.last_message(ADMIN)
    assert "unsubscribed" in (card.plain_text or "")
    assert any("Resume emails" in text for text, _ in card.buttons())
    await bot.press(ADMIN, "Resume emails")
    guest = await repo(bot).by_phone("+79161234567")
    assert guest is not None and guest.email_status == "active"
    # A guest without an email has no such button.
    await bot.press(ADMIN, "Search")
    card = await bot.say(ADMIN, "1002")
    assert not card.buttons()
    assert bot.app is not None
    rows = await bot.app.db.fetchall("SELECT action FROM audit_log WHERE user_id = ?", (ADMIN,))
    assert [r[0] for r in rows if r[0].startswith("guest.")] == [
        "guest.email_off",
        "guest.email_on",
    ]
