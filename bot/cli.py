"""Command-line import: `python -m bot import FILE`, the same import as in the bot."""

from __future__ import annotations

import sys
from pathlib import Path

from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.database import open_database
from bot.guest_import import TableError
from bot.guest_import.report import import_summary, plain, save_rejected, table_error_text
from bot.guests import GuestService
from bot.i18n import create_i18n


async def import_file(settings: Settings, file: str) -> int:
    """Import FILE into DATA_DIR's database; rejected rows go to FILE.rejected.xlsx."""
    path = Path(file)
    i18n = create_i18n(settings.locale)
    with i18n.context(), i18n.use_locale(settings.locale):
        if not path.is_file():
            print(_("File not found: {path}").format(path=path), file=sys.stderr)
            return 1
        db = await open_database(settings)
        try:
            service = GuestService(db)

            async def progress(done: int, total: int | None) -> None:
                print(f"\r{done}/{total or '?'}", end="", file=sys.stderr, flush=True)

            try:
                result = await service.import_file(path, path.name, progress=progress)
            except TableError as exc:
                print(plain(table_error_text(exc, path.name)), file=sys.stderr)
                return 1
            print(file=sys.stderr)
            print(plain(import_summary(result, path.name)))
            if result.rejected or result.dropped:
                rejected = path.with_name(f"{path.stem}.rejected.xlsx")
                await save_rejected(rejected, result)
                print(_("Rows to check: {path}").format(path=rejected))
            return 0
        finally:
            await db.close()
