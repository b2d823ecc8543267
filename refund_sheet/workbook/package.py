"""An .xlsx/.xlsm package read as what it is: a zip of parts, with relationships between them.

Nothing here parses a whole worksheet: sheets are streamed a megabyte at a time (``sheet_stream``), and everything
else a run needs to know about the package (which part is which sheet, a sheet's Tables and merged ranges, the
styles) comes from small parts. The writer (``write.py``) edits the same package; this module only reads it.
"""

from __future__ import annotations

import math
import pickle
import posixpath
import queue
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import IO
from xml.etree import ElementTree
from xml.parsers import expat

from ..engine.batching import without_gc_pauses
from ..engine.columns import column_letter
from ..errors import WorkbookError
from . import halves
from .deflate import inflating

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS = {"m": MAIN, "r": OFFICE_REL, "rel": PACKAGE_REL}
REL_WORKSHEET = OFFICE_REL + "/worksheet"
REL_TABLE = OFFICE_REL + "/table"
REL_DRAWING = OFFICE_REL + "/drawing"
REL_CHART = OFFICE_REL + "/chart"
REL_STYLES = OFFICE_REL + "/styles"
REL_CALC_CHAIN = OFFICE_REL + "/calcChain"
CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_RELS_SUFFIX = ".rels"

CHUNK = 1 << 20
TOP_ROWS = 20  # rows kept whole by a scan: the header row is looked for among them
ROW_NUMBER = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')
CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})(\d+)"')
ERROR_CELL = re.compile(rb'<c\b[^>]*?\st="e"[^>]*>(.*?)</c>', re.S)
VALUE = re.compile(rb"<v>([^<]*)</v>")
DIMENSION = re.compile(rb'<dimension ref="([^"]*)"\s*/>')
MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
COL = re.compile(rb"<col\b[^>]*>")
STYLE_IN_TAG = re.compile(rb'\ss="(\d+)"')
ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
DATE1904 = re.compile(rb'<workbookPr\b[^>]*\bdate1904="(1|true)"')


def column_index(letters: str | bytes) -> int:
    """'A' → 1, 'AB' → 28."""
    if isinstance(letters, bytes):
        letters = letters.decode()
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def split_ref(ref: str) -> tuple[int, int]:
    """'AB12' → (row 12, column 28)."""
    match = re.fullmatch(r"\$?([A-Z]{1,3})\$?(\d+)", ref)
    if match is None:
        raise ValueError(f"not a cell reference: {ref}")
    return int(match.group(2)), column_index(match.group(1))


def bounds(ref: str) -> tuple[int, int, int, int]:
    """'B2:D9' → (first row, first column, last row, last column); a single cell is a range of one."""
    first, _, last = ref.partition(":")
    (r1, c1), (r2, c2) = split_ref(first), split_ref(last or first)
    return r1, c1, r2, c2


def range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    return f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"


def rels_name(part: str) -> str:
    """The relationships part of ``part``: xl/worksheets/sheet1.xml → xl/worksheets/_rels/sheet1.xml.rels."""
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def resolve(source: str, target: str) -> str:
    """A relationship target as a part name (targets are relative to the source part's folder, or absolute)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, part: str) -> str:
    """The target a relationship from ``source`` uses to reach ``part``."""
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    part: str  # resolved part name ("" for an external target)


@dataclass(frozen=True)
class Sheet:
    name: str
    part: str
    rel_id: str
    sheet_id: int


@dataclass(frozen=True)
class TableInfo:
    """An Excel Table (a ListObject) as its part states it."""

    part: str
    ref: str
    header_rows: int
    totals_rows: int
    columns: tuple[str, ...]
    formulas: tuple[tuple[int, str], ...] = ()  # (0-based column in the Table, calculated-column formula)

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return bounds(self.ref)


def _attrs(tag: bytes) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in ATTR.findall(tag)}


class Package:
    """The parts of a workbook file, read on demand (the big worksheet parts are only ever streamed)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            with zipfile.ZipFile(self.path) as archive:
                self.infos = archive.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise WorkbookError(f"无法打开 {self.path.name}：文件已损坏或不是 Excel 工作簿（{type(error).__name__}）") from None
        self.names = [info.filename for info in self.infos]
        self.stamp = _stamp(self.path)  # the file as opened: size, modification time, file number
        self._small: dict[str, bytes] = {}
        self._rels: dict[str, list[Rel]] = {}

    def read(self, name: str) -> bytes:
        """A part's bytes (kept: call it for small parts only)."""
        if name not in self._small:
            with zipfile.ZipFile(self.path) as archive:
                self._small[name] = archive.read(name)
        return self._small[name]

    def rels(self, part: str) -> list[Rel]:
        """The relationships of ``part`` (none when it has no .rels part)."""
        if part not in self._rels:
            name = rels_name(part)
            found = []
            if name in self.names:
                root = _xml(self.read(name), name)
                for rel in root.findall("rel:Relationship", NS):
                    external = rel.get("TargetMode") == "External"
                    target = rel.get("Target", "")
                    found.append(Rel(rel.get("Id", ""), rel.get("Type", ""), "" if external else resolve(part, target)))
            self._rels[part] = found
        return self._rels[part]

    def related(self, part: str, kind: str) -> list[str]:
        return [rel.part for rel in self.rels(part) if rel.type == kind and rel.part]

    @property
    def workbook_part(self) -> str:
        for rel in self.rels(""):
            if rel.type.endswith("/officeDocument"):
                return rel.part
        return "xl/workbook.xml"

    def sheets(self) -> list[Sheet]:
        """The workbook's worksheets in tab order (chart sheets and dialog sheets are not worksheets)."""
        book = self.workbook_part
        parts = {rel.id: rel.part for rel in self.rels(book) if rel.type == REL_WORKSHEET}
        found = []
        for sheet in _xml(self.read(book), book).iterfind("m:sheets/m:sheet", NS):
            rel_id = sheet.get(f"{{{OFFICE_REL}}}id", "")
            if rel_id in parts and parts[rel_id] in self.names:
                found.append(Sheet(sheet.get("name", ""), parts[rel_id], rel_id, int(sheet.get("sheetId", "0") or 0)))
        return found

    def sheet_names(self) -> list[str]:
        """Every sheet's name in workbook.xml, worksheets or not (chart sheets, dialog sheets)."""
        book = self.workbook_part
        return [sheet.get("name", "") for sheet in _xml(self.read(book), book).iterfind("m:sheets/m:sheet", NS)]

    def sheet(self, name: str) -> Sheet | None:
        return next((s for s in self.sheets() if s.name == name), None)

    def tables(self, sheet_part: str) -> list[TableInfo]:
        found = []
        for part in self.related(sheet_part, REL_TABLE):
            if part not in self.names:
                continue
            root = _xml(self.read(part), part)
            elements = list(root.iterfind("m:tableColumns/m:tableColumn", NS))
            columns = tuple(c.get("name", "") for c in elements)
            formulas = tuple(
                (i, formula.text or "")
                for i, c in enumerate(elements)
                if (formula := c.find("m:calculatedColumnFormula", NS)) is not None and formula.get("array") != "1"
            )
            found.append(
                TableInfo(
                    part, root.get("ref", "A1"), int(root.get("headerRowCount", "1")),
                    int(root.get("totalsRowCount", "0") or 0), columns, formulas,
                )
            )
        return found

    @property
    def date1904(self) -> bool:
        return DATE1904.search(self.read(self.workbook_part)) is not None

    def styles_part(self) -> str | None:
        parts = self.related(self.workbook_part, REL_STYLES)
        return parts[0] if parts and parts[0] in self.names else None

    def size(self, part: str) -> int:
        """A part's size once inflated (0 for a part the package lacks)."""
        return next((info.file_size for info in self.infos if info.filename == part), 0)

    def stream(self, part: str, ahead: bool = True) -> Iterator[bytes]:
        """A part's bytes a megabyte at a time. With ``ahead``, a part of more than a megabyte is inflated on a
        second thread, a few megabytes ahead of the caller (``read_ahead``); the writer, whose second core is
        busy deflating, inflates in place."""
        if ahead and self.size(part) > CHUNK:
            return read_ahead(self.path, part)
        return _read_here(self.path, part)

    def stream_same(self, part: str) -> Iterator[bytes]:
        """``stream``, refused when the file is no longer the one opened (another program saved over it since):
        a second reader of the same part (``halves``) must read the same bytes."""
        if _stamp(self.path) != self.stamp:
            raise WorkbookError(f"{self.path.name} 在读取中被其他程序改写了")
        return self.stream(part)


