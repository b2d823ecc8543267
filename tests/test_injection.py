"""Injection (issue 8): customer text is data everywhere it goes.

- Text starting with = + - @ tab or CR, in any column a customer controls, never becomes a formula in any cell of
  any sheet a run writes (register, and whatever else the run rebuilds), whether it came in through the register
  or through ``import`` of the platform's CSV. (refund-sheet writes no CSV, so there is no CSV output to guard.)
- ``{{ }}`` and ``{% %}`` typed by a customer are never evaluated, in replies or explanations.
- A merchant's template cannot reach Python internals through the sandbox.

tests/test_check_file.py (a formula in 买家 and 备注) and tests/test_replies.py (customer text in buyer and product,
three sandbox escapes) hold the first examples; these widen them to every prefix, every text column, both input
paths, and more escapes.
"""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest
from conftest import NOW, read_register, row, write_register
from douyin import export_row, write_export

from refund_sheet import service
from refund_sheet.engine import default_policy
from refund_sheet.replies import ERROR_MARK, make_renderer
from refund_sheet.samples import decision_samples
from refund_sheet.workbook.build import build_tracker, deterministic_bytes

PREFIXES = ["=", "+", "-", "@", "\t=", "\r="]
PAYLOAD = 'HYPERLINK("http://evil.example/EVIL","点我")'
# the register columns a customer's words or the platform's export reach, and which output each flows into
CUSTOMER_COLUMNS = ["售后单号", "买家", "商品名称", "商品类目", "售后原因", "备注", "处理状态", "商家编码"]


def formulas_with_marker(path) -> list[str]:
    """Every <f> element, in every worksheet of the package, that carries the attacker's marker."""
    found = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                found += [f for f in re.findall(r"<f[^>]*>(.*?)</f>", z.read(name).decode("utf-8"), re.S) if "EVIL" in f]
    return found


def text_cells_with_marker(path):
    wb = openpyxl.load_workbook(path)
    return [(ws.title, c.coordinate, c.data_type, c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r
            if isinstance(c.value, str) and "EVIL" in c.value]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_customer_text_never_becomes_a_formula_in_any_sheet(tmp_path, prefix):
    attack = prefix + PAYLOAD
    rows = [row(**{"售后单号": f"AS{i}", "订单号": "O1", "商家编码": "SKU", column: attack}) for i, column in enumerate(CUSTOMER_COLUMNS)]
    rows.append(row(售后单号=attack, 订单号="O1", 商家编码="SKU"))  # its ID is quoted in the others' 风险提示 (重复售后单)
    path = write_register(tmp_path / "t.xlsx", rows)
    tracker = tmp_path / "tracker.xlsx"
    tracker.write_bytes(deterministic_bytes(build_tracker([])))
    for target in (path, tracker):
        if target == tracker:  # the same rows through the built tracker (统计 and 记录 are rebuilt by a run)
            wb = openpyxl.load_workbook(tracker)
            ws = wb["退款登记"]
            header = {c.value: c.column for c in ws[1]}
            for r, data in enumerate(rows, start=2):
                for key, value in data.items():
                    if key in header:
                        ws.cell(r, header[key]).value = value
                        ws.cell(r, header[key]).data_type = "s"
            wb.save(tracker)
        service.check_file(target, now=NOW)
        assert formulas_with_marker(target) == []
        cells = text_cells_with_marker(target)
        assert cells and all(data_type == "s" for _, _, data_type, _ in cells), cells
        outputs = {sheet for sheet, *_ in cells}
        assert "退款登记" in outputs
    saved = read_register(path)
    # (cells are stripped of surrounding white space when read, so a leading tab or CR does not reach the outputs)
    assert any(PAYLOAD in (r["回复话术"] or "") for r in saved)  # the buyer's name, quoted in the reply
    assert any(PAYLOAD in (r["判定依据"] or "") for r in saved)  # an unknown reason or category, quoted
    assert any("EVIL" in (r["风险提示"] or "") for r in saved)  # the ID (a leading = is cleaned off IDs), quoted


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_formulas_in_an_imported_export_stay_text(tmp_path, prefix):
    tracker = tmp_path / "t.xlsx"
    tracker.write_bytes(deterministic_bytes(build_tracker([])))
    attack = prefix + PAYLOAD
    export = write_export(tmp_path / "e.csv", [export_row("7001", "6001", 商品名称=attack, 售后原因=attack, 售后备注=attack),
                                               export_row(attack, "6002")])
    service.import_file(export, tracker)
    service.check_file(tracker, now=NOW)
    assert formulas_with_marker(tracker) == []
    cells = text_cells_with_marker(tracker)
    assert len(cells) >= 4 and all(data_type == "s" for _, _, data_type, _ in cells), cells


TEMPLATE_TEXT = ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "{{ cycler.__init__.__globals__.os }}", "{# c #}{{ self }}"]


@pytest.mark.parametrize("text", TEMPLATE_TEXT)
def test_template_syntax_typed_by_a_customer_is_never_evaluated(tmp_path, text):
    columns = ["买家", "商品名称", "售后原因", "商品类目", "备注"]
    path = write_register(tmp_path / "t.xlsx", [row(售后单号=f"AS{i}", 订单号=f"O{i}", **{c: text}) for i, c in enumerate(columns)])
    service.check_file(path, now=NOW)
    saved = read_register(path)
    replies = "\n".join(r["回复话术"] or "" for r in saved) + "\n".join(r["判定依据"] or "" for r in saved)
    assert text in replies  # quoted as typed (buyer and product are in replies, reason and category in 判定依据)
    assert "49" not in replies and "xxx" not in replies and "<module" not in replies and "TemplateReference" not in replies
    assert not any((r["回复话术"] or "").startswith(ERROR_MARK) for r in saved)


POLICY = default_policy()
SAMPLES = decision_samples(POLICY)


@pytest.mark.parametrize(
    "attack",
    [
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ joiner.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ '{0.__class__.__mro__}'.format(case) }}",
        "{{ case|attr('__class__') }}",
        "{{ case.update.__self__.__class__.__base__.__subclasses__() }}",
        "{{ buyer.__class__.__base__.__subclasses__() }}",
        "{% set x = verdict.__class__ %}{{ x }}",
    ],
)
def test_more_sandbox_escapes_are_blocked(tmp_path, attack):
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "resend.j2").write_text(attack, encoding="utf-8")
    reply = make_renderer(POLICY, templates=tmp_path)(*SAMPLES["RESEND"])
    assert reply.startswith(ERROR_MARK), reply
    assert "<class" not in reply and "<module" not in reply and "<function" not in reply


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/passwd", "..\\..\\secret"])
def test_a_rule_cannot_name_a_template_outside_the_template_folders(tmp_path, name):
    from dataclasses import replace

    from refund_sheet.engine import compile_policy
    from refund_sheet.engine.policy import default_tables
    from refund_sheet.errors import TemplateError

    tables = default_tables()
    rule = next(r for r in tables["决策表"] if r["编号"].text == "R11")
    rule["回复模板"] = replace(rule["回复模板"], text=name)
    policy, problems = compile_policy(tables)
    if problems:  # refused when the policy is compiled: fine too
        return
    with pytest.raises(TemplateError, match="找不到回复模板"):
        make_renderer(policy, templates=tmp_path)
