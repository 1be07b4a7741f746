"""Compile the translation catalogs: every <lang>/LC_MESSAGES/*.po into messages.mo.

Each feature keeps its own .po file so that features can be translated (and
changed) apart; gettext needs one catalog per language, so they are merged here.
Run by `make` at install, and by the bot at start when a catalog is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"


def _sources(lang_dir: Path) -> list[Path]:
    return sorted((lang_dir / "LC_MESSAGES").glob("*.po"))


def _is_stale(lang_dir: Path) -> bool:
    target = lang_dir / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not target.exists():
        return True
    built = target.stat().st_mtime
    return any(src.stat().st_mtime > built for src in _sources(lang_dir))


def read_catalog(lang: str) -> Catalog:
    """All of a language's .po files as one catalog (the first file wins on a clash;
    `clashes` lists them, and a test keeps the list empty)."""
    merged = Catalog(locale=lang, domain=DOMAIN)
    for source in _sources(LOCALES_DIR / lang):
        with source.open("rb") as fh:
            part = read_po(fh, locale=lang)
        for message in part:
            if message.id and message.id not in merged:
                merged[message.id] = message
    return merged


def clashes(lang: str) -> list[str]:
    """Messages that two .po files of a language translate differently."""
    seen: dict[object, tuple[str, object]] = {}
    found = []
    for source in _sources(LOCALES_DIR / lang):
        with source.open("rb") as fh:
            for message in read_po(fh, locale=lang):
                if not message.id:
                    continue
                first = seen.setdefault(message.id, (source.name, message.string))
                if first[1] != message.string:
                    found.append(f"{message.id!r}: {first[0]} and {source.name} differ")
    return found


def compile_catalogs(*, only_stale: bool = False) -> list[str]:
    """Write messages.mo for every language; returns the languages compiled."""
    compiled = []
    for lang_dir in sorted(p for p in LOCALES_DIR.iterdir() if p.is_dir()):
        if only_stale and not _is_stale(lang_dir):
            continue
        catalog = read_catalog(lang_dir.name)
        target = lang_dir / "LC_MESSAGES" / f"{DOMAIN}.mo"
        with target.open("wb") as fh:
            write_mo(fh, catalog)
        compiled.append(lang_dir.name)
    return compiled


if __name__ == "__main__":
    done = compile_catalogs()
    print(f"compiled catalogs: {', '.join(done)}", file=sys.stderr)
