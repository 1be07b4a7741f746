"""A small .xlsx that unpacks to gigabytes is refused with its reason, within 300 MB of memory.

The hostile workbooks are written by hand, their XML streamed into the zip. Each import
runs in its own process so that its peak memory is its own; the bound is a safety
limit, not a timing.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n

from bot.catalogs import DOMAIN, LOCALES_DIR, compile_catalogs
from bot.guest_import import TableError, describe

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_MB = 300
MB = 1024 * 1024


# Hand-made workbooks: the XML streamed into the zip, so a huge part costs the test nothing.
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MAIN = f'xmlns="{SHEET_NS}"'.encode()
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
RELS_CT = "application/vnd.openxmlformats-package.relationships+xml"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="{RELS_CT}"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{SHEET_NS}" xmlns:r="{REL}">'
        '<sheets><sheet name="Guests" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}


def workbook(path: Path, sheet: Iterable[bytes], shared: Iterable[bytes] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in PARTS.items():
            zf.writestr(name, text)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b"<worksheet " + MAIN + b"><sheetData>")
            for chunk in sheet:
                fh.write(chunk)
            fh.write(b"</sheetData></worksheet>")
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(b"<sst " + MAIN + b">")
            for chunk in shared:
                fh.write(chunk)
            fh.write(b"</sst>")
    return path


def rows(*cells: tuple[int, list[str]]) -> bytes:
    out = []
    for number, values in cells:
        inner = "".join(
            f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
            for i, v in enumerate(values)
        )
        out.append(f'<row r="{number}">{inner}</row>')
    return "".join(out).encode()


def repeat(piece: bytes, total: int, chunk: int = 1 << 20) -> Iterable[bytes]:
    block = piece * max(1, chunk // len(piece))
    written = 0
    while written + len(block) <= total:
        yield block
        written += len(block)
    rest = (total - written) // len(piece)
    if rest:
        yield piece * rest


IMPORT = """
import asyncio, json, resource, sys
from pathlib import Path
from bot.guest_import import TableError, import_guests
from storage.db import Database
from storage.schema import migrate

async def main(path: Path, db_path: Path) -> dict:
    db = await Database(db_path).open()
    await migrate(db.conn)
    try:
        result = await import_guests(db, path, path.name)
        return {"added": result.added, "rejected": len(result.rejected)}
    except TableError as exc:
        return {"refused": exc.code}
    finally:
        await db.close()

def peak_mb() -> float:
    # ru_maxrss survives exec: a child spawned by a big test process starts with its
    # peak. VmHWM belongs to this program's own memory; ru_maxrss where there is none.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

out = asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
out["peak_mb"] = peak_mb()
print(json.dumps(out))
"""


def import_in_a_process(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT, str(path), str(path.with_suffix(".db"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    assert isinstance(peak := result["peak_mb"], float) and peak < MEMORY_LIMIT_MB, result
    return result


HEAD = rows((1, ["Телефон", "Имя"]), (2, ["89161234567", "Анна"]))
SHARED_CELL = b'<row r="3"><c r="A3"><v>89161234568</v></c><c r="B3" t="s"><v>0</v></c></row>'


def test_one_huge_shared_string_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # 1 GB of one string took 3 GB; 150 MB is plenty to show it is never read.
    path = workbook(
        tmp_path / "bomb.xlsx",
        [HEAD, SHARED_CELL],
        [b"<si><t>", *repeat(b"a", 150 * MB), b"</t></si>"],
    )
    assert path.stat().st_size < 1 * MB
    assert import_in_a_process(path)["refused"] == "xlsx_too_large"


def test_a_shared_string_longer_than_any_cell_is_refused(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "long.xlsx",
        [HEAD, SHARED_CELL],
        [b"<si><t>", *repeat(b"a", 30 * MB), b"</t></si>"],
    )
    assert import_in_a_process(path)["refused"] == "cell_too_long"


def test_a_huge_text_in_a_sheet_is_refused(tmp_path: Path) -> None:
    # No <dimension> either: openpyxl would parse such a sheet whole to size it.
    cell = b'<row r="3"><c r="A3"><v>89161234568</v></c><c r="B3" t="inlineStr"><is><t>'
    path = workbook(
        tmp_path / "inline.xlsx", [HEAD, cell, *repeat(b"a", 200 * MB), b"</t></is></c></row>"]
    )
    assert import_in_a_process(path)["refused"] == "cell_too_long"


def test_millions_of_tiny_shared_strings_are_refused(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "many.xlsx", [HEAD, SHARED_CELL], repeat(b"<si><t>abc</t></si>", 30 * MB)
    )
    assert import_in_a_process(path)["refused"] == "xlsx_too_many_strings"


def test_a_million_styled_empty_rows_do_not_count_as_rows(tmp_path: Path) -> None:
    real = rows((3, ["89161234568", "Борис"]), (4, ["89161234569", "Вера"]))
    empty = (f'<row r="{n}" s="1" customFormat="1"/>'.encode() for n in range(10, 1_000_010))
    path = workbook(tmp_path / "styled.xlsx", itertools.chain([HEAD, real], empty))
    assert import_in_a_process(path) | {"peak_mb": 0} == {"added": 3, "rejected": 0, "peak_mb": 0}


def test_a_wide_table_of_rows_all_refused_stays_small(tmp_path: Path) -> None:
    # Every refused row is kept for the report: 150,000 rows of 30 cells took 430 MB.
    header = rows((1, ["Телефон", *(f"x{i}" for i in range(29))]))
    cells = "".join(f'<c t="inlineStr"><is><t>ab{i}</t></is></c>' for i in range(30)).encode()
    body = (b"<row>" + cells + b"</row>" for _ in range(150_000))
    path = workbook(tmp_path / "wide.xlsx", itertools.chain([header], body))
    assert import_in_a_process(path) | {"peak_mb": 0} == {
        "added": 0,
        "rejected": 150_000,
        "peak_mb": 0,
    }


def test_a_cell_beyond_the_last_column_is_refused(tmp_path: Path) -> None:
    far = b'<row r="3"><c r="A3"><v>89161234568</v></c><c r="ZZZZZZ3"><v>1</v></c></row>'
    path = workbook(tmp_path / "far.xlsx", [HEAD, far])
    assert import_in_a_process(path)["refused"] == "unreadable"


@pytest.mark.parametrize(
    ("code", "params", "words"),
    [
        ("xlsx_too_large", {"limit_mb": 40}, "больше 40 МБ"),
        ("cell_too_long", {"limit": 32_767}, "больше 32767 символов"),
        ("xlsx_too_many_strings", {"limit": 1_000_000}, "больше 1000000"),
    ],
)
def test_the_reason_is_given_in_the_admins_language(
    code: str, params: dict[str, int], words: str
) -> None:
    compile_catalogs(only_stale=True)
    i18n = I18n(path=LOCALES_DIR, default_locale="ru", domain=DOMAIN)
    with i18n.context(), i18n.use_locale("ru"):
        from aiogram.utils.i18n import gettext

        assert words in describe(TableError(code, params), gettext)
