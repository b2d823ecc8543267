"""Each user action as a plan: a value that says what to write, computed from what was read. No I/O here.

The command line (``service``: a file, through ``workbook``) and the ribbon (``excel``: the open book, through
xlwings) read the same things into a ``Register`` (plus 规则's policy, 统计's values, 记录's last row), call the same
plan function and apply the plan they get back. Only reading and applying differ; every decision — which rows are
cases, where new output columns go, which cells change, what 统计 shows, the 记录 line — is made here, once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, TypeVar

from . import stats
from .engine import Decision, Facts, Policy, Run, Sla, Verdict
from .engine.batching import without_gc_pauses
from .engine.columns import (
    OUTPUT_COLUMNS,
    blank,
    cell_text,
    column_letter,
    locate_header,
    map_headers,
    missing_required,
    used_width,
)
from .engine.decide import judge, risks_of_all, waiting_lines_of, waits_for
from .engine.parse import Reader
from .errors import RefundSheetError, WorkbookError

if TYPE_CHECKING:
    from .imports import MergePlan

T = TypeVar("T", covariant=True)
Progress = Callable[[str, int, "int | None"], None]
"""A progress callback, (stage, done, total or None when unknown): cli.py passes a progress bar, None is quiet."""

REGISTER_SHEET = "退款登记"
POLICY_SHEET = "规则"
STATS_SHEET, LOG_SHEET = "统计", "记录"
LOG_HEADERS = ("时间", "操作", "文件", "检查行数", "变更行数", "处理建议分布", "信息不全", "规则指纹")
# A merchant's own sheet that happens to bear the name is never touched: the tool's goes under the second name.
STATS_NAMES, LOG_NAMES = (STATS_SHEET, "售后统计"), (LOG_SHEET, "运行记录")
MAX_COLUMN, MAX_ROW = 16_384, 1_048_576  # XFD, and Excel's last row
HEADER_SCAN_ROWS = 20  # a header row further down is not looked for
REPLY_KEYS, SLA_KEYS = ("reply",), ("deadline", "sla")  # what 生成回复 and 刷新时效 change


class Counted(Protocol[T]):
    """What ``ticking`` walks: anything with a length that iterates (a list, a range, a ``Judging``)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[T]: ...


def ticking(items: Counted[T], progress: Progress | None, stage: str, every: int = 200):
    """Yield ``items``, telling ``progress`` how far along ``stage`` is every ``every`` items and at the end."""
    total = len(items)
    for done, item in enumerate(items):
        if progress is not None and done % every == 0:
            progress(stage, done, total)
        yield item
    if progress is not None:
        progress(stage, total, total)


def in_parts(items: Sequence, progress: Progress | None, stage: str, size: int = 5000):
    """Yield ``items`` in slices of ``size``, telling ``progress`` how many items are done before each and at the end."""
    total = len(items)
    for start in range(0, total, size):
        if progress is not None:
            progress(stage, start, total)
        yield items[start : start + size]
    if progress is not None:
        progress(stage, total, total)


# ------------------------------------------------------------------------------------------------ what was read


@dataclass(frozen=True)
class Register:
    """What a front end read of the register.

    ``rows`` are the cases: (sheet row, the values under the headers), every row below the header row that holds
    a value under a header — a note in a column beside the register makes no case, nor does an Excel Table's
    totals row. ``used_col`` is the last sheet column holding anything (a value or a formula) at or below the
    header row: new output columns go right of it. ``old(row, column)`` is what a cell holds now (by sheet row and
    column; '' when blank); a front end may give a long output text as any value whose ``matches(text)`` says
    whether it is that text. ``formulas`` are the (row, column) cells holding a formula of the merchant's.
    """

    sheet: str
    header_row: int
    first_col: int
    headers: tuple[object, ...]
    found: dict[str, int]  # canonical key → 0-based position in headers
    rows: Sequence[tuple[int, Sequence[object]]]
    used_col: int
    old: Callable[[int, int], object]
    formulas: Collection[tuple[int, int]] = frozenset()

    @property
    def last_col(self) -> int:
        return self.first_col + max(len(self.headers), 1) - 1

    def column(self, key: str) -> int:
        return self.first_col + self.found[key]

    def letters(self) -> dict[str, str]:
        return {key: column_letter(self.column(key)) for key in self.found}