def _stamp(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns, status.st_ino


def _read_here(path: Path, part: str) -> Iterator[bytes]:
    with zipfile.ZipFile(path) as archive, inflating(archive.open(part)) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


class _Failed:
    """An exception raised on the inflating thread, handed to the caller."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


AHEAD = 8  # megabytes a background thread inflates ahead of the caller


def read_ahead(path: Path, part: str, ahead: int = AHEAD) -> Iterator[bytes]:
    """A part's bytes a megabyte at a time, inflated (and its CRC checked) on a second thread at most ``ahead``
    megabytes ahead of the caller: zlib lets go of the interpreter while it inflates, so the caller splits and
    decodes one megabyte while the next is inflated. An error of the zip (a bad CRC, a truncated part, a missing
    part) is raised to the caller where it would have been; when the caller stops early (the generator is closed)
    or raises, the thread is stopped and joined."""
    chunks: queue.Queue[bytes | _Failed | None] = queue.Queue(maxsize=ahead)  # None: the part's end
    stop = threading.Event()

    def inflate() -> None:
        try:
            with zipfile.ZipFile(path) as archive, inflating(archive.open(part)) as handle:
                # a megabyte at a time, as in place: a part that turns out damaged gives the caller the same
                # chunks before the same error
                while not stop.is_set() and (chunk := handle.read(CHUNK)):
                    chunks.put(chunk)
        except BaseException as error:  # handed to the caller
            chunks.put(_Failed(error))
            return
        chunks.put(None)

    worker = threading.Thread(target=inflate, name=f"inflate {part}", daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # the thread may wait to put a chunk: take them until it has seen the stop
            try:
                while True:
                    chunks.get_nowait()
            except queue.Empty:
                pass
            worker.join(0.01)


def _xml(data: bytes, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise WorkbookError(f"工作簿的 {name} 已损坏，无法读取（{error}）") from None


# ------------------------------------------------------------------------------------------------ sheet XML


def _sheet_data_head(chunks: Iterator[bytes]) -> Generator[tuple[str, int, bytes], None, tuple[bytes, int, Iterator[bytes]] | None]:
    """Yield the XML up to and with the ``<sheetData>`` start tag as ("head", 0, xml); for an empty
    ``<sheetData/>`` also the rest as ("tail", 0, xml) and return None, else return (what was read, where the
    rows start in it, the chunks not read yet)."""
    buffer = b""
    chunks = iter(chunks)
    while True:
        start = buffer.find(b"<sheetData")
        if start != -1 and buffer.find(b">", start) != -1:
            break
        more = next(chunks, b"")
        if not more:
            raise WorkbookError(
                "工作表中找不到 sheetData（文件已损坏，或由 Excel、WPS、LibreOffice 以外的程序写成）："
                "请在 Excel 或 WPS 中打开并另存一次后再运行，文件未改动"
            )
        buffer += more
    end = buffer.index(b">", start) + 1
    if buffer[end - 2 : end] == b"/>":
        yield "head", 0, buffer[:start] + b"<sheetData>"
        yield "tail", 0, b"</sheetData>" + buffer[end:] + b"".join(chunks)
        return None
    yield "head", 0, buffer[:end]
    return buffer, end, chunks


def sheet_stream(chunks: Iterator[bytes], previous: int = 0) -> Iterator[tuple[str, int, bytes]]:
    """A worksheet's XML in pieces: ("head", 0, everything up to and including ``<sheetData>``), then
    ("row", number, one ``<row>`` element) per row, then ("tail", 0, the rest from ``</sheetData>``).

    A ``<sheetData/>`` gives a head and a tail only. A row without its ``r`` is numbered after the one before it,
    as spreadsheet programs read it (the first after ``previous``). Only the current megabyte and one row are ever
    held.
    """
    opened = yield from _sheet_data_head(chunks)
    if opened is None:
        return
    buffer, end, chunks = opened
    pos = end
    while True:
        at = buffer.find(b"<row", pos)
        close = buffer.find(b"</sheetData>", pos, at if at != -1 else len(buffer))
        if close != -1:
            yield "tail", 0, buffer[close:] + b"".join(chunks)
            return
        stop = -1
        if at != -1:
            tag_end = buffer.find(b">", at)
            if tag_end != -1:
                if buffer[tag_end - 1] == 0x2F:  # "/": a row without cells, <row r="7"/>
                    stop = tag_end + 1
                else:
                    stop = buffer.find(b"</row>", tag_end)
                    stop = stop + 6 if stop != -1 else -1
        if stop == -1:
            more = next(chunks, b"")
            if not more:
                raise WorkbookError("工作表的 sheetData 没有结束，文件已损坏")
            keep = at if at != -1 else max(pos, len(buffer) - 16)
            buffer, pos = buffer[keep:] + more, 0
            continue
        row = buffer[at:stop]
        tag = row[: row.find(b">") + 1]
        number = ROW_NUMBER.match(tag)
        previous = int(number.group(1)) if number else previous + 1
        yield "row", previous, row
        pos = stop


HIDDEN = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.S)


def _masked(row_xml: bytes) -> bytes:
    """The row with CDATA sections and comments blanked out (same length): text that only looks like a cell."""
    return HIDDEN.sub(lambda m: b"<" + b" " * (len(m.group(0)) - 2) + b">", row_xml)


def cells_of(row_xml: bytes) -> Iterator[tuple[int, int, int]]:
    """(column, start, end) of each ``<c>`` in a row's XML; a cell without ``r`` follows the one before it.
    Text inside CDATA or a comment is never taken for a cell."""
    if b"<!" in row_xml:
        row_xml = _masked(row_xml)
    column = 0
    for match in CELL.finditer(row_xml):
        tag_end = row_xml.find(b">", match.start())
        ref = CELL_REF.search(row_xml, match.start(), tag_end)
        column = column_index(ref.group(1)) if ref else column + 1
        yield column, match.start(), match.end()


@dataclass
class SheetScan:
    """What one streamed pass over a worksheet tells about it (nothing of its cell values but the errors)."""

    head: bytes = b""
    tail: bytes = b""
    last_row: int = 0  # the last row holding a cell
    last_any_row: int = 0  # the last <row> element at all
    errors: list[tuple[int, int, str]] = field(default_factory=list)  # (row, column, '#N/A')
    used_col: dict[int, int] = field(default_factory=dict)  # row → last column holding a value or a formula
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    col_styles: dict[int, int] = field(default_factory=dict)  # column → its <col style>
    formulas: set[tuple[int, int]] = field(default_factory=set)  # cells holding a formula (kept only if asked)
    shared: set[tuple[int, int]] = field(default_factory=set)  # of those, the ones in a shared (filled-down) formula
    top: dict[int, bytes] = field(default_factory=dict)  # the XML of the first rows (the header is among them)
    # and of the rows a caller asked to keep

    def used_from(self, row: int) -> int:
        """The rightmost column holding a value or formula at or below ``row`` (0 when none)."""
        return max((col for number, col in self.used_col.items() if number >= row), default=0)

    def merged_over(self, row: int, column: int) -> tuple[int, int, int, int] | None:
        """The merged range hiding this cell (not its top-left cell, which shows the value), if any."""
        if not self.merged:
            return None
        for r1, c1, r2, c2 in self.merged:
            if r1 <= row <= r2 and c1 <= column <= c2 and (row, column) != (r1, c1):
                return r1, c1, r2, c2
        return None


def scan_sheet(chunks: Iterator[bytes], formula_cols: set[int] | None = None, keep: frozenset[int] = frozenset()) -> SheetScan:
    """Scan a worksheet once: head and tail, last rows, error cells, the rightmost used column per row, the merged
    ranges, the columns' default styles, (for ``formula_cols``) which cells hold a formula, and the XML of the
    first rows and of the rows in ``keep``."""
    scan = SheetScan()
    for kind, number, xml in sheet_stream(chunks):
        if kind == "head":
            _scan_head(scan, xml)
        elif kind == "tail":
            scan.tail = xml
            scan.merged = [
                (int(r1), column_index(c1), int(r2 or r1), column_index(c2 or c1)) for c1, r1, c2, r2 in MERGE.findall(xml)
            ]
        else:
            if number <= scan.last_any_row:
                raise WorkbookError(
                    f"工作表的第 {number} 行排在第 {scan.last_any_row} 行之后（行的顺序不对），无法安全写入："
                    "请在 Excel 或 WPS 中打开并保存一次后再运行，文件未改动"
                )
            scan.last_any_row = number
            if number <= TOP_ROWS or number in keep:
                scan.top[number] = xml
            if b"<c" not in xml:
                continue
            scan.last_row = number
            if b't="e"' in xml:
                scan.errors.extend(error_cells(xml, number))
            scan.used_col[number] = _last_content_col(xml)
            if formula_cols and b"<f" in xml:
                for column, start, end in cells_of(xml):
                    if column in formula_cols and b"<f" in xml[start:end]:
                        scan.formulas.add((number, column))
                        if b't="shared"' in xml[start:end]:
                            scan.shared.add((number, column))
    return scan


def _last_content_col(row_xml: bytes) -> int:
    """The column of the last cell in a row holding a value or a formula (an empty styled cell does not count).

    Read from the end of the row with ``rfind``: this runs for every row of the register."""
    end = len(row_xml)
    while True:
        at = row_xml.rfind(b"<c ", 0, end)
        if at == -1:
            return 0
        close = row_xml.find(b">", at)
        if row_xml[close - 1] != 0x2F:  # not <c …/>: it has content
            ref = CELL_REF.search(row_xml, at, close)
            if ref is None:  # cells without their reference: count them from the start
                return max((col for col, start, stop in cells_of(row_xml) if row_xml[stop - 2 : stop] != b"/>"), default=0)
            return column_index(ref.group(1))
        end = at


def error_cells(xml: bytes, number: int) -> Iterator[tuple[int, int, str]]:
    """(row, column, '#N/A') for each cell of type e (an Excel error value) in a row's XML."""
    for column, start, end in cells_of(xml):
        match = ERROR_CELL.match(xml, start, end)
        if match:
            value = VALUE.search(match.group(1))
            if value:
                yield number, column, value.group(1).decode()


# ------------------------------------------------------------------------------------------------ cell values
#
# A cell's value is read the way calamine (python-calamine) reads it, so that a tracker means the same whichever of
# the two read it: text of shared and inline strings (rich-text runs joined, phonetic runs left out, white space
# trimmed unless xml:space="preserve", Excel's _x000D_ escapes undone), numbers as floats, and numbers whose cell
# format is a date or time format as date-times, dates, times or durations. tests/test_cell_values.py compares the
# two cell by cell. The usual cells are decoded by a few fast paths; anything else goes through ``_Calamine``, which
# walks the cell's XML event by event the way calamine does.

OTHER, DATETIME, TIMEDELTA = 0, 1, 2  # what a cell format makes of a number (calamine's CellFormat)
# the built-in formats that show dates and times (those of Chinese, Japanese and Korean Excel among them), by id
BUILTIN_KINDS = {str(n).encode(): DATETIME for n in (*range(14, 23), *range(27, 37), 45, 47, *range(50, 59))}
BUILTIN_KINDS[b"46"] = TIMEDELTA
EXCEL_EPOCH = datetime(1899, 12, 30)
DAY_MS = 86_400_000
# chrono's dates run from year -262,143 to 262,142: beyond that calamine gives the number itself
CHRONO_MIN_MS = (-262_143 * 365.2425 + 1_900 * 365.2425) * DAY_MS
CHRONO_MAX_MS = (262_142 * 365.2425 - 1_900 * 365.2425) * DAY_MS
NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.I)
EXCEL_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2}|\+[0-9A-Fa-f])_")
ENTITY = re.compile(rb"&([^;&]*);")
ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"apos": "'", b"quot": '"'}
DIGITS = b"0123456789"


