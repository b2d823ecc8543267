"""The package writer: a check edits the tracker's package, it does not rebuild it.

What a run does not own comes through byte for byte (parts, and in the register every cell outside the output
columns); what it writes reads back as the engine decided. The wide preservation suite (pictures in cells,
sparklines, pivot tables …) is tests/test_preservation*.py; these are the writer's own cases.
"""

import re
import shutil
import zipfile
from datetime import datetime

import openpyxl
import pytest
from libreoffice import convert

from refund_sheet import service
from refund_sheet.engine.columns import INPUT_COLUMNS, OUTPUT_COLUMNS
from refund_sheet.samples import sample_rows
from refund_sheet.workbook.build import build_tracker, deterministic_bytes

NOW = datetime(2026, 11, 26, 18, 0)
REGISTER = "xl/worksheets/sheet1.xml"
OUTPUT_LETTERS = {openpyxl.utils.get_column_letter(len(INPUT_COLUMNS) + 1 + i) for i in range(len(OUTPUT_COLUMNS))}
CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def cells(xml: bytes) -> dict[str, bytes]:
    """Cell reference → the cell's raw XML."""
    return {(m.group(1) + m.group(2)).decode(): m.group(0) for m in CELL.finditer(xml)}


def patch_part(path, name, change):
    """Rewrite one part inside the package, the way another program would have written it."""
    data = parts(path)
    data[name] = change(data[name])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part, content in data.items():
            z.writestr(part, content)


def small(tmp_path, rows=20, seed=5):
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(deterministic_bytes(build_tracker(sample_rows(NOW, rows, seed=seed))))
    return path


def test_parts_the_run_does_not_own_are_copied_byte_for_byte_in_order(tmp_path):
    path = small(tmp_path)
    service.check_file(path, now=datetime(2026, 11, 25, 9, 0))
    before = parts(path)
    order = list(before)
    assert service.check_file(path, now=NOW, lang="en").saved  # every open row's reply changes language
    after = parts(path)
    owned = {REGISTER, "xl/worksheets/sheet4.xml"}  # the register, and 记录 (a line appended)
    assert [n for n in after if n in before] == order
    for name in order:
        if name not in owned and not name.startswith(("xl/charts/", "xl/drawings/", "xl/worksheets/sheet3", "xl/worksheets/_rels/sheet3")):
            assert after[name] == before[name], name


def test_in_the_register_only_output_cells_change(tmp_path):
    path = small(tmp_path, rows=40)
    service.check_file(path, now=datetime(2026, 11, 25, 9, 0))
    old = parts(path)[REGISTER]
    service.check_file(path, now=NOW, lang="en")
    new = parts(path)[REGISTER]
    before, after = cells(old), cells(new)
    for ref, xml in before.items():
        if re.match(r"[A-Z]+", ref).group(0) not in OUTPUT_LETTERS:
            assert after.get(ref) == xml, ref
    outside = lambda xml: re.sub(rb"<sheetData>.*</sheetData>", b"", xml, flags=re.S)  # noqa: E731
    assert outside(new) == outside(old)
    assert re.findall(rb"<row [^>]*>", new) == re.findall(rb"<row [^>]*>", old)
    from xml.etree import ElementTree

    rows = ElementTree.fromstring(new).findall("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheetData/*")
    assert [r.get("r") for r in rows] == [str(n) for n in range(1, 42)]  # every row whole, in order