@dataclass(frozen=True)
class TableArea:
    """An Excel Table (a ListObject) on a sheet: its header row, first and last column, last row (totals
    included) and how many totals rows it has."""

    header_row: int
    first_col: int
    last_col: int
    last_row: int
    totals_rows: int = 0


def register_of_grid(
    grid: Sequence[Sequence[object]],
    sheet: str,
    table: TableArea | None = None,
    formulas: Collection[tuple[int, int]] = frozenset(),
) -> Register:
    """The register in a sheet's values (row 0 = sheet row 1, column 0 = A: one xlwings range read): inside
    ``table`` when the register is an Excel Table, else under the first of the top rows that holds the required
    headers. ``formulas`` are the (row, column) cells that hold a formula. Raises LookupError naming the missing
    columns when there is no header row."""
    if table is not None:
        first, header_row = table.first_col, table.header_row
        headers = list((list(grid[header_row - 1]) + [None] * table.last_col)[first - 1 : table.last_col])
        found = map_headers(headers)
        totals = set(range(table.last_row - table.totals_rows + 1, table.last_row + 1))
    else:
        index, headers, found = locate_header(grid, HEADER_SCAN_ROWS)
        first, header_row, totals = 1, index + 1, set()
    width = len(headers)
    rows = []
    used = max([used_width(grid[header_row - 1])] + [column for row, column in formulas if row >= header_row])
    for number, values in enumerate(grid[header_row:], start=header_row + 1):
        used = max(used, used_width(values))
        cells = list(values[first - 1 : first - 1 + width])
        cells += [None] * (width - len(cells))
        if number not in totals and not all(blank(v) for v in cells):
            rows.append((number, tuple("" if v is None else v for v in cells)))

    def old(row: int, column: int) -> object:
        values = grid[row - 1] if 0 < row <= len(grid) else ()
        value = values[column - 1] if 0 < column <= len(values) else None
        return "" if value is None else value

    return Register(sheet, header_row, first, tuple(headers), found, tuple(rows), used, old, frozenset(formulas))


def find_register(
    names: Sequence[str],
    top_rows: Callable[[str], Sequence[Sequence[object]]],
    tables: Callable[[str], Sequence[tuple[TableArea, Sequence[object]]]] = lambda name: (),
) -> tuple[str, TableArea | None]:
    """Where the register is: on 退款登记, else on the first sheet (in tab order) that has one; on a sheet, the
    first Excel Table whose headers hold the required columns, else the first of the sheet's top rows that does.
    ``top_rows(name)`` gives a sheet's first rows, ``tables(name)`` its Tables with their header cells. Raises
    LookupError naming the sheet that came closest and what it lacks."""
    ordered = sorted(names, key=lambda name: name != REGISTER_SHEET)
    closest: tuple[str, int, str] | None = None
    for name in ordered:
        for table, headers in tables(name):
            found = map_headers(list(headers))
            if not missing_required(found, list(headers)):
                return name, table
        try:
            locate_header(top_rows(name), HEADER_SCAN_ROWS)
            return name, None
        except LookupError as error:
            size = max((len(map_headers(list(r))) for r in top_rows(name)), default=0)
            if closest is None or size > closest[1] or (name == REGISTER_SHEET and closest[0] != REGISTER_SHEET):
                closest = (name, size, str(error))
    if closest is None:
        raise LookupError("工作簿中没有工作表")
    raise LookupError(f"{closest[0]} {closest[2]}")


def tool_sheet(names: tuple[str, ...], taken: Iterable[str], ours: Callable[[str], bool]) -> str:
    """Where a sheet the tool owns goes: the first of ``names`` that is free or that ``ours(name)`` says is the
    tool's own (a merchant's sheet that happens to bear the name is never written)."""
    taken = set(taken)
    for name in names:
        if name not in taken or ours(name):
            return name
    raise WorkbookError(
        f"工作簿里的“{'”“'.join(names)}”都是您自己的工作表，没有地方写统计和记录：请把其中一个改名后再运行，文件未改动"
    )


