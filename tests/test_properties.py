"""Property-based tests of the engine (issue 8): whatever the facts or the cells, the engine answers, and its
answers keep the promises of SPEC §5 and §8.

Counts come from the hypothesis profile (``ci`` by default, ``--hypothesis-profile=long`` for a local hunt);
docs/reliability.md records the figures of a real run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from conftest import HEADERS, NOW, facts_of, row
from hypothesis import event, given, strategies as st

from refund_sheet.engine import default_policy, judge_all
from refund_sheet.engine.columns import OUTPUT_COLUMNS
from refund_sheet.engine.model import CaseType, Decision, Facts, Loc, Problem
from refund_sheet.engine.parse import EXCEL_ERRORS
from refund_sheet.plan import Book, Judging, plan_check, register_of_grid
from refund_sheet.replies import make_renderer
from refund_sheet.samples import decision_samples

POLICY = default_policy()
REASONS = [r.name for r in POLICY.reasons] + ["质量不好", "不喜欢", "拍错了", "其他原因"]
CATEGORIES = [c.name for c in POLICY.categories] + ["女装T恤", "宠物用品"]
STATUSES = [None, "待商家处理", "待买家退货", "已完结", "已关闭", "同意退款，退款成功", "售后关闭", "换货成功", "处理中"]

# ------------------------------------------------------------------------------------------------ strategies

money = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31))
hostile_text = st.text(max_size=40) | st.sampled_from(["=1+1", "+86", "-1", "@SUM(A1)", "\t=x", "\r\n", "{{ 7*7 }}", "{% raw %}"])


# Each case starts from a crafted case of one decision (so every decision is reached) and has any subset of its
# fields replaced by drawn values: consistent or not, as a merchant's sheet may hold them.
BASES = [f for f, _ in decision_samples(POLICY, NOW).values()]
FIELDS = {
    "case_id": st.sampled_from(["AS1", "AS2", "AS3", None]),
    "order_id": st.sampled_from(["O1", "O2", None]),
    "buyer": st.none() | st.sampled_from(["小王", "小李"]) | hostile_text,
    "product": st.none() | st.sampled_from(["纯棉T恤", "马克杯"]) | hostile_text,
    "sku": st.none() | st.sampled_from(["TS-1", "MK-2"]),
    "category": st.none() | st.sampled_from(CATEGORIES) | hostile_text,
    "type": st.none() | st.sampled_from(CaseType),
    "reason": st.none() | st.sampled_from(REASONS) | hostile_text,
    "paid": st.none() | money,
    "requested": st.none() | money,
    "shipping_fee": st.decimals(min_value=0, max_value=999, places=2),
    "shipped": st.none() | st.booleans(),
    "delivered_at": st.none() | moments,
    "requested_at": st.none() | moments,
    "platform_deadline": st.none() | moments,
    "evidence": st.booleans(),
    "return_received_at": st.none() | moments,
    "status": st.sampled_from(STATUSES),
    "closed": st.booleans(),
    "platform_risk": st.booleans(),
    "override": st.none() | st.sampled_from(Decision),
    "note": st.none() | hostile_text,
}


@st.composite
def facts(draw, number: int = 2) -> Facts:
    """One case. As ``read_facts`` guarantees, a required field missing on an open case comes with a problem."""
    f = replace(draw(st.sampled_from(BASES)), loc=Loc("退款登记", number), problems=())
    changed = draw(st.sets(st.sampled_from(sorted(FIELDS))))
    f = replace(f, **{name: draw(FIELDS[name]) for name in sorted(changed)})
    if draw(st.integers(0, 9)) == 0:
        f = replace(f, problems=(Problem(Loc("退款登记", number, "I"), "实付金额", "“abc” 不是金额"),))
    missing = [k for k in REQUIRED if getattr(f, k) is None]
    if missing and not f.closed:
        f = replace(f, problems=f.problems + tuple(Problem(Loc("退款登记", number, "A"), k, "为空") for k in missing))
    event(f"decision {judge_all([f], POLICY, NOW)[0].decision.name}")
    return f


REQUIRED = ("case_id", "order_id", "product", "category", "type", "reason", "paid", "requested", "requested_at")


cases = st.integers(min_value=1, max_value=8).flatmap(lambda n: st.tuples(*[facts(i + 2) for i in range(n)]))

# What openpyxl may hand over for a cell, and worse.
cell = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=5),
    st.sampled_from(sorted(EXCEL_ERRORS)),
    st.sampled_from(["", "  ", "\t", "是", "否", "¥1,299.00", "12.5元", "-3", "1e400", "NaN", "Infinity", "9999-12-31 23:59",
                     "0001-01-01", "2026-02-30", "2026年11月19日", "2026-11-19T02:00:00Z", "仅退款", "已完结", "=A1*2",
                     "'6923456789012345678", '="123"', "x" * 40_000]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.dates(),
    st.times(),
    st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=10)),
    st.decimals(allow_nan=True),
)


def hostile_row(draw_cells: dict) -> dict:
    return {**row(), **draw_cells}


some_columns = st.dictionaries(st.sampled_from(HEADERS), cell, max_size=len(HEADERS))


# ------------------------------------------------------------------------------------------------ the promises


def check_amounts(all_facts, verdicts) -> None:
    for f, v in zip(all_facts, verdicts):
        if v.decision is Decision.DONE:
            continue
        assert v.amount is None or v.amount.as_tuple().exponent == -2, v.amount
        if v.amount is None:
            assert v.decision.refunds and (f.paid is None or f.requested is None)
            continue
        assert v.amount >= 0
        if f.paid is not None:
            assert v.amount <= f.paid + f.shipping_fee
        if f.requested is not None and v.decision.refunds:
            assert v.amount <= f.requested
        if not v.decision.refunds:
            assert v.amount == 0


@given(cases)
def test_random_facts_always_get_a_verdict_with_a_sound_amount(all_facts):
    verdicts = judge_all(all_facts, POLICY, NOW)
    assert len(verdicts) == len(all_facts)
    check_amounts(all_facts, verdicts)
    for f, v in zip(all_facts, verdicts):
        assert v.decision in Decision
        if f.closed or f.override is Decision.DONE:
            assert v.decision is Decision.DONE  # a closed case is never judged again
        elif f.override is not None:
            assert v.decision is f.override and v.rule_id == "人工"  # the merchant's decision always wins
        elif f.problems:
            assert v.decision is Decision.INCOMPLETE and all(str(p) in v.explanation for p in f.problems)


@given(cases, moments)
def test_verdicts_are_deterministic_for_a_fixed_now(all_facts, now):
    assert judge_all(all_facts, POLICY, now) == judge_all(all_facts, POLICY, now)
    # and a case's decision does not depend on where its row stands
    forward = judge_all(all_facts, POLICY, now)
    backward = judge_all(all_facts[::-1], POLICY, now)[::-1]
    assert [(v.decision, v.amount, v.rule_id, v.deadline, v.sla) for v in forward] == [
        (v.decision, v.amount, v.rule_id, v.deadline, v.sla) for v in backward
    ]


@given(st.lists(some_columns, min_size=1, max_size=4))
def test_any_cell_contents_become_facts_or_located_problems(changes):
    rows = [{"售后单号": f"AS{i}"} | hostile_row(c) for i, c in enumerate(changes)]
    all_facts = facts_of(rows)
    verdicts = judge_all(all_facts, POLICY, NOW)
    check_amounts(all_facts, verdicts)
    for f, v in zip(all_facts, verdicts):
        for p in f.problems:
            assert p.loc.sheet == "退款登记" and p.loc.column and p.field  # 退款登记!H14: 实付金额 …
        if v.decision is Decision.INCOMPLETE:
            assert v.explanation.startswith("信息不全（")


@given(cases, st.sampled_from(["zh-CN", "en"]))
def test_every_verdict_gets_a_reply_and_customer_text_is_never_rendered(all_facts, lang):
    render = RENDER[lang]
    for f, v in zip(all_facts, judge_all(all_facts, POLICY, NOW)):
        if v.decision is Decision.DONE:
            continue
        reply = render(f, v)
        assert isinstance(reply, str) and reply
        if f.buyer == "{{ 7*7 }}":
            assert "{{ 7*7 }}" in reply and "49" not in reply.splitlines()[0]


RENDER = {lang: make_renderer(POLICY, lang=lang) for lang in ("zh-CN", "en")}
OUTPUT_KEYS = [c.key for c in OUTPUT_COLUMNS]


@given(st.lists(st.tuples(some_columns, st.sampled_from([None, "已完结", "退款成功"]), st.sampled_from([None, "全额退款", "拒绝", "已完结"])),
                min_size=1, max_size=5))
def test_closed_and_overridden_rows_are_never_changed_beyond_their_decision(rows):
    """A check plan (both front ends' middle) keeps closed cases' results and never touches 人工决定 or any input
    cell."""
    headers = HEADERS + ["处理建议", "退款金额", "判定依据", "回复话术"]
    grid = [headers]
    for i, (changes, status, override) in enumerate(rows):
        data = hostile_row(changes) | {"售后单号": f"AS{i}", "处理状态": status, "人工决定": override}
        grid.append([data.get(h) for h in HEADERS] + ["旧建议", Decimal("1.00"), "旧依据", "旧回复"])
    register = register_of_grid(grid, "退款登记")
    planned = plan_check(register, Book(POLICY, NOW, NOW, "t.xlsx"), renderer=RENDER["zh-CN"])
    assert all(planned.columns[k] > len(HEADERS) for k in OUTPUT_KEYS)  # inputs never outputs
    changes = dict(planned.updates)
    for number, ((_changes, _status, override), verdict) in enumerate(zip(rows, (v for *_, v in Judging.of_register(register, POLICY, NOW))), start=2):
        new = changes.get(number, {})
        values = {k: new[k] if k in new else register.old(number, planned.columns[k]) for k in OUTPUT_KEYS}
        if verdict.decision is Decision.DONE:
            assert (values["decision"], values["sla"]) == ("已完结", "已完结")
            assert (values["amount"], values["explanation"], values["reply"]) == (Decimal("1.00"), "旧依据", "旧回复")
        elif override and override != "已完结":
            assert values["decision"] == override and values["rule_id"] == "人工"
