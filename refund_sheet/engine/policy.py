"""The policy: a decision table with hit policy FIRST plus its supporting tables (SPEC §3).

Parse once, evaluate purely: ``compile_policy`` turns rows of text (from the 规则 sheet, or the defaults) into a
frozen ``Policy`` and a list of located problems; ``first_match`` then tries rules top to bottom and returns the
winner together with the conditions that held, so the explanation is built from that record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, NamedTuple, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import defaults
from .calendar import WorkCalendar
from .columns import column_letter
from .model import CaseType, Decision, Loc, Payer, Problem, ReasonGroup
from .vocab import (
    DECISION_CHOICES,
    GROUP_CHOICES,
    TYPE_CHOICES,
    did_you_mean,
    norm,
    parse_decision,
    parse_group,
    parse_type,
    parse_yes_no,
    split_list,
)

_Entry = TypeVar("_Entry")  # what a text looks up: a Reason or a Category
_T = TypeVar("_T")


@dataclass(frozen=True)
class PolicyCell:
    """One cell of a policy table: its text and where it stands."""

    text: str
    loc: Loc


TableRow = dict[str, PolicyCell]  # header text → cell


@dataclass(frozen=True)
class Rule:
    """One row of the decision table. ``None`` in a condition means blank (any)."""

    id: str
    decision: Decision
    types: frozenset[CaseType] | None = None
    groups: frozenset[ReasonGroup] | None = None
    reasons: frozenset[str] | None = None
    delivered: bool | None = None
    in_window: bool | None = None
    category_ok: bool | None = None
    evidence: bool | None = None
    risk: bool | None = None
    max_amount: Decimal | None = None
    percent: Decimal | None = None
    payer: Payer = Payer.NONE
    template: str | None = None
    note: str = ""
    loc: Loc = Loc("规则", 0)


@dataclass(frozen=True)
class Reason:
    name: str
    group: ReasonGroup
    needs_evidence: bool
    aliases: tuple[str, ...] = ()


NO_REASON_YES, NO_REASON_NO, NO_REASON_UNOPENED = "支持", "不支持", "拆封后不支持"


@dataclass(frozen=True)
class Category:
    name: str
    no_reason: str  # 支持 / 不支持 / 拆封后不支持
    window_days: int

    @property
    def supports_no_reason(self) -> bool:
        """拆封后不支持 counts as supporting: the goods must come back unopened."""
        return self.no_reason != NO_REASON_NO


@dataclass(frozen=True)
class Stage:
    """One row of 时限: a stage's time limit, for some after-sales types or all."""

    name: str  # 待商家处理 / 待退款
    types: frozenset[CaseType] | None
    amount: int
    unit: str  # 小时 / 工作日


@dataclass(frozen=True)
class ProductMap:
    """One row of 商品: a 商家编码, 商品ID or name keyword → 类目 (the Douyin export has no category).

    ``category`` is "" on a row ``import`` added that still waits for the merchant to fill it in; ``loc`` is that
    row's 类目 cell, so a case that needs the category can say where to type it.
    """

    sku: str
    product_id: str
    keyword: str
    category: str
    loc: Loc = Loc("规则", 0)


@dataclass(frozen=True)
class Params:
    partial_percent: Decimal = Decimal(20)
    small_amount: Decimal = Decimal(30)
    high_value: Decimal = Decimal(500)
    repeat_n: int = 3
    repeat_days: int = 30
    due_soon_hours: int = 24
    shop_name: str = "本店"
    signature: str = "售后客服"
    return_address: str = ""
    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    templates_dir: str = ""


