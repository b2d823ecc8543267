"""A real spreadsheet program opens the built and the processed tracker (LibreOffice headless)."""

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from libreoffice import convert

from refund_sheet import service

pytestmark = pytest.mark.libreoffice
COMMITTED = Path(__file__).parent.parent / "workbook" / "RefundTracker.xlsx"


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    return service.demo(folder, 120, now=datetime(2026, 11, 26, 18, 0)).out


@pytest.mark.parametrize("which", ["committed", "processed"])
def test_libreoffice_renders_the_tracker_to_pdf(which, processed, tmp_path):
    source = COMMITTED if which == "committed" else processed
    pdf = convert(source, "pdf", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def test_colours_and_dropdowns_survive_a_round_trip_through_libreoffice(processed, tmp_path):
    again = convert(processed, "xlsx:Calc MS Excel 2007 XML", tmp_path)
    ws = openpyxl.load_workbook(again)["退款登记"]
    formulas = [rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules]
    assert sum("NOW()" in f for f in formulas) >= 2 and any(f.endswith('="等待买家"') for f in formulas)
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) >= 6 and any("规则" in (dv.formula1 or "") for dv in lists)
    assert ws.cell(2, 22).value in {"全额退款", "部分退款", "退货退款", "换货", "补寄", "拒绝", "补充凭证", "人工审核", "信息不全", "已完结"}
