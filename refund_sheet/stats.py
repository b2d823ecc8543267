"""The dashboard's numbers (sheet 统计, `refund-sheet report`) from facts and verdicts, and the sheet's layout as
plain cell values.

Pure: no openpyxl, xlwings, rich or matplotlib. ``Tallies`` counts each case as the check and 更新统计 plans
(``plan.plan_check``, ``plan.plan_stats``) judge it, from the command line, the buttons and ``report`` alike.
``plan`` turns the numbers into cells and chart ranges, so every writer (openpyxl in ``workbook/dashboard.py``, or
an xlwings range write) lays out the same sheet.

Definitions, so a merchant can check a number by hand (docs/dashboard.md says the same in words):
- open = not closed (处理状态 已完结/已关闭/售后失败/用户取消/系统取消/…成功/…关闭, or 人工决定 已完结); INCOMPLETE
  rows count as open.
- pending (待退款) = the refund amount decided for open cases whose decision pays money back.
- refunded (已退款) = what the register's 退款金额 column adds up to over the closed cases that paid: Douyin's
  退款成功/已退款, or closed as 已完结; 售后关闭, 换货成功 → nothing. So a merchant can reconcile it with the sheet.
- refunded by the platform (平台已退款，未经本表判定) = closed as 退款成功/已退款 before the tracker judged them (no
  退款金额 in the sheet): the amount the buyer asked for, as a separate figure, never mixed into 已退款.
- waiting (等待买家) = open cases whose 时效状态 is 等待买家 (待买家退货…).
- hours to answer = 处理时间 − 申请时间, only when the register has an answer-time column (ANSWER_HEADERS).
- refund rate = after-sales cases ÷ orders, for each line of the 订单数 table the merchant fills on 统计.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from .engine.columns import map_headers
from .engine.model import Decision, Facts, Sla, Verdict
from .engine.parse import CellError, parse_datetime
from .engine.vocab import norm

CellValue = str | int | float | Decimal | date | None  # what a cell of 统计 holds (date includes datetime)
Extras = tuple[Decimal | None, datetime | None]  # a row's 退款金额 in the sheet, and when the merchant answered

ZERO = Decimal("0.00")
TOP = 10  # products shown in each top list
MAX_WEEKS = 26  # the week table and line chart show at most the latest half year
BLANK = "（空）"
ANSWER_HEADERS = ("处理时间", "商家处理时间", "首次处理时间", "回复时间", "商家回复时间")
TOTAL_WORDS = frozenset(norm(w) for w in ("全部", "合计", "总计", "全店", "全部商品"))
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


# ------------------------------------------------------------------------------------------------ numbers


@dataclass(frozen=True)
class Group:
    """One line of a breakdown: the cases sharing a reason, a category, a product or a week."""

    key: str
    cases: int
    share: float  # of all cases, 0..1
    open: int
    overdue: int
    requested: Decimal  # 申请金额, what the buyers asked for
    refund: Decimal  # refunded + pending


@dataclass(frozen=True)
class OrderLine:
    """One line of the merchant's 订单数 table on 统计: what was typed, and the rate computed from it."""

    key: object  # as typed: a product name, a week (any date in it, or 2026-W47), or 全部
    orders: object  # as typed
    kind: str  # "product", "week", "total", or "" when the line cannot be used
    cases: int | None = None
    rate: float | None = None
    problem: str = ""


@dataclass(frozen=True)
class Kpis:
    cases: int
    open: int
    overdue: int
    due_soon: int
    incomplete: int
    pending: Decimal
    refunded: Decimal
    answer_hours: float | None  # average, None when the register has no answer times
    answered: int  # how many cases the average is over
    waiting_hours: float | None  # average age of the open cases at "now"
    refund_rate: float | None
    waiting_buyer: int = 0  # open cases waiting on the buyer (时效状态 等待买家)
    refunded_by_platform: Decimal = ZERO  # closed as 退款成功 before the tracker judged them: 申请金额