@dataclass(frozen=True)
class Policy:
    """The compiled 规则 sheet: immutable, so one policy may serve any number of runs. A run remembers its look-ups
    and records its calendar warnings in a ``run.Run`` of its own, never here."""

    rules: tuple[Rule, ...]
    reasons: tuple[Reason, ...]
    categories: tuple[Category, ...]
    stages: tuple[Stage, ...]
    calendar: WorkCalendar
    params: Params
    products: tuple[ProductMap, ...] = ()
    fingerprint: str = ""
    # (normalised name or alias, entry), the first of each word: what ``reason`` and ``category`` search
    _reason_words: tuple[tuple[str, Reason], ...] = field(default=(), compare=False, hash=False, repr=False)
    _category_words: tuple[tuple[str, Category], ...] = field(default=(), compare=False, hash=False, repr=False)

    def reason(self, text: str | None) -> Reason | None:
        """The policy's reason for a free-text 售后原因: exact name or alias first, then the longest name or
        alias contained in the text (the Douyin export writes 尺码拍错/不喜欢/效果不好 and the like)."""
        return _lookup(text, self._reason_words)

    def category(self, text: str | None) -> Category | None:
        """The policy's category for a 类目 cell: exact, else the longest category name contained in it
        (a Douyin path like 服饰内衣>女装>T恤 has none; 女装/服装 finds 服装)."""
        return _lookup(text, self._category_words)

    def category_for_product(self, sku: str | None, product: str | None) -> str | None:
        """类目 from the 商品 table: by 商家编码/商品ID exactly, else the first keyword contained in the name;
        ``None`` when no row names the product or its row's 类目 is still blank."""
        row = self.product_row(sku, product)
        return row.category or None if row is not None else None

    def product_row(self, sku: str | None, product: str | None) -> ProductMap | None:
        """The 商品 row of a product: rows with a 类目 first (by 商家编码/商品ID exactly, else the first keyword
        contained in the name), then rows still waiting for one."""
        if not self.products:
            return None
        name = norm(product) if product else ""
        for filled in (True, False):
            rows = [r for r in self.products if bool(r.category) is filled]
            found = next((r for r in rows if sku and (r.sku == sku or r.product_id == sku)), None) or next(
                (r for r in rows if name and r.keyword and norm(r.keyword) in name), None
            )
            if found is not None:
                return found
        return None

    def stage(self, name: str, case_type: CaseType | None) -> Stage | None:
        return next((s for s in self.stages if s.name == name and (s.types is None or case_type in s.types)), None)


def _lookup(text: str | None, words: tuple[tuple[str, _Entry], ...]) -> _Entry | None:
    """Exact match of the normalised text, else the entry whose word is the longest contained in it."""
    if not text:
        return None
    key = norm(text)
    found: _Entry | None = None
    longest = 0
    for word, entry in words:
        if word == key:
            return entry
        if word and word in key and len(word) > longest:
            found, longest = entry, len(word)
    return found


# ---------------------------------------------------------------------------------------------- matching