def is_stats_sheet(grid: Sequence[Sequence[object]]) -> bool:
    return bool(grid) and bool(grid[0]) and grid[0][0] == stats.STATS_TITLE


def is_log_sheet(grid: Sequence[Sequence[object]]) -> bool:
    filled = [r for r in grid if used_width(r)]
    return not filled or tuple((list(grid[0]) + [None] * len(LOG_HEADERS))[: len(LOG_HEADERS)]) == LOG_HEADERS


def log_place(grid: Sequence[Sequence[object]]) -> tuple[int, bool]:
    """Where the next 记录 line goes in a log sheet's values: (its row, whether the header row must be written
    first). An empty sheet gets the header in row 1 and the line in row 2."""
    last = max((i + 1 for i, values in enumerate(grid) if used_width(values)), default=0)
    if last == 0:
        return 2, True
    return last + 1, False


def output_columns(register: Register) -> tuple[dict[str, int], tuple[str, ...]]:
    """Sheet columns of the output columns, and the headers of those the register lacks: those go right of the
    headers and of any value the merchant keeps beyond them, so no cell of theirs is ever written over."""
    columns: dict[str, int] = {}
    new: list[str] = []
    next_col = max(register.last_col, register.used_col) + 1
    for column in OUTPUT_COLUMNS:
        if column.key in register.found:
            columns[column.key] = register.column(column.key)
        else:
            columns[column.key] = next_col
            new.append(column.header)
            next_col += 1
    if next_col - 1 > MAX_COLUMN:
        raise WorkbookError(
            f"{register.sheet} 右侧已用到第 {register.used_col} 列，放不下 {len(new)} 个结果列（Excel 最多 {MAX_COLUMN} 列）："
            "请删除右侧多余的列后再运行，文件未改动"
        )
    return columns, tuple(new)


# ------------------------------------------------------------------------------------------------ judging


def output_values(verdict: Verdict, now: datetime) -> dict[str, object]:
    """The values of the output columns for one verdict (SPEC §2), keyed by canonical key."""
    # Enum members' _value_ is their value: ``.value`` is a property in Python 3.11, ten times slower, and this runs
    # for every row of every run.
    if verdict.decision is Decision.DONE:
        return {"decision": verdict.decision._value_, "sla": Sla.CLOSED._value_}
    risks = "；".join(verdict.risks)
    values: dict[str, object] = {
        "decision": verdict.decision._value_,
        "amount": verdict.amount,
        "payer": verdict.payer._value_ if verdict.payer else None,
        "deadline": verdict.deadline,
        "sla": verdict.sla._value_ if verdict.sla else None,
        "risks": cell_text(risks) if risks else None,  # text that may quote the merchant's cells or 规则
        "rule_id": cell_text(verdict.rule_id) if verdict.rule_id else None,
        "explanation": cell_text(verdict.explanation),
        "checked_at": now,
    }
    return values


