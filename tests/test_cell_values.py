"""The tracker's cells read the same without calamine: ``package.CellValues`` and the register's one-pass reader
(``package.read_register``) give, cell by cell, what python-calamine gives (the decision engine depends on those
values: text, floats, dates for date-formatted numbers, '' for blanks).

The oracle is calamine itself, as the reader used it before (``calamine_rows``, and the register's rows built from
them with the error cells put back). It is compared on the demo tracker, a tracker LibreOffice saved, every
preservation fixture, and a sheet of unusual cells written by hand (rich text, phonetic runs, CDATA, character
references, white space, Excel's _x000D_ escapes, every kind of number format, cells without their reference …).
"""

from __future__ import annotations

import math
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import python_calamine

sys.path.insert(0, str(Path(__file__).parent / "preservation"))

from features import FEATURES, Package as FeaturePackage

from refund_sheet import service
from refund_sheet.engine.columns import blank
from refund_sheet.errors import WorkbookError
from refund_sheet.workbook.package import CellValues, Package, format_kind, scan_sheet, sheet_values
from refund_sheet.workbook.read import DIGESTED, Digest, Grids, Tracker

NOW = datetime(2026, 11, 20, 12, 0)


# ------------------------------------------------------------------------------------------------ the oracle


def calamine_rows(path: Path, name: str) -> dict[int, list[object]]:
    """Row number → values from column A, for every row holding a non-blank value: python-calamine's reading of a
    sheet, as refund-sheet took it before it read the package itself."""
    with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
        data = book.get_sheet_by_name(name)
        (start_row, start_col), (end_row, _) = data.start or (0, 0), data.end or (0, 0)
        pad = [""] * start_col
        rows: dict[int, list[object]] = {}
        count = 0
        for count, values in enumerate(data.iter_rows(), start=1):
            if not all(blank(v) for v in values):
                rows[count] = pad + values
        if count and count != end_row + 1:
            rows = {number + start_row: values for number, values in rows.items()}
    return rows


def calamine_register(path: Path) -> list[tuple[int, tuple]]:
    """The register's rows as the calamine reader gave them: values first_col..last_col, error cells put back as
    their text, blank rows left out, the long output texts as Digests."""
    tracker = Tracker(path)
    reg = tracker.register
    values = calamine_rows(path, reg.sheet)
    for row, col, text in scan_sheet(tracker.package.stream(reg.part)).errors:
        line = values.setdefault(row, [])
        line.extend([""] * (col - len(line)))
        line[col - 1] = text
    first, last = reg.first_col - 1, reg.last_col
    digested = [reg.found[key] for key in DIGESTED if key in reg.found]
    totals = set()
    if reg.table is not None and reg.table.totals_rows:
        end = reg.table.bounds[2]
        totals = set(range(end - reg.table.totals_rows + 1, end + 1))
    rows = []
    for number in sorted(values):
        if number <= reg.header_row or number in totals:
            continue
        cells = values[number][first:last]
        if all(blank(v) for v in cells):
            continue
        for position in digested:
            if position < len(cells) and isinstance(cells[position], str) and cells[position]:
                cells[position] = Digest(hash(cells[position]))
        rows.append((number, tuple(cells) + ("",) * (last - first - len(cells))))
    return rows


def typed(value: object) -> tuple[str, str]:
    """A value with its type, so that 1, 1.0 and True differ, and NaN equals NaN."""
    if isinstance(value, float) and math.isnan(value):
        return "float", "nan"
    return type(value).__name__, repr(value)


def same_rows(mine: dict[int, list[object]], theirs: dict[int, list[object]]) -> list[str]:
    """The differences, cell by cell (at most 20)."""
    problems = []
    for row in sorted(set(mine) | set(theirs)):
        a, b = mine.get(row), theirs.get(row)
        if a is None or b is None:
            problems.append(f"row {row}: {'missing' if a is None else 'extra'} here ({a or b})")
            continue
        for column in range(max(len(a), len(b))):
            x = a[column] if column < len(a) else "<none>"
            y = b[column] if column < len(b) else "<none>"
            if typed(x) != typed(y):
                problems.append(f"row {row} column {column + 1}: {x!r} here, calamine {y!r}")
    return problems[:20]