class CellError(str):
    """An Excel error value (``#N/A``…), as its text. calamine reads it as a blank; the register keeps the text, so
    that a bad cell is reported rather than read as empty."""


def format_kind(code: str) -> int:
    """Whether a number format shows a date-time, a duration or neither: calamine's detect_custom_number_format."""
    escaped = is_quote = ap = hms = False
    brackets = 0
    prev = " "
    for s in code:
        if escaped:
            escaped = False
        elif s in "_\\*":  # the next character is a literal
            escaped = True
        elif is_quote:
            is_quote = s != '"'
        elif s == '"':
            is_quote = True
        elif s == ";":  # only the first section counts
            return OTHER
        elif s == "[":
            brackets = (brackets + 1) % 256
        elif s == "]" and brackets == 1 and hms:
            return TIMEDELTA
        elif s == "]":
            brackets = max(brackets - 1, 0)
        elif s in "aA" and not ap and brackets == 0:
            ap = True
        elif brackets == 0 and (s in "pm/PM" if ap else s in "dmhysDMHYS"):
            return DATETIME
        elif not (hms and s.lower() == prev.lower()):
            hms = prev == "[" and s in "mhsMHS"
        prev = s
    return OTHER


def format_kinds(styles_xml: bytes) -> list[int]:
    """The kind of number (``format_kind``) each cell format (``cellXfs``) of styles.xml shows, by index."""
    custom: dict[bytes, str] = {}
    kinds: list[int] = []
    for name, body in _sections(styles_xml):
        for child, child_attrs in _children(body):
            values = {key: double if double or not single else single for key, double, single in ANY_ATTR.findall(child_attrs)}
            if name == b"numFmts" and child == b"numFmt":
                if b"numFmtId" in values and b"formatCode" in values:
                    custom[values[b"numFmtId"]] = _text(values[b"formatCode"])
            elif name == b"cellXfs" and child == b"xf":
                number = values.get(b"numFmtId")
                if number is None:
                    kinds.append(OTHER)
                elif number in custom:
                    kinds.append(format_kind(custom[number]))
                else:
                    kinds.append(BUILTIN_KINDS.get(number, OTHER))
    return kinds


SECTION = re.compile(rb"<(?:\w+:)?(numFmts|cellXfs)\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?\1>)", re.S)
CHILD_TAG = re.compile(rb"<(?:\w+:)?(\w+)\b((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*/?>")