class Unknown:
    """A fact the row does not have (no 类目, no 签收时间): a condition on it is neither true nor false."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


@dataclass(slots=True)
class Situation:
    """What the rule conditions look at, derived from one case's facts.

    ``None`` = does not apply (a condition on it fails: the window of goods never shipped); ``UNKNOWN`` = a fact
    the row is missing (a condition on it is unknown: three-valued logic, SPEC §3).
    """

    type: CaseType
    group: ReasonGroup
    reason: str
    delivered: bool | Unknown
    in_window: bool | Unknown | None
    category_ok: bool | Unknown | None
    evidence: bool
    risk: bool
    paid: Decimal


class Hit(NamedTuple):
    """The rule that decides (``unknown`` empty), or the first rule that cannot be decided because it tests
    facts the row is missing (``unknown`` names those conditions, e.g. ("七天内",))."""

    rule: Rule
    held: tuple[str, ...]
    unknown: tuple[str, ...] = ()


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def conditions_held(rule: Rule, s: Situation) -> tuple[str, ...] | None:
    """The rule's non-blank conditions as words when all of them hold, else ``None`` (an unknown one counts as
    not holding here; ``first_match`` tells the two apart)."""
    hit = _evaluate(rule, s)
    return None if hit is None or hit[1] else hit[0]


CONDITION_HEADERS = {"已签收": "已签收", "在无理由期限内": "七天内", "类目支持无理由退货": "类目支持无理由"}


def _evaluate(rule: Rule, s: Situation) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(conditions that held as words, conditions on unknown facts as their 规则 headers), or ``None`` when a
    known condition fails: three-valued logic, where a failing known condition settles the row whatever the
    unknown ones would be."""
    held: list[str] = []
    unknown: list[str] = []
    if rule.types is not None:
        if s.type not in rule.types:
            return None
        held.append(f"售后类型为{s.type.value}")
    if rule.groups is not None:
        if s.group not in rule.groups:
            return None
        held.append(f"原因属于{s.group.value}")
    if rule.reasons is not None:
        if s.reason not in rule.reasons:
            return None
        held.append(f"原因为{s.reason}")
    for wanted, actual, label in (
        (rule.delivered, s.delivered, "已签收"),
        (rule.in_window, s.in_window, "在无理由期限内"),
        (rule.category_ok, s.category_ok, "类目支持无理由退货"),
        (rule.evidence, s.evidence, "有凭证"),
        (rule.risk, s.risk, "有风险"),
    ):
        if wanted is None:
            continue
        if actual is UNKNOWN:
            unknown.append(CONDITION_HEADERS[label])
            continue
        if actual is None or actual != wanted:
            return None
        held.append(f"{label}：{_yes(actual)}")
    if rule.max_amount is not None:
        if s.paid > rule.max_amount:
            return None
        held.append(f"实付 ¥{s.paid:.2f} 不超过 ¥{rule.max_amount:.2f}")
    return tuple(held), tuple(unknown)


def first_match(policy: Policy, s: Situation) -> Hit | None:
    """Hit policy FIRST in three-valued logic: top to bottom, a rule with a failing known condition is skipped;
    the first rule left either holds (it decides) or tests a fact the row is missing (``Hit.unknown``: the case
    cannot be decided until that fact is filled in). A run remembers the answers (``run.Run.match``).
    """
    for rule in policy.rules:
        hit = hit_of(rule, s)
        if hit is not None:
            return hit
    return None


def hit_of(rule: Rule, s: Situation) -> Hit | None:
    """``rule`` tried alone: the Hit it makes on ``s``, or ``None`` when one of its known conditions fails."""
    found = _evaluate(rule, s)
    return None if found is None else Hit(rule, *found)


# ---------------------------------------------------------------------------------------------- compiling


def default_tables() -> dict[str, list[TableRow]]:
    """The SPEC §3 defaults as policy tables of text, located as the builder lays them out on 规则."""
    from .layout import policy_layout

    tables: dict[str, list[TableRow]] = {}
    for name, (headers, rows) in defaults.TABLES.items():
        first_row, first_col = policy_layout()[name]
        tables[name] = [
            {
                header: PolicyCell(text, Loc("规则", first_row + i, column_letter(first_col + j)))
                for j, (header, text) in enumerate(zip(headers, row))
            }
            for i, row in enumerate(rows)
        ]
    return tables


def policy_tables_from_grid(grid: Iterable[Iterable[object]], sheet: str = "规则") -> dict[str, list[TableRow]]:
    """The policy tables in a sheet's values (rows of cells), found by their titles in column A.

    A table is its title row (the name alone in column A), a header row, then every row until the next title
    (blank rows skipped), so a merchant may add rows anywhere inside a table. Used for the 规则 sheet whether it
    is read by openpyxl or by xlwings.
    """
    titles = {norm(name): name for name in defaults.TABLES}
    tables: dict[str, list[TableRow]] = {}
    current: str | None = None
    headers: list[tuple[int, str]] = []
    expect_headers = False
    for index, values in enumerate(grid, start=1):
        texts = [_cell_text(v) for v in values]
        if texts and norm(texts[0]) in titles and not any(texts[1:2]):
            current = titles[norm(texts[0])]
            tables[current] = []
            expect_headers = True
            continue
        if current is None:
            continue
        if expect_headers:
            headers = []
            for col, text in enumerate(texts):  # contiguous from column A: notes further right are not columns
                if not text:
                    break
                headers.append((col, text))
            expect_headers = False
            continue
        if not any(texts[: len(headers)]):
            continue
        tables[current].append(
            {
                header: PolicyCell(texts[col] if col < len(texts) else "", Loc(sheet, index, column_letter(col + 1)))
                for col, header in headers
            }
        )
    return tables


