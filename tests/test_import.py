"""`refund-sheet import`: merging the Douyin export by 售后单号 without ever losing the merchant's edits."""

from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import NOW, read_register
from douyin import CASES, HEADERS, tracker_for_export, write_export

from refund_sheet import service
from refund_sheet.cli import main
from refund_sheet.errors import WorkbookError


@pytest.fixture
def tracker(tmp_path):
    return tracker_for_export(tmp_path / "退款登记.xlsx")


@pytest.mark.parametrize("name, encoding", [("export.xlsx", None), ("export.csv", "gb18030"), ("export.csv", "utf-8-sig")])
def test_a_50_column_export_is_imported_with_ids_as_text(tracker, tmp_path, name, encoding):
    export = write_export(tmp_path / name, CASES, **({"encoding": encoding} if encoding else {}))
    assert len(HEADERS) == 50
    plan = service.import_file(export, tracker)
    assert (len(plan.appends), len(plan.updates), len(plan.unchanged), plan.rejected) == (3, 0, 0, [])
    rows = read_register(tracker)
    assert [r["售后单号"] for r in rows] == ["7012345678901234501", "7012345678901234502", "7012345678901234503"]
    assert rows[0]["订单号"] == "6912345678901234501" and rows[0]["实付金额"] == 99
    assert rows[0]["申请时间"] == datetime(2026, 11, 18, 9, 0) and rows[0]["平台截止时间"] == datetime(2026, 11, 20, 9, 0)
    assert [r["商品类目"] for r in rows] == ["服装", "家居", None]  # by 商家编码, by name keyword, unknown
    ws = openpyxl.load_workbook(tracker)["退款登记"]
    assert ws["B2"].data_type == "s" and ws.tables["售后登记"].ref.endswith("4")


def test_importing_twice_changes_nothing_and_merchant_edits_survive(tracker, tmp_path):
    export = write_export(tmp_path / "export.xlsx", CASES)
    service.import_file(export, tracker)
    wb = openpyxl.load_workbook(tracker)
    ws = wb["退款登记"]
    header = {c.value: c.column for c in ws[1]}
    ws.cell(2, header["人工决定"], "全额退款")
    ws.cell(2, header["备注"], "已电话沟通")
    ws.cell(4, header["商品类目"], "数码")
    wb.save(tracker)
    service.check_file(tracker, now=NOW)
    before = tracker.read_bytes()
    plan = service.import_file(export, tracker)
    assert (len(plan.appends), len(plan.updates), len(plan.unchanged)) == (0, 0, 3)
    assert tracker.read_bytes() == before


def test_known_cases_get_platform_fields_refreshed_only(tracker, tmp_path):
    service.import_file(write_export(tmp_path / "e1.xlsx", CASES), tracker)
    wb = openpyxl.load_workbook(tracker)
    ws = wb["退款登记"]
    header = {c.value: c.column for c in ws[1]}
    ws.cell(2, header["人工决定"], "拒绝")
    ws.cell(2, header["商品类目"], "鞋靴")  # the merchant corrected the category
    wb.save(tracker)
    later = [dict(CASES[0], 售后状态="同意退款，退款成功", **{"退商品金额（元）": "80.00", "售后备注": "平台备注"}), CASES[1], CASES[2]]
    plan = service.import_file(write_export(tmp_path / "e2.xlsx", later), tracker)
    assert [(row, sorted(changes)) for row, changes in plan.updates] == [(2, ["requested", "status"])]
    first = read_register(tracker)[0]
    assert (first["处理状态"], first["申请金额"]) == ("同意退款，退款成功", 80)
    assert (first["人工决定"], first["商品类目"], first["备注"]) == ("拒绝", "鞋靴", None)


def test_orders_fill_buyer_and_delivery_time(tracker, tmp_path):
    orders = tmp_path / "orders.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["主订单编号", "买家昵称", "快递签收时间", "订单状态"])
    wb.active.append(["6912345678901234501", "小美", "2026-11-16 10:00:00", "已完成"])
    wb.save(orders)
    service.import_file(write_export(tmp_path / "e.xlsx", CASES[:1]), tracker, orders=orders)
    first = read_register(tracker)[0]
    assert (first["买家"], first["签收时间"]) == ("小美", datetime(2026, 11, 16, 10, 0))
    service.check_file(tracker, now=NOW)
    assert read_register(tracker)[0]["处理建议"] == "退货退款"


def test_bad_rows_are_rejected_with_reasons(tracker, tmp_path):
    rows = [CASES[0], dict(CASES[1], 售后单号=""), dict(CASES[2], 售后单号=CASES[0]["售后单号"])]
    plan = service.import_file(write_export(tmp_path / "e.csv", rows), tracker)
    assert len(plan.appends) == 1
    assert plan.rejected == [
        "e.csv 第 3 行：售后单号为空",
        "e.csv 第 4 行：售后单号 7012345678901234501 与第 2 行重复但内容不同（订单号、商品名称、商家编码、售后类型、发货状态），只导入第 2 行",
    ]


def test_a_file_that_is_not_an_export_is_refused_and_nothing_written(tracker, tmp_path):
    other = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["日期", "销量"])
    wb.save(other)
    before = tracker.read_bytes()
    with pytest.raises(WorkbookError, match="找不到“售后单号”列"):
        service.import_file(other, tracker)
    assert tracker.read_bytes() == before


def test_cli_import_reports_counts(tracker, tmp_path):
    export = write_export(tmp_path / "e.xlsx", CASES)
    result = CliRunner().invoke(main, ["import", str(export), "--into", str(tracker)])
    assert result.exit_code == 0 and "新增 3，更新 0，未变 0，拒绝 0" in result.output
    result = CliRunner().invoke(main, ["import", str(tmp_path / "missing.csv"), "--into", str(tracker)])
    assert result.exit_code == 1 and "找不到文件" in result.output


def test_money_from_the_export_is_decimal_exact(tracker, tmp_path):
    export = write_export(tmp_path / "e.xlsx", [dict(CASES[0], **{"应付金额（元）": "0.10", "退商品金额（元）": "0.10"})])
    plan = service.import_file(export, tracker)
    assert plan.appends[0]["paid"] == Decimal("0.10")
