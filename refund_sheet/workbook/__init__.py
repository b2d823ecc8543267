"""Workbook files: reading a tracker (``read``), editing its package (``write``, ``apply``), building a new one
(``build``, with openpyxl), and saving safely here (temporary file in the same folder, backup, atomic rename).

An existing workbook is never re-serialised: it is saved by editing its package, so what the tool does not model
(shapes, pictures in cells, sparklines, extLst, comments, pivot tables, macros…) is kept byte for byte."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from glob import escape as glob_escape
from pathlib import Path

from ..engine.columns import BY_KEY
from ..errors import SaveError, WorkbookError
from . import guard
from .formats import DATETIME_FORMAT, MONEY_FORMAT
from .read import HEADER_SCAN_ROWS, POLICY_SHEET, REGISTER_SHEET, Tracker, check_openable


def open_workbook(path: Path):
    """Load a workbook with openpyxl for reading (an export), turning every way that fails into a one-line
    WorkbookError. openpyxl is imported here only: reading and saving a tracker never loads it."""
    import openpyxl

    path = check_openable(path)
    try:
        return openpyxl.load_workbook(path, keep_vba=path.suffix.lower() in (".xlsm", ".xlam"), rich_text=False)
    except PermissionError:
        raise WorkbookError(f"无法读取 {path.name}：没有权限或文件被其他程序锁定") from None
    except Exception as error:  # openpyxl raises many kinds for a damaged package
        raise WorkbookError(f"无法打开 {path.name}：文件已损坏或不是 Excel 工作簿（{type(error).__name__}）") from None


def _value(ws, row: int, col: int) -> object:
    """A cell's value without creating the cell (``ws.cell`` adds every cell it is asked for to the sheet)."""
    cell = ws._cells.get((row, col))
    return None if cell is None else cell.value


def _grid(
    ws, min_row: int = 1, min_col: int = 1, max_col: int | None = None, gaps: bool = True
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


# ------------------------------------------------------------------------------------------------ saving


KEEP_BACKUPS = 5  # backups kept beside a workbook; the oldest goes first
BACKUP_NAME = re.compile(r"^(?P<stem>.+)\.bak-(?P<when>\d{8}-\d{6})(?:-(?P<n>\d+))?(?P<suffix>\.\w+)$")


def backup_path(target: Path, when: datetime | None = None) -> Path:
    """A new backup's name beside ``target``: ``RefundTracker.xlsx`` → ``RefundTracker.bak-20261202-101500.xlsx``
    (opens in Excel like the original; a second one in the same second gets ``-2``)."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    same = [BACKUP_NAME.match(p.name) for p in backups_of(target)]
    numbers = [int(m["n"] or 1) for m in same if m and m["when"] == stamp]
    if not numbers:
        return target.with_name(f"{target.stem}.bak-{stamp}{target.suffix}")
    return target.with_name(f"{target.stem}.bak-{stamp}-{max(numbers) + 1}{target.suffix}")


def backups_of(target: Path) -> list[Path]:
    """The backups of ``target`` beside it, oldest first."""
    found = []
    for path in target.parent.glob(f"{glob_escape(target.stem)}.bak-*{target.suffix}"):
        match = BACKUP_NAME.match(path.name)
        if match and match["stem"] == target.stem and match["suffix"] == target.suffix:
            found.append(((match["when"], int(match["n"] or 1)), path))
    return [path for _, path in sorted(found)]


def latest_backup(target: Path) -> Path | None:
    """The newest backup of ``target`` (None when there is none)."""
    found = backups_of(Path(target))
    return found[-1] if found else None


def _prune_backups(target: Path, keep: int) -> None:
    """Remove the oldest backups beyond ``keep`` (a backup that cannot be removed is left, never an error)."""
    for old in backups_of(target)[: max(0, len(backups_of(target)) - keep)]:
        try:
            old.unlink()
        except OSError:
            pass


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


def save_atomic(
    wb: bytes | Callable[[Path], None], target: Path, backup: bool = True, _before_replace=None, keep: int = KEEP_BACKUPS
) -> Path | None:
    """Save (ready .xlsx bytes, or a function that writes the file) to a temporary file in the same folder, keep a backup of the
    previous file, then rename over it.

    Any failure leaves ``target`` exactly as it was and removes the temporary file. Returns the backup path.
    The last ``keep`` backups are kept (``NAME.bak-YYYYMMDD-HHMMSS.xlsx``); older ones are removed after the save.
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
        else:
            wb(tmp)  # a writer that streams the package into the file (``PackageEdit.write``)
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
    if saved_backup is not None:
        _prune_backups(target, max(keep, 1))
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
    "DATETIME_FORMAT", "MONEY_FORMAT", "POLICY_SHEET", "REGISTER_SHEET", "Tracker", "backup_path", "check_openable",
    "open_workbook", "read_export_xlsx", "save_atomic",
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