def _cell_text(value: object) -> str:
    """A policy cell as text: 20.0 → "20", a date → "2027-01-01"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


class _Compiler:
    """Collects problems while turning rows of text into policy objects."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, cell: PolicyCell | None, header: str, message: str) -> None:
        """A problem at ``cell``; at the sheet's top when the row has no such cell."""
        self.problems.append(Problem(cell.loc if cell is not None else Loc("规则", 1, "A"), header, message))

    @staticmethod
    def get(row: TableRow, header: str) -> PolicyCell | None:
        wanted = norm(header)
        for key, cell in row.items():
            if norm(key) == wanted:
                return cell
        return None

    def text(self, row: TableRow, header: str) -> str:
        cell = self.get(row, header)
        return cell.text.strip() if cell else ""

    def number(self, row: TableRow, header: str, low: Decimal, high: Decimal) -> Decimal | None:
        cell = self.get(row, header)
        if cell is None or not cell.text.strip():
            return None
        text = cell.text.strip().rstrip("%％").replace("¥", "").replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.bad(cell, header, f"“{cell.text}” 不是数字")
            return None
        if not low <= value <= high:
            self.bad(cell, header, f"{cell.text} 超出范围（应在 {low} 到 {high} 之间）")
            return None
        return value

    def yes_no(self, row: TableRow, header: str) -> bool | None:
        cell = self.get(row, header)
        if cell is None or not cell.text.strip():
            return None
        value = parse_yes_no(cell.text)
        if value is None:
            self.bad(cell, header, f"“{cell.text}” 应为 是 或 否")
        return value

    @overload
    def choices(
        self, row: TableRow, header: str, parse: Callable[[str], _T | None], choices: Iterable[str],
        as_set: Literal[True] = True,
    ) -> frozenset[_T] | None: ...

    @overload
    def choices(
        self, row: TableRow, header: str, parse: Callable[[str], _T | None], choices: Iterable[str],
        as_set: Literal[False],
    ) -> _T | None: ...

    def choices(
        self, row: TableRow, header: str, parse: Callable[[str], _T | None], choices: Iterable[str], as_set: bool = True
    ) -> frozenset[_T] | _T | None:
        cell = self.get(row, header)
        if cell is None or not cell.text.strip():
            return None
        values = []
        for part in split_list(cell.text) if as_set else [cell.text.strip()]:
            value = parse(part)
            if value is None:
                self.bad(cell, header, f"无法识别“{part}”{did_you_mean(part, choices)}")
                return None
            values.append(value)
        return frozenset(values) if as_set else values[0]

    # -- tables --

    def reasons(self, rows: list[TableRow]) -> tuple[Reason, ...]:
        result = []
        for row in rows:
            name = self.text(row, "售后原因")
            if not name:
                continue
            group = self.choices(row, "原因分组", parse_group, GROUP_CHOICES, as_set=False)
            if group is None and not self.text(row, "原因分组"):
                self.bad(self.get(row, "售后原因"), "原因分组", "为空，每个原因须属于一个分组")
                continue
            needs = self.yes_no(row, "需要凭证")
            aliases = tuple(split_list(self.text(row, "别名")))
            if group is not None:
                result.append(Reason(name, group, bool(needs), aliases))
        return tuple(result)

    def categories(self, rows: list[TableRow]) -> tuple[Category, ...]:
        result = []
        for row in rows:
            name = self.text(row, "类目")
            if not name:
                continue
            cell = self.get(row, "无理由退货")
            support = self.text(row, "无理由退货") or NO_REASON_YES
            allowed = (NO_REASON_YES, NO_REASON_NO, NO_REASON_UNOPENED)
            if support not in allowed:
                self.bad(cell, "无理由退货", f"“{support}” 应为 支持、不支持 或 拆封后不支持{did_you_mean(support, allowed)}")
                continue
            days = self.number(row, "无理由天数", Decimal(0), Decimal(90))
            if days is None:
                days = Decimal(0 if support == NO_REASON_NO else 7)
            if support != NO_REASON_NO and days == 0:
                self.bad(self.get(row, "无理由天数") or cell, "无理由天数", "支持无理由退货的类目天数不能为 0（常用 7 或 15）")
            result.append(Category(name, support, int(days)))
        return tuple(result)

    def stages(self, rows: list[TableRow]) -> tuple[Stage, ...]:
        result = []
        for row in rows:
            name = self.text(row, "阶段")
            if not name:
                continue
            if name not in ("待商家处理", "待退款"):
                self.bad(self.get(row, "阶段"), "阶段", f"“{name}” 应为 待商家处理 或 待退款{did_you_mean(name, ('待商家处理', '待退款'))}")
                continue
            types = self.choices(row, "售后类型", lambda t: parse_type(t, None), TYPE_CHOICES)
            amount = self.number(row, "时长", Decimal(1), Decimal(720))
            unit = self.text(row, "单位") or "小时"
            if unit not in ("小时", "工作日"):
                self.bad(self.get(row, "单位"), "单位", f"“{unit}” 应为 小时 或 工作日")
                continue
            if amount is None:
                self.bad(self.get(row, "时长") or self.get(row, "阶段"), "时长", "为空")
                continue
            result.append(Stage(name, types, int(amount), unit))
        return tuple(result)

    def holidays(self, rows: list[TableRow]) -> WorkCalendar:
        rest, work = set(), set()
        for row in rows:
            cell = self.get(row, "日期")
            if cell is None or not cell.text.strip():
                continue
            try:
                day = date.fromisoformat(cell.text.strip()[:10].replace("/", "-"))
            except ValueError:
                self.bad(cell, "日期", f"“{cell.text}” 不是日期（如 2027-01-01）")
                continue
            kind = self.text(row, "类型") or "休息日"
            if kind in ("休息日", "假日", "节假日", "放假"):
                rest.add(day)
            elif kind in ("补班", "工作日", "调休上班"):
                work.add(day)
            else:
                self.bad(self.get(row, "类型"), "类型", f"“{kind}” 应为 休息日 或 补班")
        return WorkCalendar(frozenset(rest), frozenset(work))

    def params(self, rows: list[TableRow]) -> Params:
        by_name = {self.text(row, "参数"): row for row in rows if self.text(row, "参数")}
        known = {
            "部分退款比例", "小额阈值", "高金额阈值", "重复申请次数", "重复申请天数", "即将超时小时",
            "店铺名称", "回复署名", "退货地址", "语言", "时区", "模板目录",
        }
        for name, row in by_name.items():
            if name not in known:
                self.bad(self.get(row, "参数"), "参数", f"未知参数“{name}”{did_you_mean(name, known)}")
        base = Params()

        def num(name: str, low: int, high: int, default: Decimal | int) -> Decimal:
            row = by_name.get(name)
            value = self.number(row, "值", Decimal(low), Decimal(high)) if row else None
            return Decimal(default) if value is None else value

        def txt(name: str, default: str) -> str:
            row = by_name.get(name)
            return (self.text(row, "值") if row else "") or default

        language = txt("语言", base.language)
        if language not in ("zh-CN", "en"):
            self.bad(self.get(by_name["语言"], "值"), "语言", f"“{language}” 应为 zh-CN 或 en")
            language = base.language
        timezone = txt("时区", base.timezone)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.bad(self.get(by_name["时区"], "值"), "时区", f"“{timezone}” 不是时区名（如 Asia/Shanghai）")
            timezone = base.timezone
        return Params(
            partial_percent=num("部分退款比例", 0, 100, base.partial_percent),
            small_amount=num("小额阈值", 0, 100000, base.small_amount),
            high_value=num("高金额阈值", 0, 10000000, base.high_value),
            repeat_n=int(num("重复申请次数", 2, 1000, base.repeat_n)),
            repeat_days=int(num("重复申请天数", 1, 3650, base.repeat_days)),
            due_soon_hours=int(num("即将超时小时", 0, 720, base.due_soon_hours)),
            shop_name=txt("店铺名称", base.shop_name),
            signature=txt("回复署名", base.signature),
            return_address=txt("退货地址", base.return_address),
            language=language,
            timezone=timezone,
            templates_dir=txt("模板目录", base.templates_dir),
        )

    def products(self, rows: list[TableRow], categories: tuple[Category, ...]) -> tuple[ProductMap, ...]:
        names = [c.name for c in categories]
        result = []
        for row in rows:
            category = self.text(row, "类目")
            keys = (self.text(row, "商家编码"), self.text(row, "商品ID"), self.text(row, "商品名称关键词"))
            if not any(keys):
                continue
            if category and category not in names:
                self.bad(self.get(row, "类目"), "类目", f"“{category}” 不在类目表中{did_you_mean(category, names)}")
                continue
            # A blank 类目 is a product waiting for the merchant (``import`` adds such rows): not a mistake.
            where = (self.get(row, "类目") or next(iter(row.values()))).loc
            result.append(ProductMap(*keys, category, where))
        return tuple(result)

    def rules(self, rows: list[TableRow], reasons: tuple[Reason, ...], params: Params) -> tuple[Rule, ...]:
        reason_names = [r.name for r in reasons]
        result: list[Rule] = []
        seen_ids: set[str] = set()
        for index, row in enumerate(rows, start=1):
            if not any(cell.text.strip() for cell in row.values()):
                continue
            first = next(iter(row.values()))
            rule_id = self.text(row, "编号") or f"第{index}条"
            if rule_id in seen_ids:
                self.bad(self.get(row, "编号"), "编号", f"“{rule_id}” 重复")
            seen_ids.add(rule_id)
            before = len(self.problems)
            decision_cell = self.get(row, "处理建议")
            decision = self.choices(row, "处理建议", parse_decision, DECISION_CHOICES, as_set=False)
            if decision is None and not self.text(row, "处理建议"):
                self.bad(decision_cell or first, "处理建议", "为空，每条规则须给出处理建议")
            elif decision in (Decision.INCOMPLETE, Decision.DONE):
                self.bad(decision_cell, "处理建议", f"“{decision.value}” 由系统判定，不能作为规则结果")
            reasons_cell = self.get(row, "售后原因")
            rule_reasons = None
            if reasons_cell is not None and reasons_cell.text.strip():
                rule_reasons = frozenset(split_list(reasons_cell.text))
                for name in rule_reasons:
                    if name not in reason_names:
                        self.bad(reasons_cell, "售后原因", f"“{name}” 不在原因表中{did_you_mean(name, reason_names)}")
            payer_text = self.text(row, "退货运费") or Payer.NONE.value
            payer = next((p for p in Payer if p.value == payer_text), None)
            if payer is None:
                self.bad(self.get(row, "退货运费"), "退货运费", f"“{payer_text}” 应为 商家、买家 或 无")
            rule = Rule(
                id=rule_id,
                decision=decision or Decision.MANUAL_REVIEW,
                types=self.choices(row, "售后类型", lambda t: parse_type(t, None), TYPE_CHOICES),
                groups=self.choices(row, "原因分组", parse_group, GROUP_CHOICES),
                reasons=rule_reasons,
                delivered=self.yes_no(row, "已签收"),
                in_window=self.yes_no(row, "七天内"),
                category_ok=self.yes_no(row, "类目支持无理由"),
                evidence=self.yes_no(row, "有凭证"),
                risk=self.yes_no(row, "有风险"),
                max_amount=self.number(row, "金额不超过", Decimal(0), Decimal(10000000)),
                percent=self.number(row, "退款比例", Decimal(0), Decimal(100)),
                payer=payer or Payer.NONE,
                template=self.text(row, "回复模板") or None,
                note=self.text(row, "说明"),
                loc=(self.get(row, "编号") or first).loc,
            )
            if len(self.problems) > before:
                continue
            for earlier in result:
                if covers(earlier, rule):
                    self.bad(
                        self.get(row, "编号") or first,
                        "编号",
                        f"规则 {rule.id} 永远不会命中：前面的规则 {earlier.id}（{earlier.loc}）已覆盖它的所有情况，请调整顺序或条件",
                    )
                    break
            result.append(rule)
        if not result:
            self.problems.append(Problem(Loc("规则", 1, "A"), "决策表", "没有任何规则"))
        return tuple(result)


