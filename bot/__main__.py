"""Entry point: `python -m bot` runs the bot; `python -m bot import FILE` imports guests."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.config import ConfigError, load_settings

# Our own loggers follow LOG_LEVEL; libraries stay at INFO or above even with DEBUG:
# aiosqlite's debug lines carry SQL parameters (guests' contacts, the sealed password).
OWN_LOGGERS = ("bot", "handlers", "storage", "__main__")


def configure_logging(level: str) -> None:
    """LOG_LEVEL for the bot's own code; third-party loggers never below INFO."""
    logging.basicConfig(
        level=max(logging.INFO, logging.getLevelName(level)),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="probonus-mailer", description="ProBonus Mailer bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start the bot (the default)")
    importer = commands.add_parser(
        "import", help="import guests from an .xlsx, .xls, .ods or .csv file"
    )
    importer.add_argument("file")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        if args.command == "import":
            from bot.cli import import_file

            return asyncio.run(import_file(settings, args.file))
        from bot.app import run

        asyncio.run(run(settings))
    except ConfigError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
