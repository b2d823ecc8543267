"""The only module that touches openpyxl: open a tracker, find its register, read rows and the 规则 tables,
write the output columns back, and save safely (temporary file in the same folder, backup, atomic rename)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.table import Table, TableColumn
from openpyxl.worksheet.worksheet import Worksheet

from ..engine.columns import BY_KEY, OUTPUT_COLUMNS, cell_text, map_headers, missing_required
from ..engine.policy import TableRow, policy_tables_from_grid
from ..errors import SaveError, WorkbookError
from . import guard

REGISTER_SHEET = "退款登记"
POLICY_SHEET = "规则"
HEADER_SCAN_ROWS = 20

MONEY_FORMAT = '"¥"#,##0.00'
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def check_openable(path: Path) -> Path:
    """Refuse, in one line, a path that is missing, a folder, or not a package we may open."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"找不到文件：{path}")
    if path.is_dir():
        raise WorkbookError(f"{path} 是文件夹，不是 Excel 文件")
    guard.check_package(path)  # renamed .xls/.csv, password, zip or XML bomb, macros in an .xlsx: one-line refusal
    return path


def open_workbook(path: Path) -> Workbook:
    """Load a tracker with openpyxl, turning every way that fails into a one-line WorkbookError."""
    path = check_openable(path)
    try:
        return openpyxl.load_workbook(path, keep_vba=path.suffix.lower() in (".xlsm", ".xlam"), rich_text=False)
    except PermissionError:
        raise WorkbookError(f"无法读取 {path.name}：没有权限或文件被其他程序锁定") from None
    except Exception as error:  # openpyxl raises many kinds for a damaged package
        raise WorkbookError(f"无法打开 {path.name}：文件已损坏或不是 Excel 工作簿（{type(error).__name__}）") from None


@dataclass
class Register:
    """Where the register stands in a sheet: its header row, columns by key, and its Excel Table if any."""

    ws: Worksheet
    header_row: int
    first_col: int
    last_col: int
    headers: list[object]  # header cells from first_col to last_col
    found: dict[str, int]  # canonical key → 0-based position relative to first_col
    table: Table | None
    added: bool = False  # output columns were added to the right of the table this run
    last_row: int | None = None  # the sheet's last row, when the sheet holds only its top rows (the fast path)

    @property
    def sheet(self) -> str:
        return self.ws.title

    def letter(self, key: str) -> str:
        return get_column_letter(self.first_col + self.found[key])

    def letters(self) -> dict[str, str]:
        return {key: self.letter(key) for key in self.found}


def _header_row_candidates(ws: Worksheet) -> Iterator[tuple[int, int, int, Table | None]]:
    """(row, first col, last col, table) for each row that may hold the headers: the Tables' header rows first."""
    for table in ws.tables.values():
        (min_col, min_row, max_col, _max_row) = _bounds(table.ref)
        yield min_row, min_col, max_col, table
    max_col = ws.max_column
    for row in range(1, min(ws.max_row, HEADER_SCAN_ROWS) + 1):
        yield row, 1, max_col, None


def _bounds(ref: str) -> tuple[int, int, int, int]:
    from openpyxl.utils.cell import range_boundaries

    return range_boundaries(ref)


def find_register(wb: Workbook) -> Register:
    """The register: on sheet 退款登记, else the first sheet whose header row has the required columns.

    Raises WorkbookError naming the missing columns and the closest header present.
    """
    sheets = [wb[REGISTER_SHEET]] if REGISTER_SHEET in wb.sheetnames else []
    sheets += [ws for ws in wb.worksheets if ws.title != REGISTER_SHEET]
    best: tuple[int, Worksheet, list[object], dict[str, int]] | None = None
    for ws in sheets:
        for row, first_col, last_col, table in _header_row_candidates(ws):
            headers = [_value(ws, row, col) for col in range(first_col, last_col + 1)]
            while headers and headers[-1] in (None, "") and table is None:
                headers.pop()
            found = map_headers(headers)
            if not missing_required(found, headers):
                return Register(ws, row, first_col, first_col + len(headers) - 1, headers, found, table)
            if best is None or len(found) > len(best[3]) or (ws.title == REGISTER_SHEET and best[1].title != REGISTER_SHEET):
                best = (row, ws, headers, found)
    if best is None:
        raise WorkbookError("工作簿中没有工作表")
    row, ws, headers, found = best
    missing = "；".join(missing_required(found, headers))
    raise WorkbookError(f"找不到售后登记表：{ws.title} 第 {row} 行{missing}")


