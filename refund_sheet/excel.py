"""The only module that imports xlwings at run time (addin.py uses its generator when building): the 退款助手
ribbon buttons and the REFUND_* worksheet functions.

Buttons: the ribbon (addin/customUI14.xml) calls the VBA ``OnButton``, which runs ``on_button(<button id>)``.
Each handler reads the sheets a plan needs with one range read each (``read_book``), calls the same plan the
command line calls (``plan.plan_check``, ``plan_stats``, ``plan_import``), and applies it with a constant number of
range writes, whatever the number of rows (``apply_check``, ``apply_stats``, ``merge_writes``). Everything is
computed before the first write, so an error leaves the workbook as it was and shows an Excel alert with the reason.

Functions (UDFs, Windows only, as with every xlwings UDF): REFUND_DECISION, REFUND_AMOUNT, REFUND_DEADLINE,
REFUND_SLA and REFUND_REPLY judge one row given its header row; REFUND_CHECK judges a whole table and spills
the results. A cell shows a short ``#…`` text instead of a traceback when something is wrong.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlwings as xw

from . import plan, replies, service, stats
from .engine import Decision, Policy, default_policy
from .engine.batching import without_gc_pauses
from .engine.columns import OUTPUT_COLUMNS, cell_text, map_headers, missing_required
from .engine.parse import parse_datetime
from .engine.policy import policy_tables_from_grid
from .errors import RefundSheetError
from .workbook.formats import DATE_FORMAT, OUTPUT_FORMATS, STATS_FORMATS

REGISTER = "退款登记"
RULES = "规则"
HELP = "说明"
TITLE = "退款助手"
KEY_OF_HEADER = {c.header: c.key for c in OUTPUT_COLUMNS}

# ---------------------------------------------------------------------------------------------------------------
# Excel-only concerns: alerts on error, screen updating and calculation paused while writing.


@contextmanager
def paused(app):
    """Screen updating and automatic calculation off while a handler writes; restored whatever happens."""
    screen, calculation = app.screen_updating, app.calculation
    app.screen_updating, app.calculation = False, "manual"
    try:
        yield
    finally:
        app.screen_updating, app.calculation = screen, calculation


def alert_on_error(handler: Callable) -> Callable:
    """Run ``handler(book)`` on the calling workbook; a problem becomes one Excel alert, never a traceback."""

    @functools.wraps(handler)
    def run() -> None:
        book = xw.Book.caller()  # at click time, never at import (xlwings: call Book.caller inside the handler)
        try:
            with paused(book.app):
                handler(book)
        except RefundSheetError as error:  # the user's to fix; the message says how
            book.app.alert(str(error).strip(), title=TITLE)
        except Exception as error:  # a bug: say so in one line, keep the traceback for the console
            traceback.print_exc(file=sys.stderr)
            book.app.alert(f"内部错误（请把这句话发给开发者）：{type(error).__name__}: {error}", title=TITLE)

    return run


BUTTONS: dict[str, Callable[[], None]] = {}


def button(control_id: str):
    """Register a handler under its ribbon button id (addin/customUI14.xml); a test checks both lists agree."""

    def register(handler: Callable) -> Callable:
        BUTTONS[control_id] = alert_on_error(handler)
        return handler

    return register


def on_button(control_id: str) -> None:
    """What every ribbon button runs (VBA ``OnButton``): the handler registered under the button's id."""
    if control_id not in BUTTONS:
        xw.Book.caller().app.alert(f"未知按钮“{control_id}”：请重新安装退款助手加载项", title=TITLE)
        return
    BUTTONS[control_id]()


# ---------------------------------------------------------------------------------------------------------------
# Buttons. Each is a few lines: read the book, call the action's plan (plan.py, as the command line does), apply it.


@button("check_all")
def check_all(book) -> None:
    """检查全部: judge every case of the register, write the outputs that changed, refresh 统计, log the run."""
    _check(book, "检查全部")


@button("check_selected")
def check_selected(book) -> None:
    """检查选中行: judge only the rows selected on the register; every other row keeps its values."""
    _check(book, "检查选中行", selected=True)


@button("make_replies")
def make_replies(book) -> None:
    """生成回复: rewrite the 回复话术 column only (after a template or the shop name changed)."""
    _check(book, "生成回复", keys=plan.REPLY_KEYS)


