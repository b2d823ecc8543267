"""Checks on a file before openpyxl opens it: is it really an .xlsx package, and a sane one?

openpyxl trusts the package it is given. A renamed .xls/.csv, a password-protected workbook, a zip bomb (a small
file that expands to gigabytes), an XML entity bomb or a workbook whose macros a save would drop must each be
refused with one line that says what to do, in bounded time and memory. Everything here reads the zip's central
directory and at most the first bytes of each XML part; nothing is decompressed whole.

Defence in depth: openpyxl parses with ``defusedxml`` when it is installed (a dependency of refund-sheet), so an
entity declaration hidden beyond the prolog scanned here still fails to parse instead of expanding.

What is kept rather than refused (docs/reliability.md, "Hostile files"): external links (the merchant's own links to
other workbooks; openpyxl writes them back unchanged and refund-sheet never refreshes or follows them) and the
macros of an .xlsm (kept byte for byte; a save under a name that cannot hold macros is refused instead).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import SaveError, WorkbookError

MAX_ENTRIES = 10_000  # a tracker has a few dozen parts; Excel's own files rarely pass a few hundred

# How big a part may be is judged by what it is (docs/reliability.md, "Hostile files", has the measurements).
# A part that holds something for each cell, row or picture grows with the sheet, up to Excel's 1,048,576 rows: a
# worksheet, the shared strings, notes and threaded comments, the calculation chain, a sheet's relationships (one
# per hyperlink), drawings (an anchor per picture), a chart's cached values, pivot caches and tables (an item per
# distinct value), slicer caches, linked workbooks' cached cells, in-cell pictures (Excel's richData, WPS's
# cellimages.xml). So does any part that is not XML (pictures, embedded files, the VBA project, a data model).
MAX_ROWS = 1_048_576  # Excel's limit (and 16,384 columns: the budget below is a row's average, not its maximum)
ROW_BYTES = 4 * 1024  # a full sheet of checked tracker rows (31 columns, the replies as character references, as
# openpyxl writes them) takes 2.1 KB a row (2,132 MiB in all); Excel's own XML is shorter (UTF-8, shared strings)
GRID_MAX = MAX_ROWS * ROW_BYTES  # 4 GiB: a full sheet of rows nearly twice as long as a checked tracker's
GRID_PARTS = re.compile(
    r"xl/(worksheets|macrosheets|drawings|charts|pivotcache|pivottables|slicercaches|externallinks|richdata"
    r"|threadedcomments|comments)/.*|xl/(sharedstrings|comments\d*|calcchain|metadata|cellimages)\.xml",
    re.IGNORECASE,
)
# The parts that describe the workbook rather than its cells are bounded by its structure, not by its rows: the
# content types, the package's and the workbook's relationships, the document properties, workbook.xml (sheets,
# names), styles.xml (Excel keeps at most 64,000 cell formats: a few MB), the theme, the tables' definitions.
PART_MAX = 64 * 1024 * 1024
TOTAL_MAX = 2 * GRID_MAX  # a full register and as much again for everything else in the workbook
MAX_RATIO = 200  # deflate of a real tracker's sheet XML gives ~8:1 (a full sheet as built 8.5:1, checked 8.3:1);
# the most a legitimate shape was measured at is ~96:1 (the same 174-character reply on every row, nothing else);
# a bomb gives ~1000:1 (deflate's limit is 1032:1)
RATIO_FROM = 32 * 1024 * 1024  # only big parts are judged: a cell of 32,767 identical characters compresses
# ~500:1 too, and a part under this size cannot hurt; many small parts are judged together (the whole package)
PROLOG_BYTES = 64 * 1024  # read size while looking through an XML part's prolog
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam")
XML_SUFFIXES = (".xml", ".rels", ".vml")


def check_package(path: Path) -> None:
    """Raise WorkbookError with a one-line reason when ``path`` is not an .xlsx package openpyxl may open safely."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            is_zip = zipfile.is_zipfile(handle)
    except PermissionError:
        raise WorkbookError(f"无法读取 {path.name}：没有读取权限或文件被其他程序锁定，请关闭它或检查权限后再试") from None
    except OSError as error:
        raise WorkbookError(f"无法读取 {path.name}（{error.strerror or error}）") from None
    if not is_zip:
        raise WorkbookError(_not_a_zip(path, head))
    try:
        with zipfile.ZipFile(path) as archive:
            _check_archive(path, archive)
    except zipfile.BadZipFile as error:
        raise WorkbookError(f"无法打开 {path.name}：压缩包已损坏（{error}）") from None
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as error:
        raise WorkbookError(f"无法打开 {path.name}：文件已损坏或不是 Excel 工作簿（{type(error).__name__}）") from None


def _not_a_zip(path: Path, head: bytes) -> str:
    if head.startswith(OLE_MAGIC[:4]):
        with open(path, "rb") as handle:
            data = handle.read(64 * 1024 * 1024)  # the OLE directory naming the streams may be anywhere
        if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
            return (f"{path.name} 设有打开密码（已加密），无法读取：请在 Excel 中打开它，"
                    "文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码后保存，再运行")
        return f"{path.name} 是旧版 .xls 或加密的工作簿：请在 Excel 中另存为 .xlsx（不加密码）后再试"
    return f"{path.name} 不是 .xlsx 工作簿（可能是改了扩展名的 CSV 或其他文件）：请在 Excel 中另存为 .xlsx 后再试"


