"""The fast path (calamine read, streamed write) gives the same workbook as the openpyxl path, cell by cell."""

import shutil
from copy import copy
from datetime import datetime

import openpyxl
import pytest
from libreoffice import convert

from refund_sheet import service
from refund_sheet.samples import sample_rows
from refund_sheet.workbook.build import build_tracker, deterministic_bytes

NOW = datetime(2026, 11, 26, 18, 0)


def assert_same_workbook(a_path, b_path):
    """Every sheet, cell value, data type, number format, font, fill, border, alignment; tables, validation,
    conditional formatting, merged cells, column widths, frozen panes and defined names. Only 记录's time column
    (the wall clock of each run) may differ."""
    a, b = openpyxl.load_workbook(a_path), openpyxl.load_workbook(b_path)
    assert a.sheetnames == b.sheetnames
    assert sorted(a.defined_names) == sorted(b.defined_names)
    for name in a.sheetnames:
        wa, wb = a[name], b[name]
        assert (wa.max_row, wa.max_column) == (wb.max_row, wb.max_column), name
        for ra, rb in zip(wa.iter_rows(), wb.iter_rows()):
            for ca, cb in zip(ra, rb):
                where = f"{name}!{ca.coordinate}"
                if name == "记录" and ca.column == 1 and ca.row > 1:
                    continue  # the run's wall-clock time, never the same for two runs
                assert (ca.value, ca.data_type, ca.number_format) == (cb.value, cb.data_type, cb.number_format), where
                for part in ("font", "fill", "border", "alignment", "protection"):
                    assert copy(getattr(ca, part)) == copy(getattr(cb, part)), (where, part)
        assert [(t.name, t.ref, [c.name for c in t.tableColumns]) for t in wa.tables.values()] == [
            (t.name, t.ref, [c.name for c in t.tableColumns]) for t in wb.tables.values()
        ]
        assert [(str(v.sqref), v.formula1) for v in wa.data_validations.dataValidation] == [
            (str(v.sqref), v.formula1) for v in wb.data_validations.dataValidation
        ]
        assert [(str(c.sqref), [r.formula for r in c.rules]) for c in wa.conditional_formatting] == [
            (str(c.sqref), [r.formula for r in c.rules]) for c in wb.conditional_formatting
        ]
        assert sorted(map(str, wa.merged_cells.ranges)) == sorted(map(str, wb.merged_cells.ranges))
        assert {k: d.width for k, d in wa.column_dimensions.items()} == {k: d.width for k, d in wb.column_dimensions.items()}
        assert wa.freeze_panes == wb.freeze_panes


@pytest.fixture(scope="module")
def tracker(tmp_path_factory):
    """A mid-size tracker as a merchant has it after some weeks: 600 cases, an extra column of their own,
    manual decisions, closed cases with earlier results, and a first check already done."""
    folder = tmp_path_factory.mktemp("fast")
    path = folder / "tracker.xlsx"
    path.write_bytes(deterministic_bytes(build_tracker(sample_rows(NOW, 600, seed=7))))
    wb = openpyxl.load_workbook(path)
    ws = wb["退款登记"]
    ws.cell(1, ws.max_column + 1, "跟进人")
    for row in range(2, ws.max_row + 1, 7):
        ws.cell(row, ws.max_column, "阿May")
    wb.save(path)
    service.check_file(path, now=datetime(2026, 11, 25, 9, 0), engine="openpyxl")
    return path


def run_both(source, tmp_path, now=NOW):
    """The same file checked by each path (same name, so 记录's file column agrees)."""
    (tmp_path / "slow").mkdir()
    (tmp_path / "fast").mkdir()
    slow, quick = tmp_path / "slow" / "tracker.xlsx", tmp_path / "fast" / "tracker.xlsx"
    shutil.copy(source, slow)
    shutil.copy(source, quick)
    a = service.check_file(slow, now=now, engine="openpyxl")
    b = service.check_file(quick, now=now, engine="fast")
    assert (a.rows, a.changed, a.by_decision, a.overdue, a.errors) == (b.rows, b.changed, b.by_decision, b.overdue, b.errors)
    return slow, quick


def test_the_fast_path_writes_what_the_openpyxl_path_writes(tracker, tmp_path):
    slow, quick = run_both(tracker, tmp_path)
    assert_same_workbook(slow, quick)


def test_the_fast_path_is_idempotent_too(tracker, tmp_path):
    _, quick = run_both(tracker, tmp_path)
    before = quick.read_bytes()
    again = service.check_file(quick, now=NOW, engine="fast")
    assert again.changed == 0 and not again.saved and quick.read_bytes() == before


