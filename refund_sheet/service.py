"""The service functions the CLI and the ribbon buttons both call: one call per user action.

``evaluate`` is the shared middle (rows of values in, verdicts and output values out, no file access);
``check_file`` wraps it with the openpyxl edges for the headless command.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .engine import Decision, Facts, Policy, Run, Sla, Verdict, compile_policy, judge_run, now_in
from .engine.batching import without_gc_pauses
from .engine.columns import cell_text, column_letter, map_headers
from .engine.decide import waiting_lines
from .engine.parse import Reader
from .errors import PolicyError
from .lock import one_run_at_a_time

if TYPE_CHECKING:  # imported where used, at run time
    from .imports import MergePlan
    from .stats import Dashboard, Plan

Progress = Callable[[str, int, "int | None"], None]
"""A progress callback, (stage, done, total or None when unknown): cli.py passes a progress bar, None is quiet.
Service functions only call it, so they stay free of any terminal library."""


def ticking(items: Sequence, progress: Progress | None, stage: str, every: int = 200):
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


@dataclass(frozen=True)
class Evaluation:
    """The result of judging one register: facts and verdicts in row order, plus the output values to write."""

    rows: tuple[int, ...]
    facts: tuple[Facts, ...]
    verdicts: tuple[Verdict, ...]
    outputs: tuple[dict[str, object], ...]
    warnings: tuple[str, ...] = ()


@dataclass
class CheckResult:
    """What a run did, for the summary line, the 记录 sheet and the tests."""

    path: Path
    out: Path
    rows: int = 0
    changed: int = 0
    by_decision: Counter = field(default_factory=Counter)
    overdue: int = 0
    due_soon: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backup: Path | None = None
    saved: bool = False
    fingerprint: str = ""

    def summary(self) -> str:
        """A few lines for the terminal: rows, decisions by kind, overdue, errors."""
        kinds = "，".join(f"{d.value} {n}" for d, n in sorted(self.by_decision.items(), key=lambda kv: -kv[1]))
        lines = [
            f"已检查 {self.rows} 行，更新 {self.changed} 行：{kinds or '无'}",
            f"已超时 {self.overdue}，即将超时 {self.due_soon}，信息不全 {len(self.errors)}",
        ]
        lines += [f"  {e}" for e in self.errors[:10]]
        if len(self.errors) > 10:
            lines.append(f"  …另有 {len(self.errors) - 10} 行信息不全")
        lines += [f"注意：{w}" for w in self.warnings]
        if self.saved:
            lines.append(f"已保存：{self.out}" + (f"（原文件备份：{self.backup.name}）" if self.backup else ""))
        else:
            lines.append(f"没有需要更新的内容，文件未改动：{self.out}")
        return "\n".join(lines)


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
    if verdict.reply is not None:
        values["reply"] = cell_text(verdict.reply)
    return values


def compile_or_raise(tables) -> Policy:
    """The policy from the 规则 tables (defaults where absent); every mistake raises one PolicyError."""
    policy, problems = compile_policy(tables)
    if problems:
        raise PolicyError(problems)
    return policy


@without_gc_pauses
def evaluate(
    headers: Sequence[object],
    rows: Sequence[tuple[int, Sequence[object]]],
    sheet: str,
    policy: Policy,
    now: datetime | None = None,
    renderer=None,
    letters: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Judge a register given as its header cells and (row number, values) pairs.

    ``renderer`` (from ``replies``) fills each verdict's reply; without it the reply column is left alone.
    """
    now = now or now_in(policy.params.timezone)
    found = map_headers(list(headers))
    letters = letters or {}
    run = Run(policy)  # this evaluation's look-ups and calendar warnings; the policy itself is never changed
    reader = Reader(found, letters, sheet, run)
    facts = tuple(f for part in in_parts(rows, progress, "读取") for f in reader.read_all(part))
    verdicts, warnings = judge_run(facts, run, now)
    if renderer is not None:
        verdicts = [
            v if v.decision is Decision.DONE else replace(v, reply=renderer(f, v))
            for f, v in ticking(list(zip(facts, verdicts)), progress, "生成回复")
        ]
    return Evaluation(
        rows=tuple(number for number, _ in rows),
        facts=facts,
        verdicts=tuple(verdicts),
        outputs=tuple(output_values(v, now) for v in verdicts),
        warnings=warnings,
    )