def test_styles_are_only_appended(tmp_path):
    path = small(tmp_path)
    patch_part(path, REGISTER, lambda xml: re.sub(rb'(<c r="W\d+") s="\d+"', rb"\1", xml))  # 退款金额 unformatted
    old = parts(path)["xl/styles.xml"]
    service.check_file(path, now=NOW)
    new = parts(path)["xl/styles.xml"]
    xfs = lambda xml: re.findall(rb"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.search(rb"<cellXfs.*?</cellXfs>", xml, re.S).group(0), re.S)  # noqa: E731
    assert xfs(new)[: len(xfs(old))] == xfs(old) and len(xfs(new)) > len(xfs(old))
    ws = openpyxl.load_workbook(path)["退款登记"]
    assert ws["W3"].number_format == '"¥"#,##0.00'


@pytest.mark.libreoffice
def test_a_file_saved_by_libreoffice_keeps_its_shared_strings(tmp_path):
    """Excel, WPS and LibreOffice store text as shared strings: the writer leaves sharedStrings.xml and every cell
    pointing into it alone, and writes its own text inline."""
    saved = convert(small(tmp_path), "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    before = parts(saved)
    assert "xl/sharedStrings.xml" in before
    result = service.check_file(saved, now=NOW)
    after = parts(saved)
    assert result.saved and after["xl/sharedStrings.xml"] == before["xl/sharedStrings.xml"]
    old, new = cells(before[REGISTER]), cells(after[REGISTER])
    kept = [ref for ref in old if re.match(r"[A-Z]+", ref).group(0) not in OUTPUT_LETTERS]
    assert kept and all(new[ref] == old[ref] for ref in kept)
    ws = openpyxl.load_workbook(saved)["退款登记"]
    assert ws["V2"].value in {c.value for c in __import__("refund_sheet.engine", fromlist=["Decision"]).Decision}
    assert not service.check_file(saved, now=NOW).saved  # and it reads back as written


def test_error_cells_are_still_reported_as_errors(tmp_path):
    path = small(tmp_path)
    patch_part(path, REGISTER, lambda xml: re.sub(rb'<c r="I5"[^>]*?(?:/>|>.*?</c>)', b'<c r="I5" t="e"><v>#N/A</v></c>', xml, count=1, flags=re.S))
    service.check_file(path, now=NOW)
    assert "退款登记!I5: 实付金额 是 Excel 错误值 #N/A" in openpyxl.load_workbook(path)["退款登记"]["AC5"].value


def test_rows_and_cells_without_their_reference_are_placed_as_spreadsheet_programs_read_them(tmp_path):
    """The r attributes are optional: a row without one follows the row before, a cell the cell before."""
    path = small(tmp_path, rows=6)
    reference = small(tmp_path / "ref" if (tmp_path / "ref").mkdir() is None else None, rows=6)
    service.check_file(reference, now=NOW)

    def strip(xml):
        xml = re.sub(rb'<row r="(\d+)"', lambda m: b"<row" if int(m.group(1)) > 1 else m.group(0), xml)
        # cells A–E of each case hold a value, one after the other: without r they still land in A–E
        return re.sub(rb'<c r="[A-E](\d+)"', lambda m: b"<c" if int(m.group(1)) > 1 else m.group(0), xml)

    patch_part(path, REGISTER, strip)
    assert service.check_file(path, now=NOW).rows == 6
    got, want = openpyxl.load_workbook(path)["退款登记"], openpyxl.load_workbook(reference)["退款登记"]
    for row in range(2, 8):
        assert [c.value for c in got[row]][21:30] == [c.value for c in want[row]][21:30], row


def test_rows_as_excel_writes_them_keep_their_namespaces(tmp_path):
    """Excel puts x14ac:dyDescent on every row and declares x14ac on the root: both stay, the file stays well formed."""
    from xml.etree import ElementTree

    path = small(tmp_path)
    mc = (b'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" '
          b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"')

    def excel_like(xml):
        xml = re.sub(rb"<worksheet ([^>]*)>", lambda m: b"<worksheet " + m.group(1) + b" " + mc + b">", xml, count=1)
        return re.sub(rb'<row r="(\d+)"', rb'<row r="\1" x14ac:dyDescent="0.25"', xml)

    patch_part(path, REGISTER, excel_like)
    service.check_file(path, now=NOW)
    xml = parts(path)[REGISTER]
    ElementTree.fromstring(xml)
    assert xml.count(b'x14ac:dyDescent="0.25"') == 21
    assert not service.check_file(path, now=NOW).saved


def test_no_merchant_cell_right_of_the_headers_is_written_over(tmp_path):
    """A header with nothing under it yet, and a formula column without a header (no cached values)."""
    path = small(tmp_path)
    header = '<c r="AG1" t="inlineStr"><is><t>跟进人</t></is></c>'.encode()
    formula = '<c r="AH2"><f>IF(A2="","","回访")</f></c>'.encode()

    def add(xml):
        xml = re.sub(rb'(<row r="1"[^>]*>.*?)</row>', lambda m: m.group(1) + header + b"</row>", xml, count=1, flags=re.S)
        return re.sub(rb'(<row r="2"[^>]*>.*?)</row>', lambda m: m.group(1) + formula + b"</row>", xml, count=1, flags=re.S)

    patch_part(path, REGISTER, add)
    service.check_file(path, now=NOW)
    ws = openpyxl.load_workbook(path)["退款登记"]
    assert ws["AG1"].value == "跟进人" and ws["AH2"].value == '=IF(A2="","","回访")'
    assert [t.ref for t in ws.tables.values()] == ["A1:AE21"]  # the Table does not swallow them


def register_in_a_table(tmp_path, extra=None):
    """Five cases with the input columns only, in an Excel Table named T; ``extra`` cells (row, column) → value."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "退款登记"
    ws.append([c.header for c in INPUT_COLUMNS])
    for case in sample_rows(NOW, 5, seed=2):
        ws.append([case.get(c.key) for c in INPUT_COLUMNS])
    for (row, col), value in (extra or {}).items():
        ws.cell(row, col, value)
    last = openpyxl.utils.get_column_letter(len(INPUT_COLUMNS))
    ws.add_table(openpyxl.worksheet.table.Table(displayName="T", ref=f"A1:{last}6"))
    path = tmp_path / "t.xlsx"
    wb.save(path)
    return path


def test_a_register_without_output_columns_gets_them_beside_a_table_that_grows_over_them(tmp_path):
    path = register_in_a_table(tmp_path)
    service.check_file(path, now=NOW)
    ws = openpyxl.load_workbook(path)["退款登记"]
    table = ws.tables["T"]
    end = openpyxl.utils.get_column_letter(len(INPUT_COLUMNS) + len(OUTPUT_COLUMNS))
    assert table.ref == f"A1:{end}6"
    assert [c.name for c in table.tableColumns][-len(OUTPUT_COLUMNS):] == [c.header for c in OUTPUT_COLUMNS]
    assert [ws.cell(1, col).value for col in range(len(INPUT_COLUMNS) + 1, len(INPUT_COLUMNS) + 11)] == [c.header for c in OUTPUT_COLUMNS]


def test_a_table_is_never_grown_over_a_merchant_column_right_of_it(tmp_path):
    """跟进人 stands one column right of the Table, with a gap: the outputs go right of it, outside the Table,
    and no header is invented for the merchant's empty header cells."""
    gap = len(INPUT_COLUMNS) + 2
    path = register_in_a_table(tmp_path, {(1, gap): "跟进人", (3, gap): "阿May"})
    last = openpyxl.utils.get_column_letter(len(INPUT_COLUMNS))
    service.check_file(path, now=NOW)
    ws = openpyxl.load_workbook(path)["退款登记"]
    assert ws.tables["T"].ref == f"A1:{last}6"
    assert ws.cell(1, len(INPUT_COLUMNS) + 1).value is None and ws.cell(1, gap).value == "跟进人"
    assert ws.cell(1, gap + 1).value == "处理建议" and ws.cell(3, gap).value == "阿May"


def test_a_filled_down_formula_in_an_output_column_goes_as_a_whole(tmp_path):
    """A shared formula whose first cell is replaced by a result would leave the others pointing at nothing."""
    path = small(tmp_path, rows=4)
    patch_part(path, REGISTER, lambda xml: re.sub(
        rb'<c r="AE([2-5])"[^>]*?(?:/>|>.*?</c>)',
        lambda m: (b'<c r="AE2"><f t="shared" ref="AE2:AE5" si="0">NOW()</f><v>1</v></c>' if m.group(1) == b"2"
                   else b'<c r="AE%s"><f t="shared" si="0"/><v>1</v></c>' % m.group(1)),
        xml, flags=re.S))
    service.check_file(path, now=NOW)
    xml = parts(path)[REGISTER]
    assert b't="shared"' not in xml
    assert openpyxl.load_workbook(path)["退款登记"]["AE3"].value == NOW


def test_a_new_now_that_moves_nothing_writes_nothing_and_keeps_the_backup(tmp_path):
    path = small(tmp_path)
    service.check_file(path, now=NOW)
    before = path.read_bytes()
    backups = sorted(p.name for p in tmp_path.iterdir() if ".bak" in p.name)
    result = service.check_file(path, now=datetime(2026, 11, 26, 18, 5))
    assert not result.saved and result.changed == 0
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if ".bak" in p.name) == backups


def test_checked_time_is_stamped_only_on_rows_whose_outputs_changed(tmp_path):
    path = small(tmp_path)
    service.check_file(path, now=NOW)
    first = [c.value for c in openpyxl.load_workbook(path)["退款登记"]["AE"][1:]]
    ws = openpyxl.load_workbook(path)["退款登记"]
    row = next(r for r in range(2, 22) if ws.cell(r, 22).value not in ("已完结", "信息不全", None))  # an open case
    typed = f'<c r="I{row}" t="inlineStr"><is><t>待确认</t></is></c>'.encode()
    patch_part(path, REGISTER, lambda xml: re.sub(rb'<c r="I%d"[^>]*?(?:/>|>.*?</c>)' % row, typed, xml, count=1, flags=re.S))
    later = datetime(2026, 11, 26, 19, 0)
    assert service.check_file(path, now=later).changed == 1  # 实付金额 of that row retyped as text
    stamped = [c.value for c in openpyxl.load_workbook(path)["退款登记"]["AE"][1:]]
    i = row - 2
    assert stamped[i] == later and stamped[:i] + stamped[i + 1 :] == first[:i] + first[i + 1 :]


def test_an_xlsm_keeps_its_macros_and_workbook_part(tmp_path):
    path = small(tmp_path)
    data = parts(path)
    data["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 not really a VBA project, kept as bytes"
    xlsm = tmp_path / "t.xlsm"
    with zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in data.items():
            z.writestr(name, content)
    service.check_file(xlsm, now=NOW)
    after = parts(xlsm)
    assert after["xl/vbaProject.bin"] == data["xl/vbaProject.bin"] and after["xl/workbook.xml"] == data["xl/workbook.xml"]


def test_output_text_is_written_inline_and_never_as_a_formula(tmp_path):
    path = small(tmp_path)
    patch_part(path, REGISTER, lambda xml: re.sub(rb'(<c r="C2"[^>]*?)(?:/>|>.*?</c>)', rb'<c r="C2" t="inlineStr"><is><t>=1+1</t></is></c>', xml, count=1, flags=re.S))
    service.check_file(path, now=NOW)
    xml = parts(path)[REGISTER]
    reply = cells(xml)["AD2"]
    assert b't="inlineStr"' in reply and b"<f>" not in reply and b"=1+1" in reply


def test_a_copy_with_out_leaves_the_input_byte_identical(tmp_path):
    path = small(tmp_path)
    before = path.read_bytes()
    copy = tmp_path / "copy.xlsx"
    service.check_file(path, out=copy, now=NOW)
    assert path.read_bytes() == before and copy.exists()
    shutil.copy(copy, tmp_path / "again.xlsx")
    assert not service.check_file(tmp_path / "again.xlsx", now=NOW).saved


# ------------------------------------------------------------------------------------------------ from a review


@pytest.mark.parametrize("column, formula", [
    (b"M", b'IFERROR(VLOOKUP(B22,Sheet9!A:C,3,0),"")'),  # 签收时间 looked up; the export brings none
    (b"O", b'IF(N22="","",N22+2)'),  # 平台截止时间 worked out; the export brings one for each new case
])
def test_import_never_writes_into_a_merchants_formula(tmp_path, column, formula):
    """A column filled down ahead of the cases with a formula that shows "" for now: the cases the import appends
    land on those rows, the rest of each case is written, and the formula (its first cell and its copies) stays."""
    from douyin import CASES, write_export

    path = small(tmp_path)
    first = b'<c r="%s22"><f t="shared" ref="%s22:%s24" si="0">%s</f><v></v></c>' % (column, column, column, formula)
    copy = b'<row r="%d"><c r="' + column + b'%d"><f t="shared" si="0"/><v></v></c></row>'
    ahead = first.join([b'<row r="22">', b"</row>"]) + b"".join(copy % (r, r) for r in (23, 24))
    patch_part(path, REGISTER, lambda xml: xml.replace(b"</sheetData>", ahead + b"</sheetData>"))
    plan = service.import_file(write_export(tmp_path / "e.csv", CASES), path)
    after = cells(parts(path)[REGISTER])
    assert len(plan.appends) == 3 and after["A22"] != b"" and after["N22"] != b"" and after[f"{column.decode()}22"] == first
    assert all(after[f"{column.decode()}{r}"] == b'<c r="%s%d"><f t="shared" si="0"/><v></v></c>' % (column, r)
               for r in (23, 24))


def test_a_sheet_of_the_merchants_named_like_the_dashboard_is_left_alone(tmp_path):
    path = small(tmp_path)
    patch_part(path, "xl/worksheets/sheet3.xml", lambda xml: re.sub(
        rb"<sheetData>.*</sheetData>", '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>我的月度统计</t></is></c></row></sheetData>'.encode(),
        xml, flags=re.S))
    mine = parts(path)["xl/worksheets/sheet3.xml"]
    service.check_file(path, now=NOW)
    wb = openpyxl.load_workbook(path)
    assert parts(path)["xl/worksheets/sheet3.xml"] == mine
    assert "售后统计" in wb.sheetnames and wb["售后统计"]["A1"].value == "售后统计"
    assert not service.check_file(path, now=NOW).saved  # and the next run finds its own dashboard there


def test_a_tables_totals_row_is_no_case(tmp_path):
    path = small(tmp_path, rows=4)
    patch_part(path, "xl/tables/table1.xml", lambda xml: xml.replace(b'ref="A1:AE5"', b'ref="A1:AE6" totalsRowCount="1"', 1))
    patch_part(path, REGISTER, lambda xml: xml.replace(
        b"</sheetData>", '<row r="6"><c r="A6" t="inlineStr"><is><t>汇总</t></is></c><c r="W6"><f>SUBTOTAL(109,W2:W5)</f><v>0</v></c></row></sheetData>'.encode()))
    total = cells(parts(path)[REGISTER])["W6"]
    assert service.check_file(path, now=NOW).rows == 4
    assert cells(parts(path)[REGISTER])["W6"] == total


@pytest.mark.parametrize("change", ["rows out of order", "outputs past XFD", "prefixed styles"])
def test_what_cannot_be_written_safely_is_refused_and_the_file_left_alone(tmp_path, change):
    from refund_sheet.errors import WorkbookError

    path = small(tmp_path)
    if change == "rows out of order":
        patch_part(path, REGISTER, lambda xml: xml.replace(b'<row r="3"', b'<row r="30"', 1))
    elif change == "outputs past XFD":  # a register without output columns, and a value of the merchant's in XFA2
        path = register_in_a_table(tmp_path, {(2, 16381): "mine"})
    else:
        patch_part(path, "xl/styles.xml", lambda xml: xml.replace(b"<styleSheet", b"<x:styleSheet").replace(b"</styleSheet>", b"</x:styleSheet>"))
    before = path.read_bytes()
    with pytest.raises(WorkbookError, match="文件未改动"):
        service.check_file(path, now=NOW)
    assert path.read_bytes() == before and not list(tmp_path.glob("*.bak-*"))


@pytest.mark.parametrize("row2", ['<c s="0" r="V2"/>', "<c/>"])
def test_an_output_cell_written_another_way_is_replaced_not_doubled(tmp_path, row2):
    """Attributes in another order, or a cell without its reference: the row is parsed, never given two V2."""
    path = small(tmp_path, rows=3)
    if row2 == "<c/>":  # a reference-less cell right after U2 is V2
        patch_part(path, REGISTER, lambda xml: re.sub(rb'(<c r="U2"[^>]*?(?:/>|>.*?</c>))', rb"\1<c/>", xml, count=1, flags=re.S))
    else:
        patch_part(path, REGISTER, lambda xml: re.sub(rb'(<c r="U2"[^>]*?(?:/>|>.*?</c>))', rb"\1" + row2.encode(), xml, count=1, flags=re.S))
    service.check_file(path, now=NOW)
    row = re.search(rb'<row r="2".*?</row>', parts(path)[REGISTER], re.S).group(0)
    assert row.count(b'r="V2"') == 1 and b"<c/>" not in row


def test_text_inside_cdata_that_looks_like_a_cell_is_left_alone(tmp_path):
    path = small(tmp_path, rows=3)
    text = b'<c r="C2" t="inlineStr"><is><t><![CDATA[<c r="V2"/>]]></t></is></c>'
    patch_part(path, REGISTER, lambda xml: re.sub(rb'<c r="C2"[^>]*?(?:/>|>.*?</c>)', text, xml, count=1, flags=re.S))
    service.check_file(path, now=NOW)
    row = re.search(rb'<row r="2".*?</row>', parts(path)[REGISTER], re.S).group(0)
    assert text in row and row.count(b'<c r="V2"') == 2  # the buyer's text, and the real decision cell


def test_cell_text_is_cut_to_excels_limit_in_utf16_units():
    from refund_sheet.engine.columns import EXCEL_MAX_TEXT, cell_text

    for text in ("😀" * 20000, "a" * 40000, "a😀" * 12000):
        cut = cell_text(text)
        assert len(cut.encode("utf-16-le")) // 2 <= EXCEL_MAX_TEXT and cut.endswith("…")
    assert cell_text("😀" * 100) == "😀" * 100


def test_rows_an_import_adds_get_the_tables_calculated_column(tmp_path):
    """净损失, a column of the merchant's with a calculated-column formula: new cases get it as Excel would give it
    to a row typed into the Table, so the merchant's totals over that column count them."""
    from douyin import CASES, write_export

    path = small(tmp_path)
    formula = "售后登记[[#This Row],[申请金额]]"
    column = f'<tableColumn id="32" name="净损失"><calculatedColumnFormula>{formula}</calculatedColumnFormula></tableColumn>'
    patch_part(path, "xl/tables/table1.xml", lambda xml: re.sub(
        rb'<tableColumns count="31">(.*)</tableColumns>', lambda m: b'<tableColumns count="32">' + m.group(1) + column.encode() + b"</tableColumns>",
        xml.replace(b'ref="A1:AE21"', b'ref="A1:AF21"'), flags=re.S))
    header = '<c r="AF1" t="inlineStr"><is><t>净损失</t></is></c>'.encode()

    def add_column(xml):
        xml = re.sub(rb'(<row r="1"[^>]*>.*?)</row>', lambda m: m.group(1) + header + b"</row>", xml, count=1, flags=re.S)
        for row in range(2, 22):
            cell = f"<c r=\"AF{row}\"><f>{formula}</f><v>1</v></c>".encode()
            xml = re.sub(rb'(<row r="%d"[^>]*>.*?)</row>' % row, lambda m, c=cell: m.group(1) + c + b"</row>", xml, count=1, flags=re.S)
        return xml

    patch_part(path, REGISTER, add_column)
    plan = service.import_file(write_export(tmp_path / "e.csv", CASES), path)
    after = cells(parts(path)[REGISTER])
    assert len(plan.appends) == 3
    assert all(f"<f>{formula}</f>".encode() in after[f"AF{row}"] for row in (22, 23, 24))
    assert openpyxl.load_workbook(path)["退款登记"].tables["售后登记"].ref == "A1:AF24"


def libre_order(path):
    """``path`` rewritten with styles.xml first, as LibreOffice orders a package."""
    data = parts(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ["xl/styles.xml"] + [n for n in data if n != "xl/styles.xml"]:
            z.writestr(name, data[name])
    return path


def test_a_register_after_styles_xml_is_written_once_in_its_place(tmp_path, monkeypatch):
    """LibreOffice writes styles.xml before the sheets: the register's new styles must be known before it is
    written, so it is written first into a temporary zip and its deflated bytes copied in its place — once, not
    streamed twice — and the file is the one the usual order gives, entry for entry."""
    from refund_sheet.workbook.write import SheetWriter

    usual = small(tmp_path, rows=60)
    data = parts(usual)
    libre = libre_order(shutil.copy(usual, tmp_path / "libre.xlsx"))
    order = list(parts(libre))
    assert order[0] == "xl/styles.xml"
    streams = []
    stream = SheetWriter.stream

    def counted(self, chunks, dimension, feed=None):
        streams.append(self)
        return stream(self, chunks, dimension, feed)

    monkeypatch.setattr(SheetWriter, "stream", counted)
    for path in (usual, libre):
        streams.clear()
        assert service.check_file(path, now=NOW).saved
        assert len(streams) == len({id(w) for w in streams})  # each sheet written once
    assert parts(libre)["xl/styles.xml"] != data["xl/styles.xml"]  # the run added styles the register uses
    with zipfile.ZipFile(libre) as z:
        assert z.testzip() is None
        assert [n for n in z.namelist() if n in data] == order  # 统计's charts are added after
    after_usual, after_libre = parts(usual), parts(libre)
    log = "xl/worksheets/sheet4.xml"  # 记录: its line holds the time the run ended
    assert {n: b for n, b in after_libre.items() if n != log} == {n: b for n, b in after_usual.items() if n != log}
    assert sum(1 for _ in openpyxl.load_workbook(libre)["记录"].iter_rows()) == 2


def test_without_room_for_temporary_files_the_sheet_is_spooled_beside_the_tracker(tmp_path, monkeypatch):
    import errno
    import io
    import tempfile

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    full: list[Full] = []
    beside: list[object] = []
    real = tempfile.TemporaryFile

    def temporary_file(*args, **kwargs):
        if kwargs.get("dir") is None and "prefix" not in kwargs:  # the writer's spool in the system's folder
            full.append(Full())
            return full[-1]
        beside.append(kwargs.get("dir"))
        return real(*args, **kwargs)

    usual = small(tmp_path, rows=30)
    folder = tmp_path / "shop"
    folder.mkdir()
    path = libre_order(shutil.copy(usual, folder / "tracker.xlsx"))
    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)
    assert service.check_file(path, now=NOW).saved
    assert full and all(f.closed for f in full)
    assert folder in beside
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("tracker.bak")) == ["tracker.xlsx"]
    monkeypatch.setattr(tempfile, "TemporaryFile", real)
    service.check_file(usual, now=NOW)
    assert parts(path)[REGISTER] == parts(usual)[REGISTER]


@pytest.mark.parametrize(("streamed", "zip64", "with_isal"), [(True, True, True), (True, False, False), (False, True, False)])
def test_a_spooled_sheet_is_the_usual_orders_when_deflated_by_isal_or_zlib_and_with_zip64(tmp_path, monkeypatch, streamed, zip64, with_isal):
    """The spool and the tracker's entry take the same way (ISA-L at its level or zlib, Zip64 headers or not):
    only the deflated bytes are copied, so the file is the usual order's whichever way that is."""
    from refund_sheet.workbook import deflate, write

    monkeypatch.setattr(write, "STREAMED_BIG", -1 if streamed else write.STREAMED_BIG)
    monkeypatch.setattr(write, "ZIP64_FROM", -1 if zip64 else write.ZIP64_FROM)
    if not with_isal:
        monkeypatch.setattr(deflate, "_isal", None)
    usual = small(tmp_path, rows=50)
    libre = libre_order(shutil.copy(usual, tmp_path / "libre.xlsx"))
    assert service.check_file(usual, now=NOW).saved and service.check_file(libre, now=NOW).saved
    with zipfile.ZipFile(libre) as z:
        assert z.testzip() is None
        info = z.getinfo(REGISTER)
    raw = libre.read_bytes()
    extra = int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + len(REGISTER)
    assert raw[start : start + extra][:2] == (b"\x01\x00" if zip64 else b"")  # the local header's Zip64 extra
    log = "xl/worksheets/sheet4.xml"
    assert {n: b for n, b in parts(libre).items() if n != log} == {n: b for n, b in parts(usual).items() if n != log}


def test_ctrl_c_while_a_spooled_sheet_is_copied_leaves_the_tracker_and_its_folder_as_they_were(tmp_path, monkeypatch):
    from refund_sheet.workbook import write

    folder = tmp_path / "shop"
    folder.mkdir()
    path = libre_order(shutil.copy(small(tmp_path, rows=30), folder / "tracker.xlsx"))
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(write, "copy_deflated", interrupted)
    with pytest.raises(KeyboardInterrupt):
        service.check_file(path, now=NOW)
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["tracker.xlsx"]