@pytest.mark.libreoffice
def test_shared_strings_from_a_file_saved_by_a_spreadsheet_program(tracker, tmp_path):
    """Excel and LibreOffice store text as shared strings (openpyxl writes inline strings): round-trip the
    tracker through LibreOffice, then both paths must still agree."""
    saved = convert(tracker, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    import zipfile

    assert "xl/sharedStrings.xml" in zipfile.ZipFile(saved).namelist()
    slow, quick = run_both(saved, tmp_path)
    assert_same_workbook(slow, quick)


def test_error_cells_are_still_reported_as_errors(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(deterministic_bytes(build_tracker(sample_rows(NOW, 30, seed=1))))
    wb = openpyxl.load_workbook(path)
    ws = wb["退款登记"]
    ws["I5"] = "#N/A"
    ws["I5"].data_type = "e"
    wb.save(path)
    slow, quick = run_both(path, tmp_path)
    assert "退款登记!I5: 实付金额 是 Excel 错误值 #N/A" in openpyxl.load_workbook(quick)["退款登记"]["AC5"].value
    assert_same_workbook(slow, quick)


def test_a_file_the_fast_path_cannot_take_is_checked_the_openpyxl_way(tmp_path):
    """The register on a sheet not named 退款登记, under title rows: the fast path steps aside."""
    rows = sample_rows(NOW, 5, seed=3)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "十一月"
    for _ in range(3):
        ws.append(["十一月售后"])
    from refund_sheet.engine.columns import INPUT_COLUMNS

    ws.append([c.header for c in INPUT_COLUMNS])
    for r in rows:
        ws.append([r.get(c.key) for c in INPUT_COLUMNS])
    wb.save(tmp_path / "t.xlsx")
    from refund_sheet import workbook as wbk

    assert type(wbk.load_register(tmp_path / "t.xlsx")).__name__ == "Loaded"
    with pytest.raises(Exception, match="快速读写不适用"):
        wbk.load_register(tmp_path / "t.xlsx", engine="fast")
    assert service.check_file(tmp_path / "t.xlsx", now=NOW).rows == 5


# ------------------------------------------------------------------------------------------------ review findings


def _patch_sheet(path, change):
    """Rewrite the register's sheet XML inside the package (what another program would have written)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = change(parts["xl/worksheets/sheet1.xml"], re)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _small(tmp_path, rows=20):
    path = tmp_path / "source.xlsx"
    path.write_bytes(deterministic_bytes(build_tracker(sample_rows(NOW, rows, seed=5))))
    return path


def test_rows_as_excel_writes_them_keep_their_namespaces(tmp_path):
    """Excel puts x14ac:dyDescent on every row and declares x14ac on the root: streamed rows need it declared."""
    from xml.etree import ElementTree

    source = _small(tmp_path)
    mc = (b'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" '
          b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"')

    def excel_like(xml, re):
        xml = re.sub(rb"<worksheet ([^>]*)>", lambda m: b"<worksheet " + m.group(1) + b" " + mc + b">", xml, count=1)
        return re.sub(rb'<row r="(\d+)"', rb'<row r="\1" x14ac:dyDescent="0.25"', xml)

    _patch_sheet(source, excel_like)
    slow, quick = run_both(source, tmp_path)
    import zipfile

    ElementTree.fromstring(zipfile.ZipFile(quick).read("xl/worksheets/sheet1.xml"))  # well-formed
    assert_same_workbook(slow, quick)
    assert service.check_file(quick, now=NOW, engine="fast").changed == 0  # and it opens again


def test_no_merchant_cell_right_of_the_headers_is_written_over(tmp_path):
    """A header with nothing under it yet, and a formula column without a header (no cached values)."""
    source = _small(tmp_path)
    wb = openpyxl.load_workbook(source)
    ws = wb["退款登记"]
    ws["AG1"] = "跟进人"
    for row in range(2, 8):
        ws.cell(row, 34, f'=IF(A{row}="","","回访")')  # AH, no header
    wb.save(source)
    slow, quick = run_both(source, tmp_path)
    assert_same_workbook(slow, quick)
    ws = openpyxl.load_workbook(quick)["退款登记"]
    assert ws["AG1"].value == "跟进人" and ws["AH3"].value == '=IF(A3="","","回访")'


def test_a_filled_down_formula_in_an_output_column_sends_the_file_to_openpyxl(tmp_path):
    source = _small(tmp_path)
    _patch_sheet(source, lambda xml, re: xml.replace(
        b'<c r="AE2"', b'<c r="AE2"><f t="shared" ref="AE2:AE5" si="0">NOW()</f></c><c r="AF2"', 1))
    from refund_sheet import workbook as wbk

    with pytest.raises(Exception, match="a shared formula"):
        wbk.load_register(source, engine="fast")
    assert type(wbk.load_register(source)).__name__ == "Loaded"


@pytest.mark.libreoffice
def test_formulas_in_input_columns_are_judged_on_their_values_by_both_paths(tmp_path):
    """实付金额 =J2+0 (a merchant's formula): both paths read what Excel shows, the computed value."""
    source = _small(tmp_path, rows=8)
    wb = openpyxl.load_workbook(source)
    ws = wb["退款登记"]
    for row in range(2, 10):
        ws.cell(row, 9, f"=J{row}+0")  # 实付金额 = 申请金额
    wb.save(source)
    saved = convert(source, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")  # LibreOffice stores the values
    first = tmp_path / "first.xlsx"
    shutil.copy(saved, first)
    assert not any("实付金额" in e for e in service.check_file(first, now=NOW, engine="openpyxl").errors)
    slow, quick = run_both(saved, tmp_path)  # run_both also compares the two paths' errors
    assert_same_workbook(slow, quick)
