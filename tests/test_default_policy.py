"""SPEC §3's default decision table, one parametrized table per rule (hit policy FIRST).

Every case starts from conftest.BASE: a 服装 T-shirt paid ¥99.00 with ¥10 shipping, delivered Mon 2026-11-16,
request on 11-18 (inside the 7-day window, which ends Mon 11-23), judged at 2026-11-20 12:00.
"""

from decimal import Decimal

import pytest
from conftest import judge_row

from refund_sheet.engine import Decision, Payer, compile_policy, default_policy

D = Decision
UNSHIPPED = dict(售后类型="未发货仅退款", 签收时间=None, 发货状态="未发货")


def check(verdict, decision, rule, amount=None, payer=None):
    assert (verdict.decision, verdict.rule_id) == (decision, rule), verdict.explanation
    if amount is not None:
        assert verdict.amount == Decimal(amount)
    if payer is not None:
        assert verdict.payer is payer


def test_defaults_compile_without_problems():
    policy, problems = compile_policy()
    assert problems == []
    assert [r.id for r in policy.rules] == [f"R{i:02d}" for i in range(1, 17)]


@pytest.mark.parametrize(
    "changes",
    [
        dict(实付金额="600", 申请金额="600"),  # HIGH_VALUE
        dict(退货异常="是"),  # PLATFORM_FLAG
        dict(申请金额="120"),  # OVER_REQUEST: 120 > 99 + 10
        dict(售后原因="商品破损", 凭证="是", 实付金额="800", 申请金额="800"),  # risk beats every other rule
    ],
)
def test_r01_any_risk_goes_to_a_person(changes):
    check(judge_row(**changes), D.MANUAL_REVIEW, "R01", "0")


@pytest.mark.parametrize(
    "changes, amount",
    [
        (dict(申请金额="109"), "109.00"),  # paid + shipping: nothing was shipped
        (dict(申请金额="99"), "99.00"),  # capped at what the buyer asked for
        (dict(售后原因="质量问题"), "99.00"),  # any reason: type wins
    ],
)
def test_r02_unshipped_refund_only_is_refunded_in_full(changes, amount):
    check(judge_row(**UNSHIPPED, **changes), D.REFUND_FULL, "R02", amount, Payer.NONE)


@pytest.mark.parametrize(
    "changes, decision, rule, amount",
    [
        (dict(售后原因="未收到货", 签收时间=None, 售后类型="已发货仅退款", 申请金额="109"), D.REFUND_FULL, "R03", "109.00"),
        (dict(售后原因="快递丢件", 签收时间=None, 售后类型="已发货仅退款"), D.REFUND_FULL, "R03", "99.00"),
        (dict(售后原因="物流停滞", 售后类型="已发货仅退款"), D.MANUAL_REVIEW, "R04", "0"),
        (dict(售后原因="未收到货", 售后类型="已发货仅退款"), D.MANUAL_REVIEW, "R04", "0"),
    ],
)
def test_r03_r04_not_received(changes, decision, rule, amount):
    check(judge_row(**changes), decision, rule, amount)


@pytest.mark.parametrize("reason", ["质量问题", "商品破损", "与描述不符", "功能故障", "发错货", "少件漏发"])
def test_r05_quality_or_wrong_item_without_evidence_asks_for_it(reason):
    check(judge_row(售后原因=reason, 凭证="否"), D.NEED_EVIDENCE, "R05", "0")


@pytest.mark.parametrize(
    "changes, rule",
    [
        (dict(售后原因="发错货", 售后类型="补寄"), "R06"),
        (dict(售后原因="少件漏发", 售后类型="已发货仅退款"), "R07"),
        (dict(售后原因="少件漏发", 售后类型="退货退款"), "R07"),
    ],
)
def test_r06_r07_wrong_or_missing_items_are_resent(changes, rule):
    check(judge_row(凭证="是", **changes), D.RESEND, rule, "0")