@dataclass
class Loaded:
    """A tracker opened for a check: the workbook, its register, the register's rows, and how to write back.

    This is the openpyxl path (every cell in memory); ``fast.FastLoaded`` keeps the same interface for big files.
    """

    wb: Workbook
    reg: Register
    rows: list[tuple[int, tuple]]
    used_col: int | None = None  # None: computed from the sheet

    def write(self, columns: dict[str, int], updates: Iterable[tuple[int, dict[str, object]]]) -> int:
        return write_block(self.reg, columns, updates)

    def payload(self) -> Workbook:
        """What ``save_atomic`` saves (the fast path gives a writer function instead)."""
        return self.wb


def load_register(path: Path, engine: str = "auto") -> Loaded:
    """Open a tracker for a check. ``engine``: "fast" (calamine + streamed write, see ``fast``), "openpyxl",
    or "auto" — the fast path where it can be trusted with the file, else openpyxl."""
    if engine != "openpyxl":
        from . import fast

        try:
            return fast.load(check_openable(path))
        except fast.NotSuitable as why:
            if engine == "fast":
                raise WorkbookError(f"{Path(path).name}：快速读写不适用（{why}）") from None
    wb = open_workbook(path)
    reg = find_register(wb)
    return Loaded(wb, reg, _with_cached_values(path, reg, read_rows(reg)))


def _with_cached_values(path: Path, reg: Register, rows: list[tuple[int, tuple]]) -> list[tuple[int, tuple]]:
    """The rows with each formula replaced by the value Excel last computed for it (what the merchant sees,
    and what the fast path reads): openpyxl otherwise hands over the formula's text."""
    formulas = {
        (row, col)
        for (row, col), cell in reg.ws._cells.items()
        if cell.data_type == "f" and row > reg.header_row and reg.first_col <= col <= reg.last_col
    }
    if not formulas:
        return rows
    values = openpyxl.load_workbook(path, data_only=True, read_only=True, keep_links=False)
    try:
        sheet = values[reg.ws.title]
        cached = {}
        for number, line in enumerate(sheet.iter_rows(min_row=reg.header_row + 1, min_col=reg.first_col, max_col=reg.last_col, values_only=True), start=reg.header_row + 1):
            for offset, value in enumerate(line):
                if (number, reg.first_col + offset) in formulas:
                    cached[(number, offset)] = value
    finally:
        values.close()
    return [
        (number, tuple(cached.get((number, offset), value) for offset, value in enumerate(line)))
        for number, line in rows
    ]


def read_rows(reg: Register) -> list[tuple[int, tuple]]:
    """(row number, values) for every non-blank row under the header, whole-range read."""
    rows = []
    for number, values in _grid(reg.ws, reg.header_row + 1, reg.first_col, reg.last_col, gaps=False):
        if any(v is not None and (not isinstance(v, str) or v.strip()) for v in values):
            rows.append((number, values))
    return rows


def _value(ws: Worksheet, row: int, col: int) -> object:
    """A cell's value without creating the cell (``ws.cell`` adds every cell it is asked for to the sheet)."""
    cell = ws._cells.get((row, col))
    return None if cell is None else cell.value


