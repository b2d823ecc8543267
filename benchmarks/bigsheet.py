"""A tracker with up to 1,048,575 cases (a full sheet), built fast enough to benchmark it.

openpyxl needs tens of minutes and gigabytes to write a million rows. This takes the package that
``refund-sheet new`` builds (``build_tracker``, the same deterministic bytes) and streams the register's
rows into its sheet XML, written as openpyxl writes them: the same cells, styles, inline strings, numbers and
character references, so for the same rows the result holds exactly the parts ``write_new`` gives
(``tests/test_bigsheet.py`` checks this part by part on 300 sample rows). The cases are ``samples.sample_rows``,
made in chunks so that memory stays flat; the table and the sheet's dimension are set to the last row.

    .venv/bin/python benchmarks/bigsheet.py 1048575 /tmp/full.xlsx
"""

from __future__ import annotations

import queue
import re
import sys
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAX_CASES = 1_048_575  # Excel's 1,048,576 rows, less the header
CHUNK = 10_000  # sample rows made at a time
SHEET = "xl/worksheets/sheet1.xml"
TABLE = "xl/tables/table1.xml"
NOW = datetime(2026, 11, 26, 18, 0)
_EPOCH = datetime(1899, 12, 30)
_DAY = timedelta(days=1)


def sample_cases(count: int, now: datetime = NOW) -> Iterator[dict[str, object]]:
    """``count`` realistic cases (the demo's mix) made ``CHUNK`` at a time, each chunk with its own seed."""
    from refund_sheet.samples import sample_rows

    for start in range(0, count, CHUNK):
        yield from sample_rows(now, min(CHUNK, count - start), seed=2026 + start // CHUNK)


def _row_writer(styles: dict[int, str], keys: list[str]):
    """A function (row number, case) → the row's XML as openpyxl writes it, for the register's columns ``keys``
    with the style attribute ``styles[i]`` (`` s="4"``) of each styled column; an empty unstyled cell is left out."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(i) for i in range(1, len(keys) + 1)]
    columns = list(zip(keys, letters, [styles.get(i, "") for i in range(len(keys))]))

    def text(value: str) -> str:
        escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if not escaped.isascii():
            escaped = escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f"<is><t{space}>{escaped}</t></is>"

    def row(number: int, case: dict[str, object]) -> str:
        cells = []
        for key, letter, style in columns:
            value = case.get(key)
            if value is None or value == "":
                if style:
                    cells.append(f'<c r="{letter}{number}"{style} t="n"></c>')
            elif isinstance(value, str):
                cells.append(f'<c r="{letter}{number}"{style} t="inlineStr">{text(value)}</c>')
            elif isinstance(value, datetime):  # openpyxl's to_excel for a naive date-time
                cells.append(f'<c r="{letter}{number}"{style} t="n"><v>{"%.16g" % ((value - _EPOCH) / _DAY)}</v></c>')
            else:  # Decimal, int, float
                cells.append(f'<c r="{letter}{number}"{style} t="n"><v>{float(value):.16g}</v></c>')
        return f'<row r="{number}">{"".join(cells)}</row>'

    return row


def _styles_of(empty_row: str) -> dict[int, str]:
    """Column index (0-based) → ``' s="N"'`` from row 2 of the skeleton (the placeholder case, its other cells
    formatted and empty)."""
    from openpyxl.utils import column_index_from_string

    return {
        column_index_from_string(letter) - 1: f' s="{style}"'
        for letter, style in re.findall(r'<c r="([A-Z]+)2" s="(\d+)"', empty_row)
    }


class _Background:
    """Calls ``write`` on a second thread, so that deflating (zlib lets go of the GIL) overlaps making the XML."""

    def __init__(self, write) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.thread = threading.Thread(target=self._run, args=(write,), daemon=True)
        self.error: BaseException | None = None

    def _run(self, write) -> None:
        while (data := self.queue.get()) is not None:
            if self.error is None:
                try:
                    write(data)
                except BaseException as error:  # handed to the caller when it leaves the block
                    self.error = error

    def __enter__(self):
        self.thread.start()
        return self.queue.put

    def __exit__(self, *exc) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


def write_tracker(path: Path, cases: Iterable[dict[str, object]], count: int) -> Path:
    """Write a tracker holding ``count`` of ``cases`` (register rows keyed by canonical key) to ``path``."""
    from refund_sheet.engine.columns import INPUT_COLUMNS, OUTPUT_COLUMNS
    from refund_sheet.workbook.build import build_tracker, deterministic_bytes

    if not 0 < count <= MAX_CASES:
        raise ValueError(f"between 1 and {MAX_CASES:,} cases, not {count:,}")
    keys = [c.key for c in INPUT_COLUMNS + OUTPUT_COLUMNS]
    last = count + 1
    skeleton = Path(path).with_suffix(".skeleton")
    # one placeholder case whose date-time makes openpyxl register its default date format, as any real case
    # does, so styles.xml comes out as write_new's; the case's row 2 is replaced by the real rows
    skeleton.write_bytes(deterministic_bytes(build_tracker([{"requested_at": NOW}])))
    try:
        with zipfile.ZipFile(skeleton) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
                if info.filename == TABLE:
                    data = re.sub(rb'ref="A1:([A-Z]+)2"', rb'ref="A1:\g<1>%d"' % last, data)
                if info.filename != SHEET:
                    dst.writestr(entry, data)
                    continue
                text = data.decode("utf-8")
                head, rest = text.split("<sheetData>", 1)
                rows, tail = rest.split("</sheetData>", 1)
                header, empty = rows.split('<row r="2"', 1)
                head = re.sub(r'<dimension ref="A1:([A-Z]+)2"/>', rf'<dimension ref="A1:\g<1>{last}"/>', head)
                write_row = _row_writer(_styles_of(empty), keys)
                with dst.open(entry, "w") as part, _Background(part.write) as write:
                    write(f"{head}<sheetData>{header}".encode())
                    batch: list[str] = []
                    number = 1
                    for number, case in enumerate(cases, start=2):
                        batch.append(write_row(number, case))
                        if len(batch) == 2000:
                            write("".join(batch).encode("ascii"))
                            batch.clear()
                        if number == last:
                            break
                    write("".join(batch).encode("ascii"))
                    if number != last:
                        raise ValueError(f"only {number - 1:,} cases given, {count:,} asked for")
                    write(f"</sheetData>{tail}".encode())
    finally:
        skeleton.unlink()
    return Path(path)


def main() -> None:
    count, path = int(sys.argv[1]), Path(sys.argv[2])
    start = time.perf_counter()
    write_tracker(path, sample_cases(count), count)
    print(f"{count:,} cases → {path} ({path.stat().st_size / 2**20:,.1f} MiB) in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
