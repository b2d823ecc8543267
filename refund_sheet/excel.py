"""The only module that imports xlwings: the 退款助手 ribbon buttons and the REFUND_* worksheet functions.

Buttons: the ribbon (addin/customUI14.xml) calls the VBA ``OnButton``, which runs ``on_button(<button id>)``.
Each handler reads the register with one range read, calls the same service the command line uses
(``service.check_grid``), and writes the output columns back with one range write per run of adjacent output
columns, whatever the number of rows. Everything is computed before the first write, so an error leaves the
workbook as it was and shows an Excel alert with the reason.

Functions (UDFs, Windows only, as with every xlwings UDF): REFUND_DECISION, REFUND_AMOUNT, REFUND_DEADLINE,
REFUND_SLA and REFUND_REPLY judge one row given its header row; REFUND_CHECK judges a whole table and spills
the results. A cell shows a short ``#…`` text instead of a traceback when something is wrong.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

import xlwings as xw

from . import replies, service
from .engine import Decision, Policy, Sla, default_policy
from .engine.columns import OUTPUT_COLUMNS, map_headers, missing_required
from .engine.parse import parse_datetime
from .engine.policy import policy_tables_from_grid
from .errors import RefundSheetError

REGISTER = "退款登记"
RULES = "规则"
HELP = "说明"
TITLE = "退款助手"
FORMULA_START = ("=", "+", "-", "@")  # text starting so is written as text, never as a formula (SPEC §8)
KEY_OF_HEADER = {c.header: c.key for c in OUTPUT_COLUMNS}
ORDER = tuple(c.key for c in OUTPUT_COLUMNS)

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
# Buttons. Each is a few lines: read, call the service, write.


@button("check_all")
def check_all(book) -> None:
    """检查全部: judge every open case of the register and fill all output columns."""
    _check(book)


@button("check_selected")
def check_selected(book) -> None:
    """检查选中行: judge only the rows selected on the register; every other row keeps its values."""
    _check(book, only_rows=_selected_rows(book))


@button("make_replies")
def make_replies(book) -> None:
    """生成回复: rewrite the 回复话术 column only (after a template or the shop name changed)."""
    _check(book, keys=("reply",))


@button("refresh_sla")
def refresh_sla(book) -> None:
    """刷新时效: recompute 处理时限 and 时效状态 only; no reply is rendered."""
    _check(book, keys=("deadline", "sla"), replies_too=False)


@button("import_cases")
def import_cases(book) -> None:
    """导入售后单: not in this version. The headless import (``service.import_file``) merges into a saved file;
    the button needs a grid-level merge to write into the open workbook."""
    raise RefundSheetError(
        "此版本的退款助手还不能在 Excel 里导入售后单（该功能尚未提供）。可以关闭工作簿后用命令 refund-sheet import 导入，"
        "或把导出的售后单粘贴到“退款登记”表，再点“检查全部”。"
    )


@button("update_stats")
def update_stats(book) -> None:
    """更新统计: not in this version. The headless dashboard is written with openpyxl into a saved file; the
    button needs it as grid values to write into the open workbook."""
    raise RefundSheetError(
        "此版本的退款助手还不能在 Excel 里更新统计（该功能尚未提供）。可以保存并关闭工作簿后运行 refund-sheet check"
        "（保存时会重建“统计”表），或用 refund-sheet report 查看统计。"
    )


@button("show_rules")
def show_rules(book) -> None:
    """规则表: go to the 规则 sheet, where the merchant edits the decision table and parameters."""
    _go_to(book, RULES, "这个工作簿没有“规则”表，检查时使用默认规则。用 refund-sheet new 新建的登记表自带可编辑的规则表。")


@button("show_help")
def show_help(book) -> None:
    """说明: go to the 说明 sheet."""
    _go_to(book, HELP, "这个工作簿没有“说明”表。用 refund-sheet new 新建的登记表自带说明；按钮用法见 docs/excel.md。")


def _check(book, *, only_rows=None, keys=None, replies_too: bool = True) -> None:
    """The body of the four checking buttons: one read of the register, one of 规则, a few whole-block writes."""
    sheet = _register(book)
    grid = read_grid(sheet)
    policy = book_policy(book)
    renderer = replies.make_renderer(policy) if replies_too else None
    result = check_grid(grid, policy, sheet=sheet.name, renderer=renderer, only_rows=only_rows, keys=keys)
    write_result(sheet, result)
    book.app.status_bar = summary(result)


def check_grid(grid, policy, now=None, **options) -> service.GridResult:
    """``service.check_grid``, with "no header row holds the required columns" as a user error."""
    try:
        return service.check_grid(grid, policy, now, **options)
    except LookupError as error:
        if type(error) is not LookupError:  # a KeyError or IndexError is a bug, not the merchant's table
            raise
        raise RefundSheetError(f"找不到售后登记表的表头：{error}") from None


def _register(book):
    """The register: the sheet 退款登记, else the active sheet (whose header row must hold the required columns)."""
    return book.sheets[REGISTER] if REGISTER in book.sheet_names else book.sheets.active


def _go_to(book, name: str, missing: str) -> None:
    if name not in book.sheet_names:
        raise RefundSheetError(missing)
    book.sheets[name].activate()


def _selected_rows(book) -> set[int] | None:
    """0-based grid rows of the selection on the register (``None``: whole columns selected, i.e. every row)."""
    selection = book.selection
    if selection is None or selection.sheet.name != _register(book).name:
        raise RefundSheetError(f"请先在“{_register(book).name}”表中选中要检查的行，再点“检查选中行”。")
    return rows_of_address(selection.address)


# ---------------------------------------------------------------------------------------------------------------
# Whole-range reads and writes.


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


def write_result(sheet, result: service.GridResult) -> None:
    """New headers in one write, then one 2-D write per run of adjacent output columns: a constant number of
    range operations whatever the number of rows."""
    if result.new_headers:
        start = min(result.columns[KEY_OF_HEADER[h]] for h in result.new_headers)
        sheet.range((result.header_row + 1, start + 1)).value = [list(result.new_headers)]
    if not result.block:
        return
    for first_column, indices in column_runs(result.columns):
        values = [[to_cell(row[i]) for i in indices] for row in result.block]
        sheet.range((result.header_row + 2, first_column + 1)).value = values


def column_runs(columns: dict[str, int]) -> list[tuple[int, list[int]]]:
    """Output columns grouped into runs of adjacent sheet columns: (first 0-based column, block indices)."""
    runs: list[tuple[int, list[int]]] = []
    for column, index in sorted((columns[key], ORDER.index(key)) for key in ORDER):
        if runs and runs[-1][0] + len(runs[-1][1]) == column:
            runs[-1][1].append(index)
        else:
            runs.append((column, [index]))
    return runs


def to_cell(value: object) -> object:
    """A value as Excel should receive it: money as a number, formula-like text kept as text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # Excel stores the text without the apostrophe and never evaluates it
    return value


