"""Ribbon buttons end to end on Linux: a click runs the handler on a stand-in workbook (tests/fake_excel.py) that
speaks the part of xlwings' Book/Sheet/Range API the handlers use and counts every range read and write."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest
from conftest import BASE, NOW, row
from fake_excel import Book, CellError, Formula

from refund_sheet import excel, plan, service
from refund_sheet.engine.columns import OUTPUT_COLUMNS
from refund_sheet.engine.defaults import PARAM_HEADERS

HEADERS = list(BASE)
OUTPUT_HEADERS = [c.header for c in OUTPUT_COLUMNS]


def register(*cases: dict, headers: list[str] = HEADERS) -> list[list]:
    """The 退款登记 sheet as rows of values: the header row, then one row per case (header → value)."""
    return [list(headers)] + [[case.get(h) for h in headers] for case in cases]


def case(number: int, **changes) -> dict:
    """A case of its own: its own 售后单号, 订单号 and 买家 (the same order twice would be a DUPLICATE risk, the same
    buyer three times a REPEAT_BUYER one)."""
    return row(**{"售后单号": f"AS{number}", "订单号": f"69234567890{number:08d}", "买家": f"买家{number}", **changes})


def rules(*params: tuple[str, str]) -> list[list]:
    """A 规则 sheet holding only a 参数 table (the other tables fall back to the defaults)."""
    return [["参数"], list(PARAM_HEADERS)] + [[name, value, ""] for name, value in params]


def outputs(book: Book, key: str = "售后单号") -> dict[str, dict]:
    """Case id → the register row (header → value) after the click."""
    return {r[key]: r for r in book.sheets["退款登记"].records()}


def test_check_all_fills_every_output_column_in_one_read_and_two_writes(click):
    book = Book({"退款登记": register(
        case(1),
        case(2, 售后原因="商品破损", 凭证="是"),
        case(3, 售后类型="仅退款(已发货)", 售后原因="不想要了"),
        case(4, 实付金额=None),
    )})
    click(book, "check_all")
    got = outputs(book)
    assert book.sheets["退款登记"].values()[0] == HEADERS + OUTPUT_HEADERS
    assert [got[c]["处理建议"] for c in ("AS1", "AS2", "AS3", "AS4")] == ["退货退款", "退货退款", "部分退款", "信息不全"]
    assert got["AS1"]["退款金额"] == 99.0 and got["AS1"]["退货运费"] == "买家"
    assert got["AS2"]["退货运费"] == "商家" and got["AS3"]["退款金额"] == 19.8
    assert "实付金额" in got["AS4"]["判定依据"] and got["AS4"]["退款金额"] == 0.0
    assert got["AS1"]["处理时限"] == datetime(2026, 11, 20, 9, 0) and got["AS1"]["时效状态"] == "已超时"
    assert got["AS1"]["检查时间"] == NOW and got["AS1"]["回复话术"].startswith("买家1")
    # no 规则 sheet: the defaults; headers + one block + the number formats of 退款金额, 处理时限, 检查时间
    assert book.ops_on("退款登记") == {"read": 1, "read formulas": 1, "write": 2, "format": 3}
    assert book.sheet_names == ["退款登记", "统计", "记录"]  # as the command line does: 统计 refreshed, the run logged
    assert book.sheets["记录"].values()[1][1:5] == ["检查全部", "RefundTracker.xlsx", 4, 4]
    assert book.sheets["统计"].values()[0][0] == "售后统计"
    assert book.app.alerts == []  # no warning: the summary goes to the status bar
    assert "已检查 4 行，更新 4 行" in book.app.status_bar


def test_a_click_over_10_000_rows_makes_the_same_range_operations_as_over_10(click):
    def tracker(n: int) -> Book:
        cases = [case(i, 买家=f"买家{i % 700}") for i in range(n)]
        return Book({"退款登记": register(*cases), "规则": rules(("店铺名称", "小店"))})

    small, large = click(tracker(10), "check_all"), click(tracker(10_000), "check_all")
    assert small.range_ops() == large.range_ops()
    assert small.ops_on("退款登记") == {"read": 1, "read formulas": 1, "write": 2, "format": 3}  # headers + block + 3 number formats
    assert small.ops_on("规则") == {"read": 1}
    assert small.ops == large.ops  # every lookup too: nothing per row, nothing per cell
    assert len(large.sheets["退款登记"].values()) == 10_001
    assert all(r["回复话术"].endswith("小店 售后客服") for r in large.sheets["退款登记"].records()[-3:])


def test_output_columns_between_merchant_columns_are_written_one_run_at_a_time(click):
    headers = HEADERS + ["处理建议", "退款金额", "我的备注", "退货运费", "处理时限", "时效状态", "风险提示", "命中规则",
                         "判定依据", "回复话术", "检查时间"]
    book = Book({"退款登记": register(case(1, 我的备注="留着"), case(2, 我的备注="别动"), headers=headers)})
    click(book, "check_all")
    got = outputs(book)
    assert book.ops_on("退款登记") == {"read": 1, "read formulas": 1, "write": 2, "format": 3}  # two runs of adjacent output columns
    assert [got["AS1"]["我的备注"], got["AS2"]["我的备注"]] == ["留着", "别动"]
    assert got["AS2"]["处理建议"] == "退货退款" and got["AS2"]["退货运费"] == "买家"


def test_the_button_writes_what_the_command_line_writes(click, tmp_path):
    """Same service, same answers: the demo tracker checked by `refund-sheet check` and by the button."""
    now = datetime(2026, 11, 26, 18, 0)
    processed = service.demo(tmp_path, 60, now=now).out
    wb = openpyxl.load_workbook(processed)
    sheets = {
        name: [list(r) for r in wb[name].iter_rows(min_row=1, min_col=1, max_row=wb[name].max_row,
                                                   max_col=wb[name].max_column, values_only=True)]
        for name in ("退款登记", "规则")
    }
    header_row = next(i for i, r in enumerate(sheets["退款登记"]) if "处理建议" in r)
    headers = sheets["退款登记"][header_row]
    expected = [dict(zip(headers, r)) for r in sheets["退款登记"][header_row + 1:] if any(r)]
    fresh = [[None if headers[j] in OUTPUT_HEADERS else v for j, v in enumerate(r)] for r in sheets["退款登记"]]
    fresh[header_row] = headers
    book = Book({"退款登记": fresh, "规则": sheets["规则"]})
    service.now_in = lambda tz: now  # the fixture's monkeypatch restores it
    click(book, "check_all")
    got = book.sheets["退款登记"].records(header_row + 1)
    assert len(got) == len(expected) == 60
    closed = 0
    for mine, cli in zip(got, expected):
        if cli["处理建议"] == "已完结":
            closed += 1  # a closed case keeps the outputs it had; this fresh copy had none
            assert mine["处理建议"] == "已完结" and mine["时效状态"] == "已完结"
            continue
        for header in OUTPUT_HEADERS:
            want = cli[header]
            want = float(want) if isinstance(want, (int, float)) and not isinstance(want, bool) else want
            assert mine[header] == want, (cli["售后单号"], header)
    assert closed < 60


def test_check_selected_judges_only_the_selected_rows(click):
    book = Book({"退款登记": register(*(case(i) for i in range(1, 6)))})
    book.select("退款登记", "B3:D4")  # sheet rows 3 and 4: AS2 and AS3
    click(book, "check_selected")
    got = outputs(book)
    assert [got[f"AS{i}"].get("处理建议") for i in range(1, 6)] == [None, "退货退款", "退货退款", None, None]
    assert book.ops_on("退款登记") == {"read": 1, "read formulas": 1, "write": 2, "format": 3}
    assert book.sheets["记录"].values()[1][1:5] == ["检查选中行", "RefundTracker.xlsx", 2, 2]


def test_check_selected_outside_the_register_says_where_to_select_and_writes_nothing(click):
    book = Book({"退款登记": register(row()), "说明": [["怎么用"]]})
    book.select("说明", "A1")
    click(book, "check_selected")
    assert book.app.alerts == ["请先在“退款登记”表中选中要检查的行，再点“检查选中行”。"]
    assert book.ops["write"] == 0


@pytest.mark.parametrize("address, rows", [
    ("$A$3:$F$5,$A$9:$F$9", {3, 4, 5, 9}), ("$3:$4", {3, 4}), ("C7", {7}), ("$B:$B", None),
])
def test_a_selection_address_gives_its_sheet_rows(address, rows):
    assert plan.rows_of_address(address) == rows


def test_make_replies_changes_the_reply_column_only(click):
    book = Book({"退款登记": register(row(), row(售后单号="AS2"), headers=HEADERS + OUTPUT_HEADERS),
                 "规则": rules(("店铺名称", "好店"))})
    sheet = book.sheets["退款登记"]
    sheet.put(2, len(HEADERS) + 1, "我自己写的建议")  # 处理建议 of AS0001, typed by hand: a reply run keeps it
    click(book, "make_replies")
    got = outputs(book)
    assert got["AS0001"]["处理建议"] == "我自己写的建议" and got["AS2"]["处理建议"] is None
    assert got["AS0001"]["退款金额"] is None and got["AS2"]["检查时间"] is None
    assert "好店" in got["AS0001"]["回复话术"] and "好店" in got["AS2"]["回复话术"]


def test_refresh_sla_changes_deadline_and_state_only(click):
    book = Book({"退款登记": register(row(), headers=HEADERS + OUTPUT_HEADERS)})
    click(book, "refresh_sla")
    got = outputs(book)["AS0001"]
    assert got["处理时限"] == datetime(2026, 11, 20, 9, 0) and got["时效状态"] == "已超时"
    assert [got[h] for h in OUTPUT_HEADERS if h not in ("处理时限", "时效状态")] == [None] * 8


def test_customer_text_that_looks_like_a_formula_is_written_as_text(click):
    book = Book({"退款登记": register(row(买家="=HYPERLINK(\"http://x\")", 备注="+86 138"))})
    click(book, "check_all")
    reply = outputs(book)["AS0001"]["回复话术"]
    assert reply.startswith("=HYPERLINK") or "=HYPERLINK" in reply
    assert not any(isinstance(v, Formula) for v in book.sheets["退款登记"].cells.values())


def test_a_policy_mistake_is_one_alert_and_nothing_is_written(click):
    book = Book({"退款登记": register(row()), "规则": rules(("部分退款比例", "150"))})
    before = book.sheets["退款登记"].values()
    click(book, "check_all")
    assert len(book.app.alerts) == 1 and "规则表有 1 处错误" in book.app.alerts[0] and "规则!B3" in book.app.alerts[0]
    assert book.ops["write"] == 0 and book.sheets["退款登记"].values() == before
    assert (book.app.screen_updating, book.app.calculation) == (True, "automatic")  # restored after the error


def test_a_register_without_its_required_columns_is_named_in_the_alert(click):
    book = Book({"退款登记": [["售后单号", "订单号", "商品"], ["AS1", "1", "T恤"]]})
    click(book, "check_all")
    assert book.app.alerts[0].startswith("找不到售后登记表：退款登记 第 1 行缺少必填列“售后类型”")  # as the command line says
    assert book.ops["write"] == 0


def test_a_bug_is_reported_in_one_line_not_a_traceback(click, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(plan, "plan_check", broken)
    book = click(Book({"退款登记": register(row())}), "check_all")
    assert book.app.alerts == ["内部错误（请把这句话发给开发者）：ZeroDivisionError: division by zero"]
    assert book.ops["write"] == 0


def test_screen_updating_and_calculation_pause_while_a_handler_runs(click):
    book = click(Book({"退款登记": register(row())}), "check_all")
    assert book.app.seen == [("screen_updating", False), ("calculation", "manual"),
                             ("screen_updating", True), ("calculation", "automatic")]


class DialogApi:
    """Excel's Application object as the import dialog sees it: answers what the merchant picked (False: Cancel)."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def GetOpenFilename(self, *args):  # Excel's name (Windows, COM)
        self.calls.append(("GetOpenFilename", args))
        return self.answer

    def get_open_filename(self, **kwargs):  # Excel's AppleScript command (Mac)
        self.calls.append(("get_open_filename", kwargs))
        return self.answer


