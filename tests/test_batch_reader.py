"""The batch reader (issue 7): one ``Reader`` per run converts column by column and remembers each distinct value.
Whatever it remembers, a row must read exactly as it reads alone, and the engine must not change what it is given."""

from __future__ import annotations

import copy
import gc
from datetime import datetime
from decimal import Decimal

import pytest
from conftest import HEADERS, NOW, facts_of, row
from hypothesis import given, strategies as st
from test_properties import POLICY, cell

from refund_sheet.engine import judge_all
from refund_sheet.engine.batching import without_gc_pauses
from refund_sheet.engine.columns import map_headers
from refund_sheet.engine.parse import Reader, read_facts


def grid_of(rows: list[dict]) -> tuple[list[str], list[tuple[int, list]]]:
    headers = list(dict.fromkeys(h for r in rows for h in r))
    return headers, [(n, [r.get(h) for h in headers]) for n, r in enumerate(rows, start=2)]


def read_both(rows: list[dict]):
    """(one Reader over all rows, a fresh reader per row) for the same cells."""
    headers, numbered = grid_of(rows)
    found = map_headers(headers)
    letters = {key: chr(65 + i) for key, i in found.items()}
    together = Reader(found, letters, "退款登记", POLICY).read_all(numbered)
    alone = [read_facts(values, found, letters, "退款登记", n, POLICY) for n, values in numbered]
    return together, alone


# A column holding one of a few values on many rows, so the memo is hit, with values equal across types.
repeated = st.sampled_from([True, 1, 1.0, Decimal("1"), Decimal("1.00"), "1", " 1 ", False, 0, 0.0, "", "  ", None,
                            "#N/A", "是", "否", "2026-11-19 10:00", datetime(2026, 11, 19, 10), 46345, 46345.5,
                            "99.90", 99.9, "abc"])


@given(st.lists(st.dictionaries(st.sampled_from(HEADERS), repeated | cell, max_size=6), min_size=1, max_size=12))
def test_a_row_reads_the_same_in_a_batch_as_alone(changes):
    together, alone = read_both([row(售后单号=f"AS{i}") | c for i, c in enumerate(changes)])
    assert together == alone


@pytest.mark.parametrize(
    "header, values",
    [
        ("买家", [True, 1, 1.0, "1"]),  # equal as dict keys, but read as “True”, “1”, “1”, “1”
        ("实付金额", [1, True, 1.0, "1"]),  # True is not an amount
        ("凭证", [0, False, 0.0, "否"]),
    ],
)
def test_values_equal_across_types_are_not_confused(header, values):
    together, alone = read_both([row(**{header: v, "售后单号": f"AS{i}"}) for i, v in enumerate(values)])
    assert together == alone
    if header == "买家":
        assert [f.buyer for f in together] == ["True", "1", "1", "1"]
    if header == "实付金额":
        assert [bool(f.problems) for f in together] == [False, True, False, False]


class Text(str):
    """Text of a str subclass, as a caller other than the readers here might pass."""


def test_text_of_a_str_subclass_is_read_as_text():
    """Regression (review): blank and error checks looked for exactly str, so Text("  ") was “不是金额”."""
    [f] = read_both([row(签收时间=Text("  "), 运费=Text(" "), 凭证=Text("#N/A"), 售后类型="换货", 申请金额=Text(" "))])[0]
    assert (f.delivered_at, f.shipping_fee, f.evidence, f.requested) == (None, Decimal("0.00"), False, Decimal("0.00"))
    assert [(p.field, p.message) for p in f.problems] == [("凭证", "是 Excel 错误值 #N/A")]


def test_a_remembered_failure_is_reported_on_every_row_with_its_own_location():
    rows = [row(实付金额="九十九", 售后单号=f"AS{i}") for i in range(3)]
    together, _ = read_both(rows)
    letter = chr(65 + grid_of(rows)[0].index("实付金额"))
    assert [str(f.problems[0]) for f in together] == [f"退款登记!{letter}{n}: 实付金额 “九十九” 不是金额" for n in (2, 3, 4)]


def test_reading_in_parts_with_one_reader_gives_what_one_pass_gives():
    rows = [row(售后单号=f"AS{i}", 实付金额=["99", "#N/A", 99.0][i % 3]) for i in range(30)]
    headers, numbered = grid_of(rows)
    found = map_headers(headers)
    reader = Reader(found, {}, "退款登记", POLICY)
    parts = reader.read_all(numbered[:7]) + reader.read_all(numbered[7:])
    assert parts == Reader(found, {}, "退款登记", POLICY).read_all(numbered)


def test_judging_leaves_the_facts_as_they_were():
    """Facts and Verdict are plain slotted records (not frozen, for speed): the engine must never change them."""
    facts = facts_of([row(售后单号=f"AS{i}", 买家="小王") for i in range(4)] + [row(实付金额="abc")])
    before = copy.deepcopy(facts)
    verdicts = judge_all(facts, POLICY, NOW)
    assert facts == before
    again = copy.deepcopy(verdicts)
    judge_all(facts, POLICY, NOW)
    assert verdicts == again


def test_the_collector_is_paused_only_while_a_batch_is_built_and_restored_after_an_error():
    seen = []

    @without_gc_pauses
    def build(fail: bool):
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("boom")

    assert gc.isenabled()
    build(False)
    with pytest.raises(RuntimeError):
        build(True)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        build(False)  # a caller that paused it itself keeps it paused
        assert not gc.isenabled()
    finally:
        gc.enable()