@pytest.mark.parametrize(
    "changes, decision, rule, amount, payer",
    [
        (dict(售后类型="换货"), D.EXCHANGE, "R08", "0", Payer.MERCHANT),
        (dict(售后类型="已发货仅退款", 实付金额="25", 申请金额="25", 运费="0"), D.REFUND_FULL, "R09", "25.00", Payer.NONE),
        (dict(售后类型="已发货仅退款", 实付金额="30", 申请金额="30", 运费="0"), D.REFUND_FULL, "R09", "30.00", Payer.NONE),
        (dict(售后类型="已发货仅退款", 实付金额="30.01", 申请金额="30.01", 运费="0"), D.RETURN_REFUND, "R10", "30.01", Payer.MERCHANT),
        (dict(售后类型="退货退款", 申请金额="109"), D.RETURN_REFUND, "R10", "109.00", Payer.MERCHANT),
        (dict(售后类型="退货退款", 售后原因="发错货"), D.RETURN_REFUND, "R10", "99.00", Payer.MERCHANT),
    ],
)
def test_r08_r09_r10_quality_with_evidence(changes, decision, rule, amount, payer):
    check(judge_row(售后原因=changes.pop("售后原因", "商品破损"), 凭证="是", **changes), decision, rule, amount, payer)


@pytest.mark.parametrize("category", ["食品", "生鲜", "药品", "定制", "虚拟商品"])
def test_r11_preference_in_an_excluded_category_is_rejected(category):
    check(judge_row(商品类目=category, 售后原因="不想要了"), D.REJECT, "R11", "0")


@pytest.mark.parametrize(
    "changes, decision, rule, amount, payer",
    [
        (dict(售后类型="换货"), D.EXCHANGE, "R12", "0", Payer.BUYER),
        (dict(售后类型="退货退款", 售后原因="七天无理由"), D.RETURN_REFUND, "R13", "99.00", Payer.BUYER),
        (dict(售后类型="已发货仅退款", 售后原因="颜色不喜欢", 实付金额="99.99", 申请金额="99.99"), D.REFUND_PARTIAL, "R14", "20.00", Payer.NONE),
        (dict(售后类型="已发货仅退款", 售后原因="拍错/多拍", 实付金额="50", 申请金额="5"), D.REFUND_PARTIAL, "R14", "5.00", Payer.NONE),
    ],
)
def test_r12_r13_r14_preference_inside_the_window(changes, decision, rule, amount, payer):
    check(judge_row(**changes), decision, rule, amount, payer)


def test_unopened_only_categories_support_no_reason_returns_but_say_so():
    v = judge_row(商品类目="美妆", 售后原因="七天无理由")
    check(v, D.RETURN_REFUND, "R13", "99.00", Payer.BUYER)
    assert v.unopened_only and "须未拆封" in v.explanation


@pytest.mark.parametrize(
    "changes",
    [
        dict(签收时间="2026-11-01 10:00"),  # window ended 11-09 (11-08 is a Sunday)
        dict(签收时间="2026-11-10 10:00", 申请时间="2026-11-18 00:00"),  # window ended 11-17 23:59:59
    ],
)
def test_r15_preference_outside_the_window_is_rejected(changes):
    check(judge_row(**changes), D.REJECT, "R15", "0")


@pytest.mark.parametrize(
    "changes",
    [
        dict(售后原因="其他"),
        dict(售后原因="买家说不清楚"),  # not in the 原因 table → 其他
        dict(售后类型="补寄", 售后原因="不想要了"),
        dict(售后类型="已发货仅退款", 签收时间=None, 发货状态="未发货", 售后原因="不想要了"),  # never shipped: no window
    ],
)
def test_r16_everything_else_goes_to_a_person(changes):
    check(judge_row(**changes), D.MANUAL_REVIEW, "R16", "0")


def test_unknown_category_is_explained_with_a_suggestion():
    # Issue 15: a category the 类目 table does not know is a missing fact; a no-reason return needs it.
    v = judge_row(商品类目="服饰", 售后原因="不想要了")
    assert v.decision is D.INCOMPLETE
    assert v.explanation.startswith("信息不全（商品类目，“服饰”不在 规则!类目 表中（是否是“服装”？））：规则 R11 要看“类目支持无理由”，请在 退款登记!F2 ")


def test_verdict_records_the_conditions_that_held():
    v = judge_row(售后原因="商品破损", 凭证="是")
    assert v.held == ("原因属于质量问题", "有凭证：是")
    assert v.explanation.startswith("商品问题有凭证，退货退款，退货运费由商家承担（R10：原因属于质量问题、有凭证：是）")


def test_douyin_reason_wording_is_matched_by_keyword():
    policy = default_policy()
    assert policy.reason("尺码拍错/不喜欢/效果不好").name == "尺码不合适"
    assert policy.reason("商品破损/包装破损").name == "商品破损"
    assert policy.reason("七天无理由退换货").name == "七天无理由"
    assert policy.reason("完全不相关的话") is None