_AREA = re.compile(r"^\$?[A-Z]{0,3}\$?(\d*)(?::\$?[A-Z]{0,3}\$?(\d*))?$")


def rows_of_address(address: str) -> set[int] | None:
    """0-based rows covered by an A1 address such as ``$A$3:$F$5,$A$9:$F$9`` or ``$3:$5``; ``None`` when an
    area is whole columns (``$B:$B``), which means every row."""
    rows: set[int] = set()
    for area in address.replace(" ", "").split(","):
        match = _AREA.match(area.split("!")[-1])
        if not match:
            raise RefundSheetError(f"无法识别选中的区域“{address}”")
        first, last = match.group(1), match.group(2) or match.group(1)
        if not first:
            return None
        rows.update(range(int(first) - 1, int(last)))
    return rows


def summary(result: service.GridResult) -> str:
    """One line for Excel's status bar: rows checked, decisions, overdue, incomplete."""
    verdicts = result.evaluation.verdicts
    kinds = Counter(v.decision.value for v in verdicts)
    overdue = sum(v.sla is Sla.OVERDUE for v in verdicts)
    due_soon = sum(v.sla is Sla.DUE_SOON for v in verdicts)
    text = "，".join(f"{k} {n}" for k, n in kinds.most_common()) or "无"
    return f"退款助手：已检查 {len(verdicts)} 行（{text}）；已超时 {overdue}，即将超时 {due_soon}"


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
        except Exception as error:  # noqa: BLE001 - a cell must show text, not a crash
            return f"#错误: {type(error).__name__}: {_first_line(error)}"

    return safe


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "；".join(lines[:3])[:200]


def udf_policy(rules, caller) -> Policy:
    """The policy for a worksheet function: the ``rules`` range when given, else the calling workbook's 规则
    sheet, else the defaults."""
    if rules is not None:
        return _compiled([list(r) for r in rules])
    try:
        book = caller.sheet.book
        if RULES in book.sheet_names:
            return _compiled(read_grid(book.sheets[RULES]))
    except AttributeError:  # no caller (called from Python, or Excel did not pass one)
        pass
    return default_policy()


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
    evaluation = service.evaluate(headers, [(number, values)], sheet, policy, udf_now(at, policy), renderer)
    return evaluation.verdicts[0]


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


