"""The command line's side of each user action: read a tracker file, call the action's plan (``plan.py``, the
pure middle the ribbon buttons call too), apply the plan to the file (``workbook.apply``) and save it atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .engine import Policy, compile_policy, now_in
from .errors import PolicyError
from .lock import one_run_at_a_time
from .plan import Book, Progress, Register, Tally, output_columns, plan_check, plan_import, plan_stats

if TYPE_CHECKING:  # imported where used, at run time
    from .imports import MergePlan
    from .stats import Dashboard
    from .workbook.read import Tracker

__all__ = ["Progress"]


@dataclass(kw_only=True)
class CheckResult(Tally):
    """What a run did, for the summary line, the 记录 sheet and the tests."""

    path: Path
    out: Path
    backup: Path | None = None
    saved: bool = False

    @classmethod
    def of(cls, tally: Tally, path: Path, out: Path) -> CheckResult:
        return cls(path=path, out=out, **{f.name: getattr(tally, f.name) for f in fields(Tally) if f.init})

    def summary(self) -> str:
        """A few lines for the terminal: rows, decisions by kind, overdue, errors, where it was saved."""
        lines = self.lines()
        if self.saved:
            lines.append(f"已保存：{self.out}" + (f"（原文件备份：{self.backup.name}）" if self.backup else ""))
        else:
            lines.append(f"没有需要更新的内容，文件未改动：{self.out}")
        return "\n".join(lines)


def compile_or_raise(tables) -> Policy:
    """The policy from the 规则 tables (defaults where absent); every mistake raises one PolicyError."""
    policy, problems = compile_policy(tables)
    if problems:
        raise PolicyError(problems)
    return policy


def parse_now(text: str | None) -> datetime | None:
    """``--now "2026-11-20 12:00"`` for reproducible runs; ``None`` means the shop's current time."""
    if not text:
        return None
    from .engine.parse import CellError, parse_datetime

    try:
        return parse_datetime(text, "Asia/Shanghai")
    except CellError as error:
        raise ValueError(f"--now {error}") from None


@dataclass(frozen=True)
class Opened:
    """A tracker opened for a run: the file's reader, its register and what else a plan needs (``plan.Book``)."""

    tracker: Tracker
    register: Register
    book: Book


def open_tracker(path: Path, now: datetime | None, name: str, progress: Progress | None = None) -> Opened:
    """Read a tracker file into what the plans take: its register, policy, 统计 and the run's time."""
    from .workbook.read import Tracker

    if progress:
        progress("打开", 0, None)
    tracker = Tracker(path)
    reg = tracker.register
    policy = compile_or_raise(tracker.policy_tables())
    clock = now_in(policy.params.timezone)
    register = Register(reg.sheet, reg.header_row, reg.first_col, tuple(reg.headers), dict(reg.found), tracker.rows,
                        tracker.used_col, tracker.old_value, frozenset(reg.scan.formulas))
    book = Book(policy, now or clock, clock, name, tracker.stats_grid(), tracker.stats_charts())
    return Opened(tracker, register, book)


