"""The writer's fast way with a row the bulk writes (``SheetWriter._bulk_row``: split on ``<c r="``, merged by a
plan made once per sequence of columns) gives exactly the bytes of its general way (``SheetWriter._row``, cell by
cell), on rows of every shape: cells missing or present, styled or not, merchant cells between and after the output
columns, white space between cells, values of every kind the run writes."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from xml.sax.saxutils import escape

from hypothesis import given, settings, strategies as st

from refund_sheet.engine.columns import column_letter
from refund_sheet.workbook.write import BulkRows, SheetEdit, SheetWriter, Styles, text_xml

STYLES = (
    b'<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    b'<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
    b'<cellXfs count="4"><xf numFmtId="0" fontId="0"/><xf numFmtId="0" fontId="0" fillId="0"/>'
    b'<xf numFmtId="164" fontId="0"/><xf numFmtId="4" fontId="0"/></cellXfs></styleSheet>'
)
VALUES = [
    "退货退款", "", None, "a & b <c>", " leading space", "line\nbreak", "=SUM(A1)", "x" * 80, "_x000D_ text",
    Decimal("109.30"), Decimal("0"), Decimal("20"), datetime(2026, 11, 26, 18, 0), datetime(2026, 11, 27, 9, 30, 15),
    "好" * 200, "tab\there", "\x01control\x0b", "trailing ", "\u3000全角空格", "carriage\rreturn",
    datetime(2026, 11, 26, 18, 0, tzinfo=timezone(timedelta(hours=8))),
    datetime(2026, 11, 26, 10, 0, tzinfo=UTC),  # the same moment as the one before: a different cell
]
OLD_CELLS = [
    '<c r="{ref}"{s}/>', '<c r="{ref}"{s}></c>', '<c r="{ref}"{s} t="n"></c>', '<c r="{ref}"{s}><v>12.5</v></c>',
    '<c r="{ref}"{s} t="inlineStr"><is><t>旧的</t></is></c>', '<c r="{ref}"{s} t="s"><v>3</v></c>',
    '<c r="{ref}"{s}><f>A1+1</f><v>2</v></c>',
]


def row_xml(number: int, cells: dict[int, tuple[int, int | None]], space: str) -> bytes:
    parts = []
    for column in sorted(cells):
        kind, style = cells[column]
        s = f' s="{style}"' if style is not None else ""
        parts.append(OLD_CELLS[kind].format(ref=f"{column_letter(column)}{number}", s=s))
    return f'<row r="{number}" spans="1:40">{space.join(parts)}{space if parts else ""}</row>'.encode()


@st.composite
def cases(draw):
    columns = draw(st.sets(st.integers(1, 40), min_size=1, max_size=12))
    keys = [f"k{i}" for i in range(len(columns))]
    fmts = draw(st.lists(st.sampled_from([None, "yyyy-mm-dd hh:mm", "#,##0.00", "@"]), min_size=len(keys), max_size=len(keys)))
    places = [(key, column, fmt) for key, column, fmt in zip(keys, sorted(columns), fmts)]
    rows = []
    for number in range(2, 2 + draw(st.integers(1, 6))):
        present = draw(st.dictionaries(st.integers(1, 45), st.tuples(st.integers(0, len(OLD_CELLS) - 1),
                                                                       st.sampled_from([None, 0, 1, 2, 3])), max_size=25))
        values = draw(st.dictionaries(st.sampled_from(keys), st.sampled_from(VALUES), max_size=len(keys)))
        rows.append((number, present, values, draw(st.sampled_from(["", "", "\n    "]))))
    col_styles = draw(st.dictionaries(st.integers(1, 45), st.integers(0, 3), max_size=5))
    return places, rows, col_styles


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_fast_way_gives_the_general_ways_bytes(case):
    places, rows, col_styles = case
    by_row = {number: values for number, _, values, _ in rows}
    fast_edit = SheetEdit(col_styles=dict(col_styles), bulk=BulkRows(by_row, places))
    slow_edit = SheetEdit(col_styles=dict(col_styles), bulk=BulkRows(by_row, places))
    fast = SheetWriter(fast_edit, Styles(STYLES), False)
    slow = SheetWriter(slow_edit, Styles(STYLES), False)
    for number, present, values, space in rows:
        xml = row_xml(number, present, space)
        expected = slow._row(number, xml, slow_edit.row(number), {})
        assert fast._changed(number, xml) == expected, (xml, values)  # the fast way, or the general one it left
    assert fast.styles.result() == slow.styles.result()


def test_the_fast_way_takes_the_usual_rows():
    """A fresh tracker's row and a checked one's are taken by the fast way (not left to the general one)."""
    places = [(f"k{i}", 19 + i, None) for i in range(13)]
    present = {c: (0 if c > 18 else 4, 3) for c in [*range(1, 19), 23, 25, 29, 30, 31]}
    edit = SheetEdit(bulk=BulkRows({5: {"k0": "a"}}, places))
    writer = SheetWriter(edit, Styles(STYLES), False)
    assert writer._bulk_row(5, row_xml(5, present, ""), {"k0": "a"}) is not None
    random.seed(1)
    checked = {c: (random.choice([3, 4]), 1) for c in range(1, 32)}
    assert writer._bulk_row(6, row_xml(6, checked, ""), {"k0": "b", "k3": None}) is not None


def text_xml_before(text: str) -> bytes:
    """text_xml as it was before its one-search fast path, kept as the oracle."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", text)
    if "_x" in text:
        text = re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", text)
    body = escape(text, {"\r": "&#13;"}) if re.search(r"[&<>\r]", text) else text
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f"<t{space}>{body}</t>".encode("utf-8", "replace")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab好 _x0041_&<>\r\n\t\x01\x0b\u3000\ufffe😀") + ["\ud800"]), max_size=30))
def test_text_xml_is_what_it_was(text):
    assert text_xml(text) == text_xml_before(text)
