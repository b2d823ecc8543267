"""Reading a big register in two halves at once (``package.read_register`` with a forked copy reading from the
seam on) gives exactly what reading it alone gives: the same rows, the same scan, the same errors; a copy that
fails, dies or disagrees at the seam leaves this process to read on by itself.

The sheets here are small, read in small blocks (``package.CHUNK`` lowered), so a seam falls between many blocks
and every kind of row meets one."""

from __future__ import annotations

import multiprocessing
import os
from datetime import datetime

import pytest

from refund_sheet.errors import WorkbookError
from refund_sheet.workbook import halves, package
from refund_sheet.workbook.package import CellValues, read_register
from refund_sheet.workbook.read import Tracker, _digest

BLOCK = 2048
SEAMS = [i / 20 for i in range(1, 20)]
VALUES = CellValues(["共享文本", "退货退款", "ok"], [package.OTHER, package.OTHER, package.DATETIME], False)
FORMULA_COLS = {4, 6}
HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><dimension ref="A1:F900"/><cols><col min="5" max="5" style="2"/></cols><sheetData>')
TAIL = b'</sheetData><mergeCells count="1"><mergeCell ref="H2:I3"/></mergeCells><pageMargins left="0.7"/></worksheet>'


def plain_row(n: int) -> bytes:
    return (f'<row r="{n}" spans="1:6"><c r="A{n}" t="inlineStr"><is><t>单号{n % 97}</t></is></c>'
            f'<c r="B{n}" t="s"><v>{n % 3}</v></c><c r="C{n}" s="2"><v>{46300 + n / 7}</v></c>'
            f'<c r="D{n}"><f>C{n}*2</f><v>{n * 2}</v></c><c r="E{n}" s="1"/>'
            f'<c r="F{n}" t="inlineStr"><is><t>{"很长的回复" * (1 + n % 4)}{n % 5}</t></is></c></row>').encode()


def odd_row(n: int) -> bytes:
    """A row the fast path does not take (or takes with care), by ``n``."""
    kind = n % 7
    if kind == 0:
        return f'<row><c r="A{n}" t="inlineStr"><is><t>无行号</t></is></c></row>'.encode()  # no r: numbered on
    if kind == 1:
        return f'<row r="{n}"/>'.encode()
    if kind == 2:
        return f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t><![CDATA[<c r="B{n}">]]></t></is></c></row>'.encode()
    if kind == 3:
        return f'<!-- a note --><row r="{n}"><c r="A{n}"><v>{n}</v></c></row>'.encode()
    if kind == 4:
        return f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><r><t>富</t></r><r><t>文本</t></r></is></c></row>'.encode()
    if kind == 5:
        return f'<row r="{n}"><c r="A{n}"><v>1</v></c><c r="D{n}"><f t="shared" si="0"/><v>2</v></c></row>'.encode()
    return f'<row r="{n}"><c t="inlineStr"><is><t>无引用</t></is></c><c r="C{n}"><v>3</v></c></row>'.encode()


def sheet(rows: list[bytes]) -> bytes:
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>售后单号</t></is></c></row>'.encode()
    return HEAD + header + b"".join(rows) + TAIL


def formula_row(n: int) -> bytes:
    """A row whose long text (a digested column) is a filled-down formula: the same cell XML every row."""
    return (f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>单号{n}</t></is></c>'
            f'<c r="F{n}" t="str"><f t="shared" si="0"/><v>ok</v></c></row>').encode()


PLAIN = sheet([plain_row(n) for n in range(2, 900)])
FORMULAS = sheet([formula_row(n) for n in range(2, 900)])
# a cell in row 820 whose reference puts it in row 100: one reader merges it into row 100, two must not differ
FOREIGN = sheet([plain_row(n) if n != 820 else plain_row(n).replace(b'<c r="D820"', b'<c r="B100"') for n in range(2, 900)])
ODD = sheet([odd_row(n) if n % 5 == 0 else plain_row(n) for n in range(2, 900)])
GAPS = sheet([plain_row(n) for n in range(2, 2000, 3)] + [b'<row r="5000" spans="1:6"/>'])


def chunks_of(xml: bytes):
    return iter([xml[i : i + BLOCK] for i in range(0, len(xml), BLOCK)])


def read(xml: bytes, halves: bool, skip: frozenset[int] = frozenset()):
    return read_register(chunks_of(xml), VALUES, 1, 6, 1, FORMULA_COLS, (5,), _digest, skip,
                         again=lambda: chunks_of(xml), size=len(xml), halve_from=0 if halves else len(xml) + 1)


def as_tuple(read_result) -> tuple:
    scan = read_result.scan
    return (read_result.rows, list(read_result.rows), read_result.used_col, read_result.foreign, scan.head, scan.tail,
            scan.merged, scan.col_styles, scan.formulas, scan.shared, scan.top, scan.last_row, scan.last_any_row)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(package, "CHUNK", BLOCK)
    joins: list[bool] = []
    join = package._join_halves

    def counted(*args):
        joins.append(join(*args))
        return joins[-1]

    monkeypatch.setattr(package, "_join_halves", counted)
    return joins