def same_scan(tracker: Tracker) -> list[str]:
    """What the one-pass reader tells the writer about the register's sheet, against the separate scan it
    replaced (``scan_sheet``)."""
    reg = tracker.register
    formula_cols = {reg.first_col + position for position in reg.found.values()}
    old = scan_sheet(tracker.package.stream(reg.part), formula_cols)
    new = reg.scan
    problems = [name for name in ("head", "tail", "merged", "col_styles", "formulas", "shared", "top", "last_row",
                                  "last_any_row") if getattr(old, name) != getattr(new, name)]
    if old.used_from(reg.header_row) != tracker.used_col:
        problems.append(f"used_col {tracker.used_col}, the scan {old.used_from(reg.header_row)}")
    return problems


def compare_workbook(path: Path) -> list[str]:
    """Every worksheet's values, and the register's rows, against calamine's."""
    problems = []
    package = Package(path)
    values = CellValues.of(package)
    for sheet in package.sheets():
        mine = sheet_values(package.stream(sheet.part), values)
        problems += [f"{path.name} {sheet.name} {p}" for p in same_rows(mine, calamine_rows(path, sheet.name))]
    try:
        tracker = Tracker(path)
    except WorkbookError:
        return problems  # no register in this workbook: the sheets alone
    problems += [f"{path.name} scan: {p}" for p in same_scan(tracker)]
    theirs = calamine_register(path)
    if [(n, [typed(v) for v in row]) for n, row in tracker.rows] != [(n, [typed(v) for v in row]) for n, row in theirs]:
        problems += [f"{path.name} register: " + p for p in same_rows(
            {n: list(v) for n, v in tracker.rows}, {n: list(v) for n, v in theirs})]
    return problems


# ------------------------------------------------------------------------------------------------ real trackers


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo tracker, checked (replies, explanations, money and dates in the output columns)."""
    return service.demo(tmp_path_factory.mktemp("demo"), 300, now=NOW).out


def test_the_demo_tracker_reads_as_calamine_reads_it(demo):
    assert compare_workbook(demo) == []


def test_a_fresh_tracker_reads_as_calamine_reads_it(tmp_path):
    path = service.new_tracker(tmp_path / "new.xlsx")
    assert compare_workbook(path) == []


@pytest.mark.libreoffice
def test_a_tracker_libreoffice_saved_reads_as_calamine_reads_it(demo, tmp_path):
    from libreoffice import convert

    saved = convert(demo, "xlsx:Calc MS Excel 2007 XML", tmp_path)
    assert compare_workbook(saved) == []


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> list[Path]:
    """The preservation suite's trackers, one per feature."""
    folder = tmp_path_factory.mktemp("features")
    base = service.demo(folder / "base", 8, now=NOW).out.read_bytes()
    built = []
    for feature in FEATURES:
        package = FeaturePackage(base)
        feature.build(package)
        built.append(package.save(folder / f"fixture-{feature.name}{package.suffix}"))
    return built


def test_every_preservation_fixture_reads_as_calamine_reads_it(fixtures):
    problems = [p for path in fixtures for p in compare_workbook(path)]
    assert problems == []


# ------------------------------------------------------------------------------------------------ unusual cells


def workbook(tmp_path: Path, sheet_data: str, strings: list[str] = (), formats: list[str] = (), xfs: list[str] = (),
             date1904: bool = False, name: str = "odd.xlsx") -> Path:
    """A one-sheet workbook whose sheetData, shared strings (inner XML of each <si>), custom number formats
    (``(id, code)`` as XML attributes text) and cell formats (each <xf>'s numFmtId) are given as XML text."""
    numfmts = "".join(formats)
    cellxfs = "".join(f'<xf numFmtId="{n}" fontId="0" fillId="0" borderId="0" xfId="0"/>' for n in xfs)
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        + ('<workbookPr date1904="1"/>' if date1904 else "")
        + '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/styles.xml": '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + (f'<numFmts count="{len(formats)}">{numfmts}</numFmts>' if formats else "")
        + '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
        + f'<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="{len(xfs)}">{cellxfs}</cellXfs>'
        + '<dxfs count="1"><dxf><numFmt numFmtId="200" formatCode="yyyy"/></dxf></dxfs></styleSheet>',
        "xl/sharedStrings.xml": '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + "".join(f"<si>{s}</si>" for s in strings) + "</sst>",
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + sheet_data + "</sheetData></worksheet>",
    }
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part, text in files.items():
            z.writestr(part, text.encode("utf-8"))
    return path


