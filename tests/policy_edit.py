"""Editing the 规则 sheet of a tracker the way a merchant would: find a table by its title, change a cell."""

from __future__ import annotations

from pathlib import Path

import openpyxl


def _table(ws, name: str) -> tuple[int, dict[str, int]]:
    """(header row, header → column) of the policy table titled ``name``."""
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):
        if cell.value == name:
            header_row = cell.row + 1
            headers = {}
            for c in ws[header_row]:
                if c.value in (None, ""):
                    break
                headers[c.value] = c.column
            return header_row, headers
    raise KeyError(name)


def set_cell(path: Path, table: str, key: str, header: str, value) -> str:
    """Set ``header`` in the row of ``table`` whose first column is ``key``; returns the cell reference."""
    wb = openpyxl.load_workbook(path)
    ws = wb["规则"]
    header_row, headers = _table(ws, table)
    row = header_row + 1
    while ws.cell(row, 1).value != key:
        row += 1
        if row > header_row + 200:
            raise KeyError(key)
    cell = ws.cell(row, headers[header], value)
    wb.save(path)
    return cell.coordinate


def add_row(path: Path, table: str, values: dict, before: str | None = None) -> int:
    """Add a row to ``table``: in its first empty row, or inserted above the row whose first column is ``before``."""
    wb = openpyxl.load_workbook(path)
    ws = wb["规则"]
    header_row, headers = _table(ws, table)
    row = header_row + 1
    if before is not None:
        while ws.cell(row, 1).value != before:
            row += 1
        ws.insert_rows(row)
    else:
        while any(ws.cell(row, c).value not in (None, "") for c in headers.values()):
            row += 1
    for header, value in values.items():
        ws.cell(row, headers[header], value)
    wb.save(path)
    return row