def _check_archive(path: Path, archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    names = {info.filename for info in infos}
    if len(infos) > MAX_ENTRIES:
        raise WorkbookError(f"{path.name} 含 {len(infos)} 个内部文件（上限 {MAX_ENTRIES}），不像正常的工作簿，已拒绝打开")
    if "mimetype" in names and "content.xml" in names:
        raise WorkbookError(f"{path.name} 是 OpenDocument（.ods）表格：请在 WPS/LibreOffice/Excel 中另存为 .xlsx 后再试")
    if "xl/workbook.bin" in names:
        raise WorkbookError(f"{path.name} 是 .xlsb 二进制工作簿：请在 Excel 中另存为 .xlsx 后再试")
    if "[Content_Types].xml" not in names:
        raise WorkbookError(f"{path.name} 是一个压缩包，但不是 Excel 工作簿：请确认选对了文件")
    for info in infos:
        cap = _limit_of(info.filename)
        if info.file_size > cap:
            raise WorkbookError(
                f"{path.name} 中的 {info.filename} 解压后有 {info.file_size / 2**20:,.0f} MB（此类部件上限 "
                f"{cap / 2**20:,.0f} MB），可能是压缩炸弹，已拒绝打开"
            )
        if info.file_size >= RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError(
                f"{path.name} 中的 {info.filename} 压缩比 {info.file_size // max(info.compress_size, 1)}:1 异常（上限 "
                f"{MAX_RATIO}:1），可能是压缩炸弹，已拒绝打开"
            )
    total = sum(info.file_size for info in infos)
    packed = max(sum(info.compress_size for info in infos), 1)
    if total > TOTAL_MAX:
        raise WorkbookError(
            f"{path.name} 解压后有 {total / 2**20:,.0f} MB（上限 {TOTAL_MAX / 2**20:,.0f} MB），可能是压缩炸弹，已拒绝打开"
        )
    if total >= RATIO_FROM and total > MAX_RATIO * packed:  # many small parts, each too small to be judged
        raise WorkbookError(
            f"{path.name} 整体压缩比 {total // packed}:1 异常（上限 {MAX_RATIO}:1，共 {len(infos)} 个内部文件），"
            "可能是压缩炸弹，已拒绝打开"
        )
    if any(name.lower().endswith("vbaproject.bin") for name in names) and path.suffix.lower() not in MACRO_SUFFIXES:
        raise WorkbookError(
            f"{path.name} 含有宏（VBA），但扩展名是 {path.suffix}：保存时宏会丢失。请把扩展名改为 .xlsm 后再运行"
        )
    for info in infos:
        if info.filename.lower().endswith(XML_SUFFIXES):
            with archive.open(info) as part:
                declared = _declares_doctype(part)
            if declared:
                raise WorkbookError(
                    f"{path.name} 的 {info.filename} 含有 XML 实体/DOCTYPE 声明，Excel 不会生成这样的文件（可能是恶意文件），已拒绝打开"
                )


def _limit_of(name: str) -> int:
    """The most uncompressed bytes a part named ``name`` may hold: a sheet's worth for the parts that grow with
    the cells, a structure part's for the rest."""
    return GRID_MAX if GRID_PARTS.fullmatch(name) or not name.lower().endswith(XML_SUFFIXES) else PART_MAX


def _declares_doctype(part) -> bool:
    """Whether an XML part has a document type declaration (where entities are declared) in its prolog.

    The prolog is read as XML defines it — the declaration, comments, processing instructions, white space — up to
    the root element, in chunks, so a DOCTYPE pushed far down by a huge comment is still found in bounded memory.
    """
    stream = _Stream(part)
    while True:
        stream.skip_space()
        head = stream.peek(9)
        if head.startswith((b"<!DOCTYPE", b"<!ENTITY")):
            return True
        if head.startswith(b"<?"):
            closing = b"?>"
        elif head.startswith(b"<!--"):
            closing = b"-->"
        else:
            return False  # the root element begins (or garbage, which openpyxl rejects)
        if not stream.skip_past(closing):
            return False


class _Stream:
    """Just enough of a buffered reader over a zip part to walk an XML prolog without holding it."""

    SPACE = b" \t\r\n\xef\xbb\xbf"  # white space, and a UTF-8 byte order mark at the start

    def __init__(self, part) -> None:
        self.part, self.buffer, self.eof = part, b"", False

    def _more(self) -> bool:
        chunk = b"" if self.eof else self.part.read(PROLOG_BYTES)
        self.eof = not chunk
        self.buffer += chunk
        return bool(chunk)

    def peek(self, size: int) -> bytes:
        while len(self.buffer) < size and self._more():
            pass
        return self.buffer[:size]

    def skip_space(self) -> None:
        while True:
            self.buffer = self.buffer.lstrip(self.SPACE)
            if self.buffer or not self._more():
                return

    def skip_past(self, token: bytes) -> bool:
        start = 2
        while True:
            at = self.buffer.find(token, start)
            if at != -1:
                self.buffer = self.buffer[at + len(token):]
                return True
            self.buffer = self.buffer[-(len(token) - 1):]  # the token may straddle two chunks
            start = 0
            if not self._more():
                return False


def check_target(saved: Path, target: Path) -> None:
    """Refuse to put a package with macros (``saved``, just written) under a name that cannot hold them: Excel
    would not open the result, and the macros would be gone from it (``check 进销存.xlsm -o 结果.xlsx``).

    It looks at the package written, not at how it was made, so every way of writing a workbook is covered."""
    if Path(target).suffix.lower() in MACRO_SUFFIXES:
        return
    try:
        with zipfile.ZipFile(saved) as archive:
            names = archive.namelist()
            types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
    except zipfile.BadZipFile:
        return
    if any(n.lower().endswith("vbaproject.bin") for n in names) or b"macroEnabled" in types:
        raise SaveError(
            f"原工作簿含宏（.xlsm），不能保存为 {Path(target).name}：宏会丢失且 Excel 无法打开。请用 .xlsm 作为输出文件名"
        )