def tally(result: CheckResult, evaluation: Evaluation) -> None:
    """Fill the counts of a CheckResult from an evaluation."""
    result.rows = len(evaluation.verdicts)
    result.by_decision = Counter(v.decision for v in evaluation.verdicts)
    result.overdue = sum(v.sla is Sla.OVERDUE for v in evaluation.verdicts)
    result.due_soon = sum(v.sla is Sla.DUE_SOON for v in evaluation.verdicts)
    result.errors = [v.explanation for v in evaluation.verdicts if v.decision is Decision.INCOMPLETE]
    result.warnings = list(evaluation.warnings) + waiting_lines(evaluation.verdicts)  # issue 15: what cases wait on


def parse_now(text: str | None) -> datetime | None:
    """``--now "2026-11-20 12:00"`` for reproducible runs; ``None`` means the shop's current time."""
    if not text:
        return None
    from .engine.parse import CellError, parse_datetime

    try:
        return parse_datetime(text, "Asia/Shanghai")
    except CellError as error:
        raise ValueError(f"--now {error}") from None


@one_run_at_a_time("out", "path")  # two runs on one file never interleave (issue 8)
def check_file(
    path: Path,
    out: Path | None = None,
    now: datetime | None = None,
    *,
    lang: str | None = None,
    templates: Path | None = None,
    only_rows: set[int] | None = None,
    source: str = "refund-sheet check",
    progress: Progress | None = None,
    backups: int = 5,
    _before_replace=None,
) -> CheckResult:
    """Process a tracker file: judge every open case, fill the output columns, save atomically with a backup.

    Only rows whose outputs change are written (and stamped with 检查时间); a run that changes nothing writes
    nothing, whatever its "now". A run that saves also rebuilds 统计 when it changed and appends one row to 记录
    naming ``source`` (the command or button). Nothing is written when anything fails (bad policy, unreadable
    file, broken template): the file stays as it was.
    """
    from .replies import make_renderer
    from .workbook import apply, save_atomic
    from .workbook.read import Tracker, output_columns
    from .workbook.write import PackageEdit

    path = Path(path)
    target = Path(out) if out else path
    if progress:
        progress("打开", 0, None)
    tracker = Tracker(path)
    reg = tracker.register
    policy = compile_or_raise(tracker.policy_tables())
    now = now or now_in(policy.params.timezone)
    renderer = make_renderer(policy, lang=lang, templates=templates)
    rows = tracker.rows
    if only_rows is not None:
        rows = [r for r in rows if r[0] in only_rows]
    evaluation = evaluate(reg.headers, rows, reg.sheet, policy, now, renderer, reg.letters(), progress)
    columns, new_headers = output_columns(tracker)
    result = CheckResult(path=path, out=target, fingerprint=policy.fingerprint)
    tally(result, evaluation)
    updates = changed_outputs(tracker, columns, evaluation)
    result.changed = len(updates)
    board = dashboard_of(tracker, policy, now, *((evaluation, rows) if only_rows is None else ()))
    if not updates and not new_headers and target == path and not board.moved:
        return result  # nothing moved: the file is not touched, whatever "now" says
    if progress:
        progress("写入", 0, None)
    edit = PackageEdit(tracker.package)
    apply.write_outputs(edit, tracker, columns, new_headers, updates)
    record_run(edit, tracker, board, result, source, policy)
    if progress:
        progress("保存", 0, None)
    result.backup = save_atomic(edit.write, target, _before_replace=_before_replace, keep=backups)
    result.saved = True
    return result


def changed_outputs(tracker, columns: dict[str, int], evaluation: Evaluation) -> list[tuple[int, dict[str, object]]]:
    """(row, outputs) for each judged row whose outputs differ from what its cells hold, 检查时间 aside: only
    those are written, and 检查时间 then says when a row's outputs last changed."""
    changed = []
    for number, outputs in zip(evaluation.rows, evaluation.outputs):
        for key, value in outputs.items():
            if key != "checked_at" and not same_value(tracker.old_value(number, columns[key]), value):
                changed.append((number, outputs))
                break
    return changed