@button("refresh_sla")
def refresh_sla(book) -> None:
    """刷新时效: recompute 处理时限 and 时效状态 only; no reply is rendered."""
    _check(book, "刷新时效", keys=plan.SLA_KEYS, replies_too=False)


@button("import_cases")
def import_cases(book) -> None:
    """导入售后单: merge a Douyin after-sales export (CSV or xlsx, chosen in a file dialog) into the register by
    售后单号: ``plan.plan_import``, as ``refund-sheet import``: new cases below the last case, platform fields of
    known cases refreshed, the merchant's columns never written."""
    path = choose_export(book)
    if not path:
        return  # the merchant cancelled the dialog
    opened = read_book(book)
    headers, rows = service.read_table_file(Path(path))
    planned = plan.plan_import(opened.register, opened.plan_book, headers, rows, Path(path).name, source="导入售后单")
    merge = planned.merge
    if merge.changes:
        for (row, column), values in merge_writes(opened, planned):
            opened.sheet.range((row, column)).value = values
        merge.products_at = add_products(book, merge.products)
        append_log(book, opened, planned.log)
    book.app.alert(merge.summary() + ("" if merge.changes else "\n登记表没有变化。"), title=TITLE)


def add_products(book, products) -> str:
    """An import's new products into the 商品 table on 规则, at the cells ``imports.product_cells`` gives (what
    ``workbook.add_products`` writes for the command line); returns the rows filled (``规则!A47:A52``) or ""."""
    from .imports import product_cells

    if not products or RULES not in book.sheet_names:
        return ""
    rules = book.sheets[RULES]
    cells, where = product_cells(read_grid(rules), products)
    for row, column, text in cells:
        rules.range((row, column)).value = to_cell(text)
    return where


def choose_export(book) -> str | None:
    """Excel's own Open dialog, filtered to CSV and xlsx; the chosen path, or None when cancelled.

    xlwings has no dialog of its own, so this is the one place that talks to Excel's object model directly:
    ``Application.GetOpenFilename`` on Windows (COM), its AppleScript twin ``get open filename`` on a Mac (which
    answers an HFS path, ``Macintosh HD:Users:…``, turned into a POSIX one here). Tests replace this function."""
    api = book.app.api
    if sys.platform == "darwin":
        answer = api.get_open_filename()  # no filter: Mac Excel's filters are file-type codes, not *.csv
    else:
        answer = api.GetOpenFilename("售后单导出 (*.csv;*.xlsx),*.csv;*.xlsx", 1, "选择抖店售后单导出文件")
    if not answer or not isinstance(answer, str):
        return None  # False (Windows) or a missing value (Mac): cancelled
    if sys.platform == "darwin" and not answer.startswith("/") and ":" in answer:
        from .install import hfs_to_posix  # Mac only
        answer = hfs_to_posix(answer)  # any volume: the start-up disk is /, others /Volumes/NAME
    return answer


@button("update_stats")
def update_stats(book) -> None:
    """更新统计: rebuild the tables of 统计 from the register as it is now (``plan.plan_stats``, as
    ``refund-sheet``'s headless refresh): nothing written to the register, the merchant's 订单数 lines kept, values
    and number formats written in a few whole-block writes. Charts are not drawn here (see ``write_stats``)."""
    opened = read_book(book)
    planned = plan.plan_stats(opened.register, opened.plan_book, "更新统计")
    if not planned.board.stale:
        book.app.status_bar = "退款助手：统计没有变化"
        return
    apply_stats(book, opened, planned)
    kpis = planned.board.dashboard.kpis
    book.app.status_bar = f"退款助手：统计已更新（售后单 {kpis.cases}，未完结 {kpis.open}，已超时 {kpis.overdue}）"


@button("show_rules")
def show_rules(book) -> None:
    """规则表: go to the 规则 sheet, where the merchant edits the decision table and parameters."""
    _go_to(book, RULES, "这个工作簿没有“规则”表，检查时使用默认规则。用 refund-sheet new 新建的登记表自带可编辑的规则表。")


@button("show_help")
def show_help(book) -> None:
    """说明: go to the 说明 sheet."""
    _go_to(book, HELP, "这个工作簿没有“说明”表。用 refund-sheet new 新建的登记表自带说明；按钮用法见 docs/excel.md。")


