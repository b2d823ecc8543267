"""One test per bug the reliability work (issue 8) found, named after the bug. Each failed before its fix."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import NOW, judge_row, judge_rows, row

from refund_sheet.engine import Decision
from refund_sheet.engine.money import parse_money


# ------------------------------------------------------------------------------------------------ engine


@pytest.mark.parametrize("column", ["申请时间", "签收时间", "退货签收时间", "平台截止时间"])
@pytest.mark.parametrize("text", ["9999-12-31 23:00", "0001-01-01 00:00", "1899-12-31"])
def test_bug_a_date_in_year_9999_or_1_crashed_the_whole_batch_with_overflow(column, text):
    """Found by hypothesis: `申请时间 9999-12-31 23:00` + 48 h raised OverflowError and no row was judged."""
    good, bad = judge_rows([row(售后单号="AS1"), row(售后单号="AS2", 订单号="O2", **{column: text})], NOW)
    assert good.decision is Decision.RETURN_REFUND
    assert bad.decision is Decision.INCOMPLETE and "年份" in bad.explanation and column in bad.explanation


def test_bug_a_time_zone_offset_beyond_24_hours_is_a_cell_error():
    verdict = judge_row(申请时间="2026-11-18T09:00:00+99:00")
    assert verdict.decision is Decision.INCOMPLETE and "申请时间" in verdict.explanation


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")])
def test_bug_a_decimal_nan_in_a_money_cell_raised_invalid_operation(value):
    """Found by hypothesis through check_grid (the library path the Excel front uses): Decimal('NaN') < 0 raised."""
    with pytest.raises(ValueError, match="不是金额"):
        parse_money(value)
    assert judge_row(实付金额=value).decision is Decision.INCOMPLETE
