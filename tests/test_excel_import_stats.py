"""导入售后单 and 更新统计 end to end on the stand-in workbook (tests/fake_excel.py): the same answers as the
headless `refund-sheet import` / `service.refresh_stats`, and the same range operations for 10 rows as for 2,000."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest
from conftest import HEADERS, NOW, row
from douyin import CASES, export_row, tracker_for_export, write_export
from fake_excel import Book, Formula, parse_cell

from refund_sheet import service, stats
from refund_sheet.workbook.read import LOG_HEADERS


def values(path, sheet: str) -> list[list]:
    ws = openpyxl.load_workbook(path)[sheet]
    return [list(r) for r in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column, values_only=True)]


def fake_of(path, *sheets: str) -> Book:
    """The workbook at ``path`` opened in the stand-in Excel: the named sheets' values."""
    return Book({name: values(path, name) for name in sheets if name in openpyxl.load_workbook(path).sheetnames})


def same(value):
    """A cell compared across openpyxl and xlwings: numbers as floats, blank as None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 6)
    return None if value == "" else value


def records(book: Book) -> dict[str, dict]:
    return {r["售后单号"]: r for r in book.sheets["退款登记"].records() if r["售后单号"]}


@pytest.fixture
def tracker(tmp_path):
    return tracker_for_export(tmp_path / "退款登记.xlsx")


# ------------------------------------------------------------------------------------------------ 导入售后单


def test_import_writes_what_the_command_line_writes(click, tracker, tmp_path):
    export = write_export(tmp_path / "e.csv", CASES)
    book = click(fake_of(tracker, "退款登记", "规则", "记录"), "import_cases", export)
    service.import_file(export, tracker)
    want = values(tracker, "退款登记")
    got = book.sheets["退款登记"].values()
    assert [[same(v) for v in r] for r in got[:4]] == [[same(v) for v in r[: len(got[0])]] for r in want[:4]]
    assert got[1][:2] == ["7012345678901234501", "6912345678901234501"]  # IDs as text, not rounded numbers
    assert got[1][HEADERS.index("实付金额")] == 99.0 and got[1][HEADERS.index("申请时间")] == datetime(2026, 11, 18, 9)
    assert [r[HEADERS.index("商品类目")] for r in got[1:4]] == ["服装", "家居", None]
    assert book.app.alerts[0].splitlines()[:2] == ["新增 3，更新 0，未变 0，拒绝 0", "1 个商品待填写类目：规则!A131（在“类目”列填写一次，之后的售后单自动沿用）"]
    assert book.sheets["规则"].values()[130][:4] == ["XX-999", "3612345678901", "神秘商品", None]  # what the CLI writes too
    assert list(values(tracker, "规则")[130][:4]) == ["XX-999", "3612345678901", "神秘商品", None]
    log = book.sheets["记录"].values()
    assert log[0] == list(LOG_HEADERS) and log[1][1] == "导入售后单 e.csv" and log[1][3:7] == [3, 3, "导入：新增 3，更新 0，未变 0", 0]


def test_import_refreshes_known_cases_keeps_merchant_columns_and_a_second_import_changes_nothing(click, tracker, tmp_path):
    book = click(fake_of(tracker, "退款登记", "规则", "记录"), "import_cases", write_export(tmp_path / "e1.csv", CASES))
    sheet = book.sheets["退款登记"]
    sheet.put(2, HEADERS.index("人工决定") + 1, "拒绝")
    sheet.put(2, HEADERS.index("备注") + 1, "已电话沟通")
    sheet.put(2, HEADERS.index("商品类目") + 1, "鞋靴")  # the merchant corrected the category
    later = [dict(CASES[0], 售后状态="同意退款，退款成功", **{"退商品金额（元）": "80.00", "售后备注": "平台备注"}), CASES[1],
             CASES[2], export_row("", "6912345678901234509"), export_row("7012345678901234504", "6912345678901234504")]
    export = write_export(tmp_path / "e2.csv", later)
    book.ops.clear(), book.log.clear(), book.app.alerts.clear()
    click(book, "import_cases", export)
    got = records(book)
    first = got["7012345678901234501"]
    assert (first["处理状态"], first["申请金额"]) == ("同意退款，退款成功", 80.0)
    assert (first["人工决定"], first["备注"], first["商品类目"]) == ("拒绝", "已电话沟通", "鞋靴")
    assert "7012345678901234504" in got and len(got) == 4
    assert book.app.alerts[0].splitlines()[:2] == ["新增 1，更新 1，未变 2，拒绝 1", "  拒绝：e2.csv 第 5 行：售后单号为空"]
    merchant = {HEADERS.index(h) + 1 for h in ("人工决定", "备注", "商品类目")}
    covered = [cells_of(address) for kind, name, address in book.log if kind == "write" and name == "退款登记"]
    assert covered and not any((r, c) in cells for cells in covered for r in (2, 3, 4) for c in merchant)
    assert not any(isinstance(v, Formula) for v in sheet.cells.values())

    before = sheet.values()
    book.ops.clear(), book.app.alerts.clear()
    click(book, "import_cases", export)
    assert sheet.values() == before and book.ops["write"] == 0
    assert book.app.alerts[0].startswith("新增 0，更新 0，未变 4，拒绝 1") and "登记表没有变化" in book.app.alerts[0]


def cells_of(address: str) -> set[tuple[int, int]]:
    """The (row, column) cells an A1 address such as $J$2:$K$4 covers."""
    first, _, last = address.partition(":")
    (top, left), (bottom, right) = parse_cell(first), parse_cell(last or first)
    return {(r, c) for r in range(top, bottom + 1) for c in range(left, right + 1)}


def test_an_import_makes_the_same_range_operations_for_10_rows_as_for_2000(click, tmp_path):
    def book_of(n: int) -> Book:
        cases = [row(售后单号=f"70123456789{i:08d}", 订单号=f"69123456789{i:08d}", 买家=f"买家{i}") for i in range(n)]
        return Book({"退款登记": [HEADERS] + [[c.get(h) for h in HEADERS] for c in cases], "记录": [list(LOG_HEADERS)]})

    def export(n: int):
        rows = [export_row(f"70123456789{i:08d}", f"69123456789{i:08d}") for i in (0, n - 1)]
        rows += [export_row(f"71123456789{i:08d}", f"68123456789{i:08d}") for i in range(5)]
        return write_export(tmp_path / f"e{n}.csv", rows)

    small, large = click(book_of(10), "import_cases", export(10)), click(book_of(2000), "import_cases", export(2000))
    assert small.range_ops() == large.range_ops() and small.ops == large.ops
    assert small.range_ops()["read"] == 2  # the register and 记录; no per-row read
    assert small.app.alerts[0].startswith("新增 5，更新 2") and large.app.alerts[0].startswith("新增 5，更新 2")
    assert len(large.sheets["退款登记"].values()) == 2006
    last = large.sheets["退款登记"].records()[1999]
    assert last["售后单号"] == "7012345678900001999" and last["处理状态"] == "待商家处理"
    assert large.sheets["退款登记"].records()[1000]["处理状态"] is None  # rows between kept their (blank) cells
    assert large.sheets["记录"].values()[1][4] == 7


def test_cancelling_the_dialog_reads_and_writes_nothing(click):
    book = click(Book({"退款登记": [HEADERS]}), "import_cases", None)
    assert book.range_ops() == {} and book.app.alerts == []


def test_a_file_that_is_not_an_export_is_reported_and_nothing_written(click, tmp_path):
    other = tmp_path / "销量.csv"
    other.write_text("日期,销量\n2026-11-18,3\n", encoding="utf-8")
    book = click(Book({"退款登记": [HEADERS, list(row().values())]}), "import_cases", other)
    assert book.ops["write"] == 0 and "没有“售后单号”列" in book.app.alerts[0]


# ------------------------------------------------------------------------------------------------ 更新统计


def stats_sheet(path) -> dict[tuple[int, int], object]:
    return {(r, c): same(v) for r, cells in enumerate(values(path, "统计"), 1) for c, v in enumerate(cells, 1)
            if v not in (None, "") and (r, c) != stats.SUBTITLE_CELL}


def test_update_stats_writes_what_refresh_stats_writes_headlessly(click, tmp_path, monkeypatch):
    path = service.demo(tmp_path, 60, now=datetime(2026, 11, 18, 12, 0)).out
    wb = openpyxl.load_workbook(path)
    ws = wb["统计"]
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "商品或周")
    ws.cell(header + 1, 1, "全部"), ws.cell(header + 1, 2, 600)  # the merchant's 订单数 line
    wb.save(path)
    book = click(fake_of(path, "退款登记", "规则", "统计", "记录"), "update_stats")  # at NOW, two days later
    assert service.refresh_stats(path, NOW).saved
    want = stats_sheet(path)
    got = {pos: same(v) for pos, v in book.sheets["统计"].cells.items() if pos != stats.SUBTITLE_CELL}
    assert got == want
    cards = book.sheets["统计"].values()
    assert cards[4][0] == "售后单数" and cards[5][0] == 60 and (cards[header][0], cards[header][1]) == ("全部", 600)
    assert cards[7][5] == pytest.approx(60 / 600) and book.sheets["统计"].formats[(8, 6)] == "0.0%"
    assert book.sheets["记录"].values()[-1][1:5] == ["更新统计", "RefundTracker.xlsx", 60, 0]
    assert book.app.alerts == [] and "统计已更新" in book.app.status_bar


def test_update_stats_makes_the_same_range_operations_for_10_rows_as_for_2000(click):
    def book_of(n: int) -> Book:
        cases = [row(售后单号=f"AS{i}", 订单号=f"69234567890{i:08d}", 买家=f"买家{i % 700}") for i in range(n)]
        return Book({"退款登记": [HEADERS] + [[c.get(h) for h in HEADERS] for c in cases], "记录": [list(LOG_HEADERS)]})

    small, large = click(book_of(10), "update_stats"), click(book_of(2000), "update_stats")
    assert small.ops == large.ops and small.range_ops() == large.range_ops()
    assert small.range_ops()["read"] == 2 and small.range_ops()["write"] == 2  # register + 记录; the block + the log row
    assert small.ops["add sheet"] == 1 and small.sheet_names == ["退款登记", "统计", "记录"]
    kpis = large.sheets["统计"].values()[5]
    assert kpis[:5] == [2000, 2000, 2000, 0, 0]  # every case open and overdue at NOW

    large.ops.clear()
    click(large, "update_stats")  # nothing changed: the register, 统计 and 记录 read, nothing written, no log row
    assert large.range_ops() == {"read": 3, "read formulas": 1} and large.app.status_bar == "退款助手：统计没有变化"


def test_tables_that_moved_are_cleared_first_and_stale_charts_are_named(click):
    book = Book({"退款登记": [HEADERS, [row().get(h) for h in HEADERS]]})
    click(book, "update_stats")
    board = book.sheets["统计"]
    board.charts.append(object())  # as the headless rebuild leaves them
    board.formats[(3, 7)] = "0.0%"  # a format left on a blank row (as a moved table would leave it)
    second = row(售后单号="AS2", 订单号="69234567890000002", 售后原因="商品破损")  # a second reason: the tables grow
    for column, header in enumerate(HEADERS, start=1):
        book.sheets["退款登记"].put(3, column, second.get(header))
    book.ops.clear()
    click(book, "update_stats")
    assert book.ops["clear"] == 1 and (3, 7) not in board.formats
    assert len(book.app.alerts) == 1 and "图表" in book.app.alerts[0] and "refund-sheet check" in book.app.alerts[0]
    assert board.values()[5][0] == 2