@dataclass(frozen=True)
class Dashboard:
    """Everything 统计 and ``report`` show; built by ``Tallies.dashboard``."""

    now: datetime | None
    kpis: Kpis
    decisions: tuple[tuple[str, int, float], ...]  # (中文 label, count, share) for every decision, in SPEC order
    reasons: tuple[Group, ...]
    categories: tuple[Group, ...]
    top_by_count: tuple[Group, ...]
    top_by_amount: tuple[Group, ...]
    weeks: tuple[Group, ...]  # key = the Monday, 2026-11-16; every week between the first and the last
    orders: tuple[OrderLine, ...]
    notes: tuple[str, ...] = ()


def compute(
    facts: Sequence[Facts],
    verdicts: Sequence[Verdict],
    now: datetime | None = None,
    *,
    orders: Iterable[tuple[object, object]] = (),
    amounts: Sequence[Decimal | None] | None = None,
    answered: Sequence[datetime | None] | None = None,
) -> Dashboard:
    """The dashboard numbers for one register (``Tallies`` fed every case, then read).

    Args:
        facts, verdicts: one per case, in the same order.
        now: the time of the check; open cases' waiting hours are measured to it.
        orders: the (商品或周, 订单数) lines of the 订单数 table, as typed (``order_lines`` of 统计's values).
        amounts: the 退款金额 already in the sheet per case (closed cases keep it); ``extras_of`` reads it.
        answered: per case, when the merchant answered, if the register has such a column.
    """
    tallies = Tallies(now)
    n = len(facts)
    for f, v, amount, answer in zip(facts, verdicts, amounts or [None] * n, answered or [None] * n):
        tallies.add(f, v, amount, answer)
    return tallies.dashboard(orders)


class _Sum:
    """The running figures of one group (a reason, a category, a product, a week)."""

    __slots__ = ("cases", "open", "overdue", "refund", "requested")

    def __init__(self) -> None:
        self.cases = self.open = self.overdue = 0
        self.requested = self.refund = ZERO

    def group(self, key: str, n: int) -> Group:
        return Group(key, self.cases, _share(self.cases, n), self.open, self.overdue, self.requested, self.refund)


