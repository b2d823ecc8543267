"""Per-run state out of the policy (issue 13, point 3): the compiled Policy is immutable; what a run remembers and
the calendar warnings it finds live in a ``Run`` of its own and come back as values."""

import dataclasses
import pickle
from datetime import datetime
from typing import NamedTuple

import pytest
from conftest import NOW, facts_of, row

from refund_sheet import plan
from refund_sheet.engine import Run, default_policy, judge_all, judge_run
from refund_sheet.engine.columns import map_headers
from refund_sheet.engine.parse import Reader

# A return received on Tuesday 2030-12-31: its 3 working days to refund run into 2031, a year the official calendar
# does not cover (as in test_tracker's holiday test).
UNKNOWN_YEAR = row(售后原因="商品破损", 凭证="是", 申请时间="2030-12-28 10:00", 签收时间="2030-12-27 10:00",
                   退货签收时间="2030-12-31 10:00")
KNOWN_YEAR = row(售后原因="商品破损", 凭证="是", 退货签收时间="2026-11-19 10:00")
# A register touching every look-up a run remembers: reasons, categories, products, stages, rule matches with an
# amount condition, the calendar's windows and working days, an unknown word and a manual decision.
REGISTER = [
    dict(r, 订单号=f"69{n:017d}", 买家=f"买家{n}")  # one case per order and buyer: no risk flags in the way
    for n, r in enumerate([
        *(row(售后单号=f"AS{i}", 实付金额=str(20 + 40 * i), 申请金额=str(20 + 40 * i), 售后原因=reason)
          for i, reason in enumerate(["尺码不合适", "商品破损", "发错货", "质量问题"] * 2)),
        *(row(售后单号=f"AS8{i}", 售后类型="仅退款", 发货状态="已发货", 售后原因="商品破损", 凭证="是", 实付金额=paid,
              申请金额=paid) for i, paid in enumerate(["20", "80"])),  # R09 (金额不超过 30), then R10
        dict(KNOWN_YEAR, 售后单号="AS8"),
        row(售后单号="AS9", 售后原因="不想要了", 商品类目=None, 商家编码="TS-404"),
        row(售后单号="AS10", 售后原因="完全不认识的原因", 商品类目="奇怪的类目"),
        row(售后单号="AS11", 人工决定="部分退款"),
        row(售后单号="AS12", 售后类型="仅退款", 发货状态="未发货", 签收时间=None),
    ])
]
UNKNOWN_YEAR = dict(UNKNOWN_YEAR, 售后单号="AS13")


class Evaluated(NamedTuple):
    judged: list  # (sheet row, values, facts, verdict) of each case
    warnings: tuple[str, ...]


def evaluate(rows, policy, now=NOW):
    headers = list(dict.fromkeys(h for r in rows for h in r))
    judging = plan.Judging(headers, [(n, [r.get(h) for h in headers]) for n, r in enumerate(rows, start=2)],
                           "退款登记", policy, now)
    return Evaluated(list(judging), judging.warnings)


def test_the_compiled_policy_is_frozen_and_holds_nothing_mutable():
    policy = default_policy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.rules = ()  # type: ignore[misc]
    for field in dataclasses.fields(policy):  # hashable all the way down: tuples, frozensets, frozen records
        hash(getattr(policy, field.name))


def test_judging_twice_leaves_the_policy_as_it_was():
    policy = default_policy()
    before = pickle.dumps(policy)  # every member, the look-up tables outside equality included
    first = evaluate(REGISTER + [UNKNOWN_YEAR], policy, datetime(2030, 12, 31, 12))
    second = evaluate(REGISTER + [UNKNOWN_YEAR], policy, datetime(2030, 12, 31, 12))
    judge_all(facts_of(REGISTER, policy), policy, NOW)
    assert pickle.dumps(policy) == before and policy == default_policy()
    assert first == second


def test_two_runs_with_one_policy_do_not_share_warnings():
    policy = default_policy()
    unknown = evaluate([UNKNOWN_YEAR], policy, datetime(2030, 12, 31, 12))
    assert len(unknown.warnings) == 1 and unknown.warnings[0].startswith("2031 年不在内置法定节假日日历中")
    assert evaluate([KNOWN_YEAR], policy).warnings == ()


def test_a_run_gives_its_warnings_back_with_the_verdicts():
    policy = default_policy()
    run = Run(policy)
    verdicts, warnings = judge_run(facts_of([UNKNOWN_YEAR], policy), run, datetime(2030, 12, 31, 12))
    assert verdicts[0].deadline == datetime(2031, 1, 3, 10) and "2031" in warnings[0]
    assert judge_run(facts_of([KNOWN_YEAR], policy), Run(policy), NOW).warnings == ()


def test_one_run_reads_and_judges_as_separate_runs_do():
    policy = default_policy()
    run = Run(policy)
    headers = list(dict.fromkeys(h for r in REGISTER for h in r))
    numbered = [(n, [r.get(h) for h in headers]) for n, r in enumerate(REGISTER, start=2)]
    reader = Reader(map_headers(headers), {}, "退款登记", run)
    assert reader.run is run
    facts = reader.read_all(numbered)
    assert facts == Reader(map_headers(headers), {}, "退款登记", policy).read_all(numbered)
    assert judge_run(facts, run, NOW).verdicts == judge_all(facts, policy, NOW)


def test_a_judging_gives_each_case_its_verdict_once_and_lets_the_facts_go(monkeypatch):
    """A check judges cases one at a time (``plan.Judging``): the same verdicts as judging the batch at once —
    the cross-row risks too (a buyer's third case, a repeated 售后单号) — and each slice's facts let go once
    passed, so a full sheet never holds facts and verdicts for every row. It can be walked once."""
    monkeypatch.setattr(plan, "SLICE", 3)
    policy = default_policy()
    rows = REGISTER + [dict(REGISTER[0], 售后单号="AS0", 订单号="690", 买家="买家0")] * 2  # 售后单号 and buyer again
    headers = list(dict.fromkeys(h for r in rows for h in r))
    numbered = [(n, [r.get(h) for h in headers]) for n, r in enumerate(rows, start=2)]
    letters = {key: chr(ord("A") + i) for key, i in map_headers(headers).items()}  # as facts_of names the cells
    judging = plan.Judging(headers, numbered, "退款登记", policy, NOW, letters)
    seen = []
    for i, (number, cells, facts, verdict) in enumerate(judging):
        assert (number, cells) == numbered[i] and facts.loc.row == number
        seen.append(verdict)
        assert all(f is None for f in judging._facts[: i // 3 * 3]) and judging._facts[i] is facts  # slices before go
    assert seen == judge_all(facts_of(rows, policy), policy, NOW) and len(seen) == len(rows)
    assert any("售后单号重复" in risk for v in seen for risk in v.risks)
    assert all(f is None for f in judging._facts)
    with pytest.raises(RuntimeError):
        next(iter(judging))
