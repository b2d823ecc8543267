"""Amounts (SPEC §5), deadlines and SLA states (§4), and every risk flag (§1)."""

from datetime import datetime
from decimal import Decimal

import pytest
from conftest import judge_row, judge_rows, row

from refund_sheet.engine import Decision, Sla
from refund_sheet.engine.money import cents, parse_money, percent_of, yuan


@pytest.mark.parametrize(
    "amount, percent, expected",
    [("99.99", "20", "20.00"), ("0.05", "50", "0.03"), ("10.00", "33.3", "3.33"), ("1.25", "10", "0.13"), ("0", "20", "0.00")],
)
def test_percent_rounds_half_up(amount, percent, expected):
    assert percent_of(Decimal(amount), Decimal(percent)) == Decimal(expected)


@pytest.mark.parametrize(
    "cell, expected",
    [("¥1,299.50", "1299.50"), ("12.5元", "12.50"), (0.1, "0.10"), (45, "45.00"), ("￥ 8", "8.00"), (19.995, "20.00")],
)
def test_money_cells(cell, expected):
    assert str(parse_money(cell)) == expected


@pytest.mark.parametrize("cell", ["-0", -0.0, "-0.00"])
def test_minus_zero_is_zero(cell):
    """Regression (review of the engine's speed work): -0 read as Decimal('-0.00'), shown as ¥-0.00."""
    assert str(parse_money(cell)) == "0.00"


@pytest.mark.parametrize("cell", ["abc", "-5", -1, True, float("nan"), "1e99"])
def test_bad_money_cells_are_refused(cell):
    with pytest.raises(ValueError):
        parse_money(cell)


def test_money_is_shown_with_two_places():
    assert yuan(Decimal("12.5")) == "¥12.50" and cents(Decimal("2.675")) == Decimal("2.68")


@pytest.mark.parametrize(
    "now, state",
    [
        (datetime(2026, 11, 18, 9, 0), Sla.OK),  # deadline 11-20 09:00: 48 h away
        (datetime(2026, 11, 19, 9, 0), Sla.DUE_SOON),  # exactly 24 h left
        (datetime(2026, 11, 20, 9, 0), Sla.DUE_SOON),  # at the deadline
        (datetime(2026, 11, 20, 9, 1), Sla.OVERDUE),
    ],
)
def test_sla_states_at_a_given_now(now, state):
    v = judge_row(now=now)
    assert v.deadline == datetime(2026, 11, 20, 9, 0) and v.sla is state


def test_platform_deadline_wins_over_the_policy():
    v = judge_row(平台截止时间="2026-11-25 18:00")
    assert v.deadline == datetime(2026, 11, 25, 18, 0) and v.sla is Sla.OK


def test_closed_case_is_done():
    v = judge_row(处理状态="同意退款，退款成功")
    assert (v.decision, v.sla, v.amount) == (Decision.DONE, Sla.CLOSED, None)


@pytest.mark.parametrize("status", ["已完结", "已关闭", "售后关闭", "换货成功", "退款成功"])
def test_closed_statuses(status):
    assert judge_row(处理状态=status).decision is Decision.DONE


def test_waiting_for_the_buyer_has_no_merchant_deadline():
    v = judge_row(处理状态="待买家退货")
    assert v.deadline is None and v.sla is Sla.WAITING


def test_amount_never_exceeds_paid_plus_shipping():
    v = judge_row(售后原因="商品破损", 凭证="是", 实付金额="99", 运费="10", 申请金额="109")
    assert v.amount == Decimal("109.00")


def test_a_zero_refund_is_plain_zero():
    v = judge_row(售后原因="商品破损", 凭证="是", 申请金额="0")
    assert str(v.amount) == "0.00" and "¥-" not in v.explanation


# ------------------------------------------------------------------------------------------------ risks


def flags(verdict):
    return [r.split("：")[0] for r in verdict.risks]


def test_high_value_is_at_or_above_the_threshold():
    assert flags(judge_row(实付金额="500", 申请金额="500")) == ["高金额"]
    assert flags(judge_row(实付金额="499.99", 申请金额="499.99")) == []


def test_over_request_is_above_paid_plus_shipping():
    assert flags(judge_row(申请金额="109.01")) == ["超额申请"]
    assert flags(judge_row(申请金额="109")) == []


def test_platform_flag():
    assert flags(judge_row(退货异常="是")) == ["退货异常"]
    assert flags(judge_row(退货异常="否")) == []


def test_repeat_buyer_counts_cases_in_the_window_up_to_this_one():
    times = ["2026-10-21 09:00", "2026-11-01 09:00", "2026-11-20 09:00"]
    rows = [row(售后单号=f"AS{i}", 订单号=f"O{i}", 申请时间=t) for i, t in enumerate(times)]
    verdicts = judge_rows(rows)
    assert [flags(v) for v in verdicts] == [[], [], ["重复申请"]]
    assert "30天内第3次" in verdicts[2].risks[0]
    rows[0]["申请时间"] = "2026-10-21 08:59"  # 30 days and one minute before: outside
    assert flags(judge_rows(rows)[2]) == []


def test_duplicate_open_cases_for_the_same_order_and_product_flag_each_other():
    rows = [row(售后单号="AS1"), row(售后单号="AS2")]
    verdicts = judge_rows(rows)
    assert [flags(v) for v in verdicts] == [["重复售后单"], ["重复售后单"]]
    assert "AS2" in verdicts[0].risks[0] and verdicts[0].decision is Decision.MANUAL_REVIEW
    rows[0]["处理状态"] = "售后关闭"
    assert flags(judge_rows(rows)[1]) == []