@pytest.mark.parametrize("xml", [PLAIN, ODD, GAPS, FORMULAS, FOREIGN], ids=["plain", "odd rows", "gaps", "formulas", "foreign"])
def test_two_halves_read_what_one_reads(small_blocks, monkeypatch, xml):
    alone = as_tuple(read(xml, halves=False))
    assert not small_blocks  # read alone: no copy asked
    for seam in SEAMS:
        monkeypatch.setattr(halves, "SEAM", seam)
        assert as_tuple(read(xml, halves=True)) == alone, seam
        assert as_tuple(read(xml, halves=True, skip=frozenset({400, 401}))) == as_tuple(
            read(xml, halves=False, skip=frozenset({400, 401}))), seam
    if xml is FORMULAS:
        assert len(alone[8]) == 898  # every formula cell noticed, however its value was remembered
    if xml is FOREIGN:  # whichever half meets the cell, the copy's rows are not taken
        assert small_blocks == [False] * 2 * len(SEAMS) and alone[0][100][1] == 1640.0
    elif xml is not ODD:  # every seam falls between plain rows: the copy's half is taken every time
        assert small_blocks == [True] * 2 * len(SEAMS)
    else:  # a row without its number can end the block before the seam: then this process reads on alone
        assert small_blocks.count(True) >= 2 * len(SEAMS) - 4
    assert not multiprocessing.active_children()


def test_a_digest_of_the_copy_matches_this_process(small_blocks, monkeypatch):
    # the long texts are kept as their hash (read.Digest): the copy shares this process's hash seed
    monkeypatch.setattr(halves, "SEAM", 0.3)
    rows = read(PLAIN, halves=True).rows
    assert small_blocks == [True]
    assert rows[899][5].matches("很长的回复" * 4 + "4")
    assert not rows[899][5].matches("很长的回复")


def test_a_bad_second_half_is_the_same_error(small_blocks, monkeypatch):
    monkeypatch.setattr(halves, "SEAM", 0.5)
    broken = PLAIN.replace(b'<row r="800" ', b'junk</row><row r="800" ')
    backwards = PLAIN.replace(b'<row r="800" ', b'<row r="700" ')
    for xml in (broken, backwards):
        with pytest.raises(WorkbookError) as alone:
            read(xml, halves=False)
        with pytest.raises(WorkbookError) as in_halves:
            read(xml, halves=True)
        assert str(in_halves.value) == str(alone.value)
    assert not small_blocks  # the copy failed: nothing of it was taken
    assert not multiprocessing.active_children()


def test_a_copy_that_dies_or_says_something_else_is_read_around(small_blocks, monkeypatch):
    monkeypatch.setattr(halves, "SEAM", 0.5)
    alone = as_tuple(read(PLAIN, halves=False))

    def dies(state, again, seam, spill):
        os._exit(3)

    def mumbles(state, again, seam, spill):
        return "rows", {}

    for copy in (dies, mumbles):
        monkeypatch.setattr(package, "_second_half", copy)
        assert as_tuple(read(PLAIN, halves=True)) == alone
    assert not small_blocks
    assert not multiprocessing.active_children()


def test_a_tracker_read_in_halves_is_the_same_tracker(tmp_path, monkeypatch):
    from conftest import row, write_register

    path = tmp_path / "t.xlsx"
    write_register(path, [row(售后单号=f"AS{n}", 申请金额=f"{10 + n % 50}.00", 申请时间=datetime(2026, 11, 1 + n % 20, 9))
                          for n in range(1500)])
    alone = Tracker(path)
    monkeypatch.setattr(halves, "HALVE_FROM", 0)
    monkeypatch.setattr(package, "CHUNK", 16_384)
    joins: list[bool] = []
    join = package._join_halves
    monkeypatch.setattr(package, "_join_halves", lambda *args: joins.append(join(*args)) or joins[-1])
    split = Tracker(path)
    assert joins == [True]
    assert split.rows == alone.rows and split.used_col == alone.used_col
    assert split.register.scan.tail == alone.register.scan.tail
    assert split.register.scan.formulas == alone.register.scan.formulas


def test_a_file_saved_over_meanwhile_is_not_read_again(tmp_path):
    from conftest import row, write_register

    path = write_register(tmp_path / "t.xlsx", [row()])
    opened = package.Package(path)
    assert b"".join(opened.stream_same("xl/worksheets/sheet1.xml"))
    os.utime(path, ns=(1, 1))  # another program saved it
    with pytest.raises(WorkbookError):
        opened.stream_same("xl/worksheets/sheet1.xml")


def test_no_copy_from_a_daemonic_process(monkeypatch):
    monkeypatch.setattr(multiprocessing.current_process(), "_config", {"daemon": True})
    assert not halves.can_fork()
    assert halves.Copy.start(lambda: 1) is None
