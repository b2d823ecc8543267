"""Where each policy table stands on the 规则 sheet: a title row, a header row, then its rows.

Shared by the workbook builder (which lays the tables out) and the default policy (whose problems point at
the same cells). The reader does not rely on it: it finds tables by their titles, so merchants may add rows.
"""

from __future__ import annotations

from functools import cache

from . import defaults

FIRST_TITLE_ROW = 4  # rows 1–3: the sheet's title and how to edit it
SPARE_ROWS = 8  # empty rows left under each table for the merchant's additions


@cache
def policy_layout() -> dict[str, tuple[int, int]]:
    """Table name → (first data row, first column), 1-based. The title is two rows above, the headers one."""
    layout = {}
    row = FIRST_TITLE_ROW
    for name, (_headers, rows) in defaults.TABLES.items():
        layout[name] = (row + 2, 1)
        row += 2 + len(rows) + SPARE_ROWS + 1
    return layout
