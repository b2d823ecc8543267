"""The fast path for large trackers: read values with calamine, write without materialising every cell.

openpyxl builds an object per cell: a 100,000-row register costs a minute and gigabytes. Here:

1. the register's values come from ``python-calamine`` (Rust) in one call, with Excel error cells overlaid
   from the sheet XML so they are still reported as errors;
2. openpyxl loads a *skeleton*: the same package with the register sheet cut to its first rows, so every other
   sheet, the styles, the Table, validation and conditional formatting are handled by the same openpyxl code as
   the reference path (headers added, 统计/记录 rebuilt, Table extended);
3. on save, the register's rows are streamed from the original sheet XML, the output cells replaced or inserted
   in place and shared strings turned into inline strings (as openpyxl itself writes them), straight into the new
   package behind the skeleton's header rows. The sheet XML is never held whole in memory.

The result has the same content as the openpyxl path (a test compares them cell by cell, styles included).
``NotSuitable`` says when this path cannot be trusted with a file (rows or cells without references, shared
formulas reaching into the header rows, the register not on 退款登记); the caller then uses the openpyxl path.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.compat import safe_string
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, BUILTIN_FORMATS_REVERSE
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.workbook import Workbook

from ..engine.columns import blank, used_width
from . import DATETIME_FORMAT, HEADER_SCAN_ROWS, MONEY_FORMAT

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
CHUNK = 1 << 20
SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>(.*?)</sheetData>", re.S)
ROW = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
ROW_NUMBER = re.compile(rb'^<row\b[^>]*?\sr="(\d+)"')
CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
CELL_REF = re.compile(rb'^<c\b[^>]*?\sr="([A-Z]+)\d+"')
CELL_STYLE = re.compile(rb'^<c\b[^>]*?\ss="(\d+)"')
STYLE_AT = re.compile(rb'<c\b[^>]*?\ss="(\d+)"')  # used with match(xml, pos), where ^ would not match
SHARED_STRING = re.compile(rb'^<c\b([^>]*?)\st="s"([^>]*)>\s*<v>(\d+)</v>\s*</c>$', re.S)
ERROR_CELL = re.compile(rb'<c\b[^>]*?\st="e"[^>]*>(.*?)</c>', re.S)
VALUE = re.compile(rb"<v>([^<]*)</v>")
DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
DIMENSION_COL = re.compile(rb'<dimension ref="[A-Z]+\d+:([A-Z]+)\d+"')
ROOT_TAG = re.compile(rb"<worksheet\b[^>]*>")
CELL_LETTERS = re.compile(rb'<c r="([A-Z]+)')
XMLNS = re.compile(rb'\sxmlns:([\w.-]+)="([^"]*)"')
IGNORABLE = re.compile(rb'\smc:Ignorable="([^"]*)"')
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMAT_OF_KEY = {"amount": MONEY_FORMAT, "deadline": DATETIME_FORMAT, "checked_at": DATETIME_FORMAT}


class NotSuitable(Exception):
    """This file needs the openpyxl path (the message says why)."""


# ------------------------------------------------------------------------------------------------ the package


def sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name → its part name, from workbook.xml and its relationships."""
    workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
    rels = ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    targets = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", NS)}
    found = {}
    for sheet in workbook.iterfind("m:sheets/m:sheet", NS):
        target = targets.get(sheet.get(f"{{{NS['r']}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        found[sheet.get("name")] = path
    return found


def sheet_stream(path: Path, part: str) -> Iterator[tuple[str, int, bytes]]:
    """A worksheet's XML in pieces, read from the zip a megabyte at a time: ("head", 0, everything up to and
    including ``<sheetData>``), then ("row", number, one ``<row>`` element) per row, then ("tail", 0, the rest
    from ``</sheetData>``). A ``<sheetData/>`` gives a head and a tail only."""
    with zipfile.ZipFile(path) as archive, archive.open(part) as stream:
        buffer = b""
        while b"<sheetData" not in buffer or b">" not in buffer[buffer.find(b"<sheetData") :]:
            more = stream.read(CHUNK)
            if not more:
                raise NotSuitable("no sheetData")
            buffer += more
        start = buffer.find(b"<sheetData")
        end = buffer.index(b">", start) + 1
        if buffer[end - 2 : end] == b"/>":
            yield "head", 0, buffer[:start] + b"<sheetData>"
            yield "tail", 0, b"</sheetData>" + buffer[end:] + stream.read()
            return
        yield "head", 0, buffer[:end]
        pos = end  # the buffer is only cut when it is refilled: slicing per row would copy it per row
        while True:
            at = buffer.find(b"<row", pos)
            close = buffer.find(b"</sheetData>", pos, at if at != -1 else len(buffer))
            if close != -1:
                yield "tail", 0, buffer[close:] + stream.read()
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
                more = stream.read(CHUNK)
                if not more:
                    raise NotSuitable("sheetData is not closed")
                keep = at if at != -1 else max(pos, len(buffer) - 16)
                buffer, pos = buffer[keep:] + more, 0
                continue
            row = buffer[at:stop]
            number = ROW_NUMBER.match(row)
            if number is None:
                raise NotSuitable("a row without its number")
            yield "row", int(number.group(1)), row
            pos = stop


class Package:
    """An .xlsx whose parts are in memory except the register sheet, which is streamed from the file when needed.

    Reading it once (``scan``) gives the skeleton's version of the sheet (its first rows), the Excel error cells,
    the last row holding a cell, and the width its dimension claims.
    """

    def __init__(self, path: Path, sheet: str) -> None:
        self.path = Path(path)
        with zipfile.ZipFile(path) as archive:
            self.order = archive.namelist()
            self.sheet_part = sheet_parts({n: archive.read(n) for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")}).get(sheet, "")
            if self.sheet_part not in self.order:
                raise NotSuitable(f"sheet {sheet} has no worksheet part")
            self.parts = {name: archive.read(name) for name in self.order if name != self.sheet_part}
        self.errors: list[tuple[int, int, str]] = []
        self.last_row = 0  # the last row holding a cell
        self.last_any_row = 0  # the last <row> element at all
        self.dimension_col = 0
        self.namespaces: dict[bytes, bytes] = {}  # prefix → URI declared on the original <worksheet>
        self.ignorable = b""  # its mc:Ignorable list
        self.content_col: dict[int, int] = {}  # row → last column holding a value or formula (formulas count)
        self.stub = self._scan()

    def rows(self) -> Iterator[tuple[str, int, bytes]]:
        return sheet_stream(self.path, self.sheet_part)

    def _scan(self) -> bytes:
        kept: list[bytes] = []
        filled = 0
        for kind, number, xml in self.rows():
            if kind == "head":
                match = DIMENSION_COL.search(xml)
                self.dimension_col = column_index_from_string(match.group(1).decode()) if match else 0
                root = ROOT_TAG.search(xml)
                if root:
                    self.namespaces = dict(XMLNS.findall(root.group(0)))
                    ignorable = IGNORABLE.search(root.group(0))
                    self.ignorable = ignorable.group(1) if ignorable else b""
                kept.append(xml)
            elif kind == "tail":
                kept.append(xml)
            else:
                self.last_any_row = max(self.last_any_row, number)
                if b"<c" in xml:
                    self.last_row = max(self.last_row, number)
                    filled += 1
                if b't="e"' in xml:
                    self.errors.extend(error_cells(xml))
                if xml.count(b"<c ") + xml.count(b"<c>") != xml.count(b'<c r="'):
                    raise NotSuitable(f"row {number}: a cell without its reference first")
                if b't="shared"' in xml and b" ref=" in xml:
                    # a filled-down formula: patching its first cell would orphan the others; openpyxl expands them
                    raise NotSuitable(f"row {number}: a shared formula")
                self.content_col[number] = _last_content_col(xml)
                if number <= HEADER_SCAN_ROWS:
                    kept.append(xml)
        if self.last_row > 4 * filled + 1000:
            # calamine hands over every row up to the last; the openpyxl path skips the empty ones
            raise NotSuitable(f"sparse sheet: {filled} rows with cells, the last at row {self.last_row}")
        return b"".join(kept)


def _last_content_col(row_xml: bytes) -> int:
    """The column of the last cell in a row that holds a value or a formula (an empty styled cell does not count,
    a formula does even without a cached value: the merchant's cell either way)."""
    end = len(row_xml)
    while True:
        at = row_xml.rfind(b'<c r="', 0, end)
        if at == -1:
            return 0
        close = row_xml.find(b">", at)
        if row_xml[close - 1] != 0x2F:  # not <c …/>: it has content
            ref = CELL_LETTERS.match(row_xml, at)
            return column_index_from_string(ref.group(1).decode())
        end = at


def error_cells(xml: bytes) -> Iterator[tuple[int, int, str]]:
    """(row, column, '#N/A') for each cell of type e (an Excel error value) in a piece of sheet XML."""
    for match in ERROR_CELL.finditer(xml):
        ref = re.match(rb'<c\b[^>]*?\sr="([A-Z]+)(\d+)"', match.group(0))
        value = VALUE.search(match.group(1))
        if ref and value:
            yield int(ref.group(2)), column_index_from_string(ref.group(1).decode()), value.group(1).decode()


# ------------------------------------------------------------------------------------------------ reading


def read_values(package: Package, sheet: str) -> dict[int, list[object]]:
    """Row number → the row's values from column A ('' for blanks), for every row holding a value, with Excel
    error cells (#N/A…) put back as their text. Blank rows are never materialised: a sheet whose only far cell
    is at row 1,048,576 costs one row, not a million."""
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(package.path))
    try:
        data = book.get_sheet_by_name(sheet)
        (start_row, start_col), (end_row, _) = data.start or (0, 0), data.end or (0, 0)
        pad = [""] * start_col  # calamine's rows begin at the first used column
        rows: dict[int, list[object]] = {}
        count = 0
        for count, values in enumerate(data.iter_rows(), start=1):
            if not all(blank(v) for v in values):
                rows[count] = pad + values
    finally:
        book.close()
    if count and count != end_row + 1:  # rows counted from the first used row instead of row 1
        rows = {number + start_row: values for number, values in rows.items()}
    for row, col, text in package.errors:
        line = rows.setdefault(row, [])
        line.extend([""] * (col - len(line)))
        line[col - 1] = text
    return rows


def skeleton(package: Package) -> Workbook:
    """openpyxl's view of the package with the register cut to its first rows (header search needs no more)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in package.order:
            archive.writestr(name, package.stub if name == package.sheet_part else package.parts[name])
    buffer.seek(0)
    keep_vba = "xl/vbaProject.bin" in package.parts
    return openpyxl.load_workbook(buffer, keep_vba=keep_vba, rich_text=False)


# ------------------------------------------------------------------------------------------------ writing


class Styles:
    """Style ids for output cells, added to the skeleton's style table the way openpyxl's number_format does."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self.cache: dict[tuple[int, str], int] = {}

    @property
    def blank(self) -> int:
        """The style of a cell openpyxl creates (all defaults): xf 0 in most files, not in all."""
        return self.wb._cell_styles.add(StyleArray())

    def with_format(self, style_id: int, fmt: str) -> int:
        key = (style_id, fmt)
        if key not in self.cache:
            array = StyleArray(self.wb._cell_styles[style_id])
            if fmt in BUILTIN_FORMATS_REVERSE:
                array.numFmtId = BUILTIN_FORMATS_REVERSE[fmt]
            else:
                array.numFmtId = self.wb._number_formats.add(fmt) + BUILTIN_FORMATS_MAX_SIZE
            self.cache[key] = self.wb._cell_styles.add(array)
        return self.cache[key]


def _text_xml(text: str) -> bytes:
    """``<t>…</t>`` as openpyxl writes it: escaped, carriage returns kept, characters XML forbids dropped."""
    body = escape(ILLEGAL.sub("", text), {"\r": "&#13;"})
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<t{space}>{body}</t>".encode()


def _cell_xml(ref: str, style: int, value: object, epoch) -> bytes:
    """One cell as openpyxl would write it (strings inline, numbers and dates as numbers)."""
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>'.encode() if style else b""
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr"><is>'.encode() + _text_xml(value) + b"</is></c>"
    if isinstance(value, datetime):
        value = to_excel(value, epoch)
    if isinstance(value, (Decimal, int, float)):
        return f'<c r="{ref}"{s} t="n"><v>{safe_string(value)}</v></c>'.encode()
    raise TypeError(f"cannot write {type(value).__name__}")


class RowPatcher:
    """Applies a run's output values to the register's rows as they stream past."""

    def __init__(self, package: Package, updates: dict[int, dict[int, object]], formats: dict[int, str], styles: Styles):
        self.package, self.updates, self.formats, self.styles = package, updates, formats, styles
        self.epoch = styles.wb.epoch
        self.shared: list[str] | None = None
        self.escaped: dict[int, bytes] = {}

    def register_styles(self) -> None:
        """Add the number-format styles the streamed cells will need, before the skeleton is saved: one pass
        over the rows, looking only at the formatted output cells of the rows that change."""
        letters = {column: get_column_letter(column).encode() for column in self.formats}
        for kind, number, xml in self.package.rows():
            changes = self.updates.get(number) if kind == "row" else None
            if not changes:
                continue
            for column, fmt in self.formats.items():
                if isinstance(changes.get(column), (Decimal, datetime)):
                    style = _style_at(xml, letters[column] + str(number).encode())
                    self.styles.with_format(self.styles.blank if style is None else style, fmt)

    def rows(self, header_row: int) -> Iterator[bytes]:
        """The rows below the header, patched."""
        for kind, number, xml in self.package.rows():
            if kind != "row" or number <= header_row:
                continue
            changes = self.updates.get(number)
            if changes is None and b't="s"' not in xml:
                yield xml
            else:
                yield self._patch(xml, number, dict(changes or {}))

    def _inline(self, match: re.Match) -> bytes:
        if self.shared is None:
            self.shared = read_string_table(io.BytesIO(self.package.parts["xl/sharedStrings.xml"]))
        index = int(match.group(3))
        if index not in self.escaped:
            self.escaped[index] = b"<is>" + _text_xml(str(self.shared[index])) + b"</is>"
        return b"<c" + match.group(1) + b' t="inlineStr"' + match.group(2) + b">" + self.escaped[index] + b"</c>"

    def _patch(self, row_xml: bytes, number: int, changes: dict[int, object]) -> bytes:
        if row_xml.endswith(b"/>"):
            start, cells_xml = row_xml[:-2] + b">", b""
        else:
            open_end = row_xml.index(b">") + 1
            start, cells_xml = row_xml[:open_end], row_xml[open_end:-6]
        cells: list[tuple[int, bytes]] = []
        for cell in CELL.finditer(cells_xml):
            xml = cell.group(0)
            ref = CELL_REF.match(xml)
            if ref is None:
                raise NotSuitable(f"row {number}: a cell without its reference")
            column = column_index_from_string(ref.group(1).decode())
            if column in changes:
                style = CELL_STYLE.match(xml)
                cells.append((column, self._changed(number, column, int(style.group(1)) if style else 0, changes.pop(column))))
                continue
            if b't="s"' in xml:
                xml = SHARED_STRING.sub(self._inline, xml)
            cells.append((column, xml))
        for column, value in changes.items():
            cells.append((column, self._changed(number, column, None, value)))
        cells.sort(key=lambda c: c[0])
        return start + b"".join(xml for _, xml in cells) + b"</row>"

    def _changed(self, number: int, column: int, style: int | None, value: object) -> bytes:
        """The new cell. ``style`` None: the cell did not exist; like openpyxl, it then has no style of its own
        (``s`` left out) unless it needs a number format, which goes on top of all-default attributes."""
        fmt = self.formats.get(column)
        if fmt and isinstance(value, (Decimal, datetime)):
            style = self.styles.with_format(self.styles.blank if style is None else style, fmt)
        return _cell_xml(f"{get_column_letter(column)}{number}", style or 0, value, self.epoch)


def _style_at(row_xml: bytes, ref: bytes) -> int | None:
    """The style id of the cell ``ref`` in a row (0 when unstyled, None when the cell is absent)."""
    at = row_xml.find(b'<c r="' + ref + b'"')
    if at == -1:
        return None
    match = STYLE_AT.match(row_xml, at)
    return int(match.group(1)) if match else 0


def write_package(
    target: Path, package: Package, saved: bytes, header_row: int, rows: Iterator[bytes], last_row: int, last_col: int
) -> None:
    """Write the skeleton as openpyxl saved it to ``target``, with the register's rows streamed in below its
    header rows (which keep openpyxl's version: new output headers included) and the sheet's dimension set to
    the whole register."""
    with zipfile.ZipFile(io.BytesIO(saved)) as skeleton_zip:
        parts = {name: skeleton_zip.read(name) for name in skeleton_zip.namelist()}
    part = sheet_parts(parts)[_sheet_name(package)]
    sheet = parts[part]
    data = SHEET_DATA.search(sheet)
    head_rows = [
        r.group(0) for r in ROW.finditer(data.group(1) or b"") if int(ROW_NUMBER.match(r.group(0)).group(1)) <= header_row
    ]
    dimension = f'<dimension ref="A1:{get_column_letter(max(last_col, 1))}{last_row}"/>'.encode()
    head = DIMENSION.sub(dimension, sheet[: data.start()], count=1)
    head = ROOT_TAG.sub(lambda m: _with_namespaces(m.group(0), package), head, count=1)
    head += b"<sheetData>" + b"".join(head_rows)
    tail = b"</sheetData>" + sheet[data.end() :]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, content in parts.items():
            if name != part:
                archive.writestr(name, content)
                continue
            with archive.open(name, "w", force_zip64=True) as stream:
                stream.write(head)
                for row in rows:
                    stream.write(row)
                stream.write(tail)


def _with_namespaces(root: bytes, package: Package) -> bytes:
    """openpyxl's <worksheet> tag, plus the original's namespace declarations (and mc:Ignorable) that it lacks:
    the streamed rows keep attributes such as Excel's x14ac:dyDescent, whose prefix must stay declared."""
    have = dict(XMLNS.findall(root))
    extra = b"".join(b' xmlns:%s="%s"' % (prefix, uri) for prefix, uri in package.namespaces.items() if prefix not in have)
    if package.ignorable and b"mc:Ignorable" not in root and (b"mc" in have or b"mc" in package.namespaces):
        extra += b' mc:Ignorable="' + package.ignorable + b'"'
    return root[:-1] + extra + b">" if extra else root


def _sheet_name(package: Package) -> str:
    names = sheet_parts(package.parts)
    return next(name for name, part in names.items() if part == package.sheet_part)


# ------------------------------------------------------------------------------------------------ the session


class FastLoaded:
    """``workbook.Loaded`` for the fast path: same interface, the register never held as openpyxl cells."""

    def __init__(self, package: Package, wb: Workbook, reg, values: dict[int, list[object]]) -> None:
        self.package, self.wb, self.reg = package, wb, reg
        first, last = reg.first_col - 1, reg.last_col
        below = sorted(number for number in values if number > reg.header_row)
        self.rows = [
            (number, tuple(values[number][first:last]) + ("",) * max(0, last - max(first, len(values[number]))))
            for number in below
            if not all(blank(v) for v in values[number][first:last])
        ]
        self.used_col = max(
            [used_width(values[number]) for number in values if number >= reg.header_row]
            + [col for number, col in package.content_col.items() if number >= reg.header_row],
            default=0,
        )
        self.old: dict[int, list[object]] = {number: values[number] for number, _ in self.rows}
        reg.last_row = package.last_row or max(values, default=reg.header_row)
        self.updates: dict[int, dict[int, object]] = {}
        self.formats: dict[int, str] = {}

    def write(self, columns: dict[str, int], updates) -> int:
        """Remember the new values; count the rows whose values differ from the file's (as ``write_block``)."""
        from . import _fit_table, _same, refuse_merged

        changed = 0
        cells = self.reg.ws._cells  # the skeleton holds every merged range's hidden cells, far rows included
        for number, values in updates:
            old = self.old.get(number, [])
            row = {}
            row_changed = False
            for key, value in values.items():
                column = columns[key]
                refuse_merged(self.reg.ws, cells.get((number, column)), number, column, key)
                before = old[column - 1] if column <= len(old) else None
                if not _same(None if before == "" else before, value):
                    row_changed = True
                row[column] = value
            self.updates[number] = row
            changed += row_changed
        self.old = {}  # the file's values are not needed any more
        self.formats = {columns[key]: fmt for key, fmt in FORMAT_OF_KEY.items() if key in columns}
        _fit_table(self.reg)
        return changed

    def payload(self) -> Callable[[Path], None]:
        """A writer for ``save_atomic``: the skeleton saved by openpyxl with the register's rows streamed in."""
        patcher = RowPatcher(self.package, self.updates, self.formats, Styles(self.wb))
        patcher.register_styles()
        saved = io.BytesIO()
        self.wb.save(saved)
        last_row = max(self.reg.header_row, self.package.last_any_row)
        last_col = max(self.reg.last_col, self.used_col, self.package.dimension_col)

        def write(target: Path) -> None:
            write_package(target, self.package, saved.getvalue(), self.reg.header_row, patcher.rows(self.reg.header_row), last_row, last_col)

        return write


def load(path: Path) -> FastLoaded:
    """Open ``path`` the fast way. Raises NotSuitable when the file needs the openpyxl path."""
    from . import REGISTER_SHEET, WorkbookError, find_register

    try:
        package = Package(path, REGISTER_SHEET)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError) as error:
        raise NotSuitable(f"package: {type(error).__name__}") from None
    try:
        wb = skeleton(package)
    except Exception as error:  # a damaged package: the openpyxl path gives the one-line message
        raise NotSuitable(f"skeleton: {type(error).__name__}") from None
    try:
        reg = find_register(wb)
    except WorkbookError as error:  # e.g. a header below the rows the skeleton keeps: the full read decides
        raise NotSuitable(f"register: {error}") from None
    if reg.ws.title != REGISTER_SHEET:
        raise NotSuitable("the register is not on 退款登记")
    try:
        values = read_values(package, REGISTER_SHEET)
    except Exception as error:  # calamine refuses what openpyxl may still read
        raise NotSuitable(f"calamine: {error}") from None
    return FastLoaded(package, wb, reg, values)
