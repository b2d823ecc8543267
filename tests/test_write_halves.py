"""Writing a big sheet in two halves at once (``write.SecondHalf``: a forked copy writes the rows from the seam on
into a temporary file while this process writes the rows before it) gives exactly the bytes one process gives —
or this process writes on by itself: when the copy failed or died, the sheet is unusual at the seam, or the copy's
cells would need a style this process does not have.

The sheets are small, streamed in small blocks (``package.CHUNK`` lowered), so a seam falls between many blocks."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from datetime import datetime
from decimal import Decimal

import pytest

from refund_sheet.workbook import halves, package, write
from refund_sheet.workbook.write import BulkRows, SecondHalf, SheetEdit, SheetWriter, Styles

BLOCK = 2048
SEAMS = [i / 10 for i in range(1, 10)]
STYLES = (
    b'<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    b'<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
    b'<cellXfs count="3"><xf numFmtId="0" fontId="0"/><xf numFmtId="164" fontId="0" applyNumberFormat="1"/>'
    b'<xf numFmtId="4" fontId="0" applyNumberFormat="1"/></cellXfs></styleSheet>'
)
HEAD = b'<worksheet><dimension ref="A1:D900"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
TAIL = b'</sheetData><mergeCells count="1"><mergeCell ref="H2:I3"/></mergeCells></worksheet>'


def sheet(numbers, odd_every: int = 0) -> bytes:
    rows = []
    for n in numbers:
        if odd_every and n % odd_every == 0:
            rows.append(f'<row><c r="A{n}"><v>{n}</v></c></row>' if n % 2 else f'<!-- x --><row r="{n}"/>')
        else:
            rows.append(f'<row r="{n}" spans="1:4"><c r="A{n}" t="inlineStr"><is><t>单号{n}</t></is></c>'
                        f'<c r="B{n}" s="2"><v>{n}.5</v></c><c r="C{n}"/><c r="E{n}"><v>7</v></c></row>')
    return HEAD + "".join(rows).encode() + TAIL


def chunks_of(xml: bytes):
    return iter([xml[i : i + BLOCK] for i in range(0, len(xml), BLOCK)])


PLACES = [("decision", 3, None), ("amount", 4, "#,##0.00"), ("due", 6, "yyyy/mm/dd hh:mm:ss")]  # the last one a new format


def plain_values(numbers):
    return {n: {"decision": ["退货退款", "仅退款", "补发"][n % 3], "amount": Decimal(n % 50)} for n in numbers}


def edit_of(values, cells=None) -> SheetEdit:
    edit = SheetEdit(bulk=BulkRows(values, PLACES))
    for (row, column), value in (cells or {}).items():
        edit.put(row, column, value)
    return edit


def written(xml: bytes, make_edit, seam: float | None, monkeypatch, taken: list[bool]) -> tuple[bytes, bytes]:
    """The sheet part as written and styles.xml after it, in one process (seam None) or two."""
    styles = Styles(STYLES)
    writer = SheetWriter(make_edit(), styles, False)
    second = None
    with tempfile.TemporaryFile() as spill:
        if seam is not None:
            monkeypatch.setattr(halves, "SEAM", seam)
            writer.first_styles(chunks_of(xml))  # as the package writer does before it starts a copy
            second = SecondHalf.start(writer, lambda: chunks_of(xml), len(xml), spill)
            assert second is not None
        try:
            out = b"".join(writer.stream(chunks_of(xml), "A1:F2000", second))
        finally:
            if second is not None:
                second.stop()
    return out, styles.result()


@pytest.fixture
def taken(monkeypatch):
    monkeypatch.setattr(package, "CHUNK", BLOCK)
    seen: list[bool] = []
    rest = SecondHalf.rest

    def counted(self, *args):
        part = rest(self, *args)
        seen.append(part is not None)
        return part

    monkeypatch.setattr(SecondHalf, "rest", counted)
    return seen


CASES = {
    "plain": (range(2, 600), lambda: edit_of(plain_values(range(2, 600)))),
    # rows to write that the sheet lacks: inserted between rows, and below the last row
    "new rows": (range(2, 600, 2), lambda: edit_of(plain_values(range(2, 700)))),
    # cells put by hand beside the bulk, and rows the copy must take the same way (comments, rows without r)
    "odd": (range(2, 600), lambda: edit_of(plain_values(range(2, 600, 3)), {(n, 5): f"备注{n}" for n in range(2, 600, 7)})),
}


@pytest.mark.parametrize("name", list(CASES))
def test_two_halves_write_what_one_writes(taken, monkeypatch, name):
    numbers, make_edit = CASES[name]
    xml = sheet(numbers, odd_every=37 if name == "odd" else 0)
    alone = written(xml, make_edit, None, monkeypatch, taken)
    for seam in SEAMS:
        assert written(xml, make_edit, seam, monkeypatch, taken) == alone, seam
    assert len(taken) == len(SEAMS)
    assert taken.count(True) >= len(SEAMS) - (2 if name == "odd" else 0)  # the copy's half was used
    assert not multiprocessing.active_children()


def test_a_copy_that_needs_a_new_style_is_not_taken(taken, monkeypatch):
    # the rows of the second half get a deadline, whose date format makes a new cell style the first time it is
    # needed: the copy would make it under a number of its own
    numbers = range(2, 600)
    values = plain_values(numbers)
    for n in range(400, 600):
        values[n]["due"] = datetime(2026, 11, 1 + n % 28, 18)

    def make_edit():
        return edit_of(values)

    alone = written(sheet(numbers), make_edit, None, monkeypatch, taken)
    assert b"<cellXfs" in alone[1] and alone[1] != Styles(STYLES).result()  # a style was added
    assert written(sheet(numbers), make_edit, 0.5, monkeypatch, taken) == alone
    assert taken == [False]


def test_a_copy_that_fails_or_dies_is_written_around(taken, monkeypatch):
    numbers, make_edit = CASES["plain"]
    xml = sheet(numbers)
    alone = written(xml, make_edit, None, monkeypatch, taken)

    def dies(writer, source, seam, spill):
        os._exit(3)

    def fails(writer, source, seam, spill):
        spill.write(b"half-written")
        raise OSError("disk full")

    for copy in (dies, fails):
        monkeypatch.setattr(write, "_write_second_half", copy)
        assert written(xml, make_edit, 0.5, monkeypatch, taken) == alone
    assert taken == [False, False]
    assert not multiprocessing.active_children()


def test_a_big_tracker_checked_in_halves_is_the_same_file(tmp_path, monkeypatch):
    import zipfile

    from conftest import NOW, row, write_register

    from refund_sheet import service

    rows = [row(售后单号=f"AS{n}", 申请金额=f"{10 + n % 50}.00") for n in range(1200)]
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    write_register(one, rows)
    two.write_bytes(one.read_bytes())
    monkeypatch.setattr(package, "CHUNK", 16_384)
    monkeypatch.setattr(halves, "HALVE_FROM", 1 << 62)
    service.check_file(one, now=NOW)
    monkeypatch.setattr(halves, "HALVE_FROM", 0)
    monkeypatch.setattr(write, "STREAMED_BIG", 0)
    taken: list[bool] = []
    rest = SecondHalf.rest
    monkeypatch.setattr(SecondHalf, "rest", lambda self, *a: (lambda part: taken.append(part is not None) or part)(rest(self, *a)))
    service.check_file(two, now=NOW)
    assert taken == [True]
    with zipfile.ZipFile(one) as a, zipfile.ZipFile(two) as b:
        assert a.namelist() == b.namelist()
        sheets = [n for n in a.namelist() if n.startswith("xl/worksheets/sheet")]
        different = [n for n in a.namelist() if a.read(n) != b.read(n)]
        # the register and everything else the same; only 记录's row of the run has its own time to the second
        assert len(different) <= 1 and set(different) <= set(sheets[1:])
        assert a.read(sheets[0]) == b.read(sheets[0])