def _check(book, source: str, *, selected: bool = False, keys=None, replies_too: bool = True) -> None:
    """The body of the four checking buttons: ``plan.plan_check`` on what one read of each sheet gave, applied
    with a few whole-block writes; the summary goes to the status bar, or to an alert when it carries warnings."""
    opened = read_book(book)
    only_rows = _selected_rows(book, opened.sheet) if selected else None
    renderer = replies.make_renderer(opened.plan_book.policy) if replies_too else None
    planned = plan.plan_check(opened.register, opened.plan_book, renderer=renderer, only_rows=only_rows, keys=keys,
                              source=source)
    if planned.moves:
        apply_check(book, opened, planned)
    book.app.status_bar = summary(planned.tally)
    if planned.tally.warnings:
        book.app.alert("\n".join(planned.tally.lines()), title=TITLE)


def _go_to(book, name: str, missing: str) -> None:
    if name not in book.sheet_names:
        raise RefundSheetError(missing)
    book.sheets[name].activate()


def _selected_rows(book, sheet) -> set[int] | None:
    """Sheet rows of the selection on the register's ``sheet`` (``None``: whole columns selected, i.e. every row)."""
    selection = book.selection
    if selection is None or selection.sheet.name != sheet.name:
        raise RefundSheetError(f"请先在“{sheet.name}”表中选中要检查的行，再点“检查选中行”。")
    return plan.rows_of_address(selection.address)


# ---------------------------------------------------------------------------------------------------------------
# Reading the book: one whole-range read per sheet a plan needs.


@dataclass(frozen=True)
class Opened:
    """The open book read for a plan: the register sheet, its values and the formulas in it (cell → formula
    text), the register, ``plan.Book``, and where 统计 and 记录 go with what they hold (an empty grid when the
    sheet is not there yet)."""

    sheet: Any
    grid: list[list[object]]
    formulas: dict[tuple[int, int], str]
    register: plan.Register
    plan_book: plan.Book
    stats_name: str
    log_name: str
    log_grid: list[list[object]]


def read_book(book) -> Opened:
    """Everything a plan takes, read from the open book, one range read per sheet (two for the register: its
    values and its formulas): the register, the policy from 规则, 统计's values and 记录's (a sheet by either name
    that is the merchant's own is left alone, as the command line does)."""
    grids: dict[str, list[list[object]]] = {}

    def grid_of(name: str) -> list[list[object]]:
        if name not in grids:
            grids[name] = read_grid(book.sheets[name]) if name in book.sheet_names else []
        return grids[name]

    sheet, table = register_sheet(book, grid_of)
    grid = grid_of(sheet.name)
    formulas = formulas_of(sheet, grid)
    try:
        register = plan.register_of_grid(grid, sheet.name, table, formulas.keys())
    except LookupError as error:
        if type(error) is not LookupError:  # a KeyError or IndexError is a bug, not the merchant's table
            raise
        raise RefundSheetError(f"找不到售后登记表的表头：{error}") from None
    policy = book_policy(book)
    names = book.sheet_names
    stats_name = plan.tool_sheet(plan.STATS_NAMES, names, lambda name: plan.is_stats_sheet(grid_of(name)))
    log_name = plan.tool_sheet(plan.LOG_NAMES, names, lambda name: plan.is_log_sheet(grid_of(name)))
    clock = service.now_in(policy.params.timezone)
    plan_book = plan.Book(policy, clock, clock, book.name, grid_of(stats_name))
    return Opened(sheet, grid, formulas, register, plan_book, stats_name, log_name, grid_of(log_name))


def register_sheet(book, grid_of: Callable[[str], list[list[object]]]) -> tuple[Any, plan.TableArea | None]:
    """The register's sheet and Excel Table (None: found by its header row), by the rule the command line
    follows (``plan.find_register``); with none, the sheet that came closest is named in the error."""
    try:
        name, table = plan.find_register(
            book.sheet_names,
            lambda name: grid_of(name)[: plan.HEADER_SCAN_ROWS],
            lambda name: tables_of(book.sheets[name], grid_of),
        )
    except LookupError as error:
        if type(error) is not LookupError:
            raise
        raise RefundSheetError(f"找不到售后登记表：{error}") from None
    return book.sheets[name], table