class Tallies:
    """The dashboard's figures, gathered one case at a time (a run judges a big register case by case and keeps
    no record of each). Cases alike in everything the dashboard groups or counts by (decision, 时效状态, reason,
    category, product, day of 申请时间) share one running line of counts and sums; ``dashboard`` adds the lines up
    by group. The hours to answer and the open cases' ages are kept one float each (8 bytes a case), so their
    averages add up in case order to the very float a list of the cases gives."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now
        self.hours: list[float] = []  # in case order
        self.waiting: list[float] = []
        # (decision, sla, reason, category, product, day) → [cases, requested, pending, refunded, by the platform]
        self.lines: dict[tuple, list] = {}

    def add(self, f: Facts, v: Verdict, amount: Decimal | None = None, answered: datetime | None = None) -> None:
        """Count one case: its facts, its verdict, the 退款金额 the sheet holds for it, when it was answered."""
        decision = v.decision
        requested_at = f.requested_at
        if requested_at is not None:
            if answered is not None and answered >= requested_at:
                self.hours.append((answered - requested_at).total_seconds() / 3600)
            if decision is not Decision.DONE and self.now is not None and self.now >= requested_at:
                self.waiting.append((self.now - requested_at).total_seconds() / 3600)
        key = (decision, v.sla, v.reason or f.reason, f.category, f.product,
               requested_at.date() if requested_at is not None else None)
        line = self.lines.get(key)
        if line is None:
            line = self.lines[key] = [0, ZERO, ZERO, ZERO, ZERO]
        line[0] += 1
        if f.requested:
            line[1] += f.requested
        if decision is Decision.DONE:
            refunded, by_platform = _refunded(f, v, amount)
            line[3] += refunded
            line[4] += by_platform
        elif decision.refunds and v.amount is not None:
            line[2] += v.amount

    def _sums(self) -> _Sums:
        """The lines added up: every KPI's count and sum, and the figures of each group."""
        sums = _Sums()
        mondays: dict[date, date] = {}
        for (decision, sla, reason, category, product, day), (cases, requested, pending, refunded, by_platform) in self.lines.items():
            is_open = decision is not Decision.DONE
            overdue = cases if sla is Sla.OVERDUE else 0
            sums.n += cases
            sums.kinds[decision] += cases
            sums.open += cases if is_open else 0
            sums.overdue += overdue
            sums.due_soon += cases if sla is Sla.DUE_SOON else 0
            sums.waiting_buyer += cases if sla is Sla.WAITING else 0
            sums.pending += pending
            sums.refunded += refunded
            sums.by_platform += by_platform
            sums.product_cases[product] = sums.product_cases.get(product, 0) + cases
            refund = pending + refunded + by_platform
            groups: list[tuple[dict, object]] = [
                (sums.reasons, reason or BLANK), (sums.categories, category or BLANK), (sums.products, product or BLANK),
            ]
            if day is not None:
                if day not in mondays:
                    mondays[day] = week_of(day)
                groups.append((sums.weeks, mondays[day]))
            for by, group in groups:
                figures = by.get(group)
                if figures is None:
                    figures = by[group] = _Sum()
                figures.cases += cases
                figures.open += cases if is_open else 0
                figures.overdue += overdue
                figures.requested += requested
                figures.refund += refund
        return sums

    def dashboard(self, orders: Iterable[tuple[object, object]] = ()) -> Dashboard:
        """The dashboard of the cases counted so far, with the merchant's 订单数 lines."""
        sums = self._sums()
        n, hours, waiting = sums.n, self.hours, self.waiting
        lines = _order_lines(orders, sums)
        notes = [f"订单数表：{line.key} {line.problem}" for line in lines if line.problem]
        if not hours:
            notes.append("平均响应小时：登记表没有“处理时间”列（或该列为空），无法计算")
        weeks = sums.week_lines()
        if len(weeks) > MAX_WEEKS:
            notes.append(f"按周：只显示最近 {MAX_WEEKS} 周（共 {len(weeks)} 周）")
            weeks = weeks[-MAX_WEEKS:]
        products = _ranked(sums.products, n)
        return Dashboard(
            now=self.now,
            kpis=Kpis(
                cases=n,
                open=sums.open,
                overdue=sums.overdue,
                due_soon=sums.due_soon,
                incomplete=sums.kinds[Decision.INCOMPLETE],
                pending=sums.pending,
                refunded=sums.refunded,
                answer_hours=round(sum(hours) / len(hours), 1) if hours else None,
                answered=len(hours),
                waiting_hours=round(sum(waiting) / len(waiting), 1) if waiting else None,
                refund_rate=_overall_rate(lines),
                waiting_buyer=sums.waiting_buyer,
                refunded_by_platform=sums.by_platform,
            ),
            decisions=tuple((d.value, k, _share(k, n)) for d, k in sums.kinds.items()),
            reasons=_ranked(sums.reasons, n),
            categories=_ranked(sums.categories, n),
            top_by_count=products[:TOP],
            top_by_amount=tuple(sorted(products, key=lambda g: (-g.requested, -g.cases, g.key)))[:TOP],
            weeks=tuple(weeks),
            orders=lines,
            notes=tuple(notes),
        )


