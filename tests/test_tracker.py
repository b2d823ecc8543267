"""The tracker workbook: deterministic build, the committed copy, and a 规则 sheet a merchant can edit."""

import zipfile
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import NOW, read_register, row
from policy_edit import add_row, set_cell

from refund_sheet import service
from refund_sheet.cli import main
from refund_sheet.engine import compile_policy, default_policy
from refund_sheet.engine.columns import INPUT_COLUMNS
from refund_sheet.errors import PolicyError, WorkbookError
from refund_sheet.workbook.build import build_tracker, deterministic_bytes, register_headers
from refund_sheet.workbook.read import Tracker

COMMITTED = Path(__file__).parent.parent / "workbook" / "RefundTracker.xlsx"
KEY_OF = {c.header: c.key for c in INPUT_COLUMNS}


def entries(data: bytes) -> dict[str, bytes]:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_building_twice_gives_identical_bytes():
    assert deterministic_bytes(build_tracker()) == deterministic_bytes(build_tracker())


def test_the_committed_workbook_is_what_the_code_builds():
    """Regenerate with: refund-sheet new workbook/RefundTracker.xlsx --force"""
    assert entries(COMMITTED.read_bytes()) == entries(deterministic_bytes(build_tracker()))


def test_the_tracker_has_its_sheets_table_dropdowns_and_colours():
    wb = openpyxl.load_workbook(COMMITTED)
    assert wb.sheetnames == ["退款登记", "规则", "统计", "记录", "说明"]
    ws = wb["退款登记"]
    assert [c.value for c in ws[1]] == register_headers()
    assert ws.freeze_panes == "C2"
    table = ws.tables["售后登记"]
    assert [c.name for c in table.tableColumns] == register_headers()
    sources = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert sources["F2"] == "规则!$A$59:$A$78" and sources["G2"].startswith("规则!$Q$")
    with zipfile.ZipFile(COMMITTED) as package:  # as Excel writes it: Gnumeric refuses "='规则'!…"
        sheet = ElementTree.fromstring(package.read("xl/worksheets/sheet1.xml"))
    sources = [e.text for e in sheet.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}formula1")]
    assert sources[0] == "规则!$A$59:$A$78" and all(s.startswith("规则!$") for s in sources)
    rules = sorted((r for cf in ws.conditional_formatting for r in cf.rules), key=lambda r: r.priority)
    assert len(rules) == 3 and rules[0].formula == ['$Z2="等待买家"'] and rules[0].stopIfTrue
    assert all("NOW()" in r.formula[0] and '"等待买家"' in r.formula[0] for r in rules[1:])
    assert "DueSoonHours" in rules[2].formula[0] and "DueSoonHours" in wb.defined_names
    assert ws["A2"].number_format == "@" and ws["I2"].number_format == '"¥"#,##0.00'


def test_the_policy_on_the_sheet_is_the_default_policy():
    policy, problems = compile_policy(Tracker(COMMITTED).policy_tables())
    assert problems == []
    assert policy.rules == default_policy().rules and policy.fingerprint == default_policy().fingerprint


# ------------------------------------------------------------------------------------------------ editing 规则


@pytest.fixture
def tracker_with(tmp_path):
    """A tracker built by `refund-sheet new`, holding the given register rows (header → value)."""

    def make(*rows):
        path = tmp_path / "t.xlsx"
        data = [{KEY_OF[h]: v for h, v in r.items() if h in KEY_OF} for r in rows]
        path.write_bytes(deterministic_bytes(build_tracker(data)))
        return path

    return make


def decisions(path):
    return [(r["处理建议"], r["命中规则"], r["退款金额"]) for r in read_register(path)]


PARTIAL = row(售后类型="已发货仅退款", 售后原因="颜色不喜欢", 实付金额="99.99", 申请金额="99.99")


def test_changing_the_partial_percent(tracker_with):
    path = tracker_with(PARTIAL)
    service.check_file(path, now=NOW)
    assert decisions(path) == [("部分退款", "R14", 20)]
    set_cell(path, "参数", "部分退款比例", "值", 30)
    service.check_file(path, now=NOW)
    assert decisions(path) == [("部分退款", "R14", 30)]


def test_a_new_category_with_no_reason_returns(tracker_with):
    path = tracker_with(row(商品类目="宠物用品", 售后原因="不想要了"))
    service.check_file(path, now=NOW)
    assert decisions(path)[0][:2] == ("信息不全", None)  # issue 15: the category is a missing fact until 类目 has it
    add_row(path, "类目", {"类目": "宠物用品", "无理由退货": "支持", "无理由天数": 15})
    service.check_file(path, now=NOW)
    assert decisions(path)[0][:2] == ("退货退款", "R13")