def grid_of(path: Path) -> dict[int, list[object]]:
    package = Package(path)
    return sheet_values(package.stream(package.sheets()[0].part), CellValues.of(package))


FORMAT_CODES = [
    "yyyy-mm-dd", "yyyy/m/d h:mm", "[h]:mm:ss", "[mm]:ss", "0.00", '"Y: "0.00', 'm"M"d"D";@', "[$-404]e/m/d",
    "*-yyyy", "#,##0*y", '0"x"*d', "h:mm AM/PM", "[Red]0.00", "[>=100][Magenta][s].00", "\\Y000000", "mmm-yy",
    "yyyy年m月d日", "0_);[Red](0)", "@", "General", 'AM/PM h"h"', "ss.0", "[s]", "d", "0.00;[Red]-0.00;\"-\"",
]
BUILTIN_IDS = [0, 1, 2, 9, 10, 14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 31, 36, 45, 46, 47, 49, 50, 57, 58, 80, 81]
NUMBERS = ["0", "0.5", "0.999999", "1", "1.5", "59", "59.75", "60", "61", "61.25", "45678.5", "45678.999999",
           "45678.0000001", "-1", "-0.25", "-700000", "2958465", "2958465.9", "2958466", "1e5", "1E-3", "+3", ".5",
           "5.", "46349.39818287037", "nan", "-700000.5"]


def test_numbers_under_every_kind_of_format_read_as_calamine_reads_them(tmp_path):
    formats = [f'<numFmt numFmtId="{164 + i}" formatCode="{code.replace("&", "&amp;").replace(chr(34), "&quot;")}"/>'
               for i, code in enumerate(FORMAT_CODES)]
    xfs = [str(i) for i in BUILTIN_IDS] + [str(164 + i) for i in range(len(FORMAT_CODES))]
    rows = []
    for r, number in enumerate(NUMBERS, start=1):
        cells = [f'<c r="A{r}"><v>{number}</v></c>', f'<c r="B{r}" t="n"><v>{number}</v></c>']
        cells += [f'<c r="{_letter(3 + s)}{r}" s="{s}"><v>{number}</v></c>' for s in range(len(xfs) + 2)]
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    for date1904 in (False, True):
        path = workbook(tmp_path, "".join(rows), formats=formats, xfs=xfs, date1904=date1904, name=f"n{date1904}.xlsx")
        assert same_rows(grid_of(path), calamine_rows(path, "S")) == []


def test_huge_numbers_under_date_formats_read_as_calamine_reads_them(tmp_path):
    """(calamine itself fails on them under a duration format, where Python's timedelta stops at 999,999,999 days,
    and on -inf under a date format, where chrono panics: there the reader gives the number.)"""
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" s="1"><v>{n}</v></c><c r="B{r}" s="2"><v>{n}</v></c><c r="C{r}"><v>{n}</v></c></row>'
        for r, n in enumerate(["-99999999999", "99999999999", "3e6", "-3e6", "inf", "1e10"], start=1)
    )
    path = workbook(tmp_path, rows, formats=['<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>'], xfs=["0", "14", "164"])
    assert same_rows(grid_of(path), calamine_rows(path, "S")) == []


def test_format_kinds_follow_calamine():
    from refund_sheet.workbook.package import DATETIME, OTHER, TIMEDELTA

    assert format_kind("DD/MM/YY") == DATETIME
    assert format_kind("[h]:mm:ss") == TIMEDELTA
    assert format_kind('"$"#,##0_);[Red]("$"#,##0)') == OTHER
    assert format_kind("#,##0*y") == OTHER
    assert format_kind("*-yyyy-mm-dd") == DATETIME


def _letter(n: int) -> str:
    from refund_sheet.engine.columns import column_letter

    return column_letter(n)


