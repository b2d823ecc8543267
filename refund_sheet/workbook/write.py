"""The package writer: an existing workbook is saved by editing its zip, never by re-serialising it.

A run's changes are gathered in a ``PackageEdit`` (cells of sheet parts, a Table's extent, the tool's own sheets,
styles it needs) and written in one pass into a new zip:

- every part the run does not own is copied byte for byte, under the same name, in the same entry order;
- a worksheet with cell edits is streamed row by row: a row without edits is copied as it was; in a row with edits
  only the edited cells are replaced or inserted (every other ``<c>`` keeps its bytes, the ``<row>`` tag too), and
  outside ``<sheetData>`` only the ``<dimension>`` may change;
- styles are appended to styles.xml (existing entries keep their index and bytes);
- new text is written as inline strings (``t="inlineStr"``): sharedStrings.xml and the indexes every other cell
  holds into it stay exactly as they were, and Excel, WPS and LibreOffice all read inline strings;
- the tool's own sheets (统计, 记录) are parts of their own: 统计 is rebuilt from a scratch workbook openpyxl wrote
  (its drawing and charts with it), 记录 gets a row appended; adding one of them edits workbook.xml, its .rels and
  [Content_Types].xml by inserting one entry each.
"""

from __future__ import annotations

import queue
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import pairwise, repeat
from operator import itemgetter
from pathlib import Path
from typing import IO, NamedTuple, Protocol
from xml.sax.saxutils import escape, unescape

from ..engine.batching import without_gc_pauses
from ..engine.columns import column_letter
from ..errors import WorkbookError
from .deflate import copy_deflated, deflating
from .package import (
    CELL_REF,
    CONTENT_TYPES,
    OFFICE_REL,
    REL_CALC_CHAIN,
    REL_WORKSHEET,
    ROW_NUMBER,
    Package,
    TableInfo,
    cells_of,
    column_index as column_of,
    range_ref,
    relative,
    rels_name,
    row_blocks,
    sheet_stream,
)

ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
STYLE_ATTR = re.compile(rb'\ss="(\d+)"')
DIMENSION = re.compile(rb'(<dimension\b[^>]*\bref=")([^"]*)(")')
BUILTIN_FORMATS = {
    "General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10, "0.00E+00": 11,
    "mm-dd-yy": 14, "d-mmm-yy": 15, "d-mmm": 16, "mmm-yy": 17, "h:mm AM/PM": 18, "h:mm:ss AM/PM": 19,
    "h:mm": 20, "h:mm:ss": 21, "m/d/yy h:mm": 22, "@": 49,
}
FIRST_CUSTOM_FORMAT = 164
EPOCH_1900 = datetime(1899, 12, 30)
EPOCH_1904 = datetime(1904, 1, 1)
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
# A big sheet being edited is deflated at level 3, not 6: level 6 needs about as much CPU as building the XML
# (2.1 s against ~2.3 s for a 200 MB register), so whenever the second core is not free the save waits for it;
# level 3 takes half as long for a part ~23 % bigger (docs/performance.md). Everything else keeps the usual level.
# Where ISA-L is installed the big sheet is deflated by it (``deflate.py``: its level 3, about zlib's 3 in size).
STREAMED_BIG, STREAMED_LEVEL = 16 << 20, 3
ZIP64_FROM = 1 << 30  # a part this big may pass 4 GiB once edited: written with Zip64 headers (others without:
# some readers are strict about Zip64 headers a small file does not need)
XML_ESCAPES = {'"': "&quot;"}
XML_UNESCAPES = {"&quot;": '"', "&apos;": "'"}


# ------------------------------------------------------------------------------------------------ styles


SECTIONS = (b"numFmts", b"fonts", b"fills", b"borders", b"cellXfs")
CHILD = {b"numFmts": b"numFmt", b"fonts": b"font", b"fills": b"fill", b"borders": b"border", b"cellXfs": b"xf"}


def _element(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"<%s\b[^>]*?(?:/>|>.*?</%s>)" % (name, name), re.S)


SECTION_RE = {name: _element(name) for name in SECTIONS}
CHILD_RE = {name: _element(CHILD[name]) for name in SECTIONS}


FONT_ORDER = (b"b", b"i", b"strike", b"condense", b"extend", b"outline", b"shadow", b"u", b"vertAlign", b"sz",
              b"color", b"name", b"family", b"charset", b"scheme")
FONT_CHILD = re.compile(rb"<(\w+)\b[^>]*?(?:/>|>.*?</\1>)", re.S)


def canonical(section: bytes, xml: bytes) -> bytes:
    """An entry as the schema orders it (a font's children in the order Excel writes and validators expect:
    openpyxl writes <color> before <sz>): how entries are compared, and how adopted ones are written."""
    if section != b"fonts" or not xml.endswith(b"</font>"):
        return xml
    start = xml[: xml.find(b">") + 1]
    children = [(m.group(1), m.group(0)) for m in FONT_CHILD.finditer(xml, len(start), len(xml) - len(b"</font>"))]
    rank = {name: i for i, name in enumerate(FONT_ORDER)}
    children.sort(key=lambda child: rank.get(child[0], len(rank)))
    return start + b"".join(xml for _, xml in children) + b"</font>"


def _get(tag: bytes, name: bytes) -> str | None:
    match = re.search(rb'\s%s="([^"]*)"' % name, tag[: tag.find(b">") + 1])
    return match.group(1).decode() if match else None


def _set(tag: bytes, name: bytes, value: str) -> bytes:
    """``tag`` (an element's XML) with attribute ``name`` set on its start tag."""
    end = tag.find(b">")
    start = tag[:end]
    pattern = re.compile(rb'(\s%s=")[^"]*(")' % name)
    if pattern.search(start):
        start = pattern.sub(lambda m: m.group(1) + value.encode() + m.group(2), start, count=1)
    else:
        closing = 1 if start.endswith(b"/") else 0
        start = start[: len(start) - closing] + b' %s="%s"' % (name, value.encode()) + start[len(start) - closing :]
    return start + tag[end:]


