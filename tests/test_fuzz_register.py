"""Fuzzed registers (issue 8): real .xlsx files with hostile cells in every column and hostile layouts — wrong
types, huge strings, control characters, Excel error values, formulas, merged cells, hidden rows, a header row
repeated mid-sheet, blank rows, a cell at row 1,048,576.

Whatever the file, ``check`` either judges every row (bad cells become 信息不全 rows naming the cell) or refuses in
one line with nothing written; it never raises anything else, never touches an input cell, and a second run with
the same "now" changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import openpyxl
from conftest import HEADERS, NOW, row
from hypothesis import event, given, strategies as st
from hypothesis_profiles import examples

from refund_sheet import service
from refund_sheet.engine.model import Decision
from refund_sheet.errors import RefundSheetError

ERRORS = ["#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!"]
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"), max_size=60)
cell = st.one_of(
    st.none(),
    printable,
    st.sampled_from(ERRORS + ["=1/0", "=A1&B1", "=HYPERLINK(\"http://x\",\"点我\")", "+86 138", "-5", "@SUM(A1)", "{{ 7*7 }}",
                              "{% for x in range(9) %}x{% endfor %}", "'6923456789012345678", "9999-12-31 23:59", "0001-01-01",
                              "2026-02-30", "是", "否", "已完结", "仅退款", "¥1,299.00", "1e400", "NaN", " ", ""]),
    st.just("长" * 33_000),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(min_value=-9.99e307, max_value=9.99e307),  # Excel's range (1.79e308 comes back as inf from openpyxl)
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)),
    st.dates(min_value=date(1900, 3, 1)),
    st.times(),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
)


@st.composite
def registers(draw):
    """Rows of the register (starting from a valid case, any columns replaced) and a layout to apply."""
    rows = []
    for i in range(draw(st.integers(1, 6))):
        data = dict(row(售后单号=f"AS{i}", 订单号=f"O{i}"))
        for header in draw(st.sets(st.sampled_from(HEADERS))):
            data[header] = draw(cell)
        rows.append(data)
    layout = draw(st.sets(st.sampled_from(["merge", "hide", "header again", "blank rows", "far down", "title above"])))
    for name in sorted(layout):
        event(f"layout {name}")
    return rows, layout, draw(st.randoms(use_true_random=False))


def build(path, rows, layout, rnd):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "退款登记"
    if "title above" in layout:
        ws.append(["十一月售后登记"])
    ws.append(HEADERS)
    header_row = ws.max_row
    for data in rows:
        if "blank rows" in layout and rnd.random() < 0.5:
            ws.append([])
            ws.append([None, "   "])
        if "header again" in layout and rnd.random() < 0.3:
            ws.append(HEADERS)
        ws.append([data.get(h) for h in HEADERS])
        for c in ws[ws.max_row]:
            if isinstance(c.value, str) and not c.value.startswith("=") and c.value not in ERRORS:
                c.data_type = "s"
    last = ws.max_row
    if "hide" in layout:
        for r in range(header_row + 1, last + 1):
            ws.row_dimensions[r].hidden = rnd.random() < 0.5
    if "merge" in layout and last > header_row:
        top = rnd.randint(header_row + 1, last)
        left = rnd.randint(1, len(HEADERS) - 1)
        ws.merge_cells(start_row=top, start_column=left, end_row=rnd.randint(top, last), end_column=rnd.randint(left, len(HEADERS)))
    if "far down" in layout:
        ws.cell(1_048_576, rnd.randint(1, len(HEADERS))).value = "AS-far"
    wb.save(path)
    return header_row


def values(path):
    ws = openpyxl.load_workbook(path)["退款登记"]
    return {key: c.value for key, c in ws._cells.items() if c.value is not None}, ws  # iter_rows would create cells


@given(registers())
@examples(0.2)
def test_a_hostile_register_gives_row_errors_or_a_one_line_refusal(tmp_path_factory, register):
    rows, layout, rnd = register
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "t.xlsx"
    header_row = build(path, rows, layout, rnd)
    before_files = {p.name: p.read_bytes() for p in folder.iterdir()}
    before, _ = values(path)
    try:
        result = service.check_file(path, now=NOW)
    except RefundSheetError as refusal:
        event(f"refused: {str(refusal)[:12]}")
        assert "\n" not in str(refusal)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before_files  # nothing written
        return
    after, ws = values(path)
    width = len(HEADERS)
    # not one input cell changed (values beyond the headers included)
    assert {k: v for k, v in after.items() if k[1] <= width or k[0] < header_row} == {
        k: v for k, v in before.items() if k[1] <= width or k[0] < header_row
    }
    headers = {ws.cell(header_row, c).value: c for c in range(1, ws.max_column + 1)}
    decision_col, amount_col = headers["处理建议"], headers["退款金额"]
    labels = {d.value for d in Decision}
    for (r, _c) in {k for k in before if k[0] > header_row and k[1] <= width}:
        if any((isinstance(before.get((r, col)), str) and before[(r, col)].strip()) or
               (before.get((r, col)) is not None and not isinstance(before.get((r, col)), str)) for col in range(1, width + 1)):
            assert ws.cell(r, decision_col).value in labels, (r, ws.cell(r, decision_col).value)
            amount = ws.cell(r, amount_col).value
            assert amount is None or (isinstance(amount, (int, float)) and amount >= 0)
    for text in result.errors:
        assert text.startswith("信息不全（") and "退款登记!" in text
    for c in range(1, ws.max_column + 1):
        for r in range(header_row + 1, min(ws.max_row, header_row + 30) + 1):
            v = ws.cell(r, c).value
            assert not (isinstance(v, str) and len(v) > 32_767)
    event(f"rows judged {min(result.rows, 5)}{'+' if result.rows > 5 else ''}")
    # idempotent even on hostile content: a second run with the same "now" does not touch the file
    saved = path.read_bytes()
    again = service.check_file(path, now=NOW)
    assert again.changed == 0 and path.read_bytes() == saved

