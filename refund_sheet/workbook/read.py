"""Reading a tracker without rebuilding it: the register's values, where the register stands (header row, columns,
its Excel Table), and what the writer needs to know about its sheet, from one streamed pass over the register's XML
(``package.read_register``). Every cell reads as calamine (python-calamine) reads it (``package.CellValues``).

openpyxl is not used here: a workbook that is going to be saved is read from its package and saved by editing
that package (``write.py``), so nothing it holds has to be modelled to survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..engine.batching import without_gc_pauses
from ..engine.columns import (
    BY_KEY,
    OUTPUT_COLUMNS,
    blank,
    column_letter,
    locate_header,
    map_headers,
    missing_required,
)
from ..engine.policy import TableRow, policy_tables_from_grid
from ..errors import WorkbookError
from ..stats import STATS_TITLE
from . import guard
from .package import CellValues, Package, SheetScan, TableInfo, read_register, sheet_values

REGISTER_SHEET = "退款登记"
POLICY_SHEET = "规则"
STATS_SHEET, LOG_SHEET = "统计", "记录"
LOG_HEADERS = ("时间", "操作", "文件", "检查行数", "变更行数", "处理建议分布", "信息不全", "规则指纹")
# A merchant's own sheet that happens to bear the name is never touched: the tool's goes under the second name.
STATS_NAMES, LOG_NAMES = (STATS_SHEET, "售后统计"), (LOG_SHEET, "运行记录")
HEADER_SCAN_ROWS = 20
MAX_COLUMN, MAX_ROW = 16_384, 1_048_576  # XFD, and Excel's last row


def check_openable(path: Path) -> Path:
    """Refuse, in one line, a path that is missing, a folder, or not a package we may open."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"找不到文件：{path}")
    if path.is_dir():
        raise WorkbookError(f"{path} 是文件夹，不是 Excel 文件")
    guard.check_package(path)  # renamed .xls/.csv, password, zip or XML bomb, macros in an .xlsx: one-line refusal
    return path


@dataclass
class Register:
    """Where the register stands: its sheet and part, header row, columns by key, and its Excel Table if any."""

    sheet: str
    part: str
    header_row: int
    first_col: int
    last_col: int
    headers: list[object]  # header cells from first_col to last_col
    found: dict[str, int]  # canonical key → 0-based position relative to first_col
    table: TableInfo | None
    scan: SheetScan = field(default_factory=SheetScan)

    def column(self, key: str) -> int:
        return self.first_col + self.found[key]

    def letter(self, key: str) -> str:
        return column_letter(self.column(key))

    def letters(self) -> dict[str, str]:
        return {key: self.letter(key) for key in self.found}


class Grids:
    """Sheets' values by name, read from the package with calamine's reading of each cell (``CellValues``): row
    number → values from column A. A sheet is read when first asked for; the register is read by ``Tracker``."""

    def __init__(self, package: Package) -> None:
        self.package = package
        self.values = CellValues.of(package)
        self.names = package.sheet_names()
        self.parts = {sheet.name: sheet.part for sheet in package.sheets()}
        self._cache: dict[str, dict[int, list[object]]] = {}

    def rows(self, name: str) -> dict[int, list[object]]:
        """Row number → the row's values from column A ('' for blanks), for every row holding a value."""
        if name not in self._cache:
            self._cache[name] = self.top(name, None)
        return self._cache[name]

    def top(self, name: str, upto: int | None) -> dict[int, list[object]]:
        """``rows`` of the rows up to ``upto`` only (the rest of the sheet is not read)."""
        if name in self._cache:
            rows = self._cache[name]
            return rows if upto is None else {n: v for n, v in rows.items() if n <= upto}
        part = self.parts.get(name)
        if part is None:  # a chart sheet or a dialog sheet: no cells
            return {}
        return sheet_values(self.package.stream(part), self.values, upto)

    def grid(self, name: str) -> list[list[object]]:
        """The sheet as a list of rows (row 1 first), blank rows as empty lists."""
        rows = self.rows(name) if name in self.names else {}
        return [list(rows.get(n, [])) for n in range(1, max(rows, default=0) + 1)]

    def forget(self, name: str) -> None:
        self._cache.pop(name, None)

    def close(self) -> None:
        self._cache.clear()