def tables_of(sheet, grid_of: Callable[[str], list[list[object]]]) -> list[tuple[plan.TableArea, list[object]]]:
    """The sheet's Excel Tables with a header row, each with its header cells (from the sheet's values)."""
    found = []
    for table in getattr(sheet, "tables", ()):
        if not table.show_headers:
            continue
        area, last = table.range, table.range.last_cell
        shape = plan.TableArea(area.row, area.column, last.column, last.row, 1 if table.show_totals else 0)
        values = grid_of(sheet.name)
        row = list(values[shape.header_row - 1]) if shape.header_row <= len(values) else []
        found.append((shape, (row + [None] * shape.last_col)[shape.first_col - 1 : shape.last_col]))
    return found


def formulas_of(sheet, grid: list[list[object]]) -> dict[tuple[int, int], str]:
    """The cells of ``grid`` (a sheet's values from A1) that hold a formula, with its text: one range read of the
    formulas. A text that starts with = (entered with Excel's ' prefix) reads back as itself and is no formula."""
    width = max((len(r) for r in grid), default=0)
    if not grid or not width:
        return {}
    texts = sheet.range((1, 1), (len(grid), width)).formula
    if not isinstance(texts, (list, tuple)):
        texts = ((texts,),)
    found = {}
    for r, row in enumerate(texts, start=1):
        for c, text in enumerate(row, start=1):
            if isinstance(text, str) and text.startswith("=") and _value_at(grid, r, c) != text:
                found[(r, c)] = text
    return found


def read_grid(sheet) -> list[list[object]]:
    """The sheet's values from A1 to its last used cell, in one range read (row 0 = sheet row 1).

    Error cells come as their text (#N/A), not xlwings' default None, so a row with one says so instead of
    calling the cell empty."""
    last = sheet.used_range.last_cell
    return sheet.range((1, 1), (last.row, last.column)).options(ndim=2, err_to_str=True).value


def book_policy(book) -> Policy:
    """The policy from the book's 规则 sheet (one range read), or the defaults when the book has none."""
    if RULES not in book.sheet_names:
        return service.compile_or_raise(None)
    return _compiled(read_grid(book.sheets[RULES]))


# ---------------------------------------------------------------------------------------------------------------
# Applying a plan to the open book: a constant number of range operations, whatever the number of rows.


def apply_check(book, opened: Opened, planned: plan.CheckPlan) -> None:
    """A check plan: new headers in one write, the changed rows' outputs in one block per run of adjacent output
    columns (cells of unchanged rows in between carry their values again), their number formats, then 统计 and
    the 记录 line."""
    sheet, register = opened.sheet, opened.register
    if planned.new_headers:
        first = min(planned.columns[KEY_OF_HEADER[h]] for h in planned.new_headers)
        sheet.range((register.header_row, first)).value = [list(planned.new_headers)]
    if planned.updates:
        changes = dict(planned.updates)
        for (row, column), values in block_writes(opened, changes, planned.columns):
            sheet.range((row, column)).value = values
        top, bottom = min(changes), max(changes)
        for key in {key for values in changes.values() for key in values} & OUTPUT_FORMATS.keys():
            column = planned.columns[key]
            sheet.range((top, column), (bottom, column)).number_format = OUTPUT_FORMATS[key]
    apply_stats(book, opened, planned)


def apply_stats(book, opened: Opened, planned) -> None:
    """A plan's dashboard onto 统计 (the sheet added when missing) when it is stale, and its 记录 line."""
    if planned.board.stale:
        name = opened.stats_name
        if name in book.sheet_names:
            target = book.sheets[name]
        else:
            log = opened.log_name
            place = {"before": book.sheets[log]} if log in book.sheet_names else {"after": book.sheets[-1]}
            target = book.sheets.add(name, **place)
        charts_moved = write_stats(target, planned.board.plan, opened.plan_book.stats_grid)
        if charts_moved and len(getattr(target, "charts", ())):
            book.app.alert(
                "统计表的行数变了，表中的图表还指向原来的位置。保存并关闭工作簿后运行 refund-sheet check，会按新的表格重建图表。",
                title=TITLE,
            )
    append_log(book, opened, planned.log)


