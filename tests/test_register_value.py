"""The register reader's short ways for the usual cells it has not met before (``package._register_value``: an
inline text, a buyer's name as character references, a number under a date format) give what
``CellValues.value`` gives for the same cell, whichever way they take (or raise what it raises)."""

from __future__ import annotations

from datetime import datetime

import pytest

from refund_sheet.errors import WorkbookError
from refund_sheet.workbook import package
from refund_sheet.workbook.package import CellError, CellValues, _register_value


def _reference(values: CellValues, tail: bytes) -> object:
    value = values.value(b"<c" + tail)
    if value is None:
        return ""
    return str(value) if isinstance(value, CellError) else value


TAILS = [
    b' s="3" t="inlineStr"><is><t>7012221078111121553</t></is></c>',
    b' t="inlineStr"><is><t>&#31958;&#31958;5335</t></is></c>',
    b' t="inlineStr"><is><t>20000mAh&#20805;&#30005;&#23453;</t></is></c>',
    b' t="inlineStr"><is><t>a &amp; b &lt;c&gt;</t></is></c>',
    b' t="inlineStr"><is><t>&#25991;&#25991;&#25991;&#25991;&#25991;&#25991;&#25991;&#25991;x</t></is></c>',
    b' t="inlineStr"><is><t>line\r\nnext\rlast</t></is></c>',
    b' t="inlineStr"><is><t>  padded  </t></is></c>',
    b' t="inlineStr"><is><t> &#31958; </t></is></c>',
    b' t="inlineStr"><is><t>x_x000D_y</t></is></c>',
    b' t="inlineStr"><is><t>&#x5F;x000D_&#95;</t></is></c>',
    b' t="inlineStr"><is><t xml:space="preserve">  kept  </t></is></c>',
    b' t="inlineStr"><is><r><t>rich</t></r><r><t> text</t></r></is></c>',
    b' t="inlineStr"><is><t></t></is></c>',
    b' x=">" t="inlineStr"><is><t>odd attribute</t></is></c>',
    b' s="5" t="n"><v>46344.62515046296</v></c>',
    b' s="5"><v>46350</v></c>',
    b' s="5" t="n"><v>0.25</v></c>',
    b' s="5" t="n"><v>59.5</v></c>',
    b' s="5" t="n"><v>-3</v></c>',
    b' s="5" t="n"><v>1e300</v></c>',
    b' s="5" t="n"><v>inf</v></c>',
    b' s="5" t="n"><v>nan</v></c>',
    b' s="7" t="n"><v>1.5</v></c>',
    b' s="4" t="n"><v>118.7</v></c>',
    b' t="n"><v>1_000</v></c>',
    b' t="n"><v> 12</v></c>',
    b' t="n"><v>12 </v></c>',
    b' t="n"><v></v></c>',
    b' t="n"><v>&#49;2</v></c>',
    b'><v>0x10</v></c>',
    b' t="n"><v>abc</v></c>',
    b'><v>abc</v></c>',
    b' t="str"><v>46344.5</v></c>',
    b' s="5" t="str"><v>46344.5</v></c>',
    b' t="s"><v>1</v></c>',
    b' t="b"><v>1</v></c>',
    b' t="e"><v>#N/A</v></c>',
    b' t="d"><v>2026-11-20T10:00:00</v></c>',
    b' s="5" r="B7" t="n"><v>46344.5</v></c>',
    b' s="5" s="5" t="n"><v>46344.5</v></c>',
    b' s="99" t="n"><v>46344.5</v></c>',
    b' s="5" t="n"><f>A1+1</f><v>46344.5</v></c>',
    b' s="5" t="n"/>',
    b' s="5" t="n"></c>',
]


@pytest.mark.parametrize("date1904", [False, True])
def test_a_missed_cell_reads_as_cell_values_reads_it(date1904):
    # cell formats: 0 general, 4 a number, 5 a date-time, 6 a date, 7 a duration ([h]:mm)
    values = CellValues(["zero", "one"], [package.OTHER] * 5 + [package.DATETIME, package.DATETIME, package.TIMEDELTA],
                        date1904)
    for tail in TAILS:
        try:
            expected = _reference(values, tail)
        except WorkbookError as error:
            with pytest.raises(WorkbookError) as raised:
                _register_value(values, tail)
            assert str(raised.value) == str(error)
            continue
        got = _register_value(values, tail)
        assert type(got) is type(expected), tail
        assert got == expected or (got != got and expected != expected), tail
    assert isinstance(_register_value(values, TAILS[14]), datetime)
