"""Reading a tracker without rebuilding it: the register's values, where the register stands (header row, columns,
its Excel Table), and what the writer needs to know about its sheet, from one streamed pass over the register's XML
(``package.read_register``). Every cell reads as calamine (python-calamine) reads it (``package.CellValues``).

openpyxl is not used here: a workbook that is going to be saved is read from its package and saved by editing
that package (``write.py``), so nothing it holds has to be modelled to survive.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.batching import without_gc_pauses
from ..engine.columns import (
    BY_KEY,
    column_letter,
    locate_header,
    map_headers,
)
from ..engine.policy import TableRow, policy_tables_from_grid
from ..errors import WorkbookError
from ..plan import (  # the names both front ends use for the sheets, and where the tool's own go
    HEADER_SCAN_ROWS,
    LOG_HEADERS,
    LOG_NAMES,
    LOG_SHEET,
    MAX_COLUMN,
    MAX_ROW,
    POLICY_SHEET,
    REGISTER_SHEET,
    STATS_NAMES,
    STATS_SHEET,
    TableArea,
    find_register,
    is_log_sheet,
    is_stats_sheet,
    tool_sheet,
)
from . import guard
from .deflate import DAMAGED
from .package import CellValues, Package, SheetScan, TableInfo, read_register, sheet_values


def check_openable(path: Path) -> Path:
    """Refuse, in one line, a path that is missing, a folder, or not a package we may open."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"找不到文件：{path}")
    if path.is_dir():
        raise WorkbookError(f"{path} 是文件夹，不是 Excel 文件")
    try:
        guard.check_package(path)  # renamed .xls/.csv, password, zip or XML bomb, macros in an .xlsx: one-line refusal
    except DAMAGED as error:
        raise damaged(path, error) from None
    return path


def damaged(path: Path, error: BaseException) -> WorkbookError:
    """The refusal for a workbook whose compressed data cannot be read back (a broken copy or download)."""
    what = "校验和不符" if isinstance(error, zipfile.BadZipFile) else "解压出错"
    return WorkbookError(
        f"无法打开 {path.name}：文件已损坏，其中的压缩数据无法读出（{what}）："
        "请用 Excel 或 WPS 打开看看能否修复，或换用备份；文件未改动"
    )


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
        except DAMAGED as error:
            raise damaged(self.path, error) from None
        except (KeyError, ValueError, UnicodeDecodeError) as error:
            raise WorkbookError(f"无法打开 {self.path.name}：文件已损坏或不是 Excel 工作簿（{type(error).__name__}）") from None

        # -- the register

    def _find_register(self) -> Register:
        """The register, by the rule both front ends follow (``plan.find_register``): on sheet 退款登记, else the
        first sheet that has it; on a sheet, the first Excel Table whose headers hold the required columns, else
        the first of the top rows that does."""
        sheets = {sheet.name: sheet for sheet in self.package.sheets() if sheet.name in self.grids.names}
        if not sheets:
            raise WorkbookError("工作簿中没有工作表")
        tables = {name: [t for t in self.package.tables(sheet.part) if t.header_rows >= 1] for name, sheet in sheets.items()}
        tops: dict[str, dict[int, list[object]]] = {}

        def top(name: str) -> dict[int, list[object]]:
            if name not in tops:
                upto = max([HEADER_SCAN_ROWS] + [table.bounds[0] for table in tables[name]])
                try:
                    tops[name] = self.grids.top(name, upto)
                except WorkbookError:
                    if name == REGISTER_SHEET:
                        raise
                    tops[name] = {}  # a sheet of the merchant's that cannot be read as a tracker's (another program's)
            return tops[name]

        def rows_of(name: str) -> list[list[object]]:
            return [list(top(name).get(n, [])) for n in range(1, HEADER_SCAN_ROWS + 1)]

        def areas(name: str) -> list[tuple[TableArea, list[object]]]:
            found = []
            for table in tables[name] if top(name) else ():
                r1, c1, r2, c2 = table.bounds
                headers = (list(top(name).get(r1, [])) + [None] * c2)[c1 - 1 : c2]
                found.append((TableArea(r1, c1, c2, r2, table.totals_rows), headers))
            return found

        try:
            name, area = find_register(list(sheets), rows_of, areas)
        except LookupError as error:
            raise WorkbookError(f"找不到售后登记表：{error}") from None
        part = sheets[name].part
        if area is not None:
            table = next(t for t in tables[name] if t.bounds == (area.header_row, area.first_col, area.last_row, area.last_col))
            headers = (list(top(name).get(area.header_row, [])) + [None] * area.last_col)[area.first_col - 1 : area.last_col]
            return self._located(name, part, area.header_row, area.first_col, area.last_col, headers, map_headers(headers), table)
        index, headers, found = locate_header(rows_of(name))
        return self._located(name, part, index + 1, 1, max(len(headers), 1), headers, found, None)

    def _located(self, name, part, row, first, last, headers, found, table) -> Register:
        """The register found: its sheet read in one pass (its rows, and what the writer needs to know)."""
        formula_cols = {first + position for position in found.values()}  # every column a run may write
        digested = tuple(found[key] for key in DIGESTED if key in found)
        totals: frozenset[int] = frozenset()
        if table is not None and table.totals_rows:  # a Table's totals row is no case
            end = table.bounds[2]
            totals = frozenset(range(end - table.totals_rows + 1, end + 1))
        read = read_register(
            self.package.stream(part), self.grids.values, first, last, row, formula_cols, digested, _digest, totals,
            again=lambda: self.package.stream_same(part), size=self.package.size(part),
        )
        self.used_col = read.used_col
        self.old = read.rows
        self.rows = list(read.rows.items())
        return Register(name, part, row, first, last, headers, found, table, read.scan)

    def forget_rows(self) -> None:
        """Let the register's values go once a run's plan is made (a full sheet's are ~0.8 GB): writing reads
        none of them."""
        self.rows.clear()
        self.old = {}
        self._old_row, self._old_values = 0, ()

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

    @property
    def stats_sheet(self) -> str:
        """Where the dashboard goes: 统计, unless the merchant has a sheet of their own by that name."""
        return tool_sheet(STATS_NAMES, self.package.sheet_names(),
                          lambda name: name in self.grids.names and is_stats_sheet(self.grids.grid(name)))

    @property
    def log_sheet(self) -> str:
        """Where the run log goes: 记录, unless the merchant has a sheet of their own by that name."""
        return tool_sheet(LOG_NAMES, self.package.sheet_names(),
                          lambda name: name in self.grids.names and is_log_sheet(self.grids.grid(name)))

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

    def log_grid(self) -> list[list[object]] | None:
        """The run log's values (None when there is no log sheet yet)."""
        name = self.log_sheet
        return self.grids.grid(name) if name in self.grids.names else None

    def close(self) -> None:
        self.grids.close()


__all__ = [
    "BY_KEY", "HEADER_SCAN_ROWS", "LOG_HEADERS", "LOG_SHEET", "MAX_COLUMN", "MAX_ROW", "POLICY_SHEET", "REGISTER_SHEET",
    "STATS_SHEET", "Register", "Tracker", "check_openable",
]
