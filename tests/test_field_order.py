"""The hot path builds Facts (engine/parse.py), Verdict and Situation (engine/decide.py) by position, because keywords
cost up to a microsecond per row. These tests make a reordered field, or a call that passes one field for its
neighbour, fail here rather than shift every value of every row by one."""

from dataclasses import fields
from datetime import datetime
from decimal import Decimal

from conftest import NOW, facts_of, judge_rows, row

from refund_sheet.engine.model import CaseType, Decision, Facts, Verdict
from refund_sheet.engine.policy import Situation

# Each list is the order the positional calls in parse.py and decide.py are written in: change both together.
FACTS = ["loc", "case_id", "order_id", "buyer", "product", "sku", "category", "type", "reason", "paid", "requested",
         "shipping_fee", "shipped", "delivered_at", "requested_at", "platform_deadline", "evidence",
         "return_received_at", "status", "closed", "platform_risk", "override", "note", "problems", "gaps"]
VERDICT = ["loc", "decision", "amount", "payer", "deadline", "sla", "risks", "rule_id", "held", "explanation",
           "template", "percent", "group", "reason", "unopened_only", "window_end", "problems"]
SITUATION = ["type", "group", "reason", "delivered", "in_window", "category_ok", "evidence", "risk", "paid"]


def test_the_positional_records_keep_their_field_order():
    assert [f.name for f in fields(Facts)] == FACTS
    assert [f.name for f in fields(Verdict)] == VERDICT
    assert [f.name for f in fields(Situation)] == SITUATION


def test_each_register_cell_lands_in_its_own_field():
    """A row whose every cell differs from its neighbours', read through the batch reader."""
    cells = row(售后单号="AS0042", 订单号="6900000000000000001", 买家="小李", 商品名称="碎花连衣裙", 商家编码="DR-014",
                商品类目="服装", 售后类型="退货退款", 售后原因="尺码不合适", 实付金额="120.00", 申请金额="110.00",
                运费="8", 发货状态="已发货", 签收时间="2026-11-16 10:00", 申请时间="2026-11-18 09:00",
                平台截止时间="2026-11-21 09:00", 凭证="是", 退货签收时间="2026-11-19 15:00", 处理状态="待商家处理",
                退货异常="否", 人工决定="换货", 备注="先换货")
    (f,) = facts_of([cells])
    assert (f.loc.sheet, f.loc.row) == ("退款登记", 2)
    assert (f.case_id, f.order_id, f.buyer, f.product, f.sku, f.category) == (
        "AS0042", "6900000000000000001", "小李", "碎花连衣裙", "DR-014", "服装")
    assert (f.type, f.reason) == (CaseType.RETURN_REFUND, "尺码不合适")
    assert (f.paid, f.requested, f.shipping_fee) == (Decimal("120.00"), Decimal("110.00"), Decimal("8"))
    assert f.shipped is True
    assert (f.delivered_at, f.requested_at, f.platform_deadline, f.return_received_at) == (
        datetime(2026, 11, 16, 10), datetime(2026, 11, 18, 9), datetime(2026, 11, 21, 9), datetime(2026, 11, 19, 15))
    assert (f.evidence, f.status, f.closed, f.platform_risk) == (True, "待商家处理", False, False)
    assert (f.override, f.note, f.problems, f.gaps) == (Decision.EXCHANGE, "先换货", (), None)


def test_a_verdict_by_the_rules_has_each_value_in_its_own_field():
    (v,) = judge_rows([row()], NOW)
    assert v.decision is Decision.RETURN_REFUND and v.rule_id and v.held
    assert v.amount == Decimal("99.00") and v.reason == "尺码不合适" and v.group is not None
    assert v.rule_id in v.explanation and v.explanation.endswith("。")
    assert isinstance(v.deadline, datetime) and isinstance(v.window_end, datetime) and v.deadline != v.window_end
    assert v.unopened_only is False and v.template is None and v.problems == ()