DIGESTED = ("risks", "explanation", "reply")  # long output texts: only ever compared with what a run writes


class Digest(int):
    """A long output text as read, kept as its hash: a run only asks whether it would write the same text, and a
    million replies held as text would cost a gigabyte."""

    def matches(self, text: object) -> bool:
        return isinstance(text, str) and hash(text) == self


def _digest(text: str) -> Digest:
    return Digest(hash(text))


class Tracker:
    """A tracker opened for a run: its package, its sheets' values, and its register.

    ``rows`` are the register's (row number, values from first_col to last_col) for every non-blank row under the
    header: calamine's values, Excel error cells (#N/A…) as their text, the long output texts as ``Digest``."""

    rows: list[tuple[int, tuple]]
    old: dict[int, tuple]
    used_col: int
    _old_row: int = 0
    _old_values: tuple = ()

    @without_gc_pauses  # the register's rows, a million on a full sheet, are built here
    def __init__(self, path: Path) -> None:
        self.path = check_openable(path)
        self.package = Package(self.path)
        try:
            self.grids = Grids(self.package)
            self.register = self._find_register()
        except WorkbookError:
            raise
        except (KeyError, ValueError, UnicodeDecodeError) as error:
            raise WorkbookError(f"无法打开 {self.path.name}：文件已损坏或不是 Excel 工作簿（{type(error).__name__}）") from None

        # -- the register

    def _find_register(self) -> Register:
        """The register: on sheet 退款登记, else the first sheet whose header row has the required columns."""
        sheets = self.package.sheets()
        ordered = sorted(sheets, key=lambda s: s.name != REGISTER_SHEET)
        best: tuple[str, dict[str, int], str] | None = None  # the sheet coming closest, its columns, what it lacks
        for sheet in ordered:
            if sheet.name not in self.grids.names:
                continue
            tables = self.package.tables(sheet.part)
            upto = max([HEADER_SCAN_ROWS] + [table.bounds[0] for table in tables if table.header_rows >= 1])
            try:
                values = self.grids.top(sheet.name, upto)
            except WorkbookError:
                if sheet.name == REGISTER_SHEET:
                    raise
                continue  # a sheet of the merchant's that cannot be read as a tracker's (written by some other program)
            for table in tables:
                r1, c1, _, c2 = table.bounds
                if table.header_rows < 1:
                    continue
                headers = (list(values.get(r1, [])) + [None] * c2)[c1 - 1 : c2]
                found = map_headers(headers)
                if not missing_required(found, headers):
                    return self._located(sheet.name, sheet.part, r1, c1, c1 + len(headers) - 1, headers, found, table)
            top = [list(values.get(n, [])) for n in range(1, HEADER_SCAN_ROWS + 1)]
            try:
                index, headers, found = locate_header(top)
            except LookupError as error:
                found = max((map_headers(r) for r in top), key=len, default={})
                if best is None or len(found) > len(best[1]) or (sheet.name == REGISTER_SHEET and best[0] != REGISTER_SHEET):
                    best = (sheet.name, found, str(error))
                continue
            return self._located(sheet.name, sheet.part, index + 1, 1, max(len(headers), 1), headers, found, None)
        if best is None:
            raise WorkbookError("工作簿中没有工作表")
        raise WorkbookError(f"找不到售后登记表：{best[0]} {best[2]}")

    def _located(self, name, part, row, first, last, headers, found, table) -> Register:
        """The register found: its sheet read in one pass (its rows, and what the writer needs to know)."""
        formula_cols = {first + position for position in found.values()}  # every column a run may write
        digested = tuple(found[key] for key in DIGESTED if key in found)
        totals: frozenset[int] = frozenset()
        if table is not None and table.totals_rows:  # a Table's totals row is no case
            end = table.bounds[2]
            totals = frozenset(range(end - table.totals_rows + 1, end + 1))
        read = read_register(
            self.package.stream(part), self.grids.values, first, last, row, formula_cols, digested, _digest, totals
        )
        self.used_col = read.used_col
        self.old = read.rows
        self.rows = list(read.rows.items())
        return Register(name, part, row, first, last, headers, found, table, read.scan)

    def old_value(self, row: int, column: int) -> object:
        """What a register cell holds now ('' when blank; a Digest for the long output texts), by absolute
        column."""
        if row != self._old_row:  # asked for each output column of a row in turn: the row is looked up once
            self._old_row, self._old_values = row, self.old.get(row, ())
        position = column - self.register.first_col
        values = self._old_values
        return values[position] if 0 <= position < len(values) else ""

    # -- other sheets

    def policy_tables(self) -> dict[str, list[TableRow]] | None:
        """The policy tables on 规则 (see ``policy_tables_from_grid``); ``None`` when there is no 规则 sheet."""
        if POLICY_SHEET not in self.grids.names:
            return None
        return policy_tables_from_grid(self.grids.grid(POLICY_SHEET), POLICY_SHEET)

    def _own(self, names: tuple[str, ...], ours) -> str:
        """The first of ``names`` that is free or is the tool's own sheet (``ours`` tells, from its rows)."""
        taken = set(self.package.sheet_names())
        for name in names:
            if name not in taken:
                return name
            if name in self.grids.names and ours(self.grids.rows(name)):
                return name
        raise WorkbookError(f"工作簿里的“{'”“'.join(names)}”都是您自己的工作表，没有地方写统计和记录：请把其中一个改名后再运行，文件未改动")

    @property
    def stats_sheet(self) -> str:
        """Where the dashboard goes: 统计, unless the merchant has a sheet of their own by that name."""
        return self._own(STATS_NAMES, lambda rows: (rows.get(1) or [""])[0] == STATS_TITLE)

    @property
    def log_sheet(self) -> str:
        """Where the run log goes: 记录, unless the merchant has a sheet of their own by that name."""
        return self._own(LOG_NAMES, lambda rows: not rows or tuple((rows.get(1) or [])[: len(LOG_HEADERS)]) == LOG_HEADERS)

    def stats_grid(self) -> list[list[object]]:
        """The dashboard's values (empty when the workbook has none yet)."""
        name = self.stats_sheet
        return self.grids.grid(name) if name in self.grids.names else []

    def stats_charts(self) -> int | None:
        """How many charts the dashboard holds (None when there is none yet)."""
        from .package import REL_CHART, REL_DRAWING

        sheet = self.package.sheet(self.stats_sheet)
        if sheet is None:
            return None
        return sum(
            len(self.package.related(drawing, REL_CHART)) for drawing in self.package.related(sheet.part, REL_DRAWING)
        )

    def log_next_row(self) -> int | None:
        """The row the log's next line goes in (None when there is no log sheet yet; 1 when it is empty)."""
        name = self.log_sheet
        if name not in self.grids.names:
            return None
        rows = self.grids.rows(name)
        filled = [n for n, values in rows.items() if not all(blank(v) for v in values)]
        return max(filled) + 1 if filled else 1

    def close(self) -> None:
        self.grids.close()


def output_columns(tracker: Tracker) -> tuple[dict[str, int], tuple[str, ...]]:
    """Absolute column numbers of the output columns, and the headers of those the register lacks: those go at
    the right of the headers and of any value the merchant keeps beyond them, so no cell of theirs is ever
    written over."""
    reg = tracker.register
    columns: dict[str, int] = {}
    new: list[str] = []
    next_col = max(reg.last_col, tracker.used_col) + 1
    for column in OUTPUT_COLUMNS:
        if column.key in reg.found:
            columns[column.key] = reg.column(column.key)
        else:
            columns[column.key] = next_col
            new.append(column.header)
            next_col += 1
    if next_col - 1 > MAX_COLUMN:
        raise WorkbookError(
            f"{reg.sheet} 右侧已用到第 {tracker.used_col} 列，放不下 {len(new)} 个结果列（Excel 最多 {MAX_COLUMN} 列）："
            "请删除右侧多余的列后再运行，文件未改动"
        )
    return columns, tuple(new)


__all__ = ["BY_KEY", "Register", "Tracker", "check_openable", "output_columns"]