def same_value(old: object, new: object) -> bool:
    """Whether a cell already holds the value a run would write.

    Values read back are compared by what they mean: 20 or 20.0 is ¥20.00; a date-time read as a whole day
    (calamine gives a ``date`` for midnight) or a hair off from float rounding is the same moment.
    """
    from datetime import date
    from decimal import Decimal

    from .workbook.read import Digest

    if isinstance(old, Digest):
        return old.matches(new)
    if isinstance(new, Decimal) and isinstance(old, (int, float, Decimal)) and not isinstance(old, bool):
        return Decimal(str(old)) == new
    if isinstance(new, datetime) and isinstance(old, date):
        if not isinstance(old, datetime):
            old = datetime(old.year, old.month, old.day)
        return abs((old.replace(tzinfo=None) - new.replace(tzinfo=None)).total_seconds()) < 0.5
    if new in (None, "") and old in (None, ""):
        return True
    return old == new


# ------------------------------------------------------------------------------------------------ 统计 and 记录


@dataclass(frozen=True)
class Board:
    """The dashboard of a run, its sheet layout, and whether 统计 differs from it (an identical one is no change)."""

    dashboard: Dashboard
    plan: Plan
    stale: bool
    moved: bool = True  # stale in more than the figures that follow the clock (the open cases' waiting hours)


def dashboard_of(tracker, policy: Policy, now: datetime, evaluation: Evaluation | None = None, rows: list | None = None) -> Board:
    """The dashboard of the whole register of ``tracker``, keeping the 订单数 lines the merchant typed on 统计.

    ``evaluation`` (and the ``rows`` it was made from) are reused when they cover every row (a full check);
    otherwise the register is judged again without replies (a selection run still gets a dashboard of the whole
    register). Only closed cases' 退款金额 is read from the rows, and a run never changes it.
    """
    reg = tracker.register
    if rows is None or evaluation is None:
        rows = tracker.rows
        evaluation = evaluate(reg.headers, rows, reg.sheet, policy, now, None, reg.letters())
    by_row = dict(rows)
    return board_from(reg.headers, lambda n: by_row.get(n, ()), evaluation, tracker.stats_grid(), policy, now,
                      tracker.stats_charts())


def board_from(
    headers: Sequence[object],
    values_of: Callable[[int], Sequence[object]],
    evaluation: Evaluation,
    stats_grid: Sequence[Sequence[object]],
    policy: Policy,
    now: datetime,
    charts: int | None = None,
) -> Board:
    """The dashboard of a judged register (``values_of`` gives a sheet row's cells), keeping the 订单数 lines of
    ``stats_grid`` (统计's values), and whether 统计 — those values and, when known, its ``charts`` count — already
    shows it. Shared by the file path and the 更新统计 button."""
    from . import stats

    amounts, answered = stats.register_extras(
        list(headers), [(n, values_of(n)) for n in evaluation.rows], policy.params.timezone
    )
    board = stats.compute(
        evaluation.facts, evaluation.verdicts, now, orders=stats.order_lines(stats_grid), amounts=amounts,
        answered=answered,
    )
    plan = stats.plan(board)
    shown, wanted = _grid_content(stats_grid), _grid_content(plan.content())
    other_charts = charts is not None and charts != len(plan.charts)
    clock = _clock_cells(plan)
    moved = other_charts or _without(shown, clock) != _without(wanted, clock)
    return Board(board, plan, other_charts or shown != wanted, moved)


def _clock_cells(plan) -> set[tuple[int, int]]:
    """The 统计 cells whose value follows the clock alone (the open cases' average waiting hours): a new "now"
    with nothing else changed is no reason to save."""
    from . import stats

    return {(r + 1, c) for (r, c), cell in plan.cells.items() if cell.value == stats.WAITING_LABEL}


def _without(content: dict, cells: set) -> dict:
    return {position: value for position, value in content.items() if position not in cells}


def log_row(result: CheckResult, source: str, at: datetime) -> tuple[object, ...]:
    """The 记录 row of a run: time, what ran it, file, rows checked, rows changed, decisions by kind, errors,
    policy fingerprint (LOG_HEADERS)."""
    kinds = "，".join(
        f"{d.value} {n}" for d, n in sorted(result.by_decision.items(), key=lambda kv: (-kv[1], list(Decision).index(kv[0])))
    )
    name = result.path.name if result.out == result.path else f"{result.path.name} → {result.out.name}"
    return (at, source, name, result.rows, result.changed, kinds or "无", len(result.errors), result.fingerprint)