class _Sums:
    """What ``Tallies`` lines add up to: the KPIs' counts and sums, and each group's figures."""

    def __init__(self) -> None:
        self.n = self.open = self.overdue = self.due_soon = self.waiting_buyer = 0
        self.kinds = dict.fromkeys(Decision, 0)
        self.pending = self.refunded = self.by_platform = ZERO
        self.reasons: dict[str, _Sum] = {}
        self.categories: dict[str, _Sum] = {}
        self.products: dict[str, _Sum] = {}
        self.weeks: dict[date, _Sum] = {}
        self.product_cases: dict[str | None, int] = {}  # as typed, for the 订单数 lines

    def week_lines(self) -> list[Group]:
        """Every week from the first to the last 申请时间, empty weeks included (the line chart needs them)."""
        if not self.weeks:
            return []
        lines, monday, last = [], min(self.weeks), max(self.weeks)
        while monday <= last:
            lines.append((self.weeks.get(monday) or _Sum()).group(monday.isoformat(), self.n))
            monday += timedelta(days=7)
        return lines

    def cases_of_week(self, monday: date) -> int:
        figures = self.weeks.get(monday)
        return figures.cases if figures else 0

    def cases_of_product(self, name: str) -> int:
        wanted = norm(name)
        return sum(count for product, count in self.product_cases.items() if norm(product or "") == wanted)


def _refunded(f: Facts, v: Verdict, sheet_amount: Decimal | None) -> tuple[Decimal, Decimal]:
    """What a closed case paid back: (from the sheet's 退款金额, by the platform before the tracker judged it);
    see the module docstring."""
    if v.decision is not Decision.DONE:
        return ZERO, ZERO
    status = norm(f.status or "")
    if "退款成功" in status or "已退款" in status:
        if sheet_amount is not None:
            return sheet_amount, ZERO
        return ZERO, f.requested if f.requested is not None else ZERO
    if (status in ("已完结", "完结") or f.override is Decision.DONE) and sheet_amount:
        return sheet_amount, ZERO
    return ZERO, ZERO


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _ranked(by: dict[str, _Sum], n: int) -> tuple[Group, ...]:
    """One Group per key, most cases first (then larger amount, then name: a stable order)."""
    groups = [figures.group(key, n) for key, figures in by.items()]
    return tuple(sorted(groups, key=lambda g: (-g.cases, -g.requested, g.key)))


