"""One check, two front ends (issue 13): the same tracker through ``refund-sheet check`` (the file, read back) and
through the 检查全部 button (the stand-in Excel of tests/fake_excel.py, loaded with the same sheets' values) gives
the same value in every cell of every sheet the tool writes — 退款登记, 统计 and 记录 (记录's 操作 column, which
names what ran it, aside) — and the same warnings."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw
from fake_excel import Book

from refund_sheet import excel, service
from refund_sheet.samples import sample_rows
from refund_sheet.workbook.build import write_new

TOOL_SHEETS = ("退款登记", "统计", "记录")
SOURCE_COLUMN = 2  # 记录's 操作: "refund-sheet check" on one side, "检查全部" on the other


def values_of(path: Path) -> dict[str, list[list[object]]]:
    """Every sheet of a workbook as rows of values from A1 (what a range read of its used range gives)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    sheets = {
        ws.title: [list(r) for r in ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row, max_col=ws.max_column,
                                                 values_only=True)]
        for ws in wb.worksheets
    }
    wb.close()
    return sheets


def same(value: object) -> object:
    """A cell's value as both sides hold it: blanks as None, numbers as rounded floats, times to the second."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return round(float(value), 6)
    if isinstance(value, datetime):
        return value.replace(microsecond=0, tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


def cells(rows: list[list[object]], skip_column: int | None = None) -> dict[tuple[int, int], object]:
    return {
        (r, c): same(v)
        for r, values in enumerate(rows, start=1)
        for c, v in enumerate(values, start=1)
        if same(v) is not None and c != skip_column
    }


def both_ways(path: Path, now: datetime, monkeypatch, tmp_path: Path):
    """(the file after ``check_file``, the book after 检查全部, the CLI's result) from one tracker."""
    monkeypatch.setattr(service, "now_in", lambda tz: now)  # the run's clock on both sides (it stamps 记录)
    for_excel = tmp_path / "for-excel" / path.name
    for_excel.parent.mkdir()
    shutil.copy(path, for_excel)
    result = service.check_file(path, now=now)
    book = Book(values_of(for_excel), name=path.name)
    monkeypatch.setattr(xw.Book, "caller", lambda: book)
    excel.on_button("check_all")
    return values_of(path), book, result


def assert_same_sheets(file_sheets: dict, book: Book) -> None:
    for name in TOOL_SHEETS:
        skip = SOURCE_COLUMN if name == "记录" else None
        want, got = cells(file_sheets[name], skip), cells(book.sheets[name].values(), skip)
        assert got.keys() == want.keys(), (name, sorted(got.keys() ^ want.keys())[:10])
        wrong = [(position, want[position], got[position]) for position in want if want[position] != got[position]]
        assert not wrong, (name, wrong[:5])


@pytest.fixture
def demo_tracker(tmp_path):
    now = datetime(2026, 11, 26, 18, 0)
    return write_new(tmp_path / "RefundTracker.xlsx", sample_rows(now, 80)), now


def test_the_demo_tracker_comes_out_the_same_from_the_command_and_the_button(demo_tracker, monkeypatch, tmp_path):
    path, now = demo_tracker
    file_sheets, book, result = both_ways(path, now, monkeypatch, tmp_path)
    assert result.saved and result.changed > 70
    assert_same_sheets(file_sheets, book)
    log = book.sheets["记录"].values()
    assert log[-1][0] == now and log[-1][SOURCE_COLUMN - 1] == "检查全部" and log[-1][2] == path.name
    assert file_sheets["记录"][-1][SOURCE_COLUMN - 1] == "refund-sheet check"
    assert book.app.alerts == ["\n".join(result.summary().splitlines()[:-1])]  # the summary, as the terminal shows it


def test_scratch_cells_right_of_the_table_make_no_case_on_either_side(demo_tracker, monkeypatch, tmp_path):
    path, now = demo_tracker
    wb = openpyxl.load_workbook(path)
    ws = wb["退款登记"]
    scratch = ws.max_column + 2  # a gap, then the merchant's own notes, one of them on a row with no case
    ws.cell(3, scratch, "回访过")
    ws.cell(ws.max_row + 2, scratch, "合计待核")
    wb.save(path)
    file_sheets, book, result = both_ways(path, now, monkeypatch, tmp_path)
    assert result.rows == 80  # the note below the cases is no case
    assert_same_sheets(file_sheets, book)
    register = book.sheets["退款登记"].values()
    assert [r[scratch - 1] for r in register if len(r) >= scratch and r[scratch - 1]] == ["回访过", "合计待核"]


def test_a_year_without_the_official_calendar_warns_on_both_sides(monkeypatch, tmp_path):
    now = datetime(2031, 3, 10, 18, 0)  # chinesecalendar knows no 2031: working days fall back, with a warning
    path = write_new(tmp_path / "RefundTracker.xlsx", sample_rows(now, 40))
    file_sheets, book, result = both_ways(path, now, monkeypatch, tmp_path)
    assert any("2031 年不在内置法定节假日日历中" in w for w in result.warnings)
    assert_same_sheets(file_sheets, book)
    assert len(book.app.alerts) == 1 and "注意：2031 年不在内置法定节假日日历中" in book.app.alerts[0]
    assert book.app.alerts[0] == "\n".join(result.summary().splitlines()[:-1])