class Judging:
    """A register's cases judged one at a time, in register order.

    Every row is parsed first (a repeated 售后单号 or a buyer's third case looks at the whole register); each case
    is then judged as the caller takes it, and its facts are let go once the caller has moved past them, so a
    run over a full sheet never holds a verdict per row nor, by its end, the facts. Iterate once; ``warnings``
    then holds the run's (the calendar's unknown years).
    """

    @without_gc_pauses  # a million facts: none of them makes a cycle
    def __init__(
        self,
        headers: Sequence[object],
        rows: Sequence[tuple[int, Sequence[object]]],
        sheet: str,
        policy: Policy,
        now: datetime,
        letters: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.run = Run(policy)  # this judging's look-ups and calendar warnings; the policy itself is never changed
        self.rows, self.now = rows, now
        reader = Reader(map_headers(list(headers)), letters or {}, sheet, self.run)
        facts = [f for part in in_parts(rows, progress, "读取") for f in reader.read_all(part)]
        if progress is not None:  # seconds at a full sheet: the merchant sees what it is doing
            progress(RISKS_STAGE, 0, None)
        self._risks = risks_of_all(facts, policy)
        self._facts: list[Facts | None] = [*facts]  # emptied as the cases are judged
        del facts
        self._started = False

    @classmethod
    def of_register(cls, register: Register, policy: Policy, now: datetime, progress: Progress | None = None) -> Judging:
        return cls(register.headers, register.rows, register.sheet, policy, now, register.letters(), progress)

    def __len__(self) -> int:
        return len(self._facts)

    def __iter__(self) -> Iterator[tuple[int, Sequence[object], Facts, Verdict]]:
        """(sheet row, the row's values, facts, verdict) of each case."""
        if self._started:
            raise RuntimeError("a Judging is iterated once: its facts are let go as it goes")
        self._started = True
        facts, risks, rows, run, now = self._facts, self._risks, self.rows, self.run, self.now
        for start in range(0, len(facts), SLICE):
            stop = min(start + SLICE, len(facts))
            for i in range(start, stop):
                f = facts[i]
                assert f is not None
                number, values = rows[i]
                yield number, values, f, judge(f, run, now, risks[i])
            facts[start:stop] = [None] * (stop - start)

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.run.warnings()


SLICE = 4096  # facts let go together
RISKS_STAGE = "核对风险"  # the cross-row risks, between reading the rows and judging them


def row_outputs(facts: Facts, verdict: Verdict, now: datetime, renderer=None) -> dict[str, object]:
    """The output values of one judged case by key; ``renderer`` (from ``replies``) gives an open case its reply,
    without it the reply is left alone."""
    values = output_values(verdict, now)
    if renderer is not None and verdict.decision is not Decision.DONE:
        values["reply"] = cell_text(renderer(facts, verdict))
    return values


def same_value(old: object, new: object) -> bool:
    """Whether a cell already holds the value a run would write.

    Values read back are compared by what they mean: 20 or 20.0 is ¥20.00; a date-time read as a whole day
    (calamine gives a ``date`` for midnight) or a hair off from float rounding is the same moment; a long text
    kept as its digest matches the text it was made from.
    """
    matches = getattr(old, "matches", None)
    if matches is not None:
        return bool(matches(new))
    if isinstance(new, Decimal) and isinstance(old, (int, float, Decimal)) and not isinstance(old, bool):
        return Decimal(str(old)) == new
    if isinstance(new, datetime) and isinstance(old, date):
        if not isinstance(old, datetime):
            old = datetime(old.year, old.month, old.day)
        return abs((old.replace(tzinfo=None) - new.replace(tzinfo=None)).total_seconds()) < 0.5
    if new in (None, "") and old in (None, ""):
        return True
    return old == new


@dataclass
class Tally:
    """A run's counts, for the summary, the 记录 line and the tests."""

    rows: int = 0
    changed: int = 0
    by_decision: Counter = field(default_factory=Counter)
    overdue: int = 0
    due_soon: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fingerprint: str = ""
    _waiting: list[int] = field(default_factory=lambda: [0, 0], init=False, repr=False, compare=False)  # 类目, 签收时间

    def add(self, verdict: Verdict) -> None:
        """Count one case's verdict."""
        decision = verdict.decision
        self.rows += 1
        self.by_decision[decision] += 1
        self.overdue += verdict.sla is Sla.OVERDUE
        self.due_soon += verdict.sla is Sla.DUE_SOON
        if decision is Decision.INCOMPLETE:
            self.errors.append(verdict.explanation)
            category, signed = waits_for(verdict)
            self._waiting[0] += category
            self._waiting[1] += signed

    def finish(self, warnings: Iterable[str]) -> None:
        """The run's warnings, and what the cases counted wait on (issue 15)."""
        self.warnings = list(warnings) + waiting_lines_of(*self._waiting)

    def kinds(self) -> str:
        """Decisions by kind, the most frequent first: ``退货退款 3，信息不全 1``."""
        order = list(Decision)
        ranked = sorted(self.by_decision.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
        return "，".join(f"{d.value} {n}" for d, n in ranked)

    def lines(self) -> list[str]:
        """A few lines for the merchant: rows, decisions by kind, overdue, errors, warnings."""
        lines = [
            f"已检查 {self.rows} 行，更新 {self.changed} 行：{self.kinds() or '无'}",
            f"已超时 {self.overdue}，即将超时 {self.due_soon}，信息不全 {len(self.errors)}",
        ]
        lines += [f"  {e}" for e in self.errors[:10]]
        if len(self.errors) > 10:
            lines.append(f"  …另有 {len(self.errors) - 10} 行信息不全")
        lines += [f"注意：{w}" for w in self.warnings]
        return lines


def log_row(tally: Tally, source: str, name: str, at: datetime) -> tuple[object, ...]:
    """The 记录 line of a run: time, what ran it, file, rows checked, rows changed, decisions by kind, errors,
    policy fingerprint (LOG_HEADERS)."""
    return (at, source, name, tally.rows, tally.changed, tally.kinds() or "无", len(tally.errors), tally.fingerprint)


# ------------------------------------------------------------------------------------------------ 统计


@dataclass(frozen=True)
class Board:
    """The dashboard of a run, its sheet layout, and whether 统计 differs from it (an identical one is no change)."""

    dashboard: stats.Dashboard
    plan: stats.Plan
    stale: bool
    moved: bool = True  # stale in more than the figures that follow the clock (the open cases' waiting hours)


def board_of(tallies: stats.Tallies, stats_grid: Sequence[Sequence[object]], charts: int | None = None) -> Board:
    """The dashboard of every case ``tallies`` counted (``stats.Tallies``: each case with its facts, verdict and
    the 退款金额 the sheet holds for it), keeping the 订单数 lines of ``stats_grid`` (统计's values), and whether 统计
    — those values and, when known, its ``charts`` count — already shows it."""
    board = tallies.dashboard(stats.order_lines(stats_grid))
    plan = stats.plan(board)
    shown, wanted = grid_content(stats_grid), grid_content(plan.content())
    other_charts = charts is not None and charts != len(plan.charts)
    clock = {(r + 1, c) for (r, c), cell in plan.cells.items() if cell.value == stats.WAITING_LABEL}
    moved = other_charts or _without(shown, clock) != _without(wanted, clock)
    return Board(board, plan, other_charts or shown != wanted, moved)


def _without(content: dict, cells: set) -> dict:
    return {position: value for position, value in content.items() if position not in cells}


def grid_content(source) -> dict[tuple[int, int], object]:
    """(row, column) → value of every non-blank cell but the subtitle (a grid, or ``Plan.content()``), numbers
    as rounded floats, so a sheet read back compares equal to the plan it shows."""
    cells: Iterable[tuple[tuple[int, int], object]]
    if isinstance(source, dict):
        cells = source.items()
    else:
        cells = (((r, c), v) for r, row in enumerate(source, start=1) for c, v in enumerate(row, start=1))
    content = {}
    for position, value in cells:
        if value in (None, "") or position == stats.SUBTITLE_CELL:
            continue
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            value = round(float(value), 6)
        elif isinstance(value, datetime):
            value = value.replace(microsecond=0)
        elif isinstance(value, date):  # calamine reads a date-time at midnight as a date
            value = datetime(value.year, value.month, value.day)
        content[position] = value
    return content


# ------------------------------------------------------------------------------------------------ the plans


@dataclass(frozen=True)
class Book:
    """What a front end read besides the register: the policy, 统计's values and chart count (None: unknown),
    the workbook's name for 记录, and when the run happens (``now`` judges; ``clock`` stamps 记录)."""

    policy: Policy
    now: datetime
    clock: datetime
    name: str
    stats_grid: Sequence[Sequence[object]] = ()
    charts: int | None = None


KEYS = tuple(c.key for c in OUTPUT_COLUMNS)


class _Absent:
    """The mark of a key a row does not write; pickled by name, so a row handed to another process keeps it."""

    def __reduce__(self) -> str:
        return "_ABSENT"


_ABSENT = _Absent()  # a key a row does not write (a closed case writes 处理建议 and 时效状态 only)
_ABSENTS = (_ABSENT,) * len(KEYS)


class Updates(Mapping[int, dict[str, object]]):
    """The rows a check writes, sheet row → output values by key, in row order. Each row is held as one tuple
    (a first check of a million rows would hold a million dicts, a gigabyte); its dict is made when asked for."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[object, ...]] = {}

    def add(self, row: int, values: Mapping[str, object]) -> None:
        self._rows[row] = tuple(map(values.get, KEYS, _ABSENTS))

    def stored(self, row: int) -> tuple[object, ...]:
        """Row ``row`` as it is held (its values in ``KEYS`` order, a mark for each key it does not write): what
        ``keep`` takes, in this process or another."""
        return self._rows[row]

    def keep(self, row: int, stored: tuple[object, ...]) -> None:
        """Hold row ``row`` given as ``stored`` gives it."""
        self._rows[row] = stored

    def drop(self, row: int) -> None:
        """Let row ``row`` go (a writer done with it)."""
        self._rows.pop(row, None)

    def __getitem__(self, row: int) -> dict[str, object]:
        return {key: value for key, value in zip(KEYS, self._rows[row]) if value is not _ABSENT}

    def __contains__(self, row: object) -> bool:
        return row in self._rows

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True)
class CheckPlan:
    """A check as a value: the output columns (sheet columns by key) and the headers to add, the cells to write
    (changed rows only: sheet row → key → value), the dashboard, the 记录 line, and the counts."""

    columns: dict[str, int]
    new_headers: tuple[str, ...]
    updates: Updates
    board: Board
    log: tuple[object, ...]
    tally: Tally

    @property
    def moves(self) -> bool:
        """Whether the plan changes anything a merchant would see (a new "now" alone is no change)."""
        return bool(self.updates or self.new_headers or self.board.moved)


class RowSink(Protocol):
    """Told of each row a check writes as the pass finds it (``changed``: the row as ``Updates.stored`` holds it)
    and how far the pass has gone (``through``: every row up to this one is final), in row order: how the command
    line starts writing the register before the pass ends (``workbook.pipeline``)."""

    def changed(self, number: int, stored: tuple[object, ...]) -> None: ...

    def through(self, number: int) -> None: ...


@without_gc_pauses  # a first check builds a million records and replies; none of them makes a cycle
def plan_check(
    register: Register,
    book: Book,
    *,
    renderer=None,
    only_rows: set[int] | None = None,
    keys: Sequence[str] | None = None,
    source: str = "refund-sheet check",
    progress: Progress | None = None,
    sink: RowSink | None = None,
) -> CheckPlan:
    """检查全部 (and ``refund-sheet check``): judge every case and write the outputs of the rows whose outputs
    changed (检查时间 then says when a row's outputs last changed). ``only_rows`` (sheet rows) limits the run to
    those rows (检查选中行); ``keys`` limits the output columns that change (刷新时效: SLA_KEYS; 生成回复:
    REPLY_KEYS), and 检查时间 is stamped only by a run of every key. 统计 is always the whole register's.

    One pass: each case is judged, counted for 统计 and the summary, and its outputs made and compared with the
    cells, then let go; only the rows to write are kept (and handed to ``sink``, when given, as they are found)."""
    policy, now = book.policy, book.now
    # every case is judged, a selected row among all the others (a repeated 售后单号 stays one)
    judging = Judging.of_register(register, policy, now, progress)
    columns, new_headers = output_columns(register)
    wanted = None if keys is None else set(keys)
    updates = Updates()
    tally = Tally(fingerprint=policy.fingerprint)
    tallies = stats.Tallies(now)
    extras = stats.extras_of(register.headers, policy.params.timezone)
    old = register.old
    for number, cells, facts, verdict in ticking(judging, progress, "生成回复" if renderer is not None else "比较"):
        tallies.add(facts, verdict, *extras(cells))
        if only_rows is not None and number not in only_rows:
            continue
        tally.add(verdict)
        values = row_outputs(facts, verdict, now, renderer)
        if wanted is not None:
            values = {key: value for key, value in values.items() if key in wanted}
        if any(key != "checked_at" and not same_value(old(number, columns[key]), value) for key, value in values.items()):
            updates.add(number, values)
            if sink is not None:
                sink.changed(number, updates.stored(number))
        if sink is not None:
            sink.through(number)
    tally.changed = len(updates)
    tally.finish(judging.warnings)
    board = board_of(tallies, book.stats_grid, book.charts)
    return CheckPlan(columns, new_headers, updates, board, log_row(tally, source, book.name, book.clock), tally)


@dataclass(frozen=True)
class StatsPlan:
    """更新统计 as a value: the dashboard (``board.stale`` says whether 统计 needs writing), the 记录 line."""

    board: Board
    log: tuple[object, ...]
    tally: Tally


@without_gc_pauses
def plan_stats(register: Register, book: Book, source: str = "更新统计", progress: Progress | None = None) -> StatsPlan:
    """更新统计 (and its headless twin ``service.refresh_stats``, and ``report``): the dashboard of the register as
    it is now, judged without replies; nothing written to the register."""
    judging = Judging.of_register(register, book.policy, book.now, progress)
    tally = Tally(fingerprint=book.policy.fingerprint)
    tallies = stats.Tallies(book.now)
    extras = stats.extras_of(register.headers, book.policy.params.timezone)
    for _, cells, facts, verdict in ticking(judging, progress, "判断"):
        tallies.add(facts, verdict, *extras(cells))
        tally.add(verdict)
    tally.finish(judging.warnings)
    board = board_of(tallies, book.stats_grid, book.charts)
    return StatsPlan(board, log_row(tally, source, book.name, book.clock), tally)


@dataclass(frozen=True)
class ImportPlan:
    """An import as a value: the merge (``imports.MergePlan``: cells refreshed by row, new cases), the sheet row
    the first new case goes in (below the last case), and the 记录 line."""

    merge: MergePlan
    next_row: int
    log: tuple[object, ...]

    @property
    def last_row(self) -> int:
        return self.next_row + len(self.merge.appends) - 1


def plan_import(
    register: Register,
    book: Book,
    export_headers: Sequence[object],
    export_rows: Sequence[tuple[int, Sequence[object]]],
    export_name: str,
    orders: dict[str, dict] | None = None,
    source: str = "refund-sheet import",
) -> ImportPlan:
    """导入售后单 (and ``refund-sheet import``): merge an after-sales export into the register by 售后单号."""
    from .imports import plan_merge

    policy = book.policy
    merge = plan_merge(list(register.headers), list(register.rows), export_headers, export_rows, policy, orders, export_name)
    next_row = max((number for number, _ in register.rows), default=register.header_row) + 1
    if register.formulas:  # a formula of the merchant's (a lookup filled down, below the last case too) stays,
        def off_formulas(row: int, values: dict[str, object]) -> dict[str, object]:  # even where it shows ""
            return {key: value for key, value in values.items() if (row, register.column(key)) not in register.formulas}

        updates = [(row, off_formulas(row, changes)) for row, changes in merge.updates]
        merge.updates = [(row, changes) for row, changes in updates if changes]
        merge.appends = [off_formulas(row, record) for row, record in enumerate(merge.appends, start=next_row)]
    if next_row + len(merge.appends) - 1 > MAX_ROW:
        raise WorkbookError(
            f"{register.sheet} 已到 Excel 的最后一行，放不下 {len(merge.appends)} 个新售后单：请把旧的已完结单另存后再导入，文件未改动"
        )
    counts = f"导入：新增 {len(merge.appends)}，更新 {len(merge.updates)}，未变 {len(merge.unchanged)}"
    log = (book.clock, f"{source} {export_name}", book.name, len(export_rows), len(merge.appends) + len(merge.updates),
           counts, len(merge.rejected), policy.fingerprint)
    return ImportPlan(merge, next_row, log)


# ------------------------------------------------------------------------------------------------ selections

_AREA = re.compile(r"^\$?[A-Z]{0,3}\$?(\d*)(?::\$?[A-Z]{0,3}\$?(\d*))?$")


def rows_of_address(address: str) -> set[int] | None:
    """Sheet rows covered by an A1 address such as ``$A$3:$F$5,$A$9:$F$9`` or ``$3:$5``; ``None`` when an area
    is whole columns (``$B:$B``), which means every row."""
    rows: set[int] = set()
    for area in address.replace(" ", "").split(","):
        match = _AREA.match(area.split("!")[-1])
        if not match:
            raise RefundSheetError(f"无法识别选中的区域“{address}”")
        first, last = match.group(1), match.group(2) or match.group(1)
        if not first:
            return None
        rows.update(range(int(first), int(last) + 1))
    return rows
