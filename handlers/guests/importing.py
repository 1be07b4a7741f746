"""A guest table sent as a document: imported with progress, then the summary and the report."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import FSInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.config import Settings
from bot.guest_import import MAX_FILE_BYTES, ImportResult, TableError
from bot.guest_import.report import import_summary, quote, save_rejected, table_error_text
from bot.guests import GuestService
from handlers import keyboards  # the module: see overview.py

# What an admin exports from a loyalty system or a spreadsheet program.
TABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")

log = logging.getLogger(__name__)

# Progress of a long import is edited in place at most this often (Telegram
# rate-limits edits; a manager only needs to see it move).
PROGRESS_EVERY_S = 2.0


async def on_document(
    message: Message, state: FSMContext, guests: GuestService, bot: Bot, settings: Settings
) -> None:
    """A guest table sent in the import step or at any moment outside a dialog."""
    document = message.document
    if document is None:
        return
    name = document.file_name or "file"
    suffix = Path(name).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        await message.answer(
            _("“{name}” is not a table I can read. Send an .xlsx, .xls, .ods or .csv file.").format(
                name=quote(name)
            )
        )
        return
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        await message.answer(
            _(
                "The file is too large ({size} MB). The limit is {limit} MB: split it into parts."
            ).format(
                size=round(document.file_size / 1024 / 1024, 1),
                limit=MAX_FILE_BYTES // (1024 * 1024),
            )
        )
        return
    status = await message.answer(_("Importing “{name}”…").format(name=quote(name)))
    last_edit = time.monotonic()

    async def progress(done: int, total: int | None) -> None:
        nonlocal last_edit
        if time.monotonic() - last_edit < PROGRESS_EVERY_S:
            return
        last_edit = time.monotonic()
        text = (
            ngettext(
                "Importing “{name}”: {done} of {total} row…",
                "Importing “{name}”: {done} of {total} rows…",
                total,
            ).format(name=quote(name), done=done, total=total)
            if total
            else ngettext(
                "Importing “{name}”: {done} row…", "Importing “{name}”: {done} rows…", done
            ).format(name=quote(name), done=done)
        )
        await _show(status, text, replace=False)

    with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
        path = Path(tmp) / f"upload{suffix}"
        await bot.download(document, destination=path)
        try:
            result = await guests.import_file(path, name, progress=progress)
        except TableError as exc:
            await _show(status, table_error_text(exc, name))
            return
        except Exception:
            # Never leave "Importing…" standing: say it stopped, then let it be logged.
            stopped = _(
                "The import of “{name}” stopped on an unexpected error; rows written "
                "before it stay. Send the file again; if it happens again, tell whoever "
                "runs the bot."
            )
            await _show(status, stopped.format(name=quote(name)))
            raise
        await _end_import_step(state, bot, message.chat.id)
        # The guests are written: the summary and the file must both reach the admin,
        # whatever happens to one of them.
        try:
            await _show(status, import_summary(result, name))
        finally:
            if result.rejected or result.dropped:
                await _send_rejected(message, result, Path(tmp), name)


async def _end_import_step(state: FSMContext, bot: Bot, chat_id: int) -> None:
    """The import step is over: its prompt's Cancel button goes (it has nothing to cancel)."""
    prompt_id = (await state.get_data()).get("import_prompt_id")
    await state.clear()
    if isinstance(prompt_id, int):
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=prompt_id)


async def _show(status: Message, text: str, *, replace: bool = True) -> None:
    """Edit the status message; if Telegram refuses the edit, say it in a new message."""
    try:
        await status.edit_text(text)
    except TelegramBadRequest as exc:
        log.warning("import status not edited: %s", exc)
        if replace:
            await status.answer(text)


async def _send_rejected(message: Message, result: ImportResult, tmp: Path, name: str) -> None:
    # Named in the admin's language: "Строки для проверки — guests.xlsx".
    path = tmp / _("Rows to check — {name}.xlsx").format(name=Path(name).stem[:60])
    await save_rejected(path, result)
    await message.answer_document(
        FSInputFile(path, filename=path.name),
        caption=_(
            "Rows to check: those not imported, and those imported without a value, "
            "with the reason for each."
        ),
    )


async def on_not_a_document(message: Message) -> None:
    await message.answer(
        _("Please send the table as a file (.xlsx, .xls, .ods or .csv), or /cancel."),
        reply_markup=keyboards.cancel_only(),
    )
