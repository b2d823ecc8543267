"""Facts + policy + "now" → verdicts. Pure: same inputs, same verdicts.

Order of judgement for one case: closed → DONE; the merchant's 人工决定 → that decision (rule "人工");
a bad or missing cell → INCOMPLETE naming it; otherwise the decision table, hit policy FIRST.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple, TypedDict

from .batching import without_gc_pauses
from .model import REFUNDING, CaseType, Decision, Facts, Loc, Payer, Problem, ReasonGroup, Risk, Sla, Verdict
from .money import ZERO, cents, percent_of, yuan
from .policy import UNKNOWN, Category, Policy, Situation, Unknown
from .run import Run
from .vocab import fold, norm, refund_failed, waiting_for_buyer

MERCHANT_FAULT = frozenset({ReasonGroup.QUALITY, ReasonGroup.WRONG_ITEM, ReasonGroup.NOT_RECEIVED})
# The members compared for every case, read once: reading ``Decision.DONE`` from an Enum class costs about 50 ns in
# Python 3.11, ten times a module name, and a case makes about ten such reads.
DONE, PARTIAL, REVIEW = Decision.DONE, Decision.REFUND_PARTIAL, Decision.MANUAL_REVIEW
PREFERENCE, UNSHIPPED = ReasonGroup.PREFERENCE, CaseType.REFUND_UNSHIPPED
OVERDUE, DUE_SOON, OK, WAITING = Sla.OVERDUE, Sla.DUE_SOON, Sla.OK, Sla.WAITING
MANUAL = "人工"
CLOSED_RULE = "已完结"


def risks_of_all(all_facts: Sequence[Facts], policy: Policy) -> list[tuple[str, ...]]:
    """The SPEC §1 risk flags of every case, each as a short sentence with its numbers; a closed case has none.

    Repeat buyers and duplicate cases look at the whole register, so the flags are worked out for the batch at
    once: each buyer's request times sorted, each order and item's open cases listed.
    """
    p = policy.params
    names = {name: fold(name) for name in {f.buyer for f in all_facts if f.buyer and f.requested_at}}
    buyers = [names[f.buyer] if f.buyer and f.requested_at else None for f in all_facts]
    items = [(f.order_id, norm(f.sku or f.product or "")) if not f.closed and f.order_id and f.case_id else None for f in all_facts]
    # Most buyers ask once and most items have one case: only the others need their times and cases listed.
    repeaters = {buyer for buyer, n in Counter(buyers).items() if buyer is not None and n >= p.repeat_n}
    shared = {item for item, n in Counter(items).items() if item is not None and n > 1}
    buyer_times: dict[str, list[datetime]] = defaultdict(list)
    open_by_item: dict[tuple[str, str], list[str]] = defaultdict(list)
    if repeaters or shared:
        for f, buyer, item in zip(all_facts, buyers, items):
            if buyer in repeaters and f.requested_at is not None:
                buyer_times[buyer].append(f.requested_at)
            if item in shared and f.case_id is not None:
                open_by_item[item].append(f.case_id)
    for times in buyer_times.values():
        times.sort()
    repeated_ids = _repeated_ids(all_facts)
    repeat, repeat_n, high_value = _days(p.repeat_days), p.repeat_n, p.high_value
    # The flags' words, read once: an Enum member's ``.value`` is a Python-level property in 3.11
    repeat_words = f"{Risk.REPEAT_BUYER._value_}：该买家{p.repeat_days}天内第"
    high_words, over_words = f"{Risk.HIGH_VALUE._value_}：申请 ", f"{Risk.OVER_REQUEST._value_}：申请 "
    duplicate_words, platform_words = f"{Risk.DUPLICATE._value_}：同订单同商品另有未完结售后 ", f"{Risk.PLATFORM_FLAG._value_}：平台标记退货异常"
    high_text = yuan(high_value)
    repeat_texts: dict[int, str] = {}
    singles: dict[str, tuple[str]] = {}
    flags: list[tuple[str, ...]] = []
    for f, buyer, item in zip(all_facts, buyers, items):
        if f.closed or f.override is DONE:
            flags.append(())
            continue
        found: list[str] = []
        requested_at = f.requested_at
        if buyer in buyer_times and requested_at is not None:
            times = buyer_times[buyer]
            count = bisect_right(times, requested_at) - bisect_left(times, requested_at - repeat)
            if count >= repeat_n:
                text = repeat_texts.get(count)
                if text is None:
                    text = repeat_texts[count] = f"{repeat_words}{count}次申请售后"
                found.append(text)
        requested = f.requested
        if requested is not None:
            if requested >= high_value:
                found.append(f"{high_words}{yuan(requested)} ≥ {high_text}")
            paid = f.paid
            if paid is not None and requested > paid + f.shipping_fee:
                found.append(f"{over_words}{yuan(requested)} 超过实付加运费 {yuan(paid + f.shipping_fee)}")
        if item in open_by_item:
            others = [c for c in open_by_item[item] if c != f.case_id]
            if others:
                found.append(f"{duplicate_words}{'、'.join(others[:3])}")
        if repeated_ids and f.case_id in repeated_ids:
            others = [str(r) for r in repeated_ids[f.case_id] if r != f.loc.row]
            found.append(f"{ID_REPEAT}第 {'、'.join(others[:5])}{' 等' if len(others) > 5 else ''} 行")
        if f.platform_risk:
            found.append(platform_words)
        if len(found) == 1:  # the usual flagged case: one flag, its tuple shared by every case with that flag
            single = singles.get(found[0])
            if single is None:
                single = singles[found[0]] = (found[0],)
            flags.append(single)
        else:
            flags.append(tuple(found) if found else ())
    return flags


ID_REPEAT = f"{Risk.DUPLICATE.value}：售后单号重复："  # a repeated 售后单号 is never paid automatically (SPEC §1)
ID_REPEAT_RULE = "单号重复"


def _content(f: Facts) -> tuple[object, ...]:
    """What a row says about its case (every input but its place and the merchant's 备注): two rows that say the
    same are one case entered twice, not two cases under one number."""
    return (
        f.order_id, f.buyer, f.product, f.sku, f.category, f.type, f.reason, f.paid, f.requested, f.shipping_fee,
        f.shipped, f.delivered_at, f.requested_at, f.platform_deadline, f.evidence, f.return_received_at, f.status,
        f.platform_risk, f.override,
    )


def _repeated_ids(all_facts: Sequence[Facts]) -> dict[str, list[int]]:
    """售后单号 → the sheet rows holding it, for every number that stands on rows saying different things
    (rows that are exact copies of one case are one case: ``import`` merges those)."""
    counts = Counter(f.case_id for f in all_facts if f.case_id)
    if not counts or counts.most_common(1)[0][1] < 2:
        return {}
    rows: dict[str, list[Facts]] = defaultdict(list)
    for f in all_facts:
        if f.case_id and counts[f.case_id] > 1:
            rows[f.case_id].append(f)
    return {
        case_id: [f.loc.row for f in same]
        for case_id, same in rows.items()
        if len({_content(f) for f in same}) > 1
    }


def deadline_of(f: Facts, run: Run) -> datetime | None:
    """The platform's deadline when given; else the policy's limit for the stage the case is in (SPEC §4).
    While the case waits on the buyer that is the buyer's deadline (the platform's, when the data has one)."""
    if f.platform_deadline is not None:
        return f.platform_deadline
    if waiting_for_buyer(f.status):
        return None
    if f.return_received_at is not None:
        stage, start = run.stage("待退款", f.type), f.return_received_at
    elif f.requested_at is not None:
        stage, start = run.stage("待商家处理", f.type), f.requested_at
    else:
        return None
    if stage is None:
        return None
    if stage.unit == "工作日":
        return run.calendar.add_working_days(start, stage.amount)
    return start + _hours(stage.amount)


def sla_of(deadline: datetime | None, now: datetime, policy: Policy, waiting: bool = False) -> Sla | None:
    """时效状态 at ``now``: 等待买家 while the case waits on the buyer (whose deadline it is, not the merchant's),
    else by the merchant's deadline; ``None`` when there is none."""
    if waiting:
        return WAITING
    if deadline is None:
        return None
    if now > deadline:
        return OVERDUE
    if deadline - now <= _hours(policy.params.due_soon_hours):
        return DUE_SOON
    return OK


@lru_cache(maxsize=64)
def _hours(hours: int) -> timedelta:
    return timedelta(hours=hours)


@lru_cache(maxsize=64)
def _days(days: int) -> timedelta:
    return timedelta(days=days)


@lru_cache(maxsize=4096)
def _day_text(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def at_fault(f: Facts, group: ReasonGroup | None) -> bool:
    """The merchant is at fault (or nothing was shipped): the refund includes the shipping fee (SPEC §5)."""
    return group in MERCHANT_FAULT or f.type is UNSHIPPED or f.shipped is False


def refund_amount(
    decision: Decision, f: Facts, percent: Decimal | None, policy: Policy, fault: bool
) -> tuple[Decimal | None, str]:
    """The refund and how it was reached, as words for the explanation.

    Full = paid (+ shipping when the merchant is at fault or nothing shipped), capped at what the buyer asked for.
    Partial = paid × percent (the rule's, else the 参数 partial percent), also never above the request.
    Never negative, never more than paid + shipping.
    """
    if decision not in REFUNDING:  # not decision.refunds: a property call per case
        return ZERO, ""
    if f.paid is None or f.requested is None:
        return None, ""
    shipping = f.shipping_fee if fault else ZERO
    if decision is PARTIAL or percent is not None:
        percent = policy.params.partial_percent if percent is None else percent
        amount = percent_of(f.paid, percent)
        how = f"实付 {yuan(f.paid)} × {percent.normalize():f}%"
    else:
        amount = f.paid + shipping
        how = f"实付 {yuan(f.paid)}" + (f" + 运费 {yuan(shipping)}" if shipping else "")
    if f.requested < amount:
        amount, how = f.requested, f"{how} = {yuan(amount)}，以买家申请的 {yuan(f.requested)} 为限"
    most = f.paid + f.shipping_fee
    if amount > most:
        amount = most
    if amount <= ZERO:  # -0.00 too
        amount = ZERO
    amount = cents(amount)
    return amount, how


def situation_of(f: Facts, run: Run, risky: bool) -> tuple[Situation, Category | None, tuple[str, ...], datetime | None]:
    """What the rule conditions look at, plus notes for the explanation and the window's end.

    A fact the row is missing (``Facts.gaps``) makes the conditions on it ``UNKNOWN``: 类目 → 类目支持无理由 and
    七天内; whether the buyer signed → 已签收 and 七天内; only the signing date → 七天内. Goods never shipped have
    no window at all (七天内 is ``None``: a condition on it fails, as before).
    """
    reason, category, notes = run.words(f.reason, f.category)
    gaps = f.gaps
    window_end = None
    in_window: bool | Unknown | None = None
    category_ok: bool | Unknown | None
    if category is not None and f.delivered_at is not None and f.requested_at is not None:
        window_end = run.calendar.window_end(f.delivered_at, category.window_days)
        in_window = f.requested_at <= window_end
    elif gaps is not None and not (f.delivered_at is None and f.shipped is False):
        in_window = UNKNOWN
    if gaps is not None and "category" in gaps:
        category_ok = UNKNOWN
        notes = tuple(n for n in notes if not n.startswith("类目"))  # named by the gap when it matters
    else:
        category_ok = category.supports_no_reason if category else None
    s = Situation(  # by position, in the order of Situation's fields (type, group, reason, delivered, in_window,
        # category_ok, evidence, risk, paid): keywords cost a third of a microsecond per case
        f.type,  # type: ignore[arg-type]  # checked by the caller: no problems → type is known
        reason.group if reason else ReasonGroup.OTHER,
        reason.name if reason else (f.reason or ""),
        UNKNOWN if gaps is not None and "delivered" in gaps else f.delivered_at is not None,
        in_window,
        category_ok,
        f.evidence or (reason is not None and not reason.needs_evidence),
        risky,
        f.paid,  # type: ignore[arg-type]  # likewise: no problems → paid is known
    )
    return s, category, notes, window_end


# Which missing facts leave each condition unknown, and what to do about each.
NEEDS = {"已签收": ("delivered",), "七天内": ("category", "delivered", "signed_at"), "类目支持无理由": ("category",)}
FILL = {
    "category": "填写类目（每个商品填一次，之后的售后单自动沿用）",
    "delivered": "填写签收时间，或导入时加 --orders 订单导出补上",
    "signed_at": "填写签收时间，或导入时加 --orders 订单导出补上",
}


class _Base(TypedDict):
    """The fields every kind of verdict of a row shares, passed on as keywords."""

    loc: Loc
    risks: tuple[str, ...]
    deadline: datetime | None
    sla: Sla | None


class _BaseWithProblems(_Base):
    problems: tuple[Problem, ...]


def _undecided(f: Facts, rule_id: str, unknown: tuple[str, ...], base: _Base) -> Verdict:
    """INCOMPLETE because the first rule that could decide tests a fact the row is missing: the explanation names
    that fact, what is wrong with it, where to fill it, and which rule needs it."""
    gaps = f.gaps or {}
    kinds = [k for condition in unknown for k in NEEDS[condition] if k in gaps]
    missing = [gaps[k] for k in dict.fromkeys(kinds)]
    head = "；".join(f"{p.field}，{p.message}" for p in missing)
    where = "；".join(f"请在 {p.loc} {FILL[k]}" for k, p in zip(dict.fromkeys(kinds), missing))
    needs = f"规则 {rule_id} 要看“{'、'.join(unknown)}”"
    return Verdict(
        decision=Decision.INCOMPLETE,
        amount=ZERO,
        payer=Payer.NONE,
        rule_id="",
        explanation=f"信息不全（{head}）：{needs}，{where}。",
        reason=f.reason,
        problems=tuple(missing),
        **base,
    )


def _return_payer(decision: Decision, fault: bool) -> Payer:
    if decision in (Decision.RETURN_REFUND, Decision.EXCHANGE):
        return Payer.MERCHANT if fault else Payer.BUYER
    return Payer.NONE


def judge(f: Facts, run: Run, now: datetime, risks: tuple[str, ...]) -> Verdict:
    """One case's verdict, given its risk flags; see the module docstring for the order of judgement."""
    if f.closed or f.override is DONE:
        return Verdict(f.loc, DONE, sla=Sla.CLOSED, rule_id=CLOSED_RULE if f.closed else MANUAL)

    deadline = deadline_of(f, run)
    sla = sla_of(deadline, now, run.policy, waiting_for_buyer(f.status) if f.status else False)
    if not f.problems and f.override is None:  # the common case, kept short
        return _by_rules(f, run, risks, deadline, sla)
    base = _BaseWithProblems(loc=f.loc, risks=risks, deadline=deadline, sla=sla, problems=f.problems)

    engine = None if f.problems else _by_rules(f, run, risks, deadline, sla)
    policy = run.policy
    if f.override is not None:
        reason = run.reason(f.reason)
        group = reason.group if reason else None
        fault = at_fault(f, group)
        amount, how = refund_amount(f.override, f, None, policy, fault)
        suggested = ""
        if engine is not None and engine.decision is Decision.INCOMPLETE:  # a fact the table needs is missing
            suggested = "；系统无法判定，缺少" + "、".join(dict.fromkeys(p.field for p in engine.problems))
        elif engine is not None:
            suggested = f"；系统建议为{engine.decision.value}（{engine.rule_id}）"
        bad = "；" + "；".join(str(p) for p in f.problems) if f.problems else ""
        return Verdict(
            decision=f.override,
            amount=amount,
            payer=_return_payer(f.override, fault),
            rule_id=MANUAL,
            explanation=f"人工决定：{f.override.value}" + (f"，{how}" if how else "") + suggested + bad,
            group=group,
            reason=reason.name if reason else f.reason,
            percent=policy.params.partial_percent if f.override is Decision.REFUND_PARTIAL else None,
            **base,
        )
    if engine is None:
        fields = "、".join(dict.fromkeys(p.field for p in f.problems))
        return Verdict(
            decision=Decision.INCOMPLETE,
            amount=ZERO,
            payer=Payer.NONE,
            rule_id="",
            explanation=f"信息不全（{fields}）：" + "；".join(str(p) for p in f.problems),
            reason=f.reason,
            **base,
        )
    return engine


def _by_rules(f: Facts, run: Run, risks: tuple[str, ...], deadline: datetime | None, sla: Sla | None) -> Verdict:
    s, category, notes, window_end = situation_of(f, run, bool(risks))
    hit = run.match(s)
    held: tuple[str, ...]
    if hit is None:  # a merchant's table without a catch-all row
        rule_id, held, decision, note, percent, payer, template = "", (), Decision.MANUAL_REVIEW, "没有规则命中，人工判断", None, Payer.NONE, None
    else:
        rule, held, unknown = hit
        if unknown:
            return _undecided(f, rule.id, unknown, _Base(loc=f.loc, risks=risks, deadline=deadline, sla=sla))
        rule_id, decision, note, percent, payer, template = rule.id, rule.decision, rule.note, rule.percent, rule.payer, rule.template
    if risks and decision in REFUNDING and any(r.startswith(ID_REPEAT) for r in risks):
        # A table without a risk rule would pay: a repeated 售后单号 never is, whatever the table says.
        rule_id, held, decision, note, percent, payer, template = ID_REPEAT_RULE, (), REVIEW, "售后单号重复，不自动退款，请人工核对", None, Payer.NONE, None
    fault = at_fault(f, s.group)
    amount, how = refund_amount(decision, f, percent, run.policy, fault)
    if decision is PARTIAL and percent is None:
        percent = run.policy.params.partial_percent
    unopened = bool(category and category.no_reason == "拆封后不支持" and s.group is PREFERENCE)
    parts = [_headline(note or decision.value, rule_id, held)]
    if how:
        parts.append(f"退款 {yuan(amount)}（{how}）")
    if window_end is not None and s.group is PREFERENCE and s.category_ok:
        parts.append(f"无理由退货期限至 {_day_text(window_end)}")
    if unopened and category is not None:
        parts.append(f"{category.name}类商品须未拆封才可无理由退货")
    if decision is REVIEW and risks:
        parts.append("风险：" + "；".join(risks))
    if f.status and refund_failed(f.status):
        parts.append("平台显示退款失败：款项未到买家账户，售后仍未完结，请核对收款信息后重新退款")
    parts.extend(notes)
    return Verdict(  # by position, in the order of Verdict's fields: keywords cost half a microsecond per case
        f.loc, decision, amount, payer, deadline, sla, risks, rule_id, held, "；".join(parts) + "。",
        template, percent, s.group, s.reason, unopened, window_end,
    )


@lru_cache(maxsize=4096)
def _headline(note: str, rule_id: str, held: tuple[str, ...]) -> str:
    """The explanation's first clause; few distinct ones per batch, so built once each."""
    return f"{note}（{rule_id}：{'、'.join(held) or '兜底规则'}）"


class Judged(NamedTuple):
    """What judging a batch gives back: every case's verdict, in order, and the run's warnings (one line per year
    the official calendar does not cover), to show the merchant."""

    verdicts: list[Verdict]
    warnings: tuple[str, ...]


@without_gc_pauses
def judge_run(all_facts: Sequence[Facts], run: Run, now: datetime) -> Judged:
    """Every case's verdict, in order, and the run's warnings so far. The risk flags, which look at the whole batch,
    are worked out at once."""
    verdicts = [judge(f, run, now, risks) for f, risks in zip(all_facts, risks_of_all(all_facts, run.policy))]
    return Judged(verdicts, run.warnings())


def judge_all(all_facts: Sequence[Facts], policy: Policy, now: datetime) -> list[Verdict]:
    """Every case's verdict, in order, judged in a run of their own (whose warnings ``judge_run`` would return)."""
    return judge_run(all_facts, Run(policy), now).verdicts


def waits_for(v: Verdict) -> tuple[bool, bool]:
    """Whether a case is 信息不全 for want of its 类目, and for want of its 签收时间 (``waiting_lines_of``)."""
    if v.decision is not Decision.INCOMPLETE or not v.problems:
        return False, False
    fields = {p.field for p in v.problems}
    return "商品类目" in fields, "签收时间" in fields


def waiting_lines_of(category: int, signed: int) -> list[str]:
    """For the run's summary: ``category`` cases wait for a 类目 (to fill once per product on 规则!商品) and
    ``signed`` for a 签收时间 (which an order export gives), counted over the cases left 信息不全 for that fact
    alone (``waits_for``)."""
    lines = []
    if category:
        lines.append(f"{category} 个售后单等待填写类目：在 规则!商品 表为每个商品填写一次类目后重新检查")
    if signed:
        lines.append(
            f"{signed} 个售后单缺签收时间，无法判断七天无理由：没有提供订单导出？"
            "用 refund-sheet import 售后导出 --into 登记表 --orders 订单导出.xlsx 补上，或在“签收时间”列填写"
        )
    return lines