def append_log(book, opened: Opened, values) -> None:
    """Append one line to 记录 in one write (the header too when the sheet has none; the sheet too when missing).
    Rows already there are never written, as with the headless ``workbook.apply.append_log``."""
    name = opened.log_name
    sheet = book.sheets[name] if name in book.sheet_names else book.sheets.add(name, after=book.sheets[-1])
    row, header = plan.log_place(opened.log_grid)
    line = [to_cell(v) for v in values]
    if header:
        sheet.range((1, 1)).value = [list(plan.LOG_HEADERS), line]
    else:
        sheet.range((row, 1)).value = [line]


def to_cell(value: object) -> object:
    """A value as Excel should receive it: money as a number, times as datetimes, and every text with Excel's
    text prefix, so it stays the text it is — a buyer called ``=HYPERLINK(…)`` is never a formula (SPEC §8), an
    ID such as 6923456789012345678 is not rounded into a number, a week 2026-11-16 or a rule named 1 is not turned
    into a date or a number."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return "'" + cell_text(value) if value else None
    return value


def _kept(opened: Opened, row: int, column: int) -> object:
    """A cell a block covers but does not change, as it must be written back: a formula as its formula, any
    other cell as its value."""
    formula = opened.formulas.get((row, column))
    return formula if formula is not None else to_cell(_value_at(opened.grid, row, column))


def merge_writes(opened: Opened, planned: plan.ImportPlan) -> list[tuple[tuple[int, int], list[list[object]]]]:
    """The range writes of an import: the refreshed cells of known cases, then the new cases from
    ``planned.next_row`` down (``block_writes`` each: a constant number whatever the row count). No other column
    is written, and a merchant's formula the plan left alone is written back as itself."""
    register = opened.register
    columns = {key: register.column(key) for key in register.found}
    appends = dict(enumerate(planned.merge.appends, start=planned.next_row))
    return block_writes(opened, dict(planned.merge.updates), columns) + block_writes(opened, appends, columns)


def block_writes(
    opened: Opened, changes: Mapping[int, Mapping[str, object]], columns: dict[str, int]
) -> list[tuple[tuple[int, int], list[list[object]]]]:
    """``changes`` (sheet row → key → value) as range writes, ((sheet row, sheet column), 2-D values): one block per
    run of adjacent columns that receive a value, over the rows from the first to the last that do. A cell inside a
    block that receives nothing is written back as it is (``_kept``: a formula as its formula)."""
    writes = []
    for run in _adjacent(sorted({columns[key] for values in changes.values() for key in values})):
        keys = [_key_at(columns, column) for column in run]
        rows = [number for number, values in changes.items() if any(key in values for key in keys)]
        block = []
        for number in range(min(rows), max(rows) + 1):
            values = changes.get(number, {})
            block.append([to_cell(values[key]) if key in values else _kept(opened, number, column)
                          for key, column in zip(keys, run)])
        writes.append(((min(rows), run[0]), block))
    return writes


