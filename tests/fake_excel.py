"""A small stand-in for the part of xlwings' Book/Sheet/Range API the ribbon handlers use, with a tally of every
range operation, so handler tests run on Linux without Excel.

It behaves like Excel through xlwings where the handlers depend on it: a 2-D value written to one cell fills the
block from there; a text written with a leading apostrophe is stored as text without it; a text starting with =
becomes a formula (recorded, so a test can assert none was made); reading an empty sheet's used range gives A1.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from refund_sheet.engine.columns import column_letter


@dataclass(frozen=True)
class CellError:
    """An error cell such as #N/A: xlwings reads it as None unless asked for ``err_to_str``."""

    text: str


@dataclass(frozen=True)
class Formula:
    """A cell Excel would evaluate; the handlers must never create one from data. ``shows`` is the value Excel
    displays for it (what a range read returns); None shows ``#FORMULA text``, so a test sees it was read."""

    text: str
    shows: object = None


def parse_cell(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)", text.upper())
    assert match, text
    column = 0
    for char in match.group(1):
        column = column * 26 + ord(char) - 64
    return int(match.group(2)), column


class Range:
    def __init__(self, sheet: Sheet, top: int, left: int, bottom: int, right: int, ndim=None, err_to_str=False):
        self.sheet, self.row, self.column = sheet, top, left
        self.bottom, self.right, self.ndim, self.err_to_str = bottom, right, ndim, err_to_str

    def _op(self, kind: str, address: str | None = None) -> None:
        self.sheet.book.ops[kind] += 1
        self.sheet.book.log.append((kind, self.sheet.name, address or self.address))

    @property
    def address(self) -> str:
        first = f"${column_letter(self.column)}${self.row}"
        return first if (self.row, self.column) == (self.bottom, self.right) else f"{first}:${column_letter(self.right)}${self.bottom}"

    def options(self, ndim: int | None = None, err_to_str: bool = False, **_) -> Range:
        return Range(self.sheet, self.row, self.column, self.bottom, self.right, ndim, err_to_str)

    @property
    def last_cell(self) -> Range:
        self._op("lookup")
        return Range(self.sheet, self.bottom, self.right, self.bottom, self.right)

    @property
    def value(self):
        self._op("read")
        cells = self.sheet.cells
        grid = [
            [_shown(cells.get((r, c)), self.err_to_str) for c in range(self.column, self.right + 1)]
            for r in range(self.row, self.bottom + 1)
        ]
        if self.ndim == 2:
            return grid
        if len(grid) == 1 and len(grid[0]) == 1:
            return grid[0][0]
        if len(grid) == 1:
            return grid[0]
        return grid

    @value.setter
    def value(self, data) -> None:
        if not isinstance(data, (list, tuple)):
            data = [[data]]
        elif not data or not isinstance(data[0], (list, tuple)):
            data = [list(data)]
        width = max((len(r) for r in data), default=1) or 1
        extent = Range(self.sheet, self.row, self.column, self.row + max(len(data), 1) - 1, self.column + width - 1)
        self._op("write", extent.address)  # the log names the cells the write covers
        for i, row in enumerate(data):
            for j, value in enumerate(row):
                self.sheet.put(self.row + i, self.column + j, value)


    @property
    def formula(self):
        """The formulas of the range, as xlwings gives them: a string for one cell, else rows of strings."""
        self._op("read formulas")
        cells = self.sheet.cells
        grid = tuple(
            tuple(_formula_text(cells.get((r, c))) for c in range(self.column, self.right + 1))
            for r in range(self.row, self.bottom + 1)
        )
        return grid[0][0] if (self.row, self.column) == (self.bottom, self.right) else grid

    def clear(self) -> None:
        """Values and formats gone (xlwings ``Range.clear``)."""
        self._op("clear")
        for r in range(self.row, self.bottom + 1):
            for c in range(self.column, self.right + 1):
                self.sheet.cells.pop((r, c), None)
                self.sheet.formats.pop((r, c), None)

    def clear_contents(self) -> None:
        self._op("clear")
        for r in range(self.row, self.bottom + 1):
            for c in range(self.column, self.right + 1):
                self.sheet.cells.pop((r, c), None)

    @property
    def number_format(self) -> str:
        return self.sheet.formats.get((self.row, self.column), "General")

    @number_format.setter
    def number_format(self, text: str) -> None:
        self._op("format")
        for r in range(self.row, self.bottom + 1):
            for c in range(self.column, self.right + 1):
                self.sheet.formats[(r, c)] = text


def _shown(value, err_to_str: bool):
    if isinstance(value, CellError):
        return value.text if err_to_str else None
    if isinstance(value, Formula):
        return f"#FORMULA {value.text}" if value.shows is None else value.shows
    return value


def _formula_text(value) -> str:
    """What Excel's Range.Formula gives for a cell: the formula, else the value as text ("" when blank)."""
    if isinstance(value, Formula):
        return value.text
    return "" if value is None else str(value.text if isinstance(value, CellError) else value)


class Table:
    """An Excel Table (ListObject) as xlwings shows it: its range (headers and totals included), whether it has
    a header row and a totals row."""

    def __init__(self, sheet: Sheet, address: str, show_totals: bool = False, show_headers: bool = True):
        first, _, last = address.partition(":")
        (top, left), (bottom, right) = parse_cell(first), parse_cell(last)
        self.range = Range(sheet, top, left, bottom, right)
        self.show_totals, self.show_headers = show_totals, show_headers