@xw.func(category=TITLE)
@xw.arg("headers", ndim=1, err_to_str=True, doc=HEADERS_DOC)
@xw.arg("row_values", ndim=1, err_to_str=True, doc=ROW_DOC)
@xw.arg("rules", ndim=2, err_to_str=True, doc=RULES_DOC)
@xw.arg("at", doc=AT_DOC)
@cell_safe
def REFUND_DECISION(headers, row_values, rules=None, at=None, caller=None):
    """处理建议：按规则判定一条售后单，返回全额退款、退货退款、拒绝等。

    The cell-by-cell twin of the 处理建议 column that 检查全部 fills; repeat-buyer and duplicate risks need the
    whole table, so they are seen by REFUND_CHECK and the buttons, not here.
    """
    verdict = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or verdict.decision.value


@xw.func(category=TITLE)
@xw.arg("headers", ndim=1, err_to_str=True, doc=HEADERS_DOC)
@xw.arg("row_values", ndim=1, err_to_str=True, doc=ROW_DOC)
@xw.arg("rules", ndim=2, err_to_str=True, doc=RULES_DOC)
@xw.arg("at", doc=AT_DOC)
@cell_safe
def REFUND_AMOUNT(headers, row_values, rules=None, at=None, caller=None):
    """退款金额：按规则算出的应退金额（元，两位小数）。

    The 退款金额 column of 检查全部 for one row: 0 for exchange, resend, reject and the other decisions that
    pay nothing back.
    """
    verdict = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or _value(verdict.amount)


@xw.func(category=TITLE)
@xw.arg("headers", ndim=1, err_to_str=True, doc=HEADERS_DOC)
@xw.arg("row_values", ndim=1, err_to_str=True, doc=ROW_DOC)
@xw.arg("rules", ndim=2, err_to_str=True, doc=RULES_DOC)
@xw.arg("at", doc=AT_DOC)
@cell_safe
def REFUND_DEADLINE(headers, row_values, rules=None, at=None, caller=None):
    """处理时限：平台截止时间，或按规则的时限和工作日算出的截止时间。

    Returns an Excel date-time (format the cell as a date); the 处理时限 column of 检查全部 and 刷新时效.
    """
    verdict = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or _value(verdict.deadline)


@xw.func(category=TITLE)
@xw.arg("headers", ndim=1, err_to_str=True, doc=HEADERS_DOC)
@xw.arg("row_values", ndim=1, err_to_str=True, doc=ROW_DOC)
@xw.arg("rules", ndim=2, err_to_str=True, doc=RULES_DOC)
@xw.arg("at", doc=AT_DOC)
@cell_safe
def REFUND_SLA(headers, row_values, rules=None, at=None, caller=None):
    """时效状态：正常、即将超时、已超时或已完结（按 at 给的时间，省略时为现在）。

    The 时效状态 column of 刷新时效. Not volatile: pass NOW() as ``at`` for a live state.
    """
    verdict = judge_one(headers, row_values, rules, at, caller)
    return _incomplete(verdict) or _value(verdict.sla.value if verdict.sla else None)


@xw.func(category=TITLE)
@xw.arg("headers", ndim=1, err_to_str=True, doc=HEADERS_DOC)
@xw.arg("row_values", ndim=1, err_to_str=True, doc=ROW_DOC)
@xw.arg("rules", ndim=2, err_to_str=True, doc=RULES_DOC)
@xw.arg("at", doc=AT_DOC)
@cell_safe
def REFUND_REPLY(headers, row_values, rules=None, at=None, caller=None):
    """回复话术：按处理建议和回复模板写给买家的回复。

    The 回复话术 column of 生成回复, rendered from the same templates (规则!参数 语言 picks the language).
    """
    verdict = judge_one(headers, row_values, rules, at, caller, reply=True)
    return _incomplete(verdict) or _value(verdict.reply)


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
    result = check_grid(grid, policy, udf_now(at, policy), sheet=sheet, renderer=renderer)
    out = [[""] * len(ORDER) for _ in range(result.header_row)]
    out.append([c.header for c in OUTPUT_COLUMNS])
    out += [[_value(v) for v in row] for row in result.block]
    return out


UDFS = (REFUND_DECISION, REFUND_AMOUNT, REFUND_DEADLINE, REFUND_SLA, REFUND_REPLY, REFUND_CHECK)