TEXTS = [
    "<t>plain</t>", "<t>  spaced  </t>", '<t xml:space="preserve">  kept  </t>', "<t>a&amp;b&lt;c&gt;&quot;&apos;</t>",
    "<t>&#29980;&#29980;&#22280;5070</t>", "<t>" + "&#36864;" * 40 + "</t>", "<t>line\r\nbreak\rold</t>",
    "<t>cr&#13;ref&#10;lf</t>", "<t>&#13;lead</t>", '<t xml:space="preserve">&#13;lead</t>', "<t>_x000D_x</t>",
    "<t>_x005F_x000D_</t>", "<t>_x00e9_ _x00ZZ_ _x0041_ _x00+F_</t>", "<t>\t tab \n</t>", "<t/>", "",
    '<r><rPr><b/><color rgb="FFFF0000"/></rPr><t>加急</t></r><r><t xml:space="preserve"> 今天</t></r>',
    "<r><t>a</t></r><rPh sb=\"0\" eb=\"1\"><t>ピン</t></rPh><phoneticPr fontId=\"1\"/>", "<t><![CDATA[a<b>&c]]></t>",
    "<t>x<!-- note -->y</t>", "<t>&#x41;&#x42;&#65;</t>", "<t>\u00a0nbsp\u00a0</t>", "<t>😀 emoji</t>",
]


def test_strings_inline_and_shared_read_as_calamine_reads_them(tmp_path):
    rows = []
    for r, text in enumerate(TEXTS, start=1):
        rows.append(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is>{text}</is></c><c r="B{r}" t="s"><v>{r - 1}</v></c>'
                    f'<c r="C{r}" t="str"><v>{text if "<" not in text else "x&amp;y"}</v></c></row>')
    path = workbook(tmp_path, "".join(rows), strings=TEXTS, xfs=["0"])
    assert same_rows(grid_of(path), calamine_rows(path, "S")) == []


ODD_CELLS = [
    '<c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1" t="b"><v>false</v></c><c r="D1" t="b"><v> TRUE</v></c>',
    '<c r="A2" t="e"><v>#N/A</v></c><c r="B2" t="e"><v>#DIV/0!</v></c><c r="C2" t="str"><v>&amp; a\r\nb</v></c>',
    '<c r="A3"><f>SUM(1,2)</f><v>3</v></c><c r="B3" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="C3"><v>4</v><f>1+3</f></c>',
    '<c r="A4" t="d"><v>2026-11-20T10:30:00</v></c><c r="B4" t="d"><v>2026-11-20</v></c><c r="C4" t="d"><v>10:30:00</v></c>',
    '<c r="A5" s="1"/><c r="B5" s="1"></c><c r="C5" t="inlineStr"><v>ignored</v></c><c r="D5" t="s"><v></v></c>',
    '<c r="A6"><v>abc</v></c><c r="B6" s="99"><v>45678.5</v></c><c r="C6" s="abc"><v>45678.5</v></c>',
    '<c r="D7"><v>1</v></c><c><v>2</v></c><c t="inlineStr"><is><t>three</t></is></c>',
    '<c r="a8"><v>8</v></c><c r="B8" s="1"><v>45678.25</v></c><c r="C8" t="inlineStr"><is/></c>',
    '<c r="A9" t="n"><v> 1</v></c>',
]


def test_unusual_cells_read_as_calamine_reads_them(tmp_path):
    rows = "".join(f'<row r="{r}">{cells}</row>' for r, cells in enumerate(ODD_CELLS[:-1], start=1))
    rows += '<row><c r="A10"><v>10</v></c></row><row r="12"/><row><c><v>13</v></c></row>'
    path = workbook(tmp_path, rows, xfs=["0", "22"])
    assert same_rows(grid_of(path), calamine_rows(path, "S")) == []


def test_a_cell_calamine_cannot_read_is_refused_not_guessed(tmp_path):
    path = workbook(tmp_path, '<row r="1"><c r="A1" t="n"><v> 1</v></c></row>', xfs=["0"])
    with pytest.raises(python_calamine.CalamineError):
        calamine_rows(path, "S")
    with pytest.raises(WorkbookError):
        grid_of(path)