def _grid(
    ws: Worksheet, min_row: int = 1, min_col: int = 1, max_col: int | None = None, gaps: bool = True
) -> Iterator[tuple[int, tuple]]:
    """(row number, values from min_col to max_col) for every row from min_row to the last one holding a cell;
    rows holding none give ``()`` (or are skipped, ``gaps=False``). Unlike ``iter_rows``, empty cells are not created: a sheet whose only far cell
    is at row 1,048,576 would otherwise grow 26 million cells, gigabytes, and be written back that big."""
    max_col = ws.max_column if max_col is None else max_col
    present: dict[int, list[int]] = {}
    for (row, col) in ws._cells:
        if row >= min_row and min_col <= col <= max_col:
            present.setdefault(row, []).append(col)
    for row in range(min_row, max(present, default=min_row - 1) + 1) if gaps else sorted(present):
        if row in present:
            yield row, tuple(_value(ws, row, col) for col in range(min_col, max_col + 1))
        else:
            yield row, ()


# ------------------------------------------------------------------------------------------------ policy


def read_policy_tables(wb: Workbook) -> dict[str, list[TableRow]] | None:
    """The policy tables on 规则 (see ``policy_tables_from_grid``); ``None`` when there is no 规则 sheet."""
    if POLICY_SHEET not in wb.sheetnames:
        return None
    ws = wb[POLICY_SHEET]
    return policy_tables_from_grid((values for _, values in _grid(ws)), POLICY_SHEET)


# ------------------------------------------------------------------------------------------------ writing


def last_used_column(ws: Worksheet, from_row: int) -> int:
    """The rightmost column holding a value at or below ``from_row`` (0 when none)."""
    return max((col for (row, col), cell in ws._cells.items() if row >= from_row and cell.value not in (None, "")), default=0)


def output_columns(reg: Register, used_col: int | None = None) -> dict[str, int]:
    """Absolute column numbers of the output columns, adding any that are missing at the right of the table —
    and right of any value the merchant keeps beyond the headers (``used_col``: the rightmost column holding a
    value, computed from the sheet when not given), so no cell of theirs is ever written over."""
    ws = reg.ws
    columns = {}
    if used_col is None:
        used_col = last_used_column(ws, reg.header_row)
    next_col = max(reg.last_col, used_col) + 1
    for column in OUTPUT_COLUMNS:
        if column.key in reg.found:
            columns[column.key] = reg.first_col + reg.found[column.key]
            continue
        cell = _writable(ws, reg.header_row, next_col, column.header)
        cell.value = column.header
        if reg.header_row > 1 or reg.table is not None:
            source = ws.cell(reg.header_row, reg.last_col)
            if source.has_style:
                cell._style = source._style
        columns[column.key] = next_col
        reg.added = True
        reg.headers.append(column.header)
        reg.found[column.key] = next_col - reg.first_col
        next_col += 1
    reg.last_col = max(reg.last_col, next_col - 1)
    return columns


def _same(old: object, new: object) -> bool:
    """Whether a cell already holds the value a run would write (so the row is not counted as changed).

    Values read back are compared by what they mean: 20 or 20.0 is ¥20.00; a date-time read as a whole day
    (calamine gives a ``date`` for midnight) or a hair off from float rounding is the same moment.
    """
    if isinstance(new, Decimal) and isinstance(old, (int, float, Decimal)) and not isinstance(old, bool):
        return Decimal(str(old)) == new
    if isinstance(new, datetime) and isinstance(old, date):
        if not isinstance(old, datetime):
            old = datetime(old.year, old.month, old.day)
        return abs((old - new).total_seconds()) < 0.5
    if new in (None, "") and old in (None, ""):
        return True
    return old == new


def write_block(reg: Register, columns: dict[str, int], updates: Iterable[tuple[int, dict[str, object]]]) -> int:
    """Write each row's output values; returns how many rows changed. Text is always text, never a formula."""
    ws = reg.ws
    changed = 0
    for row, values in updates:
        row_changed = False
        for key, value in values.items():
            cell = _writable(ws, row, columns[key], BY_KEY[key].header if key in BY_KEY else key)
            if isinstance(value, str):
                value = safe_text(value)
            if isinstance(value, Decimal):
                fmt = MONEY_FORMAT
            elif isinstance(value, datetime):
                fmt = DATETIME_FORMAT
            else:
                fmt = None
            if not _same(cell.value, value):
                row_changed = True
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # "=HYPERLINK(…)" from a buyer stays text
            if fmt and cell.number_format != fmt:
                cell.number_format = fmt
        changed += row_changed
    _fit_table(reg)
    return changed