class Styles:
    """styles.xml, edited by appending: existing number formats, fonts, fills, borders and cell formats keep their
    index and bytes; a style a run needs is looked up among them first and appended only when none matches."""

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self.items: dict[bytes, list[bytes]] = {}
        self.index: dict[bytes, dict[bytes, int]] = {}
        self.added: dict[bytes, list[bytes]] = {name: [] for name in SECTIONS}
        for name in SECTIONS:
            section = SECTION_RE[name].search(xml)
            body = b"" if section is None else section.group(0)[section.group(0).find(b">") + 1 :]
            children = [m.group(0) for m in CHILD_RE[name].finditer(body)] if section else []
            self.items[name] = children
            self.index[name] = {}
            for i, child in enumerate(children):
                self.index[name].setdefault(canonical(name, child), i)
        self.codes = {
            int(_get(f, b"numFmtId") or 0): unescape(_get(f, b"formatCode") or "", XML_UNESCAPES)
            for f in self.items[b"numFmts"]
        }
        self.by_code = {code: number for number, code in self.codes.items()}
        self.derived: dict[tuple[int, str], int] = {}

    @property
    def changed(self) -> bool:
        return any(self.added.values())

    def _find_or_add(self, section: bytes, xml: bytes) -> int:
        xml = canonical(section, xml)
        known = self.index[section].get(xml)
        if known is not None:
            return known
        self.items[section].append(xml)
        self.added[section].append(xml)
        self.index[section][xml] = len(self.items[section]) - 1
        return len(self.items[section]) - 1

    def format_id(self, code: str) -> int:
        if code in BUILTIN_FORMATS:
            return BUILTIN_FORMATS[code]
        if code not in self.by_code:
            number = max([FIRST_CUSTOM_FORMAT - 1, *self.codes]) + 1
            self.codes[number] = code
            self.by_code[code] = number
            xml = b'<numFmt numFmtId="%d" formatCode="%s"/>' % (number, escape(code, XML_ESCAPES).encode())
            self.items[b"numFmts"].append(xml)
            self.added[b"numFmts"].append(xml)
        return self.by_code[code]

    def with_format(self, style: int, code: str) -> int:
        """The cell format ``style`` with number format ``code`` (``style`` itself when it already has it)."""
        key = (style, code)
        if key not in self.derived:
            xfs = self.items[b"cellXfs"]
            xf = xfs[style] if style < len(xfs) else (xfs[0] if xfs else b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>')
            number = self.format_id(code)
            if int(_get(xf, b"numFmtId") or 0) == number and style < len(xfs):
                self.derived[key] = style
            else:
                xf = _set(_set(xf, b"numFmtId", str(number)), b"applyNumberFormat", "1")
                self.derived[key] = self._find_or_add(b"cellXfs", xf)
        return self.derived[key]

    def adopt(self, other: Styles, style: int) -> int:
        """The index here of cell format ``style`` of another workbook's styles (its font, fill, border and
        number format brought along): how a sheet built in a scratch workbook keeps its look."""
        xfs = other.items[b"cellXfs"]
        if style >= len(xfs):
            return 0
        xf = xfs[style]
        for attribute, section in ((b"fontId", b"fonts"), (b"fillId", b"fills"), (b"borderId", b"borders")):
            value = int(_get(xf, attribute) or 0)
            if value < len(other.items[section]):
                xf = _set(xf, attribute, str(self._find_or_add(section, other.items[section][value])))
        number = int(_get(xf, b"numFmtId") or 0)
        if number >= FIRST_CUSTOM_FORMAT and number in other.codes:
            xf = _set(xf, b"numFmtId", str(self.format_id(other.codes[number])))
        xf = _set(xf, b"xfId", "0")
        return self._find_or_add(b"cellXfs", xf)

    def result(self) -> bytes:
        """styles.xml with the appended entries (the original bytes when nothing was added)."""
        xml = self.xml
        for name in SECTIONS:
            if not self.added[name]:
                continue
            count = str(len(self.items[name])).encode()
            section = SECTION_RE[name].search(xml)
            if section is None:  # only numFmts may be absent: it is the first child of <styleSheet>
                root_end = xml.find(b">", xml.find(b"<styleSheet")) + 1
                new = b'<%s count="%s">' % (name, count) + b"".join(self.added[name]) + b"</%s>" % name
                xml = xml[:root_end] + new + xml[root_end:]
                continue
            old = section.group(0)
            if old.endswith(b"/>") and not old.endswith(b"</%s>" % name):
                new = old[:-2] + b">" + b"".join(self.added[name]) + b"</%s>" % name
            else:
                close = old.rfind(b"</%s>" % name)
                new = old[:close] + b"".join(self.added[name]) + old[close:]
            new = _set(new, b"count", count.decode())
            xml = xml[: section.start()] + new + xml[section.end() :]
        return xml


# ------------------------------------------------------------------------------------------------ cells


class Formula(str):
    """A formula a run writes on purpose (a Table's calculated column in a row it adds), never customer text."""


class Put(NamedTuple):
    """One cell to write: its value, the number format it needs, and a style to use instead of the cell's own.
    (A named tuple: a run makes one per output cell, a million and more on a big register.)"""

    value: object
    fmt: str | None = None
    style: int | None = None


NEEDS_ESCAPE = re.compile(r"[&<>\r]")
OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")  # "_x0041_" in text would read back as "A"
SPECIAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>\r]")  # ILLEGAL or NEEDS_ESCAPE


def text_xml(text: str) -> bytes:
    """``<t>…</t>``: escaped, carriage returns kept, characters XML cannot hold dropped."""
    if SPECIAL.search(text):  # the usual text has none of them: one search for both kinds
        text = ILLEGAL.sub("", text)
        special = NEEDS_ESCAPE.search(text) is not None
    else:
        special = False
    if "_x" in text:
        text = OOXML_ESCAPE.sub("_x005F_", text)
    body = escape(text, {"\r": "&#13;"}) if special else text
    start = b'<t xml:space="preserve">' if text != text.strip() or "\n" in text else b"<t>"
    return start + body.encode("utf-8", "replace") + b"</t>"