def test_a_new_rule_row_above_the_others(tracker_with):
    path = tracker_with(row(售后原因="发错货", 凭证="是"))
    service.check_file(path, now=NOW)
    assert decisions(path)[0][:2] == ("退货退款", "R10")
    add_row(path, "决策表", {"编号": "R00", "售后原因": "发错货", "处理建议": "换货", "退货运费": "商家", "说明": "发错货一律换货"}, before="R01")
    service.check_file(path, now=NOW)
    assert decisions(path)[0][:2] == ("换货", "R00")


def test_a_holiday_added_for_a_year_the_calendar_does_not_know(tracker_with):
    received = dict(售后原因="商品破损", 凭证="是", 申请时间="2030-12-28 10:00", 签收时间="2030-12-27 10:00",
                    退货签收时间="2030-12-31 10:00")  # Tuesday; +3 working days = Friday 2031-01-03
    path = tracker_with(row(**received))
    result = service.check_file(path, now=datetime(2030, 12, 31, 12))
    assert read_register(path)[0]["处理时限"] == datetime(2031, 1, 3, 10, 0)
    assert any("2031 年不在内置法定节假日日历中" in w for w in result.warnings)
    add_row(path, "节假日", {"日期": "2031-01-01", "类型": "休息日", "说明": "元旦"})
    service.check_file(path, now=datetime(2030, 12, 31, 12))
    assert read_register(path)[0]["处理时限"] == datetime(2031, 1, 6, 10, 0)


@pytest.mark.parametrize(
    "edit, located",
    [
        (lambda p: set_cell(p, "决策表", "R10", "处理建议", "退货退kuan"), "处理建议 无法识别“退货退kuan”（是否是“退货退款”？）"),
        (lambda p: set_cell(p, "决策表", "R05", "原因分组", "质量问题、错发"), "原因分组 无法识别“错发”"),
        (lambda p: set_cell(p, "参数", "部分退款比例", "值", 150), "值 150 超出范围（应在 0 到 100 之间）"),
        (lambda p: set_cell(p, "决策表", "R16", "编号", "R16") and add_row(p, "决策表", {"编号": "R17", "原因分组": "买家原因", "处理建议": "拒绝"}),
         "规则 R17 永远不会命中：前面的规则 R16"),
        (lambda p: add_row(p, "商品", {"商家编码": "PET-1", "类目": "宠物用"}), "类目 “宠物用” 不在类目表中"),
    ],
)
def test_a_broken_policy_is_located_and_nothing_is_written(tracker_with, edit, located):
    path = tracker_with(row())
    cell = edit(path)
    before = path.read_bytes()
    with pytest.raises(PolicyError) as error:
        service.check_file(path, now=NOW)
    assert located in str(error.value)
    if isinstance(cell, str):
        assert f"规则!{cell}: " in str(error.value)
    assert path.read_bytes() == before


def test_every_policy_problem_is_listed_at_once(tracker_with):
    path = tracker_with(row())
    set_cell(path, "决策表", "R10", "处理建议", "退货退kuan")
    set_cell(path, "参数", "部分退款比例", "值", 150)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1 and "规则表有 2 处错误，未做任何修改" in result.output
    assert "规则!K" in result.output and "规则!B" in result.output


# ------------------------------------------------------------------------------------------------ new / demo


def test_new_builds_a_tracker_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "退款登记.xlsx"
    assert CliRunner().invoke(main, ["new", str(path)]).exit_code == 0
    assert entries(path.read_bytes()) == entries(COMMITTED.read_bytes())
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["new", str(path)])
    assert result.exit_code == 1 and "已存在" in result.output and path.read_bytes() == before


def test_new_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(WorkbookError, match="文件夹不存在"):
        service.new_tracker(tmp_path / "nope" / "t.xlsx")


def test_demo_covers_every_decision(tmp_path):
    result = service.demo(tmp_path, 300, now=datetime(2026, 11, 26, 18, 0))
    assert result.rows == 300 and result.saved
    assert {d.name for d in result.by_decision} == {
        "REFUND_FULL", "REFUND_PARTIAL", "RETURN_REFUND", "EXCHANGE", "RESEND", "REJECT", "NEED_EVIDENCE",
        "MANUAL_REVIEW", "INCOMPLETE", "DONE",
    }
    assert result.overdue > 0 and result.due_soon > 0
    rows = read_register(result.out)
    assert all(r["回复话术"] for r in rows if r["处理建议"] != "已完结")