def run_name(path: Path, target: Path) -> str:
    """The file a run names in 记录: the tracker, or ``tracker → result`` when written elsewhere."""
    return path.name if target == path else f"{path.name} → {target.name}"


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
    """Process a tracker file: ``plan.plan_check`` applied to the file, saved atomically with a backup.

    Only rows whose outputs change are written (and stamped with 检查时间); a run that changes nothing writes
    nothing, whatever its "now". A run that saves also rebuilds 统计 when it changed and appends one row to 记录
    naming ``source`` (the command or button). Nothing is written when anything fails (bad policy, unreadable
    file, broken template): the file stays as it was.
    """
    from .replies import make_renderer
    from .workbook import apply, pipeline, save_atomic
    from .workbook.write import PackageEdit

    path = Path(path)
    target = Path(out) if out else path
    # the register written by a spare process while the pass goes on (``workbook.pipeline``): forked now, while
    # this process holds next to nothing
    spare = pipeline.Spare.start() if pipeline.worth_a_spare(path, only_rows) else None
    try:
        opened = open_tracker(path, now, run_name(path, target), progress)
        renderer = make_renderer(opened.book.policy, lang=lang, templates=templates)
        sink = None
        if spare is not None:
            columns, new_headers = output_columns(opened.register)
            sink = spare if spare.offer(opened.tracker, columns, new_headers) else None
        plan = plan_check(opened.register, opened.book, renderer=renderer, only_rows=only_rows, source=source,
                          progress=progress, sink=sink)
        if spare is not None and sink is not None:
            spare.end()  # it writes the last rows while this process makes 统计 and 记录
        result = CheckResult.of(plan.tally, path, target)
        if not plan.moves and target == path:
            return result  # nothing moved: the file is not touched, whatever "now" says
        if progress:
            progress("写入", 0, None)
        opened.tracker.forget_rows()  # the plan holds what is written
        edit = PackageEdit(opened.tracker.package)
        apply.apply_check(edit, opened.tracker, plan)
        if spare is not None and sink is not None and (plan.columns, plan.new_headers) == (columns, new_headers):
            edit.premade[opened.tracker.register.part] = spare.take
        if progress:
            progress("保存", 0, None)
        result.backup = save_atomic(edit.write, target, _before_replace=_before_replace, keep=backups)
        result.saved = True
        return result
    finally:
        if spare is not None:
            spare.stop()


@one_run_at_a_time("path")  # a read-modify-save like check: never interleaved with another run on the file
def refresh_stats(
    path: Path, now: datetime | None = None, *, source: str = "更新统计", progress: Progress | None = None
) -> CheckResult:
    """Rebuild 统计 without changing the register (the 更新统计 button's headless path): ``plan.plan_stats``
    applied to the file. Saves (with a 记录 row) only when the dashboard differs from what 统计 shows."""
    from .workbook import apply, save_atomic
    from .workbook.write import PackageEdit

    path = Path(path)
    opened = open_tracker(path, now, path.name, progress)
    plan = plan_stats(opened.register, opened.book, source, progress)
    result = CheckResult.of(plan.tally, path, path)
    if plan.board.stale:
        edit = PackageEdit(opened.tracker.package)
        apply.apply_stats(edit, opened.tracker, plan)
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
    opened = open_tracker(Path(path), now, Path(path).name, progress)
    board = plan_stats(opened.register, opened.book, progress=progress).board.dashboard
    if png is None:
        return Report(board)
    from . import charts

    if progress:
        progress("绘图", 0, None)
    images = charts.write_pngs(board, Path(png))
    return Report(board, tuple(images), () if charts.cjk_font() else (charts.MISSING_FONT,))


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
) -> MergePlan:
    """Merge a Douyin after-sales export into the tracker ``into`` by 售后单号 (``refund-sheet import``):
    ``plan.plan_import`` applied to the file.

    Returns the MergePlan (what was added, updated, unchanged, rejected). Saves atomically with a backup, and
    not at all when nothing changes; any failure leaves the tracker as it was.
    """
    from .imports import orders_index
    from .workbook import apply, save_atomic
    from .workbook.write import PackageEdit

    into = Path(into)
    target = Path(out) if out else into
    opened = open_tracker(into, None, run_name(into, target), progress)
    policy = opened.book.policy
    headers, rows = read_table_file(export)
    order_map = None
    if orders:
        order_headers, order_rows = read_table_file(orders, "order_id")
        order_map = orders_index(order_headers, order_rows, policy.params.timezone)
    plan = plan_import(opened.register, opened.book, headers, rows, Path(export).name, order_map, source)
    if plan.merge.changes or target != into:
        edit = PackageEdit(opened.tracker.package)
        plan.merge.products_at = apply.apply_import(edit, opened.tracker, plan)
        if progress:
            progress("保存", 0, None)
        save_atomic(edit.write, target, keep=backups)
    return plan.merge