def _sections(xml: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(name, inner XML) of styles.xml's numFmts and cellXfs, in document order."""
    for match in SECTION.finditer(xml):
        yield match.group(1), match.group(3) or b""


def _children(body: bytes) -> Iterator[tuple[bytes, bytes]]:
    for match in CHILD_TAG.finditer(body):
        yield match.group(1), match.group(2)


def _entity(name: bytes) -> str:
    known = ENTITIES.get(name)
    if known is not None:
        return known
    try:
        if name[:2] == b"#x":
            code = int(name[2:], 16)
        elif name[:1] == b"#" and name[1:].isdigit():
            code = int(name[1:])
        else:
            raise ValueError
        if code == 0 or 0xD800 <= code <= 0xDFFF:
            raise ValueError
        return chr(code)
    except (ValueError, OverflowError):
        raise WorkbookError(f"工作表中有无法识别的字符引用 &{name.decode(errors='replace')};（文件已损坏）") from None


def _text(raw: bytes) -> str:
    """XML character data as text: line ends made \\n (XML 1.0), entity and character references resolved."""
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b"&" not in raw:
        return raw.decode("utf-8")
    refs = raw.count(b"&")
    if refs <= 6 and raw.count(b"&#") == refs:  # a few character references (a buyer's name as &#29980;…)
        text = _char_refs(raw)
        if text is not None:
            return text
    if refs > 6:  # a long text of character references (Chinese as &#25991;): expat, in C
        pieces: list[str] = []
        parser = expat.ParserCreate("utf-8")
        parser.CharacterDataHandler = pieces.append
        try:
            parser.Parse(b"<t>" + raw + b"</t>", True)
            return "".join(pieces)
        except expat.ExpatError:
            pass  # a reference XML does not allow: resolved (or refused) below
    out = []
    at = 0
    for match in ENTITY.finditer(raw):
        out.append(raw[at : match.start()].decode("utf-8"))
        out.append(_entity(match.group(1)))
        at = match.end()
    tail = raw[at:]
    if b"&" in tail:
        raise WorkbookError("工作表中有未结束的实体引用（文件已损坏）")
    out.append(tail.decode("utf-8"))
    return "".join(out)


def _char_refs(raw: bytes) -> str | None:
    """Text whose only references are decimal or hexadecimal character references, resolved; None when one of
    them is not a plain one (then the general way says what is wrong with it)."""
    pieces = raw.split(b"&#")
    out = [pieces[0].decode("utf-8")]
    for piece in pieces[1:]:
        number, sep, rest = piece.partition(b";")
        if not sep:
            return None
        if number.isdigit():
            code = int(number)
        elif number[:1] == b"x" and number[1:] and all(c in HEX_DIGITS for c in number[1:]):
            code = int(number[1:], 16)
        else:
            return None
        if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            return None
        out.append(chr(code))
        out.append(rest.decode("utf-8"))
    return "".join(out)


HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def _unescape_excel(text: str) -> str:
    """Excel's _xHHHH_ escapes of control characters undone, as calamine does (only _x00HH_)."""
    if "_x00" not in text:
        return text
    return EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _string_text(raw: bytes, preserve: bool) -> str:
    """A ``<t>``'s text as calamine gives it."""
    text = _text(raw)
    if not preserve:
        text = text.strip(" \t\r\n")
    return _unescape_excel(text)


def _round(value: float) -> int:
    """Rust's f64::round (half away from zero) then ``as i64`` (saturating, NaN → 0)."""
    if value != value:
        return 0
    if value >= 9.223372036854775807e18:
        return 9_223_372_036_854_775_807
    if value <= -9.223372036854775808e18:
        return -9_223_372_036_854_775_808
    whole = math.floor(abs(value))
    if abs(value) - whole >= 0.5:
        whole += 1
    return int(whole) if value >= 0 else -int(whole)


def excel_date(value: float, kind: int, date1904: bool) -> object:
    """A number under a date or duration format as python-calamine gives it: a timedelta for a duration; a time
    below 1, a date for a whole number, a date-time otherwise; the number itself when it is out of range."""
    if kind == TIMEDELTA:
        try:
            return timedelta(milliseconds=_round(value * DAY_MS))
        except OverflowError:
            return value
    f = value + 1462.0 if date1904 else value
    if f < 60.0:
        f += 1.0
    ms = _round(f * DAY_MS)
    if not CHRONO_MIN_MS <= ms <= CHRONO_MAX_MS:
        return value
    if value < 1.0:
        of_day = ms % DAY_MS
        return time(of_day // 3_600_000, of_day // 60_000 % 60, of_day // 1000 % 60, of_day % 1000 * 1000)
    try:
        moment = EXCEL_EPOCH + timedelta(0, 0, 0, ms)  # milliseconds (given by position: a little faster)
    except OverflowError:
        return value
    if value <= 1.8446744073709552e19 and value == float(int(value)):  # v == (v as u64) as f64
        return moment.date()
    return moment


def _iso(text: str) -> object:
    """A t="d" cell's ISO 8601 text as python-calamine gives it (the text itself when it is not one)."""
    try:
        if "T" in text:
            if ISO_DATETIME.fullmatch(text):
                return datetime.fromisoformat(text)
        elif ":" in text:
            if ISO_TIME.fullmatch(text):
                return time.fromisoformat(text)
        elif ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    return text


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")


class CellValues:
    """The values of a workbook's cells: its shared strings, what each cell format makes of a number, its date
    system. ``value`` takes one ``<c>`` element; ``tail`` takes what follows a cell's ``r="…"`` attribute (the
    register's reader splits rows on ``<c r="``) and remembers what it decoded."""

    def __init__(self, strings: list[str], kinds: list[int], date1904: bool) -> None:
        self.strings, self.kinds, self.date1904 = strings, kinds, date1904
        self._attrs: dict[bytes, tuple[int, bytes | None] | None] = {}

    @classmethod
    def of(cls, package: Package) -> CellValues:
        """What ``package``'s cells need: calamine reads sharedStrings.xml and styles.xml beside workbook.xml."""
        folder = package.workbook_part.rpartition("/")[0]
        folder = folder + "/" if folder else ""
        lower = {name.lower(): name for name in package.names}
        strings_part = lower.get(f"{folder}sharedstrings.xml")
        styles_part = lower.get(f"{folder}styles.xml")
        strings = shared_strings(package.read(strings_part)) if strings_part else []
        kinds = format_kinds(package.read(styles_part)) if styles_part else []
        return cls(strings, kinds, package.date1904)

    def inline(self, attrs: bytes) -> bool:
        """Whether a cell with these start-tag attributes (after its reference) is an inline string."""
        head = self._cell_attrs(attrs)
        return head is not None and head[1] in (b"inlineStr", b"is")

    def _cell_attrs(self, attrs: bytes) -> tuple[int, bytes | None] | None:
        """(number kind of the cell's format, its type t) from a start tag's attributes; None when they are not
        in the plain form (then the cell goes the long way)."""
        known = self._attrs.get(attrs, False)
        if known is not False:
            return known  # type: ignore[return-value]
        found = ATTR_STRICT.findall(attrs)
        result: tuple[int, bytes | None] | None = None
        if ATTR_STRICT.sub(b"", attrs).strip() == b"" and len({name for name, _ in found}) == len(found):
            values = dict(found)
            style = values.get(b"s")
            if style is None:
                kind = OTHER
            else:
                number = int(style) if style.isdigit() and len(style) < 19 else 0
                kind = self.kinds[number] if number < len(self.kinds) else OTHER
            result = (kind, values.get(b"t"))
        if len(self._attrs) < 10_000:
            self._attrs[attrs] = result
        return result

    def value(self, cell: bytes) -> object:
        """The value of one ``<c>…</c>`` (or ``<c …/>``): None for an empty cell (calamine leaves it out), a
        ``CellError`` for an error value, else what python-calamine gives."""
        end = cell.find(b">")
        if end == -1 or not cell.startswith(b"<c"):
            return _Calamine(self, cell).cell()
        if cell[end - 1] == 0x2F:  # <c …/>
            return None
        attrs = cell[2:end]
        head = self._cell_attrs(REF_ATTR.sub(b"", attrs, count=1) if b" r=" in attrs else attrs)
        if head is None or cell[-4:] != b"</c>":
            return _Calamine(self, cell).cell()
        kind, t = head
        inner = cell[end + 1 : -4]
        if not inner:
            return None
        if inner[:3] == b"<v>":
            raw = inner[3:-4]
            if inner[-4:] == b"</v>" and b"<" not in raw:
                if t == b"s":
                    if raw.isdigit() and len(raw) < 19:
                        index = int(raw)
                        if index < len(self.strings):
                            return self.strings[index]
                elif (t is None or t == b"n") and raw and raw[:1] not in SPACES and raw[-1:] not in SPACES \
                        and b"_" not in raw and b"&" not in raw:
                    try:
                        number = float(raw)  # what fast_float2 reads, once _ and spaces are ruled out
                    except ValueError:
                        return _read_v(self, raw.decode("utf-8"), t, kind)
                    return number if kind == OTHER else excel_date(number, kind, self.date1904)
                return self._v(raw, kind, t, cell)
        elif inner[:6] == b"<is><t":
            if inner[-9:] == b"</t></is>" and inner.count(b"<") == 4:
                close = inner.find(b">", 6)
                tag = inner[6:close]
                if not tag:
                    raw = inner[close + 1 : -9]
                    if b"&" in raw or b"\r" in raw:
                        return _unescape_excel(_text(raw).strip(" \t\r\n"))
                    text = raw.decode("utf-8")
                    if text[:1] in WHITE or text[-1:] in WHITE:
                        text = text.strip(" \t\r\n")
                    return _unescape_excel(text) if "_x00" in text else text
                if tag == b' xml:space="preserve"':
                    return _string_text(inner[close + 1 : -9], True)
        elif inner[:2] == b"<f" and inner[-4:] == b"</v>":
            match = FORMULA_THEN_VALUE.fullmatch(inner)
            if match:
                return self._v(match.group(1), kind, t, cell)
        return _Calamine(self, cell).cell()

    def _v(self, raw: bytes, kind: int, t: bytes | None, cell: bytes) -> object:
        """The value of a ``<v>`` whose text is ``raw`` (no markup in it)."""
        if t in (b"inlineStr", b"is"):
            return None
        if t in (b"str", b"d") or (t is not None and t not in (b"n", b"s", b"b", b"e")):
            return _read_v(self, _text(raw), t, kind)
        if b"&" in raw:
            return _Calamine(self, cell).cell()
        if not raw:
            return None
        return _read_v(self, raw.decode("utf-8"), t, kind)


WHITE = frozenset(" \t\r\n")
SPACES = frozenset((b" ", b"\t", b"\r", b"\n", b"\x0b", b"\x0c"))
ATTR_STRICT = re.compile(rb'\s+([\w:.-]+)="([^"<&]*)"')
REF_ATTR = re.compile(rb'\s+r="[^"]*"')
FORMULA_THEN_VALUE = re.compile(rb'<f\b[^>]*?(?:/>|>[^<]*</f>)<v>([^<]*)</v>')


def _read_v(values: CellValues, text: str, t: bytes | None, kind: int) -> object:
    """calamine's read_v: a ``<v>``'s text by the cell's type and number format."""
    if t == b"s":
        if not text:
            return None
        index = int(text) if text.isdigit() and text.isascii() and len(text) < 19 else 0
        if index >= len(values.strings):
            raise WorkbookError(f"工作表引用了不存在的共享字符串 {index}（文件已损坏）")
        return values.strings[index]
    if t == b"b":
        word = text.strip(" \t\r\n\x0c").lower()
        if word in ("1", "true"):
            return True
        if word in ("0", "false"):
            return False
        raise WorkbookError(f"工作表中的逻辑值 {text[:40]!r} 无法识别（文件已损坏）")
    if t == b"d":
        return _iso(text)
    if t == b"e":
        return CellError(text)
    if t == b"str":
        return text
    if t in (b"n", None):
        if not text:
            return None
        number = float(text) if NUMBER.fullmatch(text.encode()) else None
        if number is None:
            if t is None:
                return text
            raise WorkbookError(f"工作表中的数字 {text[:40]!r} 无法识别（文件已损坏）")
        if kind == OTHER:
            return number
        return excel_date(number, kind, values.date1904)
    raise WorkbookError(f"工作表中有未知的单元格类型 t=\"{t.decode(errors='replace')}\"（文件已损坏）")


EVENT = re.compile(
    rb"<!\[CDATA\[(?P<cdata>.*?)\]\]>|<!--.*?-->|<\?.*?\?>|<!.*?>"
    rb"|</(?P<end>[^\s>]+)\s*>"
    rb"|<(?P<start>[^\s/>!?]+)(?P<attrs>(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(?P<empty>/?)>"
    rb"|(?P<text>[^<]+)",
    re.S,
)
ANY_ATTR = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _local(name: bytes) -> bytes:
    return name.rpartition(b":")[2]


class _Calamine:
    """One cell read event by event the way calamine's XlsxCellReader does (quick-xml, empty elements expanded,
    end names unchecked): the long way, for the cells the fast paths of ``CellValues.value`` do not take."""

    def __init__(self, values: CellValues, xml: bytes) -> None:
        self.values = values
        self.events: list[tuple[str, bytes, bytes]] = []  # (kind, name or text, raw attributes)
        for match in EVENT.finditer(xml):
            if match.group("start") is not None:
                self.events.append(("start", match.group("start"), match.group("attrs")))
                if match.group("empty"):
                    self.events.append(("end", match.group("start"), b""))
            elif match.group("end") is not None:
                self.events.append(("end", match.group("end"), b""))
            elif match.group("text") is not None:
                text = match.group("text")
                at = 0
                for ref in ENTITY.finditer(text):
                    if ref.start() > at:
                        self.events.append(("text", text[at : ref.start()], b""))
                    self.events.append(("ref", ref.group(1), b""))
                    at = ref.end()
                if at < len(text):
                    self.events.append(("text", text[at:], b""))
            elif match.group("cdata") is not None:
                self.events.append(("cdata", match.group("cdata"), b""))
        self.at = 0

    def _next(self) -> tuple[str, bytes, bytes]:
        if self.at >= len(self.events):
            raise WorkbookError("工作表的单元格 XML 不完整（文件已损坏）")
        event = self.events[self.at]
        self.at += 1
        return event

    def _to_end(self, name: bytes) -> None:
        depth = 0
        while True:
            kind, what, _ = self._next()
            if kind == "start" and what == name:
                depth += 1
            elif kind == "end" and what == name:
                if depth == 0:
                    return
                depth -= 1

    @staticmethod
    def _attr(attrs: bytes, name: bytes) -> bytes | None:
        for key, double, single in ANY_ATTR.findall(attrs):
            if key == name:
                return double if double or not single else single
        return None

    def cell(self) -> object:
        kind, name, attrs = self._next()
        if kind != "start" or _local(name) != b"c":
            raise WorkbookError("工作表的单元格 XML 无法识别（文件已损坏）")
        style, t = self._attr(attrs, b"s"), self._attr(attrs, b"t")
        if style is None:
            number_kind = OTHER
        else:
            number = int(style) if style.isdigit() and len(style) < 19 else 0
            number_kind = self.values.kinds[number] if number < len(self.values.kinds) else OTHER
        value: object = None
        while True:
            kind, what, child_attrs = self._next()
            if kind == "start":
                value = self._value(what, child_attrs, number_kind, t)
            elif kind == "end" and _local(what) == b"c":
                return value

    def _value(self, name: bytes, attrs: bytes, kind: int, t: bytes | None) -> object:
        local = _local(name)
        if local == b"is":
            return self.string(name)
        if local == b"v" and t in (b"inlineStr", b"is"):
            self._to_end(name)
            return None
        if local == b"v":
            if t in (b"n", b"s", b"b", b"e", None):
                event, what, _ = self._next()
                if event == "end" and what == name:
                    return None
                value = _read_v(self.values, what.decode("utf-8"), t, kind) if event == "text" else None
                self._to_end(name)
                return value
            text = []
            while True:
                event, what, _ = self._next()
                if event == "text":
                    text.append(_text(what))
                elif event == "ref":
                    text.append(_entity(what))
                elif event == "end" and what == name:
                    break
            return _read_v(self.values, "".join(text), t, kind)
        if local == b"f":
            self._to_end(name)
            return None
        raise WorkbookError(f"单元格中有无法识别的元素 <{local.decode(errors='replace')}>（文件已损坏）")

    def string(self, closing: bytes) -> str:
        """calamine's read_string: the ``<t>`` texts of a string item (rich runs joined, phonetic runs out)."""
        parts: list[str] | None = None
        phonetic = False
        while True:
            kind, name, attrs = self._next()
            local = _local(name)
            if kind == "start" and local == b"r" and parts is None:
                parts = []
            elif kind == "start" and local == b"rPh":
                phonetic = True
            elif kind == "end" and name == closing:
                return "".join(parts or [])
            elif kind == "end" and local == b"rPh":
                phonetic = False
            elif kind == "start" and local == b"t" and not phonetic:
                preserve = self._attr(attrs, b"xml:space") == b"preserve"
                raw: list[str] = []
                while True:
                    event, what, _ = self._next()
                    if event in ("text", "cdata"):
                        raw.append(_text(what) if event == "text" else _newlines(what))
                    elif event == "ref":
                        raw.append(_entity(what))
                    elif event == "end" and what == name:
                        break
                text = "".join(raw)
                text = _unescape_excel(text if preserve else text.strip(" \t\r\n"))
                parts = [*(parts or []), text]


def _newlines(raw: bytes) -> str:
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode("utf-8")


def shared_strings(xml: bytes) -> list[str]:
    """sharedStrings.xml's items, as calamine reads them."""
    strings: list[str] = []
    values = CellValues([], [], False)
    for match in SHARED_ITEM.finditer(xml):
        inner = match.group(2)
        if inner is None:  # <si/>
            strings.append("")
            continue
        if inner.startswith(b"<t") and inner.endswith(b"</t>") and inner.count(b"<") == 2:
            close = inner.find(b">")
            tag = inner[2:close]
            if tag in (b"", b' xml:space="preserve"'):
                strings.append(_string_text(inner[close + 1 : -4], bool(tag)))
                continue
        name = match.group(1)
        reader = _Calamine(values, b"<%s>%s</%s>" % (name, inner, name))
        reader.at = 1
        strings.append(reader.string(name))
    return strings


SHARED_ITEM = re.compile(rb"<((?:\w+:)?si)(?:\s*/>|\s*>(.*?)</\1>)", re.S)


# ------------------------------------------------------------------------------------------------ sheet values


def row_cells(row_xml: bytes, number: int) -> Iterator[tuple[int, int, bytes]]:
    """(row, column, the cell's XML) for each cell of a row, placed as calamine places it: by the cell's own
    reference, else after the cell before it in the row the ``<row>`` element says."""
    masked = _masked(row_xml) if b"<!" in row_xml else row_xml
    column = 0
    for match in CELL.finditer(masked):
        start, end = match.span()
        tag_end = masked.find(b">", start)
        ref = ANY_REF.search(masked, start, tag_end)
        row = number
        if ref:
            column = column_index(ref.group(1).upper())
            row = int(ref.group(2))
        else:
            column += 1
        yield row, column, row_xml[start:end]


ANY_REF = re.compile(rb'\sr="([A-Za-z]{1,3})(\d+)"')


def sheet_values(chunks: Iterator[bytes], values: CellValues, upto: int | None = None) -> dict[int, list[object]]:
    """Row number → the row's values from column A ('' for blanks), for every row holding a value that is not
    blank: what python-calamine's rows of the sheet give (an error value reads as a blank). With ``upto``, only the
    rows up to that one are read, and the rest of the sheet is never inflated."""
    cells: dict[int, dict[int, object]] = {}
    width = 0
    for kind, number, xml in sheet_stream(chunks):
        if kind != "row":
            continue
        if upto is not None and number > upto:
            break
        if b"<c" not in xml:
            continue
        for row, column, cell in row_cells(xml, number):
            value = values.value(cell)
            if value is None:
                continue
            width = max(width, column)
            cells.setdefault(row, {})[column] = "" if isinstance(value, CellError) else value
    rows: dict[int, list[object]] = {}
    for row in sorted(cells):
        line: list[object] = [""] * width
        for column, value in cells[row].items():
            line[column - 1] = value
        if not all(_blank(v) for v in line):
            rows[row] = line
    return rows


def _blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()


MISS = object()
CACHE_LIMIT = 200_000  # distinct cells whose values are remembered (then forgotten, and remembered anew)


class RegisterRead:
    """The register's rows and what the writer needs to know about its sheet, from one streamed pass over the
    sheet's XML (see ``read_register``)."""

    def __init__(self) -> None:
        self.scan = SheetScan()
        self.rows: dict[int, tuple[object, ...]] = {}  # row → values first_col..last_col, blank rows left out
        self.used_col = 0  # the rightmost column holding a value or formula at or below the header row
        self.in_order = True
        self.foreign = False  # a cell's reference put it in a row other than its <row> element's


@without_gc_pauses  # a million rows of tuples: the collector would walk them over and over while they are built
def read_register(
    chunks: Iterator[bytes],
    values: CellValues,
    first_col: int,
    last_col: int,
    header_row: int,
    formula_cols: set[int],
    digested: tuple[int, ...] = (),
    digest: Callable[[str], object] = str,
    skip: frozenset[int] = frozenset(),
    again: Callable[[], Iterator[bytes]] | None = None,
    size: int = 0,
    halve_from: int | None = None,
) -> RegisterRead:
    """Read the register in one pass over its sheet XML: each row under ``header_row`` (and not in ``skip``) as
    its values from ``first_col`` to ``last_col`` (calamine's values, an error value as its text, '' for blanks;
    the long texts at the 0-based ``digested`` positions through ``digest``), and the sheet's scan (head and tail,
    merged ranges, column styles, which cells of ``formula_cols`` hold a formula, the first rows' XML).

    The usual row (every cell with its reference first, nothing unusual inside) is taken apart with bytes.split
    and C-level maps, each distinct cell's XML decoded once (``_RowShapes`` places the values); any other row goes
    cell by cell (``row_cells``). Only the current megabyte of XML and the values are held.

    A sheet XML of ``size`` ≥ ``halve_from`` (``halves.HALVE_FROM``) bytes is read in two halves at once where
    this system can fork (``halves``): a copy of this process streams the part again (``again``) and reads the
    rows from the seam on (``_second_half``) while this one reads the rest; its rows are taken only when it read
    exactly what this process would have read from there (``_join_halves``), else this process reads on by
    itself. Either way the result is the same."""
    state = _Reading(values, first_col, last_col - first_col + 1, header_row, formula_cols, digested, digest, skip)
    blocks = with_offsets(row_blocks(chunks))
    with ExitStack() as stack:
        copy = None
        if again is not None and size >= (halves.HALVE_FROM if halve_from is None else halve_from) and halves.can_fork():
            seam = int(size * halves.SEAM)
            try:
                spill = stack.enter_context(tempfile.TemporaryFile(prefix="refund-sheet-"))
            except OSError:  # no temporary folder to be had: read alone
                pass
            else:
                copy = halves.Copy.start(lambda: _second_half(state, again, seam, spill))
        if copy is None:
            _read_blocks(state, blocks)
            return _finished(state.read)
        stack.callback(copy.stop)
        at_seam = _read_blocks(state, blocks, seam)
        if at_seam is not None:
            other = copy.result(_Half)
            if other is not None and _join_halves(state, other, at_seam[2], spill):
                blocks.close()  # the rest of the XML is not inflated
                return _finished(state.read)
            _read_blocks(state, chain([at_seam], blocks))
    return _finished(state.read)


def _finished(read: RegisterRead) -> RegisterRead:
    if not read.in_order:
        read.rows = dict(sorted(read.rows.items()))
    return read


class _Reading:
    """Reading the register (``read_register``): what it has found so far and what it remembers between rows."""

    def __init__(
        self, values: CellValues, first_col: int, width: int, header_row: int, formula_cols: set[int],
        digested: tuple[int, ...], digest: Callable[[str], object], skip: frozenset[int],
    ) -> None:
        self.read = RegisterRead()
        self.values, self.first_col, self.width, self.header_row = values, first_col, width, header_row
        self.formula_cols, self.digested, self.digest, self.skip = formula_cols, digested, digest, skip
        self.shapes = _RowShapes(first_col, width, digested)
        self.cache: dict[bytes, object] = {}
        self.digest_cache: dict[bytes, object] = {}
        self.formula_tails: set[bytes] = set()  # cells' XML (after the reference) that hold a formula
        self.missed = [0] * width  # per column, how many cells were not remembered: a column of IDs is not worth it
        self.previous = 0  # the number of the last row read


def _read_blocks(
    state: _Reading, blocks: Iterator[tuple[str, bytes, int]], seam: int | None = None
) -> tuple[str, bytes, int] | None:
    """Read ``blocks`` into ``state.read``; with a ``seam``, stop at the first block of rows that starts at or
    after it and give that block back, unread (None when the sheet ended first)."""
    read = state.read
    scan = read.scan
    values, first_col, width, header_row = state.values, state.first_col, state.width, state.header_row
    formula_cols, digested, digest, skip = state.formula_cols, state.digested, state.digest, state.skip
    shapes, cache, digest_cache = state.shapes, state.cache, state.digest_cache
    formula_tails, missed = state.formula_tails, state.missed
    last_col = first_col + width - 1
    partition, quote, digits, misses = bytes.partition, repeat(b'"'), repeat(DIGITS), repeat(MISS)
    rstrip = bytes.rstrip
    previous = state.previous
    number_of_element = [0]

    def slow(number: int, xml: bytes) -> None:
        """A row the fast path does not take: cell by cell."""
        cells: dict[int, dict[int, object]] = {}
        last_content = 0
        number_of_element[0] = number
        for row, column, cell in row_cells(xml, number):
            if not cell.endswith(b"/>"):
                last_content = column
            if column in formula_cols and b"<f" in cell:
                scan.formulas.add((row, column))
                if b't="shared"' in cell:
                    scan.shared.add((row, column))
            if first_col <= column <= last_col:
                value = values.value(cell)
                if value is None:
                    value = ""
                elif isinstance(value, CellError):
                    value = str(value)
                elif column - first_col in digested and isinstance(value, str) and value:
                    value = digest(value)
                cells.setdefault(row, {})[column - first_col] = value
        if last_content and number >= header_row:
            read.used_col = max(read.used_col, last_content)
        for row, found in cells.items():
            line = list(read.rows.get(row, ("",) * width))
            for position, value in found.items():
                line[position] = value
            _keep(row, tuple(line))

    def formulas(number: int, columns: tuple[int, ...], tails: tuple[bytes, ...], indexes) -> None:
        """Note the cells at ``indexes`` of a row that hold a formula in ``formula_cols``."""
        for i in indexes:
            if columns[i] in formula_cols and b"<f" in tails[i]:
                scan.formulas.add((number, columns[i]))
                if b't="shared"' in tails[i]:
                    scan.shared.add((number, columns[i]))

    def _keep(row: int, line: tuple[object, ...]) -> None:
        if row <= header_row or row in skip:
            return
        if row != number_of_element[0]:
            read.foreign = True
        if read.rows and row < next(reversed(read.rows)):
            read.in_order = False
        if all(_blank(v) for v in line):
            read.rows.pop(row, None)
        else:
            read.rows[row] = line

    for block in blocks:
        kind, text, offset = block
        if kind == "head":
            _scan_head(scan, text)
            continue
        if kind == "tail":
            _scan_tail(scan, text)
            continue
        if seam is not None and offset >= seam:
            state.previous = previous
            return block
        # what makes a row unusual, looked for once a block: then each row of the block is checked for it
        odd_cells = text.count(b"<c") != text.count(b'<c r="')  # a cell without its reference first; rich text
        hidden = b"!" in text and b"<!" in text  # CDATA or a comment (a "!" is rare: found at memchr's speed)
        for piece in text.split(b"</row>"):
            at = piece.find(b"<row")
            if at == -1:
                if piece.strip():
                    raise WorkbookError("工作表的 sheetData 中有无法识别的内容，文件已损坏")
                continue
            tag_end = piece.find(b">", at)
            if piece[tag_end - 1] == 0x2F or (hidden and b"<!" in piece):  # a <row …/> first, CDATA, a comment
                stream = sheet_stream(iter([b"<sheetData>", piece[at:] + b"</row>", b"</sheetData>"]), previous)
                for what, number, xml in stream:
                    if what != "row":
                        continue
                    if number <= previous:
                        _out_of_order(number, previous)
                    previous = number
                    if number <= TOP_ROWS:
                        scan.top[number] = xml
                    if b"<c" in xml:
                        scan.last_row = number
                        slow(number, xml)
                scan.last_any_row = previous
                continue
            cells = piece.split(b'<c r="')
            match = ROW_NUMBER.match(cells[0], at, tag_end + 1)
            number = int(match.group(1)) if match else previous + 1
            if number <= previous:
                _out_of_order(number, previous)
            previous = scan.last_any_row = number
            if number <= TOP_ROWS:
                scan.top[number] = piece[at:] + b"</row>"
            count = len(cells) - 1
            if count == 0:
                if b"<c" in piece:
                    scan.last_row = number
                    slow(number, piece[at:] + b"</row>")
                continue
            scan.last_row = number
            if odd_cells and piece.count(b"<c") != count:
                slow(number, piece[at:] + b"</row>")
                continue
            refs, _, tails = zip(*map(partition, cells[1:], quote))
            row_digits = b"%d" % number
            letters = tuple(map(rstrip, refs, digits))
            if row_digits.join(letters) + row_digits != b"".join(refs):  # every cell in this row
                slow(number, piece[at:] + b"</row>")
                continue
            shape = shapes.get(letters)
            if shape is None:
                slow(number, piece[at:] + b"</row>")
                continue
            getter, at_cell, digest_at, columns = shape
            if number >= header_row and columns[count - 1] > read.used_col:  # else no cell of it can be further right
                last = count - 1
                while last >= 0 and tails[last][-2:] == b"/>":
                    last -= 1
                if last >= 0 and columns[last] > read.used_col:
                    read.used_col = columns[last]
            if number <= header_row or number in skip:
                if b"<f" in piece:
                    formulas(number, columns, tails, range(count))
                continue
            if read.foreign and number in read.rows:  # a cell of another row's element landed here: merge
                slow(number, piece[at:] + b"</row>")
                continue
            found = list(map(cache.get, tails, misses))
            if formula_tails and not formula_tails.isdisjoint(tails):  # a cell seen before holds a formula
                formulas(number, columns, tails, [i for i in at_cell if i < count and tails[i] in formula_tails])
            for i in digest_at:
                tail = tails[i]
                value = digest_cache.get(tail, MISS)
                if value is MISS:
                    value = _register_value(values, tail)
                    if isinstance(value, str) and value:
                        value = digest(value)
                    if len(tail) < 64 and len(digest_cache) < 10_000:
                        digest_cache[tail] = value
                    if b"<f" in tail:  # noted, and looked for whenever this cell's XML comes again
                        formulas(number, columns, tails, (i,))
                        formula_tails.add(tail)
                found[i] = value
            found.append("")
            line = getter(found)
            if MISS in line:
                fixed = list(line)
                for position, value in enumerate(fixed):
                    if value is MISS:
                        i = at_cell[position]
                        tail = tails[i]
                        value = fixed[position] = _register_value(values, tail)
                        missed[position] += 1
                        # remembered, unless the column's values hardly repeat (an ID, a time to the second)
                        if number < 1000 or missed[position] * 10 < number * 9:
                            if len(cache) >= CACHE_LIMIT:
                                cache.clear()
                            cache[tail] = value
                        if b"<f" in tail:  # a formula: noted, and looked for whenever this cell's XML comes again
                            formulas(number, columns, tails, (i,))
                            formula_tails.add(tail)
                line = tuple(fixed)
            if not _blank(line[0]) or not all(_blank(v) for v in line):
                if read.foreign and read.rows and number < next(reversed(read.rows)):
                    read.in_order = False
                read.rows[number] = line
    state.previous = previous
    return None


# -- reading the register in two halves at once


@dataclass
class _Half:
    """What a forked copy read of the register from the seam on (``_second_half``)."""

    offset: int  # where its first block starts
    previous: int  # the last row before it, as the copy found it
    read: RegisterRead


def _second_half(state: _Reading, again: Callable[[], Iterator[bytes]], seam: int, spill: IO[bytes]) -> _Half:
    """In the forked copy: the register read from the first block of rows at or after ``seam`` to the end, its
    rows pickled into ``spill`` a block at a time (the copy holds one block's; this process takes them in as it
    joins the halves) and everything else returned."""
    blocks = with_offsets(row_blocks(again()))
    block, previous = to_seam(blocks, seam)
    state.previous = previous
    read = state.read
    for one in chain([block], blocks):
        _read_blocks(state, iter([one]))
        if read.rows:
            pickle.dump(read.rows, spill, protocol=pickle.HIGHEST_PROTOCOL)
            read.rows = {}
    spill.flush()
    return _Half(block[2], previous, read)


def _join_halves(state: _Reading, other: _Half, offset: int, spill: IO[bytes]) -> bool:
    """Take the second half's rows (from ``spill``) into ``state`` when they are what this process would have
    read from the seam on: the same seam, the same row before it, nothing merged across rows (a cell whose
    reference puts it in another row) on either side."""
    read, theirs = state.read, other.read
    if other.offset != offset or other.previous != state.previous or read.foreign or theirs.foreign:
        return False
    spill.seek(0)
    while True:
        try:
            read.rows.update(pickle.load(spill))
        except EOFError:
            break
    read.in_order = read.in_order and theirs.in_order
    read.used_col = max(read.used_col, theirs.used_col)
    scan, their_scan = read.scan, theirs.scan
    scan.top.update(their_scan.top)
    scan.formulas |= their_scan.formulas
    scan.shared |= their_scan.shared
    scan.last_any_row = their_scan.last_any_row or scan.last_any_row
    scan.last_row = their_scan.last_row or scan.last_row
    scan.tail, scan.merged = their_scan.tail, their_scan.merged
    return True


def _register_value(values: CellValues, tail: bytes) -> object:
    """A register cell's value from what follows its reference: an error value as its text, '' for blanks.

    The usual misses (an inline text, a number) are read here as ``CellValues.value`` reads them, without building
    the cell's XML again; anything else goes through it."""
    end = tail.find(b">")
    if tail.startswith(b"><is><t>", end):
        if tail[-13:] == b"</t></is></c>" and values.inline(tail[:end]):  # text, the usual miss
            raw = tail[end + 8 : -13]
            if b"<" not in raw:
                if b"&" in raw or b"\r" in raw:  # a buyer's name as &#29980;…
                    return _unescape_excel(_text(raw).strip(" \t\r\n"))
                text = raw.decode("utf-8")
                if text[:1] in WHITE or text[-1:] in WHITE:
                    text = text.strip(" \t\r\n")
                return _unescape_excel(text) if "_x00" in text else text
    elif tail.startswith(b"><v>", end) and tail[-8:] == b"</v></c>":  # a number (a time to the second)
        raw = tail[end + 4 : -8]
        attrs = tail[:end]
        head = values._cell_attrs(attrs) if b" r=" not in attrs else None
        if head is not None and (head[1] is None or head[1] == b"n") and raw and b"<" not in raw \
                and raw[:1] not in SPACES and raw[-1:] not in SPACES and b"_" not in raw and b"&" not in raw:
            try:
                number = float(raw)
            except ValueError:
                pass  # the long way says what it is
            else:
                kind = head[0]
                return number if kind == OTHER else excel_date(number, kind, values.date1904)
    value = values.value(b"<c" + tail)
    if value is None:
        return ""
    if isinstance(value, CellError):
        return str(value)
    return value


class _RowShapes:
    """For each distinct sequence of cell columns a row has (its shape), how to make the register's values from
    its cells' values: an itemgetter taking, for each register column, that column's cell (the last one, as
    calamine does) or the '' appended after the cells."""

    def __init__(self, first_col: int, width: int, digested: tuple[int, ...]) -> None:
        self.first_col, self.width, self.digested = first_col, width, frozenset(digested)
        self.shapes: dict[tuple[bytes, ...], tuple | None] = {}

    def get(self, letters: tuple[bytes, ...]) -> tuple | None:
        shape = self.shapes.get(letters, MISS)
        if shape is MISS:
            shape = self._make(letters)
            if len(self.shapes) > 5_000:
                self.shapes.clear()
            self.shapes[letters] = shape
        return shape  # type: ignore[return-value]

    def _make(self, letters: tuple[bytes, ...]) -> tuple | None:
        if not all(1 <= len(item) <= 3 and item.isalpha() and item.isupper() for item in letters):
            return None
        columns = tuple(column_index(item) for item in letters)
        if max(columns) > 16_384:
            return None
        filler = len(letters)
        at = [filler] * self.width
        for i, column in enumerate(columns):
            position = column - self.first_col
            if 0 <= position < self.width:
                at[position] = i
        digest_at = tuple(i for position, i in enumerate(at) if i != filler and position in self.digested)
        if self.width == 1:
            index = at[0]
            return (lambda found: (found[index],)), tuple(at), digest_at, columns
        return itemgetter(*at), tuple(at), digest_at, columns


def row_blocks(chunks: Iterator[bytes]) -> Iterator[tuple[str, bytes]]:
    """A worksheet's XML as ("head", everything up to and including ``<sheetData>``), then ("rows", whole rows)
    a megabyte or so at a time, then ("tail", from ``</sheetData>`` on). Like ``sheet_stream`` without looking at
    each row."""
    head_done = False
    for kind, _, xml in _head_split(chunks):
        if kind == "head":
            head_done = True
            yield "head", xml
        elif kind == "rows":
            yield "rows", xml
        else:
            yield "tail", xml
    if not head_done:
        raise WorkbookError("工作表中找不到 sheetData（文件已损坏）")


def with_offsets(blocks: Iterator[tuple[str, bytes]]) -> Generator[tuple[str, bytes, int], None, None]:
    """``row_blocks``' pieces with where each starts in the sheet's XML."""
    offset = 0
    for kind, text in blocks:
        yield kind, text, offset
        offset += len(text)


def to_seam(blocks: Iterator[tuple[str, bytes, int]], seam: int) -> tuple[tuple[str, bytes, int], int]:
    """Skip ``blocks`` (``with_offsets``) to the first block of rows that starts at or after ``seam``: that block,
    and the number of the last row before it. Raises ValueError when there is none, or that row has no number of
    its own (it would be numbered by the rows before it)."""
    before = b""
    for block in blocks:
        kind, text, offset = block
        if kind == "tail":
            raise ValueError("no rows after the seam")
        if kind != "rows":
            continue
        if offset < seam:
            before = text
            continue
        match = ROW_NUMBER.match(before, max(before.rfind(b"<row"), 0))
        if match is None:
            raise ValueError("the last row before the seam has no number")
        return block, int(match.group(1))
    raise ValueError("the sheet ended before the seam")


def _head_split(chunks: Iterator[bytes]) -> Iterator[tuple[str, int, bytes]]:
    opened = yield from _sheet_data_head(chunks)
    if opened is None:
        return
    buffer, end, chunks = opened
    buffer = buffer[end:]
    while True:
        close = buffer.find(b"</sheetData>")
        if close != -1:
            if close:
                yield "rows", 0, buffer[:close]
            yield "tail", 0, buffer[close:] + b"".join(chunks)
            return
        cut = buffer.rfind(b"</row>")
        if cut != -1 and len(buffer) >= CHUNK // 2:
            yield "rows", 0, buffer[: cut + 6]
            buffer = buffer[cut + 6 :]
        more = next(chunks, b"")
        if not more:
            raise WorkbookError("工作表的 sheetData 没有结束，文件已损坏")
        buffer += more


def _out_of_order(number: int, previous: int) -> None:
    raise WorkbookError(
        f"工作表的第 {number} 行排在第 {previous} 行之后（行的顺序不对），无法安全写入："
        "请在 Excel 或 WPS 中打开并保存一次后再运行，文件未改动"
    )


def _scan_head(scan: SheetScan, xml: bytes) -> None:
    scan.head = xml
    for col in COL.findall(xml):
        attrs = _attrs(col)
        if "style" in attrs and "min" in attrs:
            for column in range(int(attrs["min"]), min(int(attrs.get("max", attrs["min"])), 16384) + 1):
                scan.col_styles[column] = int(attrs["style"])


def _scan_tail(scan: SheetScan, xml: bytes) -> None:
    scan.tail = xml
    scan.merged = [
        (int(r1), column_index(c1), int(r2 or r1), column_index(c2 or c1)) for c1, r1, c2, r2 in MERGE.findall(xml)
    ]
