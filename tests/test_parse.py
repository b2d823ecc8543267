"""Every INCOMPLETE cause names sheet!cell and what is wrong; IDs stay text; date-times in every shape."""

from datetime import datetime

import pytest
from conftest import BASE, facts_of, judge_row, row

from refund_sheet.engine import Decision
from refund_sheet.engine.parse import CellError, parse_datetime

COLUMN = {h: chr(65 + i) for i, h in enumerate(BASE)}  # conftest writes BASE's headers in order: A, B, …


@pytest.mark.parametrize(
    "header, cell, message",
    [
        ("售后单号", None, "售后单号 为空"),
        ("订单号", None, "订单号 为空"),
        ("商品名称", None, "商品名称 为空"),
        ("售后类型", None, "售后类型 为空"),
        ("售后类型", "退款吧", "无法识别“退款吧”"),
        ("售后类型", "退货退kuan", "（是否是“退货退款”？）"),
        ("售后原因", None, "售后原因 为空"),
        ("实付金额", None, "实付金额 为空"),
        ("实付金额", "九十九", "“九十九” 不是金额"),
        ("实付金额", "-5", "是负数"),
        ("申请金额", None, "申请金额 为空"),
        ("申请时间", None, "申请时间 为空"),
        ("申请时间", "昨天", "“昨天” 不是时间"),
        ("申请时间", "2026-02-30 10:00", "不是有效日期"),
        ("订单号", 6.923456789012346e18, "长单号的末几位已丢失"),
        ("订单号", 6923456789012345678, "超过 15 位的单号"),
        ("实付金额", "#N/A", "Excel 错误值 #N/A"),
    ],
)
def test_a_bad_cell_makes_the_row_incomplete_and_names_it(header, cell, message):
    v = judge_row(**{header: cell})
    assert v.decision is Decision.INCOMPLETE and v.amount == 0
    assert f"退款登记!{COLUMN[header]}2: " in v.explanation
    assert message in v.explanation


@pytest.mark.parametrize(
    "header, cell, message",
    [
        ("商品类目", None, "信息不全（商品类目，为空，「纯棉T恤」也不在 规则!商品 表中）：规则 R11 要看“类目支持无理由”，请在 退款登记!F2 填写类目"),
        ("签收时间", "tomorrow", "信息不全（签收时间，“tomorrow” 不是时间（例如 2026-11-19 10:00））：规则 R13 要看“七天内”，请在 退款登记!L2 填写签收时间"),
    ],
)
def test_a_bad_or_blank_fact_a_rule_needs_makes_the_row_incomplete_and_names_it(header, cell, message):
    """类目 and 签收时间 are needed only where a rule asks (issue 15): this no-reason return asks for both."""
    v = judge_row(**{header: cell})
    assert v.decision is Decision.INCOMPLETE and v.amount == 0
    assert v.explanation.startswith(message)


def test_a_missing_category_column_is_a_missing_fact_not_a_problem():
    data = row()
    del data["商品类目"]
    f = facts_of([data])[0]
    assert f.problems == ()
    assert [str(p) for p in f.gaps.values()] == ["退款登记!2: 商品类目 登记表没有类目列，「纯棉T恤」也不在 规则!商品 表中"]


def test_plain_refund_only_needs_the_shipping_state():
    v = judge_row(售后类型="仅退款", 签收时间=None)
    assert v.decision is Decision.INCOMPLETE and "无法区分未发货/已发货" in v.explanation
    assert judge_row(售后类型="仅退款", 签收时间=None, 发货状态="未发货").rule_id == "R02"


def test_several_bad_cells_are_all_reported():
    v = judge_row(实付金额="x", 申请时间="y")
    assert "实付金额、申请时间" in v.explanation and v.explanation.count("退款登记!") == 2


def test_exchange_may_leave_the_requested_amount_blank():
    v = judge_row(售后类型="换货", 申请金额=None)
    assert v.decision is Decision.EXCHANGE


@pytest.mark.parametrize(
    "cell, order_id",
    [
        ("6923456789012345678", "6923456789012345678"),
        ("\t6923456789012345678", "6923456789012345678"),  # Douyin CSV pads IDs with a tab
        ("'6923456789012345678", "6923456789012345678"),  # a leading apostrophe forces text in Excel
        ('="6923456789012345678"', "6923456789012345678"),  # Excel's formula-text trick in CSVs
        (123456, "123456"),
        (123456.0, "123456"),
    ],
)
def test_ids_stay_text(cell, order_id):
    assert facts_of([row(订单号=cell)])[0].order_id == order_id


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("2026-11-19 10:00", datetime(2026, 11, 19, 10, 0)),
        ("2026/11/19 10:00", datetime(2026, 11, 19, 10, 0)),
        ("2026/11/19 10:00:30", datetime(2026, 11, 19, 10, 0, 30)),
        ("2026年11月19日 10:00", datetime(2026, 11, 19, 10, 0)),
        ("2026-11-19", datetime(2026, 11, 19, 0, 0)),
        ("2026-11-19T02:00:00Z", datetime(2026, 11, 19, 10, 0)),  # UTC → shop time
        ("2026-11-19T10:00:00+08:00", datetime(2026, 11, 19, 10, 0)),
        ("2026-11-18 09:00.50", datetime(2026, 11, 18, 9, 0)),  # a fraction is dropped, as for every time
        (46345.5, datetime(2026, 11, 19, 12, 0)),  # an Excel serial number
        (datetime(2026, 11, 19, 10, 0, 0, 500), datetime(2026, 11, 19, 10, 0)),
    ],
)
def test_date_times_in_shop_local_time(cell, expected):
    moment = parse_datetime(cell, "Asia/Shanghai")
    assert moment == expected and moment.tzinfo is None


@pytest.mark.parametrize(
    "cell",
    ["2026-11-19 10:00+08", "2026-11-19 10+08:00", "2026-11-19 24:00", "2026-11-19 10:00:60", "2026-11-19 20122200",
     "2026-11-18T090000.5"],
)
def test_export_shaped_text_that_is_not_a_time_is_an_error_not_a_zoned_time(cell):
    """Regression: the fast reading of 2026-11-19 10:00 (datetime.fromisoformat) accepted a two-digit zone and
    returned a time with a zone, which the deadline arithmetic cannot compare with the shop's times, and took
    compact times (20122200) the pattern refuses."""
    with pytest.raises(CellError):
        parse_datetime(cell, "Asia/Shanghai")


def test_douyin_type_and_evidence_spellings():
    f = facts_of([row(售后类型="已发货仅退款", 凭证="是", 退货异常="否")])[0]
    assert (f.type.value, f.evidence, f.platform_risk) == ("仅退款(已发货)", True, False)
    assert facts_of([row(售后类型="仅退款（未发货）")])[0].type.value == "仅退款(未发货)"