def _adjacent(columns: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for column in columns:
        if runs and runs[-1][-1] + 1 == column:
            runs[-1].append(column)
        else:
            runs.append([column])
    return runs


def _key_at(columns: dict[str, int], column: int) -> str:
    return next(key for key, at in columns.items() if at == column)


def _value_at(grid, row: int, column: int) -> object:
    """The value of a sheet cell in a grid read from A1 (None beyond it)."""
    values = grid[row - 1] if 0 < row <= len(grid) else []
    return values[column - 1] if 0 < column <= len(values) else None


def write_stats(sheet, stats_plan: stats.Plan, old: Sequence[Sequence[object]]) -> bool:
    """Write ``stats_plan`` onto 统计: one block of values covering the plan and whatever the sheet held before (so
    old cells are emptied in the same write), then one number-format write per rectangle of like-formatted cells
    (a few per table, none per row). When the tables moved (another number of reasons, weeks, … than the sheet
    shows), the old used range is cleared first, formats and fills included, so no colour or percent format is
    left on a row that now means something else; returns True then (charts there point at the old rows)."""
    height = max(r for r, _ in stats_plan.cells)
    width = max(c for _, c in stats_plan.cells)
    old_width = max((len(r) for r in old), default=0)
    titles = tuple(sorted(r for (r, _), c in stats_plan.cells.items() if c.style == stats.BLOCK))
    moved = _layout(old) != titles + (height,)
    if moved and old:
        sheet.range((1, 1), (len(old), max(old_width, 1))).clear()
    block = [
        [_stats_cell(stats_plan.cells.get((r, c))) for c in range(1, max(width, old_width) + 1)]
        for r in range(1, max(height, len(old)) + 1)
    ]
    sheet.range((1, 1)).value = block
    for (top, left, bottom, right), number_format in format_rectangles(stats_plan):
        sheet.range((top, left), (bottom, right)).number_format = number_format
    return moved


def _layout(grid) -> tuple[int, ...]:
    """The rows of 统计's table titles and its last row: equal for two sheets whose tables sit on the same rows."""
    titles = [i + 1 for i, r in enumerate(grid) if r and isinstance(r[0], str) and r[0] in stats.BLOCK_TITLES]
    return tuple(titles) + (len(grid),)


def _stats_cell(cell: stats.Cell | None) -> object:
    return None if cell is None else to_cell(cell.value)  # a week 2026-11-16 or a product "=x" stays text


def format_rectangles(stats_plan: stats.Plan) -> list[tuple[tuple[int, int, int, int], str]]:
    """Number formats of 统计 as ((top, left, bottom, right), format): each column's numeric cells in runs of one
    format (text and blank cells in between take the format harmlessly), then side-by-side runs of equal rows
    and format joined. Their number depends on the layout (tables, KPI cards), not on how many rows there are."""
    by_column: dict[int, list[list]] = {}
    for (r, c), cell in sorted(stats_plan.cells.items(), key=lambda item: (item[0][1], item[0][0])):
        value = cell.value
        number_format: str | None
        if isinstance(value, datetime):
            number_format = DATE_FORMAT
        elif value is None or isinstance(value, (str, bool)):
            continue
        else:
            number_format = STATS_FORMATS.get(cell.style)
        if number_format is None:
            continue
        runs = by_column.setdefault(c, [])
        if runs and runs[-1][2] == number_format:
            runs[-1][1] = r
        else:
            runs.append([r, r, number_format])
    rectangles: list[list] = []
    for c in sorted(by_column):
        for top, bottom, number_format in by_column[c]:
            joined = next((x for x in rectangles if x[3] == c - 1 and (x[0], x[2], x[4]) == (top, bottom, number_format)), None)
            if joined:
                joined[3] = c
            else:
                rectangles.append([top, c, bottom, c, number_format])
    return [((t, lft, b, rgt), f) for t, lft, b, rgt, f in rectangles]


def summary(tally: plan.Tally) -> str:
    """One line for Excel's status bar: rows checked and changed, decisions, overdue."""
    return (f"退款助手：已检查 {tally.rows} 行，更新 {tally.changed} 行（{tally.kinds() or '无'}）；"
            f"已超时 {tally.overdue}，即将超时 {tally.due_soon}")


_POLICIES: dict[str, Policy] = {}


def _compiled(grid: list[list[object]]) -> Policy:
    """Compile a 规则 grid once per distinct content: worksheet functions recalculate often, rules rarely change."""
    key = hashlib.sha256(repr(grid).encode()).hexdigest()
    if key not in _POLICIES:
        if len(_POLICIES) >= 8:
            _POLICIES.clear()
        _POLICIES[key] = service.compile_or_raise(policy_tables_from_grid(grid, RULES))
    return _POLICIES[key]


# ---------------------------------------------------------------------------------------------------------------
# Worksheet functions. Arguments are converted here, at the boundary; each returns a value or a short "#…" text.

HEADERS_DOC = "登记表的表头行，例如 $A$1:$Z$1"
ROW_DOC = "一条售后单所在的行，与表头行同宽，例如 A2:Z2"
RULES_DOC = "可选：规则表区域，例如 规则!A1:O200（从 A1 开始）；省略时用本工作簿的“规则”表，没有则用默认规则"
AT_DOC = "可选：按这个时间判定（例如 \"2026-11-20 12:00\"）；省略时为现在"


def cell_safe(function: Callable) -> Callable:
    """A worksheet function never shows a traceback: bad input gives ``#参数错误: …``, a bug ``#错误: …``."""

    @functools.wraps(function)
    def safe(*args):
        try:
            return function(*args)
        except (RefundSheetError, ValueError) as error:  # CellError is a ValueError
            return f"#参数错误: {_first_line(error)}"
        except Exception as error:  # a cell must show text, not a crash
            return f"#错误: {type(error).__name__}: {_first_line(error)}"

    return safe


def row_function(function: Callable) -> Callable:
    """The decorators every single-row worksheet function carries (REFUND_DECISION … REFUND_REPLY), applied in
    the same order as written out: xlwings' argument conversion and help text, then ``cell_safe``."""
    for decorate in (
        cell_safe,
        xw.arg("at", doc=AT_DOC),
        xw.arg("rules", ndim=2, err_to_str=True, doc=RULES_DOC),
        xw.arg("row_values", ndim=1, err_to_str=True, doc=ROW_DOC),
        xw.arg("headers", ndim=1, err_to_str=True, doc=HEADERS_DOC),
        xw.func(category=TITLE),
    ):
        function = decorate(function)
    return function


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "；".join(lines[:3])[:200]


RULES_FRESH_SECONDS = 2.0
_RULES_READ: dict[str, tuple[float, list[list[object]] | None]] = {}


def udf_policy(rules, caller) -> Policy:
    """The policy for a worksheet function: the ``rules`` range when given, else the calling workbook's 规则
    sheet, else the defaults. Compiled once per distinct content (``_compiled``)."""
    if rules is not None:
        return _compiled([list(r) for r in rules])
    try:
        grid = book_rules(caller.sheet.book)
    except AttributeError:  # no caller (called from Python, or Excel did not pass one)
        grid = None
    return default_policy() if grid is None else _compiled(grid)


def book_rules(book) -> list[list[object]] | None:
    """The values of a book's 规则 sheet (None without one), read at most once per RULES_FRESH_SECONDS: a
    recalculation runs the worksheet functions of every row within moments, and one range read serves them all
    instead of one per cell. An edit of 规则 is seen by the next recalculation after that (a function without the
    ``rules`` argument is not recalculated by an edit of 规则 anyway; with it, the argument is the rules)."""
    key = getattr(book, "fullname", None) or book.name
    now = time.monotonic()
    seen = _RULES_READ.get(key)
    if seen is not None and now - seen[0] < RULES_FRESH_SECONDS:
        return seen[1]
    grid = read_grid(book.sheets[RULES]) if RULES in book.sheet_names else None
    if len(_RULES_READ) >= 8:
        _RULES_READ.clear()
    _RULES_READ[key] = (now, grid)
    return grid


def udf_now(at, policy: Policy) -> datetime | None:
    """The moment to judge at: a date cell, a serial number or text; blank means now."""
    if at is None or (isinstance(at, str) and not at.strip()):
        return None
    return parse_datetime(at, policy.params.timezone)


def judge_one(headers, row_values, rules, at, caller, *, reply: bool = False):
    """The verdict for one register row given with its header row (a 1-row range each)."""
    headers, values = _flat(headers), _flat(row_values)
    missing = missing_required(map_headers(headers), headers)
    if missing:
        raise ValueError("表头行" + "；".join(missing))
    policy = udf_policy(rules, caller)
    renderer = replies.make_renderer(policy) if reply else None
    sheet, number = _where(caller)
    now = udf_now(at, policy) or service.now_in(policy.params.timezone)
    ((_, _, facts, verdict),) = plan.Judging(headers, [(number, values)], sheet, policy, now)
    return verdict, plan.row_outputs(facts, verdict, now, renderer)


def _flat(values) -> list[object]:
    """A 1-row (or 1-column) range's values as a flat list, whatever shape Excel passed."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        return [values]
    if values and isinstance(values[0], (list, tuple)):
        if len(values) > 1 and len(values[0]) > 1:
            raise ValueError("应为一行单元格，而不是多行的区域")
        return [v for r in values for v in r]
    return list(values)


def _where(caller) -> tuple[str, int]:
    try:
        return caller.sheet.name, caller.row
    except AttributeError:
        return REGISTER, 2


def _incomplete(verdict) -> str | None:
    """``#信息不全: 实付金额 为空`` for a row that cannot be judged (INCOMPLETE), else None."""
    if verdict.decision is not Decision.INCOMPLETE:
        return None
    problems = verdict.problems
    reason = f"{problems[0].field} {problems[0].message}" if problems else verdict.explanation
    return f"#{Decision.INCOMPLETE.value}: {reason}"


def _value(value):
    """A result as a cell shows it: money as a number, nothing as an empty text (not 0)."""
    if value is None:
        return ""
    return float(value) if isinstance(value, Decimal) else value


@row_function
def REFUND_DECISION(headers, row_values, rules=None, at=None, caller=None):
    """处理建议：按规则判定一条售后单，返回全额退款、退货退款、拒绝等。

    The cell-by-cell twin of the 处理建议 column that 检查全部 fills; repeat-buyer and duplicate risks need the
    whole table, so they are seen by REFUND_CHECK and the buttons, not here.
    """
    verdict, _ = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or verdict.decision.value


@row_function
def REFUND_AMOUNT(headers, row_values, rules=None, at=None, caller=None):
    """退款金额：按规则算出的应退金额（元，两位小数）。

    The 退款金额 column of 检查全部 for one row: 0 for exchange, resend, reject and the other decisions that
    pay nothing back.
    """
    verdict, _ = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or _value(verdict.amount)


@row_function
def REFUND_DEADLINE(headers, row_values, rules=None, at=None, caller=None):
    """处理时限：平台截止时间，或按规则的时限和工作日算出的截止时间。

    Returns an Excel date-time (format the cell as a date); the 处理时限 column of 检查全部 and 刷新时效.
    """
    verdict, _ = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or _value(verdict.deadline)


@row_function
def REFUND_SLA(headers, row_values, rules=None, at=None, caller=None):
    """时效状态：正常、即将超时、已超时或已完结（按 at 给的时间，省略时为现在）。

    The 时效状态 column of 刷新时效. Not volatile: pass NOW() as ``at`` for a live state.
    """
    verdict, _ = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or _value(verdict.sla.value if verdict.sla else None)


@row_function
def REFUND_REPLY(headers, row_values, rules=None, at=None, caller=None):
    """回复话术：按处理建议和回复模板写给买家的回复。

    The 回复话术 column of 生成回复, rendered from the same templates (规则!参数 语言 picks the language).
    """
    verdict, outputs = judge_one(headers, row_values, rules, at, caller, reply=True)
    return _incomplete(verdict) or _value(outputs.get("reply"))


@xw.func(category=TITLE)
@xw.arg("table", ndim=2, err_to_str=True, doc="整张登记表（含表头行），例如 退款登记!A1:Z500")
@xw.arg("rules", ndim=2, err_to_str=True, doc=RULES_DOC)
@xw.arg("at", doc=AT_DOC)
@xw.arg("with_replies", doc="TRUE 时同时生成回复话术（较慢）；默认不生成")
@cell_safe
def REFUND_CHECK(table, rules=None, at=None, with_replies=False, caller=None):
    """检查整张表：返回与输入同样行数的结果表（处理建议到检查时间），自动溢出。

    What 检查全部 writes, as a spilled array beside the table instead of into it: one output row per input row
    (the header row gets the output headers), so the result lines up with the cases. The 回复话术 column stays
    empty unless ``with_replies`` is TRUE: a worksheet function recalculates on every edit, and rendering a
    reply per row is half its time; the 生成回复 button and REFUND_REPLY give replies.
    """
    grid = [list(r) for r in (table or [])]
    policy = udf_policy(rules, caller)
    sheet, _ = _where(caller)
    renderer = replies.make_renderer(policy) if with_replies else None
    try:
        register = plan.register_of_grid(grid, sheet)
    except LookupError as error:
        if type(error) is not LookupError:
            raise
        raise RefundSheetError(f"找不到售后登记表的表头：{error}") from None
    now = udf_now(at, policy) or service.now_in(policy.params.timezone)
    columns, _ = plan.output_columns(register)
    judged = without_gc_pauses(dict)(  # a recalculation of thousands of rows: the records make no cycles
        (number, plan.row_outputs(facts, verdict, now, renderer))
        for number, _, facts, verdict in plan.Judging.of_register(register, policy, now)
    )
    out = [[""] * len(plan.KEYS) for _ in range(register.header_row - 1)]
    out.append([c.header for c in OUTPUT_COLUMNS])
    for number in range(register.header_row + 1, len(grid) + 1):
        outputs = judged.get(number, {})
        out.append([_value(outputs[key] if key in outputs else register.old(number, columns[key]) or None) for key in plan.KEYS])
    return out


UDFS = (REFUND_DECISION, REFUND_AMOUNT, REFUND_DEADLINE, REFUND_SLA, REFUND_REPLY, REFUND_CHECK)