def week_of(moment: datetime | date) -> date:
    """The Monday of the week holding ``moment``."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


# ------------------------------------------------------------------------------------------------ 订单数


def _order_key(value: object) -> tuple[str, object]:
    """(kind, key) for the first cell of an 订单数 line: 全部 → total; a date or 2026-W47 → its week's Monday;
    any other text → a product name."""
    if isinstance(value, str):
        text = value.strip()
        if norm(text) in TOTAL_WORDS:
            return "total", None
        match = _ISO_WEEK.match(text)
        if match:
            try:
                return "week", date.fromisocalendar(int(match[1]), int(match[2]), 1)
            except ValueError:
                return "", f"“{text}” 不是有效的周"
        if not re.match(r"^\d{4}\s*[-/.年]", text):
            return "product", text
    try:
        return "week", week_of(parse_datetime(value, "Asia/Shanghai"))
    except CellError as error:
        return "", str(error)


def _order_count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() and number > 0 else None


def _order_lines(orders: Iterable[tuple[object, object]], sums: _Sums) -> tuple[OrderLine, ...]:
    """Each line of the 订单数 table with its case count and rate; a line that cannot be read says why."""
    lines = []
    for key, count in orders:
        if _blank(key) and _blank(count):
            continue
        if _blank(key):
            lines.append(OrderLine(key, count, "", problem="没有填写商品或周"))
            continue
        kind, target = _order_key(key)
        orders_n = _order_count(count)
        if kind == "":
            lines.append(OrderLine(key, count, "", problem=str(target)))
            continue
        if orders_n is None:
            lines.append(OrderLine(key, count, "", problem=f"订单数“{'' if count is None else count}”不是正整数"))
            continue
        if kind == "total":
            hits = sums.n
        elif kind == "week":
            assert isinstance(target, date)
            hits = sums.cases_of_week(target)
        else:
            hits = sums.cases_of_product(str(target))
        lines.append(OrderLine(key, count, kind, hits, round(hits / orders_n, 4)))
    return tuple(lines)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _overall_rate(lines: tuple[OrderLine, ...]) -> float | None:
    """The shop's refund rate: a 全部 line if there is one, else all week lines together, else all product lines
    (kinds are never mixed: a case would count twice)."""
    for kind in ("total", "week", "product"):
        chosen = [line for line in lines if line.kind == kind]
        if chosen:
            orders = sum(_order_count(line.orders) or 0 for line in chosen)
            return round(sum(line.cases or 0 for line in chosen) / orders, 4) if orders else None
    return None


def extras_of(headers: Sequence[object], tz: str = "Asia/Shanghai") -> Callable[[Sequence[object]], Extras]:
    """A function from a row's values (under ``headers``) to what ``Tallies.add`` takes besides its facts and
    verdict: the 退款金额 already in the sheet and when the merchant answered, if the register has an answer-time
    column (处理时间, 商家处理时间, …). Unreadable cells are ``None``: they only leave a number out."""
    found = map_headers(list(headers))
    amount_at = found.get("amount")
    wanted = {norm(h) for h in ANSWER_HEADERS}
    answer_at = next((i for i, h in enumerate(headers) if h is not None and norm(str(h)) in wanted), None)

    def extras(values: Sequence[object]) -> Extras:
        amount = _money(values[amount_at]) if amount_at is not None and amount_at < len(values) else None
        answer = None
        if answer_at is not None and answer_at < len(values) and not _blank(values[answer_at]):
            try:
                answer = parse_datetime(values[answer_at], tz)
            except CellError:
                answer = None
        return amount, answer

    return extras


def _money(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


# ------------------------------------------------------------------------------------------------ layout

# Styles a writer gives each cell; the numbers' formats are the writer's business.
TITLE, SUBTITLE, BLOCK, HEADER, LABEL, KPI, TEXT, INT, MONEY, PERCENT, HOURS, INPUT, NOTE = (
    "title", "subtitle", "block", "header", "label", "kpi", "text", "int", "money", "percent", "hours", "input", "note",
)
KPI_STYLE = {INT: KPI, MONEY: "kpi-money", PERCENT: "kpi-percent", HOURS: "kpi-hours"}  # big figures on the cards
SUBTITLE_CELL = (2, 1)
KPI_PER_ROW = 6  # two rows of cards, columns A–F
ORDERS_TITLE = "订单数（在下表填写，用于计算退款率）"
ORDERS_HEADERS = ("商品或周", "订单数", "售后单数", "退款率", "说明")
ORDERS_HINTS = ("← 商品名称 + 该商品的订单数", "← 某周任一天（2026-11-16 或 2026-W47）+ 该周订单数", "← 全部 + 全店订单数")
SPARE_ORDER_ROWS = 5
CHART_COL = 9  # charts stand from column I, right of the tables (A–G)
CHART_ROWS = 16  # a chart's height in rows, more when it has many bars so every label shows
BLOCK_TITLES = (
    "概览", ORDERS_TITLE, "处理建议分布", "按售后原因", "按商品类目", "商品 Top 10（按单数）", "商品 Top 10（按申请金额）",
    "按周（申请时间）", "说明",
)


@dataclass(frozen=True)
class Cell:
    value: CellValue
    style: str


@dataclass(frozen=True)
class ChartSpec:
    """A native chart: categories and values are one column each, rows ``first``..``last`` (1-based)."""

    kind: str  # "bar" or "line"
    title: str
    y_title: str
    cat_col: int
    val_col: int
    header_row: int  # the values' header cell gives the series name
    first: int
    last: int
    anchor: tuple[int, int]  # (row, column) of the top-left corner
    rows: int = 16  # height in sheet rows (15-point rows: about 0.53 cm each)


@dataclass(frozen=True)
class Plan:
    """The 统计 sheet as cells and charts. ``cells`` holds every value the sheet should have; the one at
    ``SUBTITLE_CELL`` carries the time of the run and is left out of ``content`` (what "changed" means)."""

    cells: dict[tuple[int, int], Cell]
    charts: tuple[ChartSpec, ...]
    orders_rows: tuple[int, int]  # the 订单数 table's first and last body rows (input in columns A and B)

    def content(self) -> dict[tuple[int, int], object]:
        return {pos: c.value for pos, c in self.cells.items() if pos != SUBTITLE_CELL and c.value not in (None, "")}


GROUP_HEADERS = ("单数", "占比", "未完结", "已超时", "申请金额", "退款金额")
GROUP_STYLES = (INT, PERCENT, INT, INT, MONEY, MONEY)


STATS_TITLE = "售后统计"  # A1 of the dashboard: how a run knows a sheet named 统计 is its own
WAITING_LABEL = "未完结平均等待（小时）"  # the one KPI that moves with the clock alone


def kpi_items(k: Kpis) -> list[tuple[str, CellValue, str]]:
    """(label, value, style) of the KPI cards, in display order; shared by 统计 and ``report``."""
    return [
        ("售后单数", k.cases, INT),
        ("未完结", k.open, INT),
        ("已超时", k.overdue, INT),
        ("即将超时", k.due_soon, INT),
        ("等待买家", k.waiting_buyer, INT),
        ("信息不全", k.incomplete, INT),
        ("待退款金额", k.pending, MONEY),
        ("已退款金额", k.refunded, MONEY),
        ("平台已退款（未经本表判定）", k.refunded_by_platform, MONEY),
        ("平均响应（小时）", k.answer_hours if k.answer_hours is not None else "—", HOURS),
        (WAITING_LABEL, k.waiting_hours if k.waiting_hours is not None else "—", HOURS),
        ("退款率", k.refund_rate if k.refund_rate is not None else "—", PERCENT),
    ]


def _as_typed(value: object) -> CellValue:
    """What the merchant typed into 订单数, to write back as it was: a value a cell holds, else its text."""
    return value if value is None or isinstance(value, (str, int, float, Decimal, date)) else str(value)


def plan(d: Dashboard) -> Plan:
    """Lay the dashboard out: KPI cards on top, the 订单数 input table, then one table per breakdown down
    columns A–G, and three charts in a column to the right (bar by reason, bar by product, line by week)."""
    cells: dict[tuple[int, int], Cell] = {}

    def put(row: int, col: int, value: CellValue, style: str) -> None:
        cells[(row, col)] = Cell(value, style)

    put(1, 1, STATS_TITLE, TITLE)
    when = d.now.strftime("%Y-%m-%d %H:%M") if d.now else "尚未检查"
    put(*SUBTITLE_CELL, f"统计时间：{when}　由“检查全部 / 更新统计”或 refund-sheet check 重建；请只在“订单数”表中填写", SUBTITLE)

    row = 4
    put(row, 1, "概览", BLOCK)
    items = kpi_items(d.kpis)
    for i, (label, value, style) in enumerate(items):
        r, c = row + 1 + 2 * (i // KPI_PER_ROW), 1 + i % KPI_PER_ROW
        put(r, c, label, LABEL)
        put(r + 1, c, value, KPI_STYLE[style])
    row += 6

    put(row, 1, ORDERS_TITLE, BLOCK)
    for c, h in enumerate(ORDERS_HEADERS, start=1):
        put(row + 1, c, h, HEADER)
    first_order = row + 2
    for i, line in enumerate(d.orders):
        r = first_order + i
        put(r, 1, _as_typed(line.key), INPUT)
        put(r, 2, _as_typed(line.orders), INPUT)
        put(r, 3, line.cases, INT)
        put(r, 4, line.rate, PERCENT)
        put(r, 5, line.problem or {"total": "全店", "week": "按周", "product": "按商品"}[line.kind], NOTE)
    for i in range(len(d.orders), len(d.orders) + SPARE_ORDER_ROWS):
        put(first_order + i, 1, None, INPUT)
        put(first_order + i, 2, None, INPUT)
        if not d.orders and i < len(ORDERS_HINTS):
            put(first_order + i, 5, ORDERS_HINTS[i], NOTE)  # how to fill it, until the merchant has
    last_order = first_order + len(d.orders) + SPARE_ORDER_ROWS - 1
    row = last_order + 2

    charts: list[ChartSpec] = []

    def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[CellValue]], styles: Sequence[str]) -> tuple[int, int]:
        nonlocal row
        put(row, 1, title, BLOCK)
        for c, h in enumerate(headers, start=1):
            put(row + 1, c, h, HEADER)
        first = row + 2
        for i, values in enumerate(rows):
            for c, (value, style) in enumerate(zip(values, styles), start=1):
                put(first + i, c, value, style)
        if not rows:
            put(first, 1, "（暂无数据）", NOTE)
        last = first + len(rows) - 1
        row = max(last, first) + 2
        return first, last

    def chart(kind: str, title: str, y_title: str, first: int, last: int) -> None:
        if last >= first:
            top = charts[-1].anchor[0] + charts[-1].rows + 2 if charts else 4
            rows = max(CHART_ROWS, last - first + 8) if kind == "bar" else CHART_ROWS
            charts.append(ChartSpec(kind, title, y_title, 1, 2, first - 1, first, last, (top, CHART_COL), rows))

    table("处理建议分布", ("处理建议", "单数", "占比"), d.decisions, (TEXT, INT, PERCENT))
    group_rows = lambda groups: [(g.key, g.cases, g.share, g.open, g.overdue, g.requested, g.refund) for g in groups]  # noqa: E731
    first, last = table("按售后原因", ("售后原因",) + GROUP_HEADERS, group_rows(d.reasons), (TEXT,) + GROUP_STYLES)
    chart("bar", "售后单数：按售后原因", "单数", first, last)
    table("按商品类目", ("商品类目",) + GROUP_HEADERS, group_rows(d.categories), (TEXT,) + GROUP_STYLES)
    first, last = table("商品 Top 10（按单数）", ("商品",) + GROUP_HEADERS, group_rows(d.top_by_count), (TEXT,) + GROUP_STYLES)
    chart("bar", "售后单数：按商品（Top 10）", "单数", first, last)
    table("商品 Top 10（按申请金额）", ("商品",) + GROUP_HEADERS, group_rows(d.top_by_amount), (TEXT,) + GROUP_STYLES)
    first, last = table("按周（申请时间）", ("周（周一）",) + GROUP_HEADERS, group_rows(d.weeks), (TEXT,) + GROUP_STYLES)
    chart("line", "售后单数：按周", "单数", first, last)
    if d.notes:
        put(row, 1, "说明", BLOCK)
        for i, note in enumerate(d.notes, start=1):
            put(row + i, 1, note, NOTE)
    return Plan(cells, tuple(charts), (first_order, last_order))


def order_lines(rows) -> list[tuple[object, object]]:
    """The 订单数 lines the merchant typed on 统计, from rows of its first two columns: from the 商品或周 | 订单数
    header row to the next table's title, blank lines skipped. Shared by the file path and the Excel button."""
    pairs = [tuple((list(r) + [None, None])[:2]) for r in rows]
    header = next((i for i, pair in enumerate(pairs) if pair == ORDERS_HEADERS[:2]), None)
    if header is None:
        return []
    lines = []
    for a, b in pairs[header + 1 :]:
        if isinstance(a, str) and a.strip() in BLOCK_TITLES:
            break
        if a in (None, "") and b in (None, ""):
            continue
        lines.append((a, b))
    return lines