def record_run(edit, tracker, board: Board, result: CheckResult, source: str, policy: Policy) -> None:
    """Before a save: rebuild 统计 from ``board`` when it changed and append this run's row to 记录 (wall-clock
    time of the shop, not ``--now``: the log says when the run really happened)."""
    from .workbook import apply

    if board.stale:
        apply.put_stats(edit, tracker, board.plan)
    apply.append_log(edit, tracker, log_row(result, source, now_in(policy.params.timezone)))


def log_import(edit, tracker, plan, export: Path, rows: int, into: Path, target: Path, source: str, policy: Policy) -> None:
    """The 记录 row of an import that saves: rows in the export, cases added + updated, rejected rows in the
    信息不全 column. 统计 is left for the next check (the new cases have no verdicts yet)."""
    from .workbook import apply

    name = into.name if target == into else f"{into.name} → {target.name}"
    counts = f"导入：新增 {len(plan.appends)}，更新 {len(plan.updates)}，未变 {len(plan.unchanged)}"
    apply.append_log(
        edit,
        tracker,
        (now_in(policy.params.timezone), f"{source} {export.name}", name, rows, len(plan.appends) + len(plan.updates),
         counts, len(plan.rejected), policy.fingerprint),
    )


@one_run_at_a_time("path")  # a read-modify-save like check: never interleaved with another run on the file
def refresh_stats(
    path: Path, now: datetime | None = None, *, source: str = "更新统计", progress: Progress | None = None
) -> CheckResult:
    """Rebuild 统计 without changing the register (the 更新统计 button's headless path).

    Saves (with a 记录 row) only when the dashboard differs from what 统计 shows; returns the run's counts.
    """
    from .workbook import save_atomic
    from .workbook.write import PackageEdit

    path = Path(path)
    tracker, policy, now, evaluation = _judged(path, now, progress)
    result = CheckResult(path=path, out=path, fingerprint=policy.fingerprint)
    tally(result, evaluation)
    board = dashboard_of(tracker, policy, now, evaluation, tracker.rows)
    if board.stale:
        edit = PackageEdit(tracker.package)
        record_run(edit, tracker, board, result, source, policy)
        if progress:
            progress("保存", 0, None)
        result.backup = save_atomic(edit.write, path)
        result.saved = True
    return result


@dataclass(frozen=True)
class Report:
    """What ``refund-sheet report`` shows: the dashboard, the chart images written, and warnings."""

    dashboard: Dashboard
    images: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()


def report(
    path: Path, now: datetime | None = None, png: Path | None = None, progress: Progress | None = None
) -> Report:
    """The dashboard of a tracker as ``check`` would build it now, without changing the file; with ``png``, the
    charts are also written there as images (``refund-sheet report FILE --png DIR``)."""
    tracker, policy, now, evaluation = _judged(Path(path), now, progress)
    board = dashboard_of(tracker, policy, now, evaluation, tracker.rows).dashboard
    if png is None:
        return Report(board)
    from . import charts

    if progress:
        progress("绘图", 0, None)
    images = charts.write_pngs(board, Path(png))
    return Report(board, tuple(images), () if charts.cjk_font() else (charts.MISSING_FONT,))


def _judged(path: Path, now: datetime | None, progress: Progress | None):
    """A tracker read and its register judged without replies: (tracker, policy, now, evaluation)."""
    from .workbook.read import Tracker

    if progress:
        progress("打开", 0, None)
    tracker = Tracker(path)
    reg = tracker.register
    policy = compile_or_raise(tracker.policy_tables())
    now = now or now_in(policy.params.timezone)
    evaluation = evaluate(reg.headers, tracker.rows, reg.sheet, policy, now, None, reg.letters(), progress)
    return tracker, policy, now, evaluation


@dataclass(frozen=True)
class GridResult:
    """The result of checking a register given as a sheet's values (what one xlwings range read returns).

    ``columns`` gives the 0-based column of every output key, new ones (``new_headers``) continuing at the right
    of the header row; ``block[i]`` holds the new values of ``columns`` for grid row ``header_row + 1 + i``, with
    the cells a run must not change (closed cases, rows not selected, keys not asked for) carrying their old
    values, so each output column can be written back in one range write.
    """

    header_row: int
    columns: dict[str, int]
    new_headers: tuple[str, ...]
    block: tuple[tuple[object, ...], ...]
    evaluation: Evaluation


