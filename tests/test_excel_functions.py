"""The REFUND_* worksheet functions, called as xlwings calls them: converted cell values in, a value out.

On Linux xlwings' decorators are pass-throughs, so the functions are called directly with what Excel would pass
(ranges as lists, dates as datetime, blanks as None).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import BASE, row
from fake_excel import Book

from refund_sheet import excel, plan
from refund_sheet.engine.columns import OUTPUT_COLUMNS
from refund_sheet.engine.defaults import PARAM_HEADERS

HEADERS = list(BASE)
AT = "2026-11-20 12:00"


def values(**changes) -> list:
    return [row(**changes)[h] for h in HEADERS]


def rules(*params: tuple[str, str]) -> list[list]:
    return [["参数"], list(PARAM_HEADERS)] + [[name, value, ""] for name, value in params]


@pytest.mark.parametrize("function, expected", [
    (excel.REFUND_DECISION, "退货退款"),
    (excel.REFUND_AMOUNT, 99.0),
    (excel.REFUND_DEADLINE, datetime(2026, 11, 20, 9, 0)),
    (excel.REFUND_SLA, "已超时"),
])
def test_each_function_gives_its_column_for_one_row(function, expected):
    assert function(HEADERS, values(), None, AT) == expected


def test_the_reply_function_renders_the_reply_template():
    reply = excel.REFUND_REPLY(HEADERS, values(买家="小李"), None, AT)
    assert reply.startswith("小李") and "¥99.00" in reply


def test_a_row_that_cannot_be_judged_says_which_cell_in_the_cell():
    assert excel.REFUND_DECISION(HEADERS, values(实付金额=None), None, AT) == "#信息不全: 实付金额 为空"
    assert excel.REFUND_AMOUNT(HEADERS, values(申请时间="昨天"), None, AT).startswith("#信息不全: 申请时间 “昨天” 不是时间")


def test_arguments_arrive_as_excel_passes_them():
    """A 2-D one-row range, an Excel date, a number for an amount, a serial number for "at"."""
    one_row = [values(实付金额=99, 申请时间=datetime(2026, 11, 18, 9, 0))]
    assert excel.REFUND_AMOUNT([HEADERS], one_row, None, datetime(2026, 11, 20, 12, 0)) == 99.0
    assert excel.REFUND_SLA([HEADERS], one_row, None, 46346.5) == "已超时"  # 2026-11-20 12:00 as a serial
    assert excel.REFUND_SLA(HEADERS, values(), None, "2026-11-18 10:00") == "正常"


@pytest.mark.parametrize("arguments, message", [
    (("售后单号", values()), "#参数错误: 表头行缺少必填列“订单号”；缺少必填列“商品名称”；"),
    (([HEADERS, HEADERS], [values(), values()]), "#参数错误: 应为一行单元格，而不是多行的区域"),
    ((HEADERS, values(), None, "下周"), "#参数错误: “下周” 不是时间（例如 2026-11-19 10:00）"),
])
def test_bad_arguments_give_a_short_error_text(arguments, message):
    assert excel.REFUND_DECISION(*arguments).startswith(message)


def test_a_bug_shows_as_a_short_text_not_a_traceback(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(plan, "row_outputs", broken)
    assert excel.REFUND_DECISION(HEADERS, values(), None, AT) == "#错误: KeyError: 'oops'"


def test_the_rules_argument_changes_the_answer():
    keep_goods = values(售后类型="仅退款(已发货)", 售后原因="不想要了")
    assert excel.REFUND_AMOUNT(HEADERS, keep_goods, None, AT) == 19.8
    assert excel.REFUND_AMOUNT(HEADERS, keep_goods, rules(("部分退款比例", "50")), AT) == 49.5
    assert excel.REFUND_AMOUNT(HEADERS, keep_goods, rules(("部分退款比例", "150")), AT).startswith("#参数错误: 规则表有 1 处错误")


def test_without_a_rules_argument_the_calling_workbook_rules_sheet_is_used():
    book = Book({"退款登记": [HEADERS], "规则": rules(("部分退款比例", "30"))})
    caller = book.sheets["退款登记"].range("Z2")
    keep_goods = values(售后类型="仅退款(已发货)", 售后原因="不想要了")
    assert excel.REFUND_AMOUNT(HEADERS, keep_goods, None, AT, caller) == 29.7
    assert excel.REFUND_AMOUNT(HEADERS, keep_goods, None, AT, Book({"退款登记": [HEADERS]}).sheets[0].range("Z2")) == 19.8


def test_a_recalculation_reads_the_rules_sheet_once_not_once_per_cell(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(excel.time, "monotonic", lambda: clock[0])
    book = Book({"退款登记": [HEADERS], "规则": rules(("部分退款比例", "30"))})
    caller = book.sheets["退款登记"].range("Z2")
    keep_goods = values(售后类型="仅退款(已发货)", 售后原因="不想要了")
    answers = {excel.REFUND_AMOUNT(HEADERS, keep_goods, None, AT, caller) for _ in range(200)}
    assert answers == {29.7} and book.ops_on("规则")["read"] == 1  # 200 cells, one range read of 规则
    book.sheets["规则"].put(3, 2, "50")  # the merchant edits the ratio; the next recalculation sees it
    clock[0] += excel.RULES_FRESH_SECONDS
    assert excel.REFUND_AMOUNT(HEADERS, keep_goods, None, AT, caller) == 49.5 and book.ops_on("规则")["read"] == 2


def test_check_spills_one_result_row_per_table_row():
    table = [
        ["退款登记"],  # a title row above the header
        HEADERS,
        values(售后单号="AS1", 订单号="1001"),
        [None] * len(HEADERS),
        values(售后单号="AS2", 订单号="1002", 售后原因="商品破损", 凭证="是", 运费=None),
    ]
    out = excel.REFUND_CHECK(table, None, AT)
    assert len(out) == len(table) and all(len(r) == len(OUTPUT_COLUMNS) for r in out)
    assert out[0] == [""] * len(OUTPUT_COLUMNS) and out[1] == [c.header for c in OUTPUT_COLUMNS]
    assert out[2][:3] == ["退货退款", 99.0, "买家"] and out[3] == [""] * len(OUTPUT_COLUMNS)
    assert out[4][:3] == ["退货退款", 99.0, "商家"] and out[4][9] == datetime(2026, 11, 20, 12, 0)


def test_check_sees_risks_across_rows_that_single_row_functions_cannot():
    table = [HEADERS] + [values(售后单号=f"AS{i}", 订单号=f"10{i}") for i in range(3)]  # one buyer, three cases
    out = excel.REFUND_CHECK(table, None, AT)
    assert [r[0] for r in out[1:]] == ["人工审核"] * 3 and "重复申请" in out[3][5]
    assert excel.REFUND_DECISION(HEADERS, table[3], None, AT) == "退货退款"


def test_check_of_a_table_without_the_required_columns_names_them():
    assert excel.REFUND_CHECK([["售后单号", "订单号"], ["AS1", "1"]], None, AT).startswith("#参数错误: 找不到售后登记表的表头：第 1 行缺少必填列")


def test_an_error_value_in_the_row_is_named():
    """Ranges reach the functions with err_to_str, so #DIV/0! arrives as text and is reported as such."""
    assert excel.REFUND_DECISION(HEADERS, values(实付金额="#DIV/0!"), None, AT) == "#信息不全: 实付金额 是 Excel 错误值 #DIV/0!"


def test_check_gives_replies_only_when_asked():
    table = [HEADERS, values(售后单号="AS1", 订单号="1001")]
    reply = OUTPUT_COLUMNS.index(next(c for c in OUTPUT_COLUMNS if c.key == "reply"))
    assert excel.REFUND_CHECK(table, None, AT)[1][reply] == ""
    assert "您好" in excel.REFUND_CHECK(table, None, AT, True)[1][reply]