def serial(value: datetime | date | time, date1904: bool = False) -> float:
    """A date-time as Excel's day number."""
    if isinstance(value, time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    delta = value.replace(tzinfo=None) - (EPOCH_1904 if date1904 else EPOCH_1900)
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def cell_xml(ref: bytes, style: int, value: object, date1904: bool = False) -> bytes:
    """One ``<c>``: text inline (never a formula, whatever it starts with), numbers and date-times as numbers.
    An empty value keeps only a styled empty cell (nothing at all when the cell has no style)."""
    tail = cell_tail(style, value, date1904)
    return b'<c r="%s"%s' % (ref, tail) if tail else b""


def cell_tail(style: int, value: object, date1904: bool = False) -> bytes:
    """``cell_xml`` without its start ``<c r="REF"`` (b"" when there is no cell to write): the writer puts a row's
    cells together from these."""
    return styled_tail(b' s="%d"' % style if style else b"", value, date1904)


def styled_tail(s: bytes, value: object, date1904: bool = False) -> bytes:
    """``cell_tail`` given the cell's style attribute (``b' s="N"'``, or b"" for style 0) rather than its style:
    the writer works an output column's attribute out once."""
    kind = type(value)
    if kind is str:
        if not value:
            return s + b"/>" if s else b""
        return s + b' t="inlineStr"><is>' + text_xml(value) + b"</is></c>"  # type: ignore[arg-type]  # kind is str
    if value is None:
        return s + b"/>" if s else b""
    if kind is Decimal or kind is int:
        return b"%s><v>%s</v></c>" % (s, str(value).encode())
    if kind is Formula and isinstance(value, Formula):  # the second test only tells mypy what the first did
        return b"%s><f>%s</f></c>" % (s, escape(value).encode())
    if isinstance(value, str):  # a str subclass
        return styled_tail(s, str(value), date1904)
    if isinstance(value, bool):
        return b'%s t="b"><v>%d</v></c>' % (s, value)
    if isinstance(value, (datetime, date, time)):
        value = serial(value, date1904)
    if isinstance(value, float):
        number = repr(value)
    elif isinstance(value, (int, Decimal)):
        number = str(value)
    else:
        raise TypeError(f"cannot write {type(value).__name__} into a cell")
    return b"%s><v>%s</v></c>" % (s, number.encode())


class BulkRows(Mapping[int, dict[int, Put]]):
    """Many rows written into the same columns, their cells made only when the writer reaches each row: a run's
    output values stay the dicts it computed (a million rows of cells held as Puts would cost a gigabyte)."""

    def __init__(self, values: Mapping[int, Mapping[str, object]], places: Sequence[tuple[str, int, str | None]]):
        self.by_row, self.places = values, tuple(places)  # row → key → value; (key, column, number format)
        self.columns = tuple(column for _, column, _ in places)

    def __getitem__(self, row: int) -> dict[int, Put]:
        values = self.by_row[row]
        return {column: Put(values[key], fmt) for key, column, fmt in self.places if key in values}

    def __iter__(self) -> Iterator[int]:
        return iter(self.by_row)

    def __len__(self) -> int:
        return len(self.by_row)


@dataclass
class SheetEdit:
    """The cells a run writes into one worksheet part: row → column → Put, and rows written in bulk."""

    cells: dict[int, dict[int, Put]] = field(default_factory=dict)
    col_styles: dict[int, int] = field(default_factory=dict)
    header_row: int = 1  # new rows below the sheet's last row look like it, unless it is the header row (or above)
    bulk: BulkRows | None = None

    def put(self, row: int, column: int, value: object, fmt: str | None = None, style: int | None = None) -> None:
        self.cells.setdefault(row, {})[column] = Put(value, fmt, style)

    def row(self, row: int) -> dict[int, Put]:
        """Every cell written in ``row`` (one put by hand wins over the bulk's)."""
        own = self.cells.get(row)
        if self.bulk is None or row not in self.bulk.by_row:
            return own or {}
        cells = self.bulk[row]
        if own:
            cells.update(own)
        return cells

    def row_numbers(self) -> list[int]:
        """The rows written, in order."""
        rows = {r for r, cols in self.cells.items() if cols}
        if self.bulk is not None and self.bulk.columns:
            rows.update(self.bulk)
        return sorted(rows)

    def extent(self) -> tuple[int, int]:
        """The last row and column written (0, 0 for none)."""
        rows = self.row_numbers()
        columns = [c for cols in self.cells.values() for c in cols]
        if self.bulk is not None and len(self.bulk):
            columns += self.bulk.columns
        return (rows[-1] if rows else 0), max(columns, default=0)


class SheetWriter:
    """Streams one worksheet part with a SheetEdit applied (see the module's docstring for what may change)."""

    def __init__(self, edit: SheetEdit, styles: Styles, date1904: bool) -> None:
        self.edit, self.styles, self.date1904 = edit, styles, date1904
        self.letters: dict[int, bytes] = {}
        # the bulk's columns in order: (column, key, number format, b'<c r="W')
        places = sorted(edit.bulk.places, key=lambda place: place[1]) if edit.bulk is not None else []
        self.places = tuple((column, key, fmt, b'<c r="' + column_letter(column).encode()) for key, column, fmt in places)
        self.plans: dict[tuple[bytes, ...], tuple[int, int, tuple[tuple[int, int, str, bytes], ...]] | None] = {}
        self.old_styles: dict[bytes, int] = {}  # an old cell's start tag (after its reference) → its style
        self.style_attrs: dict[tuple, bytes] = {}  # (place, old start tag, kind of value) → b' s="N"' or b""
        # output cells made once for the values that repeat: per place, (old start tag, value) → the cell after
        # its reference; per place, whether its values repeat enough to be worth it, and how many cells were made
        self.made_by: list[dict[tuple, bytes]] = [{} for _ in self.places]
        self.remembered = [True] * len(self.places)
        self.made_count = [0] * len(self.places)
        rows = edit.bulk.by_row if edit.bulk is not None else {}
        self.first_bulk_row = min(rows, default=0) - 1
        self.feed: RowFeed | None = None  # where rows come from while they are still being made (``stream``)

    def _letter(self, column: int) -> bytes:
        if column not in self.letters:
            self.letters[column] = column_letter(column).encode()
        return self.letters[column]

    def _cell(self, row: int, column: int, put: Put, old: bytes | None, above: dict[int, int]) -> bytes:
        value, fmt, style = put
        if style is None:
            if old is not None:
                match = STYLE_ATTR.search(old, 0, old.find(b">"))
                style = int(match.group(1)) if match else 0
            else:
                style = above.get(column, self.edit.col_styles.get(column, 0))
        if fmt is not None and value is not None:
            kind = type(value)
            if kind is Decimal or kind is datetime or kind is int or kind is float or kind is date or (kind is str and fmt == "@"):
                style = self.styles.with_format(style, fmt)
        return cell_xml(self._letter(column) + str(row).encode(), style, value, self.date1904)

    def _row(self, number: int, xml: bytes, puts: dict[int, Put], above: dict[int, int]) -> bytes:
        if xml.endswith(b"/>") and xml.rfind(b"<", 0, len(xml) - 2) == 0:
            open_tag, body = xml[:-2] + b">", b""
        else:
            open_end = xml.find(b">") + 1
            open_tag, body = xml[:open_end], xml[open_end:-6]
        quick = self._quick_row(number, body, puts, above)
        if quick is not None:
            return open_tag + quick + b"</row>"
        pending = sorted(puts.items())
        out: list[bytes] = []
        at = 0
        for column, start, end in cells_of(body):
            while pending and pending[0][0] < column:  # a new cell before this one
                col, put = pending.pop(0)
                out.append(self._cell(number, col, put, None, above))
            out.append(body[at:start])
            if pending and pending[0][0] == column:
                _, put = pending.pop(0)
                out.append(self._cell(number, column, put, body[start:end], above))
            else:
                out.append(body[start:end])
            at = end
        tail = body[at:]
        for col, put in pending:
            out.append(self._cell(number, col, put, None, above))
        return open_tag + b"".join(out) + tail + b"</row>"

    def _quick_row(self, number: int, body: bytes, puts: dict[int, Put], above: dict[int, int]) -> bytes | None:
        """The usual rows without parsing every cell: each cell to write found by its reference; one that is not
        there goes before the next cell written (when only cells written lie between) or after the row's last
        cell. None when a cell cannot be placed that way (then every cell is parsed)."""
        if body.count(b"<c ") != body.count(b'<c r="') or b"<c>" in body or b"<!" in body:
            return None  # a cell without its reference first, CDATA or a comment: parse the row
        row = str(number).encode()
        last = body.rfind(b"<c ")
        if last == -1:
            last_col, last_end = 0, 0
        else:
            tag_end = body.find(b">", last)
            ref = CELL_REF.search(body, last, tag_end)
            if ref is None:
                return None
            last_col = column_of(ref.group(1))
            last_end = tag_end + 1 if body[tag_end - 1] == 0x2F else body.find(b"</c>", tag_end) + 4
        columns = sorted(puts)
        found: dict[int, tuple[int, int]] = {}
        for column in columns:
            if column > last_col:
                continue
            start = body.find(b'<c r="' + self._letter(column) + row + b'"')
            if start != -1:
                tag_end = body.find(b">", start)
                found[column] = (start, tag_end + 1 if body[tag_end - 1] == 0x2F else body.find(b"</c>", tag_end) + 4)
        edits: list[tuple[int, int, int, bytes]] = []  # (position, order, end, new bytes)
        for i, column in enumerate(columns):
            if column in found:
                start, end = found[column]
                edits.append((start, 1, end, self._cell(number, column, puts[column], body[start:end], above)))
                continue
            if column > last_col:
                at = last_end
            else:
                following = next((c for c in columns[i + 1 :] if c in found), None)
                if following is None or any(c not in puts for c in range(column + 1, following)):
                    return None
                at = found[following][0]
            edits.append((at, 0, at, self._cell(number, column, puts[column], None, above)))
        out, at = [], 0
        for start, _, end, xml in sorted(edits, key=lambda e: (e[0], e[1])):
            out.append(body[at:start])
            out.append(xml)
            at = end
        out.append(body[at:])
        return b"".join(out)

    def _new_row(self, number: int, puts: dict[int, Put], above: dict[int, int]) -> bytes:
        cells = b"".join(self._cell(number, col, put, None, above) for col, put in sorted(puts.items()))
        return b'<row r="%d">' % number + cells + b"</row>" if cells else b""

    def stream(self, chunks: Iterable[bytes], dimension: str | None, feed: RowFeed | None = None) -> Iterator[bytes]:
        """The edited part, in pieces (a megabyte or so of rows at a time). With ``feed``, the rows written are not
        all known yet: they are asked of it a block at a time (``RowFeed``)."""
        row_of = self.edit.row
        waiting = self.edit.row_numbers() if feed is None else feed.waiting
        self.feed = feed
        w = 0
        previous = 0  # the number of the last row seen
        last_rows = b""
        for kind, xml in row_blocks(iter(chunks)):
            if kind == "head":
                if dimension:
                    xml = DIMENSION.sub(lambda m: m.group(1) + dimension.encode() + m.group(3), xml, count=1)
                yield xml
            elif kind == "rows":
                if feed is not None:
                    feed.need(_last_number(xml))
                xml, w, previous = self._rows(xml, waiting, w, previous)
                if b"<row" in xml:
                    last_rows = xml
                yield xml
            else:
                if feed is not None:
                    feed.need(None)
                if w < len(waiting):  # rows below every row of the sheet: they look like the last one
                    last_xml = last_rows[last_rows.rfind(b"<row") :] if last_rows else b""
                    last_number = _number_of(last_xml)
                    last_styles = styles_of(last_xml) if last_number and last_number > self.edit.header_row else {}
                    for number in waiting[w:]:
                        yield self._new_row(number, row_of(number), last_styles)
                yield xml

    def _rows(self, block: bytes, waiting: list[int], w: int, previous: int) -> tuple[bytes, int, int]:
        """A block of whole rows with the rows in ``waiting`` from ``w`` on written: each found by its ``<row
        r="…"`` and edited, everything between copied as it is. (The block, where waiting goes on, the number of
        its last row.) A block where that cannot be done safely goes row by row (``_rows_one_by_one``)."""
        last = _last_number(block)
        if last is None or (b"!" in block and b"<!" in block):  # CDATA or a comment: one by one
            return self._rows_one_by_one(block, waiting, w, previous)
        if w >= len(waiting) or waiting[w] > last:
            return block, w, last
        out: list[bytes] = []
        start_w, pos = w, 0
        while w < len(waiting) and waiting[w] <= last:
            number = waiting[w]
            start = block.find(b'<row r="%d"' % number, pos)
            if start == -1:  # a row to add between rows, or a row without its r: one by one
                return self._rows_one_by_one(block, waiting, start_w, previous)
            tag_end = block.find(b">", start)
            end = tag_end + 1 if block[tag_end - 1] == 0x2F else block.find(b"</row>", tag_end) + 6
            out.append(block[pos:start])
            out.append(self._changed(number, block[start:end]))
            pos = end
            w += 1
        out.append(block[pos:])
        return b"".join(out), w, last

    def _rows_one_by_one(self, block: bytes, waiting: list[int], w: int, previous: int) -> tuple[bytes, int, int]:
        if self.feed is not None:  # rows may come out of order, or be added between: every row is known first
            self.feed.need(None)
        row_of = self.edit.row
        out: list[bytes] = []
        for kind, number, xml in sheet_stream(iter([b"<sheetData>", block, b"</sheetData>"]), previous):
            if kind != "row":
                continue
            while w < len(waiting) and waiting[w] < number:
                out.append(self._new_row(waiting[w], row_of(waiting[w]), {}))
                w += 1
            if w < len(waiting) and waiting[w] == number:
                xml = self._changed(number, xml)
                w += 1
            out.append(xml)
            previous = number
        return b"".join(out), w, previous

    def _changed(self, number: int, xml: bytes) -> bytes:
        """One row with its cells written: the bulk's fast way when only the bulk writes it, else cell by cell."""
        bulk = self.edit.bulk
        if bulk is not None and number not in self.edit.cells and number in bulk.by_row:
            fast = self._bulk_row(number, xml, bulk.by_row[number])
            if fast is not None:
                return fast
        puts = self.edit.row(number)
        return self._row(number, xml, puts, {}) if puts else xml

    def _bulk_row(self, number: int, xml: bytes, values: Mapping[str, object]) -> bytes | None:
        """A row the bulk writes: its cells split apart on ``<c r="`` and the output columns merged in, by a plan
        made once per sequence of columns (``_plan``). None when the row is not in the plain form (then the
        general way, ``_row``)."""
        if not xml.endswith(b"</row>"):
            return None
        cells = xml[:-6].split(b'<c r="')
        count = len(cells) - 1
        digits = b"%d" % number
        parts = list(map(_partition, cells[1:], _QUOTES))
        refs = list(map(_first, parts))
        letters = tuple(map(_rstrip, refs, _DIGITS))
        if count and digits.join(letters) + digits != b"".join(refs):
            return None
        if letters not in self.plans:
            self.plans[letters] = self._plan(letters)
        plan = self.plans[letters]
        if plan is None:
            return None
        a, b, ops = plan
        touched = cells[a - 1 : b]  # the cells written over or beside, and the one before them
        if b"<c" in b"".join(touched) or not all(map(_endswith, touched, _GT)):
            return None  # a cell without its reference first (or rich text) there, or white space between cells
        out = [_CELL_START.join(cells[:a])]
        append = out.append
        made_by, remembered = self.made_by, self.remembered
        for old, j, key, start in ops:
            if j < 0:
                append(_CELL_START + cells[old])
                continue
            value = values.get(key, _NO_PLAN)
            if value is _NO_PLAN:  # the bulk does not write this column in this row
                if old:
                    append(_CELL_START + cells[old])
                continue
            if old:
                rest = parts[old - 1][2]
                tag: bytes | None = rest[: rest.find(b">")]
            else:
                tag = None
            if remembered[j]:
                kind = type(value)
                if kind is str or value is None or (kind is datetime and value.tzinfo is None):  # type: ignore[attr-defined]
                    # a value that may repeat in this column (a decision, a status, the check time): made once
                    made = made_by[j].get((tag, value))
                    if made is None:
                        made = self._remember(j, tag, value, number)
                else:
                    made = self._made(j, tag, value)
            else:
                made = self._made(j, tag, value)
            if made:
                append(start)
                append(digits)
                append(made)
        if b <= count:
            append(_CELL_START + _CELL_START.join(cells[b:]))
        append(b"</row>")
        return b"".join(out)

    def _remember(self, j: int, tag: bytes | None, value: object, number: int) -> bytes:
        """``_made``, kept for the next row with the same old start tag and value in place ``j``; a place whose
        values hardly repeat (a deadline to the second) stops being remembered."""
        made = self._made(j, tag, value)
        if isinstance(value, str) and len(value) > 64:  # a long text is met once
            return made
        cells = self.made_by[j]
        if len(cells) > 100_000 // max(1, len(self.places)):
            cells.clear()
        cells[tag, value] = made
        self.made_count[j] += 1
        if self.made_count[j] > 2_000 and self.made_count[j] * 2 > number - self.first_bulk_row:
            self.remembered[j] = False
        return made

    def _made(self, j: int, tag: bytes | None, value: object) -> bytes:
        """The output cell of place ``j`` after its reference (``"`` and on; b"" for no cell), over an old cell
        whose start tag after its reference is ``tag`` (None for no old cell): the old cell's style, with the
        place's number format when the value needs it: the style attribute is worked out once per (place, old
        tag, kind of value)."""
        key = (j, tag, type(value))
        attr = self.style_attrs.get(key)
        if attr is None:
            style = self._style(j, tag, value)
            attr = self.style_attrs[key] = b' s="%d"' % style if style else b""
        tail = styled_tail(attr, value, self.date1904)
        return b'"' + tail if tail else b""

    def _style(self, j: int, tag: bytes | None, value: object) -> int:
        """The style of place ``j``'s cell over an old cell whose start tag is ``tag`` (``_made``)."""
        column, _, fmt, _ = self.places[j]
        if tag is not None:
            style = self.old_styles.get(tag)
            if style is None:
                found = STYLE_ATTR.search(tag)
                style = self.old_styles[tag] = int(found.group(1)) if found else 0
        else:
            style = self.edit.col_styles.get(column, 0)
        kind = type(value)
        if fmt is not None and value is not None and (kind in TYPED or (kind is str and fmt == "@")):
            style = self.styles.with_format(style, fmt)
        return style

    def _plan(self, letters: tuple[bytes, ...]) -> tuple[int, int, tuple[tuple[int, int, str, bytes], ...]] | None:
        """How a row whose cells are in ``letters``' columns takes the bulk's cells: the cells before piece
        ``a`` and from piece ``b`` on are copied; in between, (old piece or 0, place or -1, the place's key and
        its cells' start ``<c r="W``) in column order: an old cell kept (-1), an output cell replacing an old
        one, or an output cell added (old 0)."""
        if not all(1 <= len(item) <= 3 and item.isalpha() and item.isupper() for item in letters):
            return None
        columns = [column_of(item) for item in letters]
        if any(later <= earlier for earlier, later in pairwise(columns)):
            return None  # cells out of order, or twice: the general way
        wanted = [place[0] for place in self.places]
        count = len(columns)
        a = next((i + 1 for i, c in enumerate(columns) if c >= wanted[0]), count + 1)
        b = max([i + 2 for i, c in enumerate(columns) if c <= wanted[-1]] + [a])
        ops: list[tuple[int, int]] = []
        piece, j = a, 0
        while piece < b or j < len(wanted):
            if piece < b and (j >= len(wanted) or columns[piece - 1] < wanted[j]):
                ops.append((piece, -1))
                piece += 1
            elif piece < b and columns[piece - 1] == wanted[j]:
                ops.append((piece, j))
                piece += 1
                j += 1
            else:
                ops.append((0, j))
                j += 1
        places = self.places
        return a, b, tuple((old, j, places[j][1], places[j][3]) if j >= 0 else (old, j, "", b"") for old, j in ops)


_CELL_START = b'<c r="'
_NO_PLAN = object()
_QUOTES = repeat(b'"')
_DIGITS = repeat(b"0123456789")
_GT = repeat(b">")
_partition, _rstrip, _first, _endswith = bytes.partition, bytes.rstrip, itemgetter(0), bytes.endswith
TYPED = frozenset((Decimal, datetime, int, float, date))


class RowFeed(Protocol):
    """The rows a ``SheetWriter`` writes, handed over as they are made (``pipeline``): ``waiting`` holds the rows
    known so far, in order (the writer's list, grown by ``need``); ``need(last)`` returns once every row up to
    ``last`` (every row at all: None) is in ``waiting`` and in the edit's bulk."""

    waiting: list[int]

    def need(self, last: int | None) -> None: ...


def _last_number(block: bytes) -> int | None:
    """The number of a block's last row (None when its last ``<row`` has none)."""
    at = block.rfind(b"<row")
    match = ROW_NUMBER.match(block, at) if at != -1 else None
    return int(match.group(1)) if match else None


def styles_of(row_xml: bytes) -> dict[int, int]:
    """column → style id of each styled cell of a row."""
    styles = {}
    for column, start, _end in cells_of(row_xml):
        match = STYLE_ATTR.search(row_xml, start, row_xml.find(b">", start))
        if match:
            styles[column] = int(match.group(1))
    return styles


def _number_of(row_xml: bytes) -> int | None:
    match = ROW_NUMBER.match(row_xml)
    return int(match.group(1)) if match else None


# ------------------------------------------------------------------------------------------------ tables


def table_with(xml: bytes, info: TableInfo, last_row: int | None = None, new_columns: tuple[str, ...] = ()) -> bytes:
    """A Table part with its range grown down to ``last_row`` and right by ``new_columns``: only the ``ref``
    attributes and the column list change; calculated-column formulas, totals row and sort/filter state stay."""
    r1, c1, r2, c2 = info.bounds
    r2 = max(r2, last_row or 0)
    c2 += len(new_columns)
    ref = range_ref(r1, c1, r2, c2)
    out = re.sub(rb'(<table\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + ref.encode() + m.group(2), xml, count=1)
    filter_ref = range_ref(r1, c1, r2 - info.totals_rows, c2)
    out = re.sub(rb'(<autoFilter\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + filter_ref.encode() + m.group(2), out, count=1)
    if new_columns:
        ids = [int(i) for i in re.findall(rb'<tableColumn\b[^>]*?\sid="(\d+)"', out)]
        added = b"".join(
            b'<tableColumn id="%d" name="%s"/>' % (max(ids, default=0) + i, escape(name, XML_ESCAPES).encode())
            for i, name in enumerate(new_columns, start=1)
        )
        close = out.rfind(b"</tableColumns>")
        out = out[:close] + added + out[close:]
        section = re.search(rb"<tableColumns\b[^>]*>", out)
        assert section is not None  # </tableColumns> was found just above
        out = out[: section.start()] + _set(section.group(0), b"count", str(len(ids) + len(new_columns))) + out[section.end() :]
    return out


# ------------------------------------------------------------------------------------------------ the package


CONTENT_TYPE = re.compile(rb'<Override\b[^>]*?PartName="([^"]*)"[^>]*?ContentType="([^"]*)"[^>]*/>')


@dataclass
class ToolSheet:
    """A sheet the tool owns, as a scratch workbook (openpyxl) holds it: replaces the sheet of that name."""

    name: str
    scratch: bytes  # the scratch .xlsx


class PackageEdit:
    """Every change a run makes to one workbook file, applied by ``write`` in one pass."""

    def __init__(self, package: Package) -> None:
        self.package = package
        self.sheets: dict[str, SheetEdit] = {}  # part → cells
        self.parts: dict[str, bytes] = {}  # part → new bytes (replaced or added)
        self.removed: set[str] = set()
        self.order: list[str] = list(package.names)
        styles_part = package.styles_part()
        self.styles_part = styles_part
        styles = package.read(styles_part) if styles_part else b""
        if b"<styleSheet" not in styles:  # no styles part, or one whose elements carry a prefix (x:styleSheet)
            raise WorkbookError(
                f"{package.path.name} 的样式部分不是 Excel、WPS 或 LibreOffice 的写法，无法安全修改："
                "请在 Excel 或 WPS 中打开并另存一次后再运行，文件未改动"
            )
        self.styles = Styles(styles)
        self.date1904 = package.date1904
        self.dimensions: dict[str, str] = {}
        self.type_add: dict[str, str] = {}
        self.type_remove: set[str] = set()
        self._book: bytes | None = None
        self._book_rels: bytes | None = None
        # part → where a sheet written already (by ``pipeline``'s spare process) can be had, given the level the
        # package is written at: a temporary zip holding it and the styles its writer asked for, in order
        self.premade: dict[str, Callable[[int], Premade | None]] = {}

    # -- cells

    def sheet(self, part: str, col_styles: dict[int, int] | None = None, header_row: int = 1) -> SheetEdit:
        if part not in self.sheets:
            self.sheets[part] = SheetEdit(col_styles=dict(col_styles or {}), header_row=header_row)
        return self.sheets[part]

    def set_dimension(self, part: str, ref: str) -> None:
        self.dimensions[part] = ref

    def set_table(self, info: TableInfo, last_row: int | None = None, new_columns: tuple[str, ...] = ()) -> None:
        xml = self.parts.get(info.part) or self.package.read(info.part)
        updated = table_with(xml, info, last_row, new_columns)
        if updated != xml:
            self.parts[info.part] = updated

    # -- package-level entries

    def _add_type(self, part: str, content_type: str) -> None:
        self.type_add[part] = content_type

    def _remove_type(self, part: str) -> None:
        self.type_remove.add(part)

    def content_types(self) -> bytes | None:
        """[Content_Types].xml with the overrides of added parts inserted and those of removed parts taken out;
        None when it stays as it was (a part replaced under its own name keeps its entry)."""
        xml = original = self.package.read(CONTENT_TYPES)
        existing = {name.decode().lstrip("/"): kind.decode() for name, kind in CONTENT_TYPE.findall(xml)}
        for part in sorted(self.type_remove - set(self.type_add) - set(self.parts)):  # a part replaced keeps its entry
            xml = re.sub(rb'<Override\b[^>]*?PartName="/%s"[^>]*/>' % re.escape(part.encode()), b"", xml)
        for part, kind in self.type_add.items():
            if existing.get(part) == kind:
                continue
            xml = re.sub(rb'<Override\b[^>]*?PartName="/%s"[^>]*/>' % re.escape(part.encode()), b"", xml)
            close = xml.rfind(b"</Types>")
            xml = xml[:close] + f'<Override PartName="/{part}" ContentType="{kind}"/>'.encode() + xml[close:]
        return None if xml == original else xml

    def _unused(self, pattern: str) -> str:
        """A part name like ``xl/charts/chart{}.xml`` with the first number no part uses."""
        taken = {name.lower() for name in (set(self.order) - self.removed) | set(self.parts)}  # names ignore case
        number = 1
        while pattern.format(number).lower() in taken:
            number += 1
        return pattern.format(number)

    def remove(self, part: str) -> None:
        self.removed.add(part)
        self._remove_type(part)

    def drop_calc_chain(self) -> None:
        """Drop calcChain.xml (Excel rebuilds it): kept, it would list a formula a run replaced by a value, which
        Excel reports as a damaged file."""
        book = self.package.workbook_part
        for rel in self.package.rels(book):
            if rel.type == REL_CALC_CHAIN:
                self.remove(rel.part)
                rels = self._book_rels if self._book_rels is not None else self.package.read(rels_name(book))
                self._book_rels = re.sub(rb'<Relationship\b[^>]*?Id="%s"[^>]*/>' % re.escape(rel.id.encode()), b"", rels)

    def put_tool_sheet(self, sheet: ToolSheet) -> str:
        """Replace (or add, at the end of the tabs) a tool-owned sheet by the one in ``sheet.scratch``; returns
        its part name here. Parts only the old sheet used (drawing, charts, their styles) go with it."""
        scratch = _ScratchPackage(sheet.scratch)
        source = next(s for s in scratch.sheets() if s.name == sheet.name)
        existing = self.package.sheet(sheet.name)
        if existing is None and sheet.name in self.package.sheet_names():
            raise WorkbookError(
                f"工作簿里的“{sheet.name}”不是普通工作表（可能是图表工作表），无法写入{sheet.name}：请把它改名后再运行，文件未改动"
            )
        if existing is not None:
            part = existing.part
            for old in self._owned_by(part):
                self.remove(old)
        else:
            part = self._unused("xl/worksheets/sheet{}.xml")
            self._add_sheet_entry(sheet.name, part)
            self._add_type(part, CT_WORKSHEET)
        self.parts[part] = self._adopt_sheet(scratch, source.part)
        self._copy_related(scratch, source.part, part)
        return part

    def _owned_by(self, part: str) -> list[str]:
        """The parts reached only through ``part``'s relationships (recursively), with its .rels parts."""
        reached: list[str] = []
        todo = [part]
        while todo:
            current = todo.pop()
            name = rels_name(current)
            if name in self.package.names:
                reached.append(name)
            for rel in self.package.rels(current):
                if rel.part and rel.part in self.package.names and rel.part not in reached:
                    reached.append(rel.part)
                    todo.append(rel.part)
        others = {
            rel.part
            for source in self.package.names
            if not source.endswith(".rels") and source not in reached and source != part
            for rel in self.package.rels(source)
        }
        return [p for p in reached if p not in others or p.endswith(".rels")]

    def _adopt_sheet(self, scratch: _ScratchPackage, source: str) -> bytes:
        """A scratch sheet's XML with its style ids mapped into this workbook's styles and its shared strings
        written inline."""
        xml = scratch.read(source)
        other = scratch.styles
        mapped: dict[int, int] = {}

        def style(number: bytes) -> bytes:
            value = int(number)
            if value not in mapped:
                mapped[value] = self.styles.adopt(other, value)
            return str(mapped[value]).encode()

        xml = re.sub(rb'(<c\b[^>]*?\ss=")(\d+)(")', lambda m: m.group(1) + style(m.group(2)) + m.group(3), xml)
        xml = re.sub(rb'(<row\b[^>]*?\ss=")(\d+)(")', lambda m: m.group(1) + style(m.group(2)) + m.group(3), xml)
        xml = re.sub(rb'(<col\b[^>]*?\sstyle=")(\d+)(")', lambda m: m.group(1) + style(m.group(2)) + m.group(3), xml)
        strings = scratch.shared_strings()

        def inline(match: re.Match[bytes]) -> bytes:
            return match.group(1) + b' t="inlineStr"' + match.group(2) + b"><is>" + strings[int(match.group(3))] + b"</is></c>"

        return re.sub(rb'(<c\b[^>]*?)\st="s"([^>]*)><v>(\d+)</v></c>', inline, xml)

    def _copy_related(self, scratch: _ScratchPackage, source: str, target: str) -> None:
        """Bring the parts a scratch sheet relates to (drawing → charts) under fresh names, with their .rels."""
        rels = scratch.rels(source)
        if not rels:
            return
        entries = []
        for rel in rels:
            if not rel.part:
                continue
            new = self._bring(scratch, rel.part)
            entries.append((rel.id, rel.type, relative(target, new)))
        self.parts[rels_name(target)] = _rels_xml(entries)

    def _bring(self, scratch: _ScratchPackage, part: str) -> str:
        folder, _, name = part.rpartition("/")
        stem = re.sub(r"\d*\.xml$", "", name)
        new = self._unused(f"{folder}/{stem}{{}}.xml")
        self.parts[new] = b""  # reserve the name before its own parts are brought
        content_type = scratch.content_type(part)
        if content_type:
            self._add_type(new, content_type)
        inner = []
        for rel in scratch.rels(part):
            if rel.part:
                inner.append((rel.id, rel.type, relative(new, self._bring(scratch, rel.part))))
        self.parts[new] = scratch.read(part)
        if inner:
            self.parts[rels_name(new)] = _rels_xml(inner)
        return new

    def _add_sheet_entry(self, name: str, part: str) -> None:
        book = self.package.workbook_part
        xml = self._book if self._book is not None else self.package.read(book)
        rels = self._book_rels if self._book_rels is not None else self.package.read(rels_name(book))
        ids = {int(i) for i in re.findall(rb'\sId="rId(\d+)"', rels)}
        rel_id = f"rId{max(ids, default=0) + 1}"
        while rel_id.encode() in rels:
            rel_id = f"rId{int(rel_id[3:]) + 1}"
        sheet_ids = [int(i) for i in re.findall(rb'<sheet\b[^>]*?\ssheetId="(\d+)"', xml)]
        root = xml[: xml.find(b">", xml.find(b"<workbook")) + 1]
        prefix = _prefix_of(root, OFFICE_REL.encode())
        declare = "" if prefix else f' xmlns:r="{OFFICE_REL}"'  # declared where it is used, as openpyxl does
        entry = f'<sheet{declare} name="{escape(name, XML_ESCAPES)}" sheetId="{max(sheet_ids, default=0) + 1}" {prefix or "r"}:id="{rel_id}"/>'
        close = xml.rfind(b"</sheets>")
        self._book = xml[:close] + entry.encode() + xml[close:]
        close = rels.rfind(b"</Relationships>")
        target = relative(book, part)
        self._book_rels = rels[:close] + f'<Relationship Id="{rel_id}" Type="{REL_WORKSHEET}" Target="{target}"/>'.encode() + rels[close:]

    # -- writing

    @without_gc_pauses  # the register's rows, streamed: nothing cyclic is made, and the run's records are many
    def write(self, target: Path, compresslevel: int = 6) -> None:
        """Write the edited package to ``target`` (a new file)."""
        book = self.package.workbook_part
        if self._book is not None:
            self.parts[book] = self._book
        if self._book_rels is not None:
            self.parts[rels_name(book)] = self._book_rels
        writers = {part: SheetWriter(edit, self.styles, self.date1904) for part, edit in self.sheets.items()}
        known = set(self.order)
        names = [n for n in self.order if n not in self.removed or n in self.parts]
        names += [n for n in self.parts if n not in known]
        types = self.content_types()
        infos = {info.filename: info for info in self.package.infos}

        def write_sheet(out: zipfile.ZipFile, name: str) -> None:
            self.write_sheet(out, name, writers[name], infos.get(name), compresslevel)

        def take(name: str) -> tuple[IO[bytes], zipfile.ZipFile] | None:
            """The sheet ``name`` written already, when it is exactly what ``write_sheet`` would write now."""
            offer = self.premade.get(name)
            made = offer(compresslevel) if offer is not None else None
            if made is None:
                return None
            # the styles its cells asked for, asked for here in the same order: the same answers mean the same
            # bytes, and leave these styles as writing the sheet here would (a first answer that differs stops
            # the replay, and the sheet is written here: its writer asks the same questions in the same order)
            if not all(self.styles.with_format(style, code) == index for (style, code), index in made.styles):
                return None
            try:
                spool = spools.enter_context(zipfile.ZipFile(made.file))
                spool.getinfo(name)
            except (zipfile.BadZipFile, KeyError, OSError, EOFError):
                return None
            return made.file, spool

        with ExitStack() as spools:
            # A sheet after styles.xml (LibreOffice's order) adds the styles its cells need as it is written: it is
            # written first, into a temporary zip, and its deflated bytes are copied in its place (writing it twice
            # doubled the save).
            spooled: dict[str, tuple[IO[bytes], zipfile.ZipFile]] = {}
            after = names[names.index(self.styles_part) + 1 :] if self.styles_part in names else []
            for name in (part for part in after if part in writers):
                premade = take(name)
                if premade is not None:
                    spooled[name] = premade
                    continue
                handle: IO[bytes] | None = None
                try:
                    handle = spools.enter_context(tempfile.TemporaryFile())
                    _spool(handle, write_sheet, name)
                except OSError:  # no room for it there (or no such folder): beside the file saved, which needs it
                    if handle is not None:
                        with suppress(OSError):  # closing flushes, and there is no room
                            handle.close()
                    handle = spools.enter_context(tempfile.TemporaryFile(dir=target.parent))
                    _spool(handle, write_sheet, name)
                spooled[name] = handle, spools.enter_context(zipfile.ZipFile(handle))
            with zipfile.ZipFile(self.package.path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as out:
                for name in names:
                    size = infos[name].file_size if name in infos else 0
                    info = _entry(infos.get(name), name, compresslevel)
                    big = size > ZIP64_FROM
                    if name in writers and name not in spooled and (premade := take(name)) is not None:
                        spooled[name] = premade
                    if name in spooled:
                        file, spool = spooled[name]
                        with out.open(info, "w", force_zip64=big) as stream:
                            copy_deflated(stream, file, spool.getinfo(name), spool)
                    elif name in writers:
                        write_sheet(out, name)
                    elif name == self.styles_part and self.styles.changed:
                        out.writestr(info, self.styles.result())
                    elif name == CONTENT_TYPES and types is not None:
                        out.writestr(info, types)
                    elif name in self.parts:
                        out.writestr(info, self.parts[name])
                    else:
                        with source.open(name) as src, out.open(info, "w", force_zip64=big) as dst:
                            while chunk := src.read(1 << 20):
                                dst.write(chunk)

    def write_sheet(
        self,
        out: zipfile.ZipFile,
        name: str,
        writer: SheetWriter,
        old: zipfile.ZipInfo | None,
        compresslevel: int,
        feed: RowFeed | None = None,
    ) -> None:
        """Write sheet part ``name`` (``old``: its entry in the file read) into ``out`` with ``writer``: a big one
        deflated at STREAMED_LEVEL (by ISA-L where it can), the XML made on this thread and deflated on another."""
        size = old.file_size if old is not None else 0
        streamed = size > STREAMED_BIG
        info = _entry(old, name, STREAMED_LEVEL if streamed else compresslevel)
        opened = out.open(info, "w", force_zip64=size > ZIP64_FROM)
        with deflating(opened) if streamed else opened as stream:
            source, dimension = self._source(name), self.dimensions.get(name)
            _write_beside(stream, writer.stream(source, dimension, feed))

    def _source(self, part: str) -> Iterator[bytes]:
        if part in self.parts:
            return iter([self.parts[part]])
        # inflated in place: on a second thread it competed with the deflating one (measured at 100k rows: the save
        # no faster, the main thread waiting up to 0.7 s for the deflate)
        return self.package.stream(part, ahead=False)


@dataclass(frozen=True)
class Premade:
    """A sheet part written ahead (``PackageEdit.premade``): the temporary file holding a zip of it, and the
    styles its writer asked for, in order, with the answers it had: ((style, number format), style)."""

    file: IO[bytes]
    styles: Sequence[tuple[tuple[int, str], int]]


def _spool(handle: IO[bytes], write: Callable[[zipfile.ZipFile, str], None], name: str) -> None:
    """Write into ``handle`` (a temporary file) a zip of part ``name``, written by ``write``."""
    with zipfile.ZipFile(handle, "w") as spool:
        write(spool, name)


def _write_beside(stream, pieces: Iterable[bytes], size: int = 1 << 20) -> None:
    """Write ``pieces`` into a zip entry, compressing on a second thread (zlib lets go of the interpreter while
    it works) while this one builds the next megabyte of XML."""
    batches: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def compress() -> None:
        while (batch := batches.get()) is not None:
            if not failed:
                try:
                    stream.write(batch)
                except BaseException as error:  # handed back to the caller below
                    failed.append(error)

    worker = threading.Thread(target=compress, daemon=True)
    worker.start()
    try:
        buffer: list[bytes] = []
        held = 0
        for piece in pieces:
            buffer.append(piece)
            held += len(piece)
            if held >= size:
                batches.put(b"".join(buffer))
                buffer, held = [], 0
                if failed:
                    break
        if buffer and not failed:
            batches.put(b"".join(buffer))
    finally:
        batches.put(None)
        worker.join()
    if failed:
        raise failed[0]


def _entry(info: zipfile.ZipInfo | None, name: str, level: int = 6) -> zipfile.ZipInfo:
    """The new entry for a part: the old entry's date and attributes kept, deflated at ``level``."""
    entry = zipfile.ZipInfo(name, date_time=info.date_time if info else (2026, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    # ZipFile's compresslevel only reaches entries it names itself; an entry given as a ZipInfo carries its own
    setattr(entry, "compress_level" if hasattr(entry, "compress_level") else "_compresslevel", level)
    if info is not None:
        entry.external_attr = info.external_attr
        entry.create_system = info.create_system
    return entry


def _rels_xml(entries: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{escape(target, XML_ESCAPES)}"/>' for i, t, target in entries)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{body}</Relationships>'
    ).encode()


def _prefix_of(tag: bytes, uri: bytes) -> str | None:
    match = re.search(rb'xmlns:([\w.-]+)="%s"' % re.escape(uri), tag)
    return match.group(1).decode() if match else None


class _ScratchPackage(Package):
    """A workbook openpyxl wrote in memory, read like a file's package."""

    def __init__(self, data: bytes) -> None:
        import io

        self._data = data
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.infos = archive.infolist()
            self._small = {name: archive.read(name) for name in archive.namelist()}
        self.names = [info.filename for info in self.infos]
        self._rels = {}
        self.path = Path("scratch.xlsx")
        part = self.styles_part()
        self.styles = Styles(self._small[part]) if part else Styles(b"")

    def read(self, name: str) -> bytes:
        return self._small[name]

    def shared_strings(self) -> list[bytes]:
        """The inner XML of each shared string (``<t>…</t>`` or rich runs), by index."""
        name = next((n for n in self.names if n.endswith("sharedStrings.xml")), None)
        if name is None:
            return []
        return [m.group(1) for m in re.finditer(rb"<si>(.*?)</si>", self._small[name], re.S)]

    def content_type(self, part: str) -> str | None:
        for name, kind in CONTENT_TYPE.findall(self._small[CONTENT_TYPES]):
            if name.decode().lstrip("/") == part:
                return kind.decode()
        return None