@without_gc_pauses
def check_grid(
    grid: Sequence[Sequence[object]],
    policy: Policy,
    now: datetime | None = None,
    *,
    sheet: str = "退款登记",
    renderer=None,
    only_rows: set[int] | None = None,
    keys: Sequence[str] | None = None,
) -> GridResult:
    """Judge the register in ``grid`` (rows of cell values, row 0 = sheet row 1) and return the output block.

    ``only_rows`` (0-based grid rows) limits the run to the selected rows (检查选中行); ``keys`` limits which
    output columns change (刷新时效: deadline and sla; 生成回复: reply). Raises LookupError when no header row
    holds the required columns.
    """
    from .engine.columns import OUTPUT_COLUMNS, locate_header, used_width

    header_row, headers, found = locate_header(grid)
    width = max(len(headers), max((len(r) for r in grid), default=0))
    used = max((used_width(r) for r in grid[header_row + 1 :]), default=0)
    columns: dict[str, int] = {}
    new_headers: list[str] = []
    for column in OUTPUT_COLUMNS:
        if column.key in found:
            columns[column.key] = found[column.key]
        else:  # right of the headers and of any value beyond them: a merchant's cell is never written over
            columns[column.key] = max(len(headers), used) + len(new_headers)
            new_headers.append(column.header)
    width = max(width, max(len(headers), used) + len(new_headers))
    body = [list(r) + [None] * (width - len(r)) for r in grid[header_row + 1 :]]
    letters = {k: column_letter(i + 1) for k, i in found.items()}
    picked = [
        (header_row + 1 + i + 1, values)
        for i, values in enumerate(body)
        if (only_rows is None or header_row + 1 + i in only_rows)
        and any(v is not None and (not isinstance(v, str) or v.strip()) for v in values)
    ]
    evaluation = evaluate(headers, picked, sheet, policy, now, renderer, letters)
    order = [c.key for c in OUTPUT_COLUMNS]
    places = {key: i for i, key in enumerate(order) if keys is None or key in keys}  # the output columns to change
    block = [[row[columns[k]] for k in order] for row in body]
    for number, outputs in zip(evaluation.rows, evaluation.outputs):
        target = block[number - 1 - (header_row + 1)]
        for key, value in outputs.items():
            if key in places:
                target[places[key]] = value
    return GridResult(header_row, columns, tuple(new_headers), tuple(tuple(r) for r in block), evaluation)


def new_tracker(path: Path, overwrite: bool = False) -> Path:
    """Build an empty tracker at ``path`` (``refund-sheet new``)."""
    from .workbook.build import write_new

    return write_new(path, (), overwrite=overwrite)


DEMO_NAME = "RefundTracker-demo.xlsx"
DEMO_EXPORT, DEMO_ORDERS = "售后列表导出-示例.csv", "订单导出-示例.csv"


def demo(folder: Path, count: int = 300, now: datetime | None = None, progress: Progress | None = None) -> CheckResult:
    """Build a tracker holding a realistic sample of ``count`` cases in ``folder`` and process it. Beside it, a
    small after-sales export and order export (DEMO_EXPORT, DEMO_ORDERS) to try the import loop with."""
    from .imports import write_csv
    from .samples import sample_exports, sample_rows
    from .workbook.build import write_new

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = now or now_in("Asia/Shanghai")
    path = write_new(folder / DEMO_NAME, sample_rows(now, count), overwrite=True)
    export, orders = sample_exports(now)
    write_csv(folder / DEMO_EXPORT, export)
    write_csv(folder / DEMO_ORDERS, orders)
    return check_file(path, now=now, source="refund-sheet demo", progress=progress)


def read_table_file(path: Path, key: str = "case_id") -> tuple[list[object], list]:
    """Headers and rows of an export: .csv (UTF-8 or GBK) or .xlsx (the sheet with a header for ``key``)."""
    from . import workbook as wbk
    from .errors import WorkbookError
    from .imports import read_csv

    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"找不到文件：{path}")
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    return wbk.read_export_xlsx(path, key)


