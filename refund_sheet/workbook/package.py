"""An .xlsx/.xlsm package read as what it is: a zip of parts, with relationships between them.

Nothing here parses a whole worksheet: sheets are streamed a megabyte at a time (``sheet_stream``), and everything
else a run needs to know about the package (which part is which sheet, a sheet's Tables and merged ranges, the
styles) comes from small parts. The writer (``write.py``) edits the same package; this module only reads it.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from ..engine.columns import column_letter
from ..errors import WorkbookError

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

    def stream(self, part: str) -> Iterator[bytes]:
        """A part's bytes a megabyte at a time."""
        with zipfile.ZipFile(self.path) as archive, archive.open(part) as handle:
            while chunk := handle.read(CHUNK):
                yield chunk


def _xml(data: bytes, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise WorkbookError(f"工作簿的 {name} 已损坏，无法读取（{error}）") from None


# ------------------------------------------------------------------------------------------------ sheet XML


def sheet_stream(chunks: Iterator[bytes]) -> Iterator[tuple[str, int, bytes]]:
    """A worksheet's XML in pieces: ("head", 0, everything up to and including ``<sheetData>``), then
    ("row", number, one ``<row>`` element) per row, then ("tail", 0, the rest from ``</sheetData>``).

    A ``<sheetData/>`` gives a head and a tail only. A row without its ``r`` is numbered after the one before it,
    as spreadsheet programs read it. Only the current megabyte and one row are ever held.
    """
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
        return
    yield "head", 0, buffer[:end]
    pos, previous = end, 0
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
            scan.head = xml
            for col in COL.findall(xml):
                attrs = _attrs(col)
                if "style" in attrs and "min" in attrs:
                    for column in range(int(attrs["min"]), min(int(attrs.get("max", attrs["min"])), 16384) + 1):
                        scan.col_styles[column] = int(attrs["style"])
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