def _set_covers(a: AbstractSet[object] | None, b: AbstractSet[object] | None) -> bool:
    return a is None or (b is not None and b <= a)


def covers(earlier: Rule, later: Rule) -> bool:
    """True when every case ``later`` matches is already matched by ``earlier`` (so ``later`` is dead)."""
    return (
        _set_covers(earlier.types, later.types)
        and _set_covers(earlier.groups, later.groups)
        and _set_covers(earlier.reasons, later.reasons)
        and all(
            a is None or a == b
            for a, b in (
                (earlier.delivered, later.delivered),
                (earlier.in_window, later.in_window),
                (earlier.category_ok, later.category_ok),
                (earlier.evidence, later.evidence),
                (earlier.risk, later.risk),
            )
        )
        and (earlier.max_amount is None or (later.max_amount is not None and later.max_amount <= earlier.max_amount))
    )


def compile_policy(tables: dict[str, list[TableRow]] | None = None) -> tuple[Policy, list[Problem]]:
    """Rows of text → a frozen Policy and every problem found, each located (``规则!C12: …``).

    A missing table falls back to its default, so an old workbook without the 商品 table still works.
    The caller decides what to do with problems (``check`` refuses to run and writes nothing).
    """
    given = tables or {}
    merged = default_tables() | {name: rows for name, rows in given.items() if name in defaults.TABLES}
    c = _Compiler()
    reasons = c.reasons(merged["原因"])
    categories = c.categories(merged["类目"])
    params = c.params(merged["参数"])
    policy = Policy(
        rules=c.rules(merged["决策表"], reasons, params),
        reasons=reasons,
        categories=categories,
        stages=c.stages(merged["时限"]),
        calendar=c.holidays(merged["节假日"]),
        params=params,
        products=c.products(merged["商品"], categories),
        fingerprint=_fingerprint(merged),
        _reason_words=_reason_words(reasons),
        _category_words=tuple({norm(cat.name): cat for cat in categories}.items()),
    )
    return policy, c.problems


def _reason_words(reasons: tuple[Reason, ...]) -> tuple[tuple[str, Reason], ...]:
    index: dict[str, Reason] = {}
    for reason in reasons:
        for word in (reason.name, *reason.aliases):
            index.setdefault(norm(word), reason)
    return tuple(index.items())


def _fingerprint(tables: dict[str, list[TableRow]]) -> str:
    """A short hash of the policy's text, recorded in 记录 so a merchant can tell which rules a run used."""
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        for row in tables[name]:
            for header in sorted(row):
                h.update(f"{header}={row[header].text}\x1f".encode())
            h.update(b"\x1e")
    return h.hexdigest()[:12]


def default_policy() -> Policy:
    """The SPEC §3 defaults, compiled (they compile without problems; a test proves it)."""
    policy, problems = compile_policy()
    assert not problems, problems
    return policy


def now_in(tz: str) -> datetime:
    """The current time in the shop's time zone, naive (every date-time in the engine is shop-local)."""
    return datetime.now(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