@one_run_at_a_time("out", "into")
def import_file(
    export: Path,
    into: Path,
    orders: Path | None = None,
    out: Path | None = None,
    *,
    source: str = "refund-sheet import",
    progress: Progress | None = None,
    backups: int = 5,
):
    """Merge a Douyin after-sales export into the tracker ``into`` by 售后单号 (``refund-sheet import``).

    Returns the MergePlan (what was added, updated, unchanged, rejected). Saves atomically with a backup, and
    not at all when nothing changes; any failure leaves the tracker as it was.
    """
    from .imports import orders_index, plan_merge
    from .workbook import apply, save_atomic
    from .workbook.read import Tracker
    from .workbook.write import PackageEdit

    if progress:
        progress("打开", 0, None)
    tracker = Tracker(into)
    reg = tracker.register
    policy = compile_or_raise(tracker.policy_tables())
    headers, rows = read_table_file(export)
    order_map = None
    if orders:
        order_headers, order_rows = read_table_file(orders, "order_id")
        order_map = orders_index(order_headers, order_rows, policy.params.timezone)
    plan = plan_merge(reg.headers, list(tracker.rows), headers, rows, policy, order_map, Path(export).name)
    target = Path(out) if out else Path(into)
    if plan.changes or target != Path(into):
        edit = PackageEdit(tracker.package)
        apply.apply_merge(edit, tracker, plan)
        plan.products_at = apply.add_products(edit, tracker, plan.products)
        log_import(edit, tracker, plan, Path(export), len(rows), Path(into), target, source, policy)
        if progress:
            progress("保存", 0, None)
        save_atomic(edit.write, target, keep=backups)
    return plan


# ------------------------------------------------------------------------------------------------ grids (Excel)
# The 导入售后单 and 更新统计 buttons' twins of import_file and refresh_stats: sheets given as the values one
# xlwings range read returns (row 0 = sheet row 1, column 0 = A), nothing read or written here.


@dataclass(frozen=True)
class GridMerge:
    """An import planned on a register grid: the plan, where each register key's column is (0-based), and the
    sheet row (1-based) of the first appended case (below the last filled row)."""

    plan: MergePlan
    header_row: int
    columns: dict[str, int]
    next_row: int


def merge_grid(
    grid: Sequence[Sequence[object]],
    export_headers: Sequence[object],
    export_rows: Sequence[tuple[int, Sequence[object]]],
    policy: Policy,
    export_name: str = "导出",
) -> GridMerge:
    """``imports.plan_merge`` on a register grid (the 导入售后单 button). Raises LookupError when no header row
    holds the required columns."""
    from .engine.columns import locate_header, used_width
    from .imports import plan_merge

    header_row, headers, found = locate_header(grid)
    rows = [(i + 1, list(r)) for i, r in enumerate(grid) if i > header_row and used_width(r)]
    plan = plan_merge(headers, rows, export_headers, export_rows, policy, None, export_name)
    last = rows[-1][0] if rows else header_row + 1
    return GridMerge(plan, header_row, found, last + 1)


def board_of_grid(
    grid: Sequence[Sequence[object]],
    stats_grid: Sequence[Sequence[object]],
    policy: Policy,
    now: datetime | None = None,
    *,
    sheet: str = "退款登记",
) -> tuple[GridResult, Board]:
    """The dashboard of a register grid, keeping the 订单数 lines of ``stats_grid`` (统计's values, empty when
    there is no such sheet): what ``refresh_stats`` computes, for the 更新统计 button. The register is judged
    without replies; ``Board.stale`` is False when ``stats_grid`` already shows the plan (run time aside)."""
    now = now or now_in(policy.params.timezone)
    result = check_grid(grid, policy, now, sheet=sheet)
    board = board_from(grid[result.header_row], lambda n: grid[n - 1], result.evaluation, stats_grid, policy, now)
    return result, board


def _grid_content(source) -> dict[tuple[int, int], object]:
    """(row, column) → value of every non-blank cell but the subtitle (a grid, or ``Plan.content()``), numbers
    as rounded floats and text stripped of nothing, so a sheet read back compares equal to the plan it shows."""
    from datetime import date
    from decimal import Decimal

    from . import stats

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