safe_text = cell_text  # the same rule the service applies to every output value


def _writable(ws: Worksheet, row: int, col: int, header: str):
    """The cell to write, refusing (before anything is saved) one hidden inside a merged range."""
    cell = ws.cell(row, col)
    refuse_merged(ws, cell, row, col, header)
    return cell


def refuse_merged(ws: Worksheet, cell, row: int, col: int, header: str) -> None:
    """Raise WorkbookError when ``cell`` is hidden inside a merged range: a result cannot be written there."""
    if isinstance(cell, MergedCell):
        header = BY_KEY[header].header if header in BY_KEY else header
        raise WorkbookError(
            f"{ws.title}!{get_column_letter(col)}{row}（{header}）在合并单元格中，无法写入结果：请取消合并后再运行，文件未改动"
        )


def _fit_table(reg: Register) -> None:
    """Keep the Excel Table covering every header and row (Excel repairs a file whose table and headers differ)."""
    table = reg.table
    if table is None:
        return
    min_col, min_row, max_col, max_row = _bounds(table.ref)
    last_row = max(max_row, reg.last_row or reg.ws.max_row)
    ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(reg.last_col)}{last_row}"
    names = []
    for col in range(min_col, reg.last_col + 1):
        name = _value(reg.ws, min_row, col)
        if name in (None, ""):  # a column the table now spans but that has no header: name it, as Excel does
            name = reg.ws.cell(min_row, col).value = f"列{col}"
        names.append(str(name))
    if ref == table.ref and [c.name for c in table.tableColumns] == names:
        return
    table.ref = ref
    if table.autoFilter is not None:
        table.autoFilter.ref = ref
    table.tableColumns = [TableColumn(id=i, name=name) for i, name in enumerate(names, start=1)]


# ------------------------------------------------------------------------------------------------ saving


def backup_path(target: Path) -> Path:
    """``RefundTracker.xlsx`` → ``RefundTracker.bak.xlsx`` beside it (opens in Excel like the original)."""
    return target.with_name(f"{target.stem}.bak{target.suffix}")


def excel_lock_file(target: Path) -> Path:
    """The owner file Excel keeps beside a workbook it has open: ``~$RefundTracker.xlsx``."""
    return target.with_name("~$" + target.name)