class Sheet:
    def __init__(self, book: Book, name: str, rows=()):
        self.book, self.name = book, name
        self.tables: list[Table] = []  # a test adds Tables with ``add_table``
        self.cells: dict[tuple[int, int], object] = {}
        self.formats: dict[tuple[int, int], str] = {}  # number formats set by the handlers (cleared by clear())
        self.charts: list[object] = []  # a test puts stand-ins here for charts already on the sheet
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                if value is not None:
                    self.cells[(r, c)] = value

    def add_table(self, address: str, show_totals: bool = False) -> Table:
        table = Table(self, address, show_totals)
        self.tables.append(table)
        return table

    def put(self, row: int, column: int, value) -> None:
        if isinstance(value, str) and value.startswith("'"):
            value = value[1:]  # Excel's prefix character: the rest is text, never a formula
        elif isinstance(value, str) and value.startswith("="):
            value = Formula(value)
        if value is None or value == "":
            self.cells.pop((row, column), None)
        else:
            self.cells[(row, column)] = value

    def range(self, first, second=None) -> Range:
        self.book.ops["lookup"] += 1
        top, left = self._cell(first)
        bottom, right = self._cell(second) if second is not None else (top, left)
        return Range(self, top, left, bottom, right)

    @staticmethod
    def _cell(ref) -> tuple[int, int]:
        if isinstance(ref, Range):
            return ref.row, ref.column
        if isinstance(ref, tuple):
            return ref
        return parse_cell(ref)

    @property
    def used_range(self) -> Range:
        self.book.ops["lookup"] += 1
        if not self.cells:
            return Range(self, 1, 1, 1, 1)
        rows = [r for r, _ in self.cells]
        columns = [c for _, c in self.cells]
        return Range(self, min(rows), min(columns), max(rows), max(columns))

    def activate(self) -> None:
        self.book.sheets.active = self

    def values(self) -> list[list]:
        """The sheet as rows of values from A1 (for assertions; not counted)."""
        if not self.cells:
            return []
        height = max(r for r, _ in self.cells)
        width = max(c for _, c in self.cells)
        return [[self.cells.get((r, c)) for c in range(1, width + 1)] for r in range(1, height + 1)]

    def records(self, header_row: int = 1) -> list[dict]:
        grid = self.values()
        headers = grid[header_row - 1]
        return [dict(zip(headers, row)) for row in grid[header_row:]]


class Sheets:
    def __init__(self) -> None:
        self._sheets: list[Sheet] = []
        self.active: Sheet | None = None

    def __getitem__(self, key) -> Sheet:
        if isinstance(key, int):
            return self._sheets[key]
        for sheet in self._sheets:
            if sheet.name == key:
                return sheet
        raise KeyError(key)

    def __iter__(self):
        return iter(self._sheets)

    def __len__(self) -> int:
        return len(self._sheets)

    def add(self, name: str | None = None, before: Sheet | None = None, after: Sheet | None = None) -> Sheet:
        """A new empty sheet placed like xlwings' ``sheets.add`` (at the front when neither is given), activated."""
        book = self._sheets[0].book
        sheet = Sheet(book, name or f"Sheet{len(self._sheets) + 1}")
        if before is not None:
            index = self._sheets.index(before)
        elif after is not None:
            index = self._sheets.index(after) + 1
        else:
            index = 0
        self._sheets.insert(index, sheet)
        self.active = sheet
        book.ops["add sheet"] += 1
        return sheet


class App:
    def __init__(self) -> None:
        self.alerts: list[str] = []
        self.screen_updating = True
        self.calculation = "automatic"
        self.status_bar = None
        self.seen: list[tuple[bool, str]] = []

    def alert(self, prompt: str, title: str | None = None, **_) -> str:
        self.alerts.append(prompt)
        return "ok"

    def __setattr__(self, name, value):
        if name in ("screen_updating", "calculation") and hasattr(self, "seen"):
            self.seen.append((name, value))
        super().__setattr__(name, value)


class Book:
    """``Book({"退款登记": rows, "规则": rows})``: sheets from rows of values, the first one active."""

    opened = itertools.count(1)

    def __init__(self, sheets: dict[str, list[list]], name: str = "RefundTracker.xlsx"):
        self.name = name
        self.fullname = rf"C:\Users\店主\Documents\{next(Book.opened)}\{name}"  # unique, as each open book's is
        self.ops: Counter = Counter()
        self.log: list[tuple[str, str, str]] = []
        self.app = App()
        self.sheets = Sheets()
        for sheet_name, rows in sheets.items():
            self.sheets._sheets.append(Sheet(self, sheet_name, rows))
        self.sheets.active = self.sheets[0] if self.sheets._sheets else None
        self.selection: Range | None = None

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def select(self, sheet: str, address: str) -> None:
        """What the merchant selected (one area, e.g. ``A3:F5``), as ``book.selection`` returns it."""
        target = self.sheets[sheet]
        first, _, last = address.partition(":")
        top, left = parse_cell(first)
        bottom, right = parse_cell(last) if last else (top, left)
        self.selection = Range(target, top, left, bottom, right)

    def ops_on(self, sheet: str) -> Counter:
        """The reads, writes, clears and number formats made on one sheet."""
        kinds = ("read", "read formulas", "write", "clear", "format")
        return Counter(kind for kind, name, _ in self.log if name == sheet and kind in kinds)

    def range_ops(self) -> Counter:
        """Reads and writes of cell values, clears and number formats (each a round trip to Excel per call)."""
        return Counter({k: v for k, v in self.ops.items() if k in ("read", "read formulas", "write", "clear", "format")})