@pytest.mark.parametrize("platform, answer, path", [
    ("win32", "C:\\下载\\售后单.csv", "C:\\下载\\售后单.csv"), ("win32", False, None),
    ("darwin", "Macintosh HD:Users:me:Downloads:售后单.xlsx", "/Users/me/Downloads/售后单.xlsx"),
    ("darwin", "/Users/me/售后单.csv", "/Users/me/售后单.csv"), ("darwin", None, None),
])
def test_the_import_dialog_is_excels_own_open_dialog(monkeypatch, platform, answer, path):
    book = Book({"退款登记": register(row())})
    book.app.api = DialogApi(answer)
    monkeypatch.setattr(excel.sys, "platform", platform)
    assert excel.choose_export(book) == path
    assert [name for name, _ in book.app.api.calls] == ["get_open_filename" if platform == "darwin" else "GetOpenFilename"]


@pytest.mark.parametrize("control_id, sheet", [("show_rules", "规则"), ("show_help", "说明")])
def test_rules_and_help_buttons_go_to_their_sheet(click, control_id, sheet):
    book = Book({"退款登记": register(row()), "规则": rules(), "说明": [["说明"]]})
    click(book, control_id)
    assert book.sheets.active.name == sheet and book.app.alerts == []


@pytest.mark.parametrize("control_id, words", [("show_rules", "默认规则"), ("show_help", "docs/excel.md")])
def test_rules_and_help_buttons_explain_a_missing_sheet(click, control_id, words):
    book = click(Book({"退款登记": register(row())}), control_id)
    assert book.sheets.active.name == "退款登记" and len(book.app.alerts) == 1 and words in book.app.alerts[0]


def test_an_unknown_button_id_asks_to_reinstall(click):
    book = click(Book({"退款登记": register(row())}), "no_such_button")
    assert book.app.alerts == ["未知按钮“no_such_button”：请重新安装退款助手加载项"]


def test_a_book_without_a_register_sheet_checks_the_active_sheet(click):
    book = Book({"Sheet1": register(row())})
    click(book, "check_all")
    assert outputs_of(book, "Sheet1")["AS0001"]["处理建议"] == "退货退款"


def outputs_of(book: Book, sheet: str) -> dict[str, dict]:
    return {r["售后单号"]: r for r in book.sheets[sheet].records()}


def test_an_error_cell_is_named_as_one_not_called_empty(click):
    book = Book({"退款登记": register(case(1, 实付金额=CellError("#N/A")))})
    click(book, "check_all")
    got = outputs(book)["AS1"]
    assert got["处理建议"] == "信息不全" and "实付金额 是 Excel 错误值 #N/A" in got["判定依据"]