def _mode_for(target: Path) -> int:
    """The permissions the saved file should have: the previous file's, else the usual ones for a new file
    (a temporary file is created private, 0600, which would lock other users of a shared folder out)."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_atomic(wb: Workbook | bytes | Callable[[Path], None], target: Path, backup: bool = True, _before_replace=None) -> Path | None:
    """Save (a workbook, ready .xlsx bytes, or a function that writes the file) to a temporary file in the same folder, keep a backup of the
    previous file, then rename over it.

    Any failure leaves ``target`` exactly as it was and removes the temporary file. Returns the backup path.
    ``_before_replace`` is a test hook called between writing and renaming.
    """
    target = Path(target)
    if excel_lock_file(target).exists():
        raise SaveError(f"{target.name} 正在 Excel 中打开：请先关闭它再运行（发现 {excel_lock_file(target).name}）")
    tmp = bak_tmp = saved_backup = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp" + target.suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        if isinstance(wb, bytes):
            tmp.write_bytes(wb)
        elif callable(wb):
            wb(tmp)  # a writer that streams the package into the file (the fast path)
        else:
            wb.save(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        guard.check_target(tmp, target)  # macros never go out under a name that drops them
        os.chmod(tmp, _mode_for(target))
        if backup and target.exists():
            saved_backup = backup_path(target)
            fd, bak_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".bak.tmp", dir=target.parent)
            os.close(fd)
            bak_tmp = Path(bak_name)
            shutil.copy2(target, bak_tmp)
            os.replace(bak_tmp, saved_backup)
        if _before_replace:
            _before_replace(tmp)
        os.replace(tmp, target)
    except PermissionError:
        _discard(tmp, bak_tmp)
        raise SaveError(f"无法写入 {target.name}：文件被其他程序打开或没有写权限，原文件未改动") from None
    except OSError as error:
        _discard(tmp, bak_tmp)
        raise SaveError(f"保存 {target.name} 失败（{error.strerror or error}），原文件未改动") from None
    except BaseException:
        _discard(tmp, bak_tmp)
        raise
    _fsync_folder(target.parent)
    return saved_backup


def _discard(*temporaries: Path | None) -> None:
    """Remove what a failed save left behind (the new file half written, a half-copied backup)."""
    for path in temporaries:
        if path is not None:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX: a power cut after os.replace could otherwise bring the old name back)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = [
    "BY_KEY", "Register", "find_register", "open_workbook", "output_columns", "read_policy_tables", "read_rows",
    "save_atomic", "write_block",
]


# ------------------------------------------------------------------------------------------------ import


def read_export_xlsx(path: Path, key: str = "case_id") -> tuple[list[object], list[tuple[int, tuple]]]:
    """Header cells and (row number, values) of the first sheet whose top 20 rows hold a header for ``key``
    (售后单号 for the after-sales export, 订单号 for the order export)."""
    from ..engine.columns import map_headers as _map

    wb = open_workbook(path)
    for ws in wb.worksheets:
        grid = [values for _, values in _grid(ws)]
        for index, values in enumerate(grid[:HEADER_SCAN_ROWS]):
            if key in _map(list(values)):
                return list(values), [(index + 2 + i, r) for i, r in enumerate(grid[index + 1 :])]
    header = BY_KEY[key].header
    raise WorkbookError(f"{Path(path).name} 中找不到“{header}”列：这不像抖店的{'售后单' if key == 'case_id' else '订单'}导出")


TYPED_FORMATS = {
    **{k: MONEY_FORMAT for k in ("paid", "requested", "shipping_fee")},
    **{k: DATETIME_FORMAT for k in ("delivered_at", "requested_at", "platform_deadline", "return_received_at")},
    **{k: "@" for k in ("case_id", "order_id", "sku")},
}


def apply_merge(reg: Register, plan) -> None:
    """Write an import plan: refreshed cells in place, new cases after the last filled row, the Table extended."""
    ws = reg.ws

    def put(row: int, key: str, value: object) -> None:
        cell = _writable(ws, row, reg.first_col + reg.found[key], BY_KEY[key].header)
        if isinstance(value, str):
            value = safe_text(value)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
        if key in TYPED_FORMATS:
            cell.number_format = TYPED_FORMATS[key]

    for row, changes in plan.updates:
        for key, value in changes.items():
            put(row, key, value)
    filled = [number for number, _ in read_rows(reg)]
    next_row = (max(filled) if filled else reg.header_row) + 1
    for record in plan.appends:
        for key, value in record.items():
            put(next_row, key, value)
        next_row += 1
    _fit_table(reg)


def add_products(wb: Workbook, products) -> str:
    """Write an import's new products into the 商品 table on 规则 (``imports.product_cells`` says where, from the
    sheet's values); returns the rows filled, ``规则!A47:A52``, or "" when nothing was written. Each new cell takes
    the style of the cell above it (the table's borders); IDs are text."""
    from ..imports import product_cells

    if not products or POLICY_SHEET not in wb.sheetnames:
        return ""
    ws = wb[POLICY_SHEET]
    cells, where = product_cells([values for _, values in _grid(ws)], products)
    for row, col, text in cells:
        cell = _writable(ws, row, col, "商品")
        cell.value = safe_text(text)
        cell.data_type = "s"
        above = ws._cells.get((row - 1, col))
        if above is not None and above.has_style and not cell.has_style:
            cell._style = above._style
    return where
