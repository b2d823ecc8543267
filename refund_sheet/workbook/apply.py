"""A run's results as edits of the tracker it read: output cells, imported rows, 统计 and the 记录 line.

Everything here only gathers changes in a ``PackageEdit``; ``PackageEdit.write`` makes the file. Every cell is
checked before anything is written: a result that would land inside a merged range stops the run, file untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from ..engine.columns import BY_KEY, cell_text, column_letter
from ..errors import WorkbookError
from ..plan import log_place
from .formats import LOG_TIME_FORMAT, OUTPUT_FORMATS, TYPED_FORMATS
from .package import STYLE_IN_TAG, bounds, cells_of, range_ref
from .read import LOG_HEADERS, Tracker
from .write import BulkRows, Formula, PackageEdit, Put, SheetEdit, ToolSheet, styles_of

DIMENSION_REF = re.compile(rb'<dimension\b[^>]*\bref="([^"]*)"')


def _text(value: object) -> object:
    return cell_text(value) if isinstance(value, str) else value


def _refuse_merged(tracker: Tracker, row: int, column: int, header: str) -> None:
    if tracker.register.scan.merged_over(row, column):
        header = BY_KEY[header].header if header in BY_KEY else header
        raise WorkbookError(
            f"{tracker.register.sheet}!{column_letter(column)}{row}（{header}）在合并单元格中，无法写入结果：请取消合并后再运行，文件未改动"
        )


def _register(edit: PackageEdit, tracker: Tracker) -> SheetEdit:
    reg = tracker.register
    return edit.sheet(reg.part, reg.scan.col_styles, reg.header_row)


def grown_dimension(head: bytes, last_row: int, last_col: int) -> str | None:
    """The <dimension> (in ``head``, the XML before a sheet's rows) grown to cover cells up to ``last_row`` and
    ``last_col``; None when it covers them already, or there is none, or it cannot be read (left as it is)."""
    match = DIMENSION_REF.search(head)
    if match is None:
        return None
    try:
        r1, c1, r2, c2 = bounds(match.group(1).decode())
    except ValueError:
        return None
    if last_row > r2 or last_col > c2:
        return range_ref(min(r1, 1), min(c1, 1), max(r2, last_row), max(c2, last_col))
    return None


def grow_dimension(edit: PackageEdit, part: str, head: bytes) -> None:
    """Make a sheet's <dimension> (in ``head``, the XML before its rows) cover what the run writes there."""
    if b"<dimension" not in head:
        return  # (the extent sorts every row written: not worked out for nothing)
    grown = grown_dimension(head, *edit.sheet(part).extent())
    if grown is not None:
        edit.set_dimension(part, grown)


def _header_style(tracker: Tracker) -> int | None:
    """The style of the last header cell (new headers look like the others), from the header row's XML."""
    reg = tracker.register
    xml = reg.scan.top.get(reg.header_row, b"")
    style = None
    for column, start, _end in cells_of(xml):
        if column <= reg.last_col:
            match = STYLE_IN_TAG.search(xml, start, xml.find(b">", start))
            style = int(match.group(1)) if match else 0
    return style


def header_cells(tracker: Tracker, columns: dict[str, int], new_headers: Sequence[str]) -> dict[int, Put]:
    """The cells of the output columns' new headers in the header row, by column (looking like the last header);
    refused when one would land inside a merged range."""
    if not new_headers:
        return {}
    reg = tracker.register
    style = _header_style(tracker)
    first_new = min(columns[c.key] for c in BY_KEY.values() if c.header in new_headers and c.key in columns)
    cells = {}
    for offset, header in enumerate(new_headers):
        _refuse_merged(tracker, reg.header_row, first_new + offset, header)
        cells[first_new + offset] = Put(header, None, style)
    return cells


def write_outputs(
    edit: PackageEdit,
    tracker: Tracker,
    columns: dict[str, int],
    new_headers: Sequence[str],
    updates: Mapping[int, Mapping[str, object]],
) -> None:
    """The output columns' new headers and each changed row's output values (text always text, money and times
    with their number formats on top of the cell's own style)."""
    reg = tracker.register
    sheet = _register(edit, tracker)
    formulas = reg.scan.formulas
    replaced_formula = False
    if new_headers:
        headers = header_cells(tracker, columns, new_headers)
        for column, put in headers.items():
            sheet.put(reg.header_row, column, put.value, style=put.style)
        first_new = min(headers)
        table = reg.table
        if table is not None and table.bounds[3] + 1 == first_new and table.bounds[0] == reg.header_row:
            edit.set_table(table, new_columns=tuple(new_headers))  # right beside the Table: it grows over them
    places = [(key, columns[key], OUTPUT_FORMATS.get(key)) for key in columns]
    by_row = updates  # row → key → value, output_values made their text cell-safe
    if reg.scan.merged or formulas:  # checked before anything is written
        for row, values in by_row.items():
            for key, column, _ in places:
                if key in values:
                    _refuse_merged(tracker, row, column, key)
                    replaced_formula = replaced_formula or (row, column) in formulas
    sheet.bulk = BulkRows(by_row, places)
    if replaced_formula:
        for row, column in reg.scan.shared:  # a filled-down formula in an output column goes as a whole: a cell
            if column not in sheet.row(row):  # left behind would point at a formula that is gone
                sheet.put(row, column, None)
        edit.drop_calc_chain()
    grow_dimension(edit, reg.part, reg.scan.head)


def apply_merge(edit: PackageEdit, tracker: Tracker, plan) -> None:
    """An import (``plan.ImportPlan``): refreshed cells in place, new cases from ``plan.next_row`` down, the
    Table grown over them."""
    reg = tracker.register
    sheet = _register(edit, tracker)
    merge = plan.merge

    def put(row: int, key: str, value: object) -> None:  # never onto a merchant's formula: the plan left those out
        column = reg.column(key)
        _refuse_merged(tracker, row, column, key)
        sheet.put(row, column, _text(value), TYPED_FORMATS.get(key))

    for row, changes in merge.updates:
        for key, value in changes.items():
            put(row, key, value)
    for row, record in enumerate(merge.appends, start=plan.next_row):
        for key, value in record.items():
            put(row, key, value)
    _fill_calculated_columns(sheet, reg, first_new=plan.next_row, last=plan.last_row)
    table = reg.table
    if table is not None and merge.appends and plan.last_row > table.bounds[2]:
        if table.totals_rows:
            raise WorkbookError(f"{reg.sheet} 的表格有汇总行，新的售后单无法追加到表格中：请先关闭汇总行再导入，文件未改动")
        edit.set_table(table, last_row=plan.last_row)
    grow_dimension(edit, reg.part, reg.scan.head)


def _fill_calculated_columns(sheet: SheetEdit, reg, first_new: int, last: int) -> None:
    """A Table column the merchant gave a calculated-column formula gets it in the rows an import adds, as Excel
    does when a row is typed into the Table (without it the merchant's totals over that column would miss them)."""
    table = reg.table
    if table is None or not table.formulas or last < first_new:
        return
    first_col = table.bounds[1]
    for row in range(first_new, last + 1):
        for offset, formula in table.formulas:
            column = first_col + offset
            if (row, column) not in reg.scan.formulas and column not in sheet.row(row):
                sheet.put(row, column, Formula(formula))


def add_products(edit: PackageEdit, tracker: Tracker, products) -> str:
    """An import's new products written into the 商品 table on 规则 (``imports.product_cells`` says where, from the
    sheet's values); returns the rows filled, ``规则!A47:A52``, or "" when nothing was written. A new cell looks
    like the cell above it (the table's borders); IDs and names are text."""
    from ..imports import product_cells
    from .package import scan_sheet
    from .read import POLICY_SHEET

    sheet = tracker.package.sheet(POLICY_SHEET)
    if not products or sheet is None:
        return ""
    cells, where = product_cells(tracker.grids.grid(POLICY_SHEET), products)
    if not cells:
        return where
    scan = scan_sheet(tracker.package.stream(sheet.part), keep=frozenset(row - 1 for row, _, _ in cells))
    rules = edit.sheet(sheet.part, scan.col_styles)
    for row, col, text in cells:
        if scan.merged_over(row, col):
            raise WorkbookError(f"{POLICY_SHEET}!{column_letter(col)}{row}（商品）在合并单元格中，无法写入新商品：请取消合并后再导入，文件未改动")
        above = styles_of(scan.top.get(row - 1, b""))  # the row above, whose borders the table's cells have
        rules.put(row, col, cell_text(text), style=above.get(col))
    grow_dimension(edit, sheet.part, scan.head)
    return where


def put_stats(edit: PackageEdit, tracker: Tracker, plan) -> None:
    """统计 rebuilt from a ``stats.Plan`` (the sheet, its drawing and charts replace the old ones)."""
    from .dashboard import scratch

    name = tracker.stats_sheet
    edit.put_tool_sheet(ToolSheet(name, scratch(stats_name=name, plan=plan)))


def append_log(edit: PackageEdit, tracker: Tracker, values: Sequence[object]) -> int:
    """One row appended to 记录 (the sheet created with its header when the workbook has none); returns its row.
    Rows already there are never touched: the log is the merchant's evidence of what ran when."""
    from .dashboard import scratch

    name = tracker.log_sheet
    grid = tracker.log_grid()
    if grid is None:  # a new log sheet, its header written by the scratch sheet
        part, (row, header) = edit.put_tool_sheet(ToolSheet(name, scratch(log_name=name))), (2, False)
    else:
        sheet = tracker.package.sheet(name)
        assert sheet is not None
        part, (row, header) = sheet.part, log_place(grid)
    log = edit.sheet(part)
    if header:  # an empty log sheet: its header first
        for column, text in enumerate(LOG_HEADERS, start=1):
            log.put(1, column, text)
    for column, value in enumerate(values, start=1):
        log.put(row, column, _text(value), LOG_TIME_FORMAT if isinstance(value, datetime) else None)
    return row


# ------------------------------------------------------------------------------------------------ plans to a file


def apply_check(edit: PackageEdit, tracker: Tracker, plan) -> None:
    """A ``plan.CheckPlan``: the changed rows' outputs, 统计 when it changed, the run's 记录 line."""
    write_outputs(edit, tracker, plan.columns, plan.new_headers, plan.updates)
    apply_stats(edit, tracker, plan)


def apply_stats(edit: PackageEdit, tracker: Tracker, plan) -> None:
    """A plan's dashboard (when 统计 does not show it yet) and its 记录 line."""
    if plan.board.stale:
        put_stats(edit, tracker, plan.board.plan)
    append_log(edit, tracker, plan.log)


def apply_import(edit: PackageEdit, tracker: Tracker, plan) -> str:
    """A ``plan.ImportPlan``: the merge, the new products on 规则, the 记录 line (统计 waits for the next check:
    the new cases have no verdicts yet). Returns where the new products went (``规则!A47:A52``) or ""."""
    apply_merge(edit, tracker, plan)
    where = add_products(edit, tracker, plan.merge.products)
    append_log(edit, tracker, plan.log)
    return where