def test_excel_365s_errors_are_error_cells_where_calamine_refused_the_whole_sheet(tmp_path, demo):
    """#SPILL! or #CALC! (a dynamic-array formula in the register): calamine refused the sheet; now the cell is an
    error cell like #N/A, reported as such, and the rest of the register is read."""
    import re

    path = workbook(tmp_path, '<row r="1"><c r="A1" t="e"><v>#SPILL!</v></c><c r="B1"><v>1</v></c></row>', xfs=["0"])
    with pytest.raises(python_calamine.CalamineError):
        calamine_rows(path, "S")
    assert grid_of(path) == {1: ["", 1.0]}
    register = tmp_path / "spill.xlsx"
    with zipfile.ZipFile(demo) as z:
        data = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    data[sheet] = re.sub(rb'<c r="J5"[^>]*?(?:/>|>.*?</c>)', b'<c r="J5" t="e"><f>SEQUENCE(2)</f><v>#SPILL!</v></c>',
                         data[sheet], count=1, flags=re.S)
    with zipfile.ZipFile(register, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in data.items():
            z.writestr(name, content)
    rows = dict(Tracker(register).rows)
    assert rows[5][9] == "#SPILL!" and len(rows) == len(Tracker(demo).rows)


def test_the_register_reader_takes_unusual_rows_the_long_way(tmp_path, demo):
    """Rows the one-pass reader does not take apart itself (a cell without its reference, a comment, an empty
    <row/>, rich text) come out as calamine reads them."""
    import re

    path = tmp_path / "odd.xlsx"
    with zipfile.ZipFile(demo) as z:
        data = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = data[sheet]
    xml = re.sub(rb'(<row r="5"[^>]*>)<c r="A5"([^>]*)>', rb'\1<c\2>', xml, count=1)  # A5 without its reference
    xml = re.sub(rb'(<row r="7"[^>]*>)', rb'<!-- a comment --><row r="6a"/>\1', xml, count=1).replace(b'<row r="6a"/>', b"")
    xml = re.sub(rb'(<c r="C9")[^>]*>.*?</c>', rb'\1 t="inlineStr"><is><r><rPr><color rgb="FF0000FF"/></rPr><t>rich</t></r><r><t> text</t></r></is></c>', xml, count=1, flags=re.S)
    xml = xml.replace(b'<row r="12"', b'<row r="11" customHeight="1"/><row r="12"', 1) if b'<row r="11"' not in xml else xml
    for row in range(10, 21):  # a formula filled down an output column (shared), and one in an input column
        formula = '<f t="shared" ref="V10:V20" si="0">"x"</f>' if row == 10 else '<f t="shared" si="0"/>'
        xml = re.sub(rb'<c r="V%d"[^>]*?(?:/>|>.*?</c>)' % row, b'<c r="V%d" t="str">%s<v>x</v></c>' % (row, formula.encode()),
                     xml, count=1, flags=re.S)
    xml = re.sub(rb'<c r="K12"[^>]*?(?:/>|>.*?</c>)', b'<c r="K12"><f>1+1</f><v>2</v></c>', xml, count=1, flags=re.S)
    data[sheet] = xml
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in data.items():
            z.writestr(name, content)
    assert compare_workbook(path) == []
    scan = Tracker(path).register.scan
    assert scan.formulas == {(row, 22) for row in range(10, 21)} | {(12, 11)} and len(scan.shared) == 11


def test_the_grids_read_other_sheets_as_calamine_does(demo):
    grids = Grids(Package(demo))
    for name in ("规则", "统计", "记录"):
        assert same_rows(grids.rows(name), calamine_rows(demo, name)) == []


def test_a_sheet_the_reader_cannot_take_is_passed_over_in_the_search_for_the_register(tmp_path, demo):
    """A merchant's sheet written with prefixed SpreadsheetML (<x:sheetData>, as some generators write it) before
    a register that is not named 退款登记: it is skipped, as a sheet without the register's columns is."""
    import re

    path = tmp_path / "renamed.xlsx"
    with zipfile.ZipFile(demo) as z:
        data = {n: z.read(n) for n in z.namelist()}
    book = "xl/workbook.xml"
    data[book] = data[book].replace("退款登记".encode(), "售后登记".encode())
    data["xl/worksheets/sheet9.xml"] = (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>hi</x:t></x:is></x:c></x:row></x:sheetData>'
        b"</x:worksheet>"
    )
    rels = "xl/_rels/workbook.xml.rels"
    data[rels] = data[rels].replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"'
        b' Target="worksheets/sheet9.xml"/></Relationships>',
    )
    sheet = b'<sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" name="XML" sheetId="99" r:id="rId99"/>'
    data[book] = re.sub(rb"(<sheets>)", rb"\1" + sheet, data[book], count=1)
    ct = "[Content_Types].xml"
    data[ct] = data[ct].replace(
        b"</Types>",
        b'<Override PartName="/xl/worksheets/sheet9.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in data.items():
            z.writestr(name, content)
    tracker = Tracker(path)
    assert tracker.register.sheet == "售后登记" and len(tracker.rows) == len(Tracker(demo).rows)
