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
from conftest import HEADERS, row
from douyin import export_row, write_export
from fake_excel import Book, Formula

from refund_sheet import excel, service
from refund_sheet.engine.columns import OUTPUT_COLUMNS, column_letter
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


# ------------------------------------------------------------------------------------------------ found in review
# What a merchant's real workbook has that the demo lacks: formulas, Excel Tables not starting at A1 or with a
# totals row, a header further down, a selection inside a duplicate. Each on the button, and where the command line
# reads the same workbook, on both.


OUTPUT_HEADERS = [c.header for c in OUTPUT_COLUMNS]


def case(number: int, **changes) -> list[object]:
    data = row(**{"售后单号": f"AS{number}", "订单号": f"69234567890{number:08d}", "买家": f"买家{number}", **changes})
    return [data.get(h) for h in HEADERS]


def test_an_import_keeps_the_merchants_formulas_in_the_columns_it_fills(click, tmp_path):
    reason = HEADERS.index("售后原因") + 1  # the merchant maps the platform's reasons onto their own with a lookup
    book = Book({"退款登记": [HEADERS] + [case(i) for i in range(1, 5)]})
    sheet = book.sheets["退款登记"]
    lookups = {r: Formula(f'=IFERROR(VLOOKUP(Z{r},原因!A:B,2,0),"")', shows="尺码不合适") for r in range(2, 6)}
    sheet.cells.update({(r, reason): formula for r, formula in lookups.items()})
    export = write_export(tmp_path / "export.csv", [export_row("AS1", "6923456789000000001"),
                                                   export_row("AS3", "6923456789000000003")])
    click(book, "import_cases", export)  # the export brings another 售后原因 for AS1 and AS3, and another 处理状态
    assert {r: sheet.cells[(r, reason)] for r in range(2, 6)} == lookups  # none written over, none blanked between
    assert book.app.alerts[0].startswith("新增 0，更新 2")
    status = HEADERS.index("处理状态") + 1
    assert [sheet.cells.get((r, status)) for r in (2, 4)] == ["待商家处理"] * 2  # the rest of the refresh happened


def test_new_cases_imported_onto_rows_a_formula_was_filled_down_to_keep_it(click, tmp_path):
    """平台截止时间 worked out ahead of the cases (rows 4-6 hold only the formula, showing ""): the cases an import
    appends land there, and the formula stays where the export brings a deadline too, on the button as on the
    command line (test_package_writer)."""
    deadline = HEADERS.index("平台截止时间") + 1
    book = Book({"退款登记": [HEADERS] + [case(i) for i in range(1, 3)]})
    sheet = book.sheets["退款登记"]
    lookups = {r: Formula(f'=IF(N{r}="","",N{r}+2)', shows="") for r in range(4, 7)}
    sheet.cells.update({(r, deadline): formula for r, formula in lookups.items()})
    export = write_export(tmp_path / "export.csv", [export_row(f"AS{i}", f"692345678900000000{i}") for i in (7, 8)])
    click(book, "import_cases", export)
    assert book.app.alerts[0].startswith("新增 2")
    assert [sheet.cells.get((r, 1)) for r in (4, 5)] == ["AS7", "AS8"]
    assert sheet.cells.get((4, HEADERS.index("处理状态") + 1)) == "待商家处理"  # the rest of the case was written
    assert {r: sheet.cells[(r, deadline)] for r in range(4, 7)} == lookups


def test_a_table_totals_row_is_no_case_and_keeps_its_formula(click):
    width = len(HEADERS) + len(OUTPUT_HEADERS)
    rows = [HEADERS + OUTPUT_HEADERS] + [case(i) + [None] * len(OUTPUT_HEADERS) for i in range(1, 4)]
    book = Book({"退款登记": rows + [["汇总"] + [None] * (width - 1)]})
    sheet = book.sheets["退款登记"]
    amount = HEADERS.index("实付金额") + 1
    sheet.cells[(5, amount)] = Formula("=SUBTOTAL(109,售后登记[实付金额])", shows=297.0)
    sheet.add_table(f"A1:{column_letter(width)}5", show_totals=True)
    click(book, "check_all")
    assert sheet.cells[(5, amount)] == Formula("=SUBTOTAL(109,售后登记[实付金额])", shows=297.0)
    assert sheet.cells.get((5, len(HEADERS) + 1)) is None  # no 处理建议 on the totals row
    assert book.sheets["记录"].values()[1][3] == 3  # three cases checked


def test_a_note_left_of_a_table_is_no_case(click):
    rows = [[None] + HEADERS] + [[None] + case(i) for i in range(1, 3)] + [[], [], ["本月目标"]]
    book = Book({"退款登记": rows})
    book.sheets["退款登记"].add_table(f"B1:{column_letter(len(HEADERS) + 1)}3")
    click(book, "check_all")
    sheet = book.sheets["退款登记"]
    assert sheet.values()[0][len(HEADERS) + 1] == "处理建议"  # right of the Table, which starts at B
    assert all(value is None for value in sheet.values()[5][1:]) and book.sheets["记录"].values()[1][3] == 2


def test_a_table_whose_header_is_further_down_than_20_rows_is_found(click):
    rows = [["店铺说明"]] * 24 + [HEADERS] + [case(i) for i in range(1, 3)]
    book = Book({"我的售后": rows})
    book.sheets["我的售后"].add_table(f"A25:{column_letter(len(HEADERS))}27")
    click(book, "check_all")
    assert book.app.alerts == [] and book.sheets["我的售后"].values()[25][len(HEADERS)] == "退货退款"


def test_new_output_columns_go_right_of_a_formula_column_that_shows_nothing(click):
    book = Book({"退款登记": [HEADERS] + [case(i) for i in range(1, 3)]})
    sheet = book.sheets["退款登记"]
    helper = len(HEADERS) + 1
    for r in (2, 3):
        sheet.cells[(r, helper)] = Formula(f'=IF(A{r}="","",A{r})', shows="")
    click(book, "check_all")
    assert all(isinstance(sheet.cells[(r, helper)], Formula) for r in (2, 3))
    assert sheet.cells[(1, helper + 1)] == "处理建议" and sheet.cells[(2, helper + 1)] == "退货退款"


def test_a_selected_row_of_a_repeated_case_is_judged_among_all_rows(click, tmp_path):
    """SPEC: a repeated 售后单号 is never paid automatically, whether all rows or one of them is checked."""
    rows = [HEADERS, case(1), case(2), case(1, 申请金额=50)]  # the same 售后单号 saying something else
    book = Book({"退款登记": rows})
    book.select("退款登记", "A4")
    click(book, "check_selected")
    got = {r: book.sheets["退款登记"].values()[r - 1][len(HEADERS)] for r in (2, 3, 4)}
    assert got == {2: None, 3: None, 4: "人工审核"}
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    for values in rows:
        wb.active.append(values)
    wb.active.title = "退款登记"
    wb.save(path)
    result = service.check_file(path, now=datetime(2026, 11, 20, 12, 0), only_rows={4})
    assert result.rows == 1 and result.by_decision and next(iter(result.by_decision)).value == "人工审核"
