"""`refund-sheet check` on real .xlsx files: columns by header, merchant data untouched, safe saves."""

import zipfile
from datetime import datetime

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import NOW, read_register, row, write_register

from refund_sheet import service
from refund_sheet.cli import main
from refund_sheet.errors import SaveError, WorkbookError
from refund_sheet.workbook import latest_backup
from refund_sheet.workbook.write import PackageEdit

# The Douyin export's spellings, shuffled, with full- and half-width brackets, plus a column of the merchant's own.
DOUYIN = {
    "跟进人": "阿May",
    "售后原因": "商品破损",
    "应付金额(元)": "88.00",
    "售后申请时间": "2026-11-18 09:00",
    "售后单号": "\t7012345678901234567",
    "商品运费（ 元 ）": "6",
    "主订单号": "'6923456789012345678",
    "用户昵称": "小美",
    "是否已上传退款凭证": "是",
    "类目": "家居",
    "售后类型": "退货退款",
    "退商品金额（元）": "94",
    "商品名称": "陶瓷马克杯",
    "签收时间": "2026-11-16 10:00",
    "售后状态": "待商家处理",
}


def run(path, **kw):
    return service.check_file(path, now=kw.pop("now", NOW), **kw)


def test_scrambled_douyin_headers_and_an_extra_column(tracker):
    second = dict(DOUYIN, 售后单号="7012345678901234568", 主订单号="6923456789012345679", 售后原因="七天无理由", 跟进人="小刘")
    path = tracker([DOUYIN, second])
    result = run(path)
    assert result.rows == 2 and result.changed == 2 and result.errors == []
    first, second = read_register(path)
    assert (first["处理建议"], first["退款金额"], first["退货运费"], first["命中规则"]) == ("退货退款", 94, "商家", "R10")
    assert (second["处理建议"], second["退款金额"], second["退货运费"]) == ("退货退款", 88, "买家")
    assert (first["跟进人"], second["跟进人"]) == ("阿May", "小刘")
    assert first["售后单号"] == "\t7012345678901234567" and first["主订单号"] == "'6923456789012345678"
    assert first["处理时限"] == datetime(2026, 11, 20, 9, 0) and first["时效状态"] == "已超时"
    assert first["检查时间"] == NOW and "小美" in first["回复话术"]


def test_output_columns_are_added_at_the_right_in_order(tracker):
    path = tracker([row()])
    run(path)
    headers = list(read_register(path)[0])
    assert headers[-10:] == ["处理建议", "退款金额", "退货运费", "处理时限", "时效状态", "风险提示", "命中规则", "判定依据", "回复话术", "检查时间"]


def test_output_columns_already_present_are_reused_wherever_they_stand(tracker):
    data = {"判定依据": "old", **row(), "处理建议": "old"}
    path = tracker([data])
    run(path)
    saved = read_register(path)[0]
    assert saved["处理建议"] == "退货退款" and saved["判定依据"].startswith("七天无理由退货")
    assert list(saved).count("处理建议") == 1


def test_cells_are_written_as_numbers_dates_and_text(tracker):
    path = tracker([row()])
    run(path)
    ws = openpyxl.load_workbook(path)["退款登记"]
    header = {c.value: c.column for c in ws[1]}
    amount = ws.cell(2, header["退款金额"])
    deadline = ws.cell(2, header["处理时限"])
    assert amount.data_type == "n" and amount.number_format == '"¥"#,##0.00'
    assert deadline.is_date and deadline.number_format == "yyyy-mm-dd hh:mm"


def test_the_merchants_decision_wins_and_is_never_changed(tracker):
    path = tracker([row(人工决定="全额退款"), row(售后单号="AS2", 订单号="O2", 人工决定="REFUND_PARTIAL")])
    run(path)
    full, partial = read_register(path)
    assert (full["人工决定"], full["处理建议"], full["命中规则"], full["退款金额"]) == ("全额退款", "全额退款", "人工", 99)
    assert "系统建议为退货退款（R13）" in full["判定依据"]
    assert (partial["人工决定"], partial["处理建议"], partial["退款金额"]) == ("REFUND_PARTIAL", "部分退款", 19.8)


def test_closed_cases_keep_their_results(tracker):
    path = tracker([row()])
    run(path)
    wb = openpyxl.load_workbook(path)
    ws = wb["退款登记"]
    header = {c.value: c.column for c in ws[1]}
    ws.cell(2, header["处理状态"] if "处理状态" in header else ws.max_column + 1, "退款成功")
    if "处理状态" not in header:
        ws.cell(1, ws.max_column, "处理状态")
    wb.save(path)
    before = read_register(path)[0]
    run(path, now=datetime(2026, 12, 1))
    after = read_register(path)[0]
    assert (after["处理建议"], after["时效状态"]) == ("已完结", "已完结")
    for key in ("退款金额", "退货运费", "处理时限", "判定依据", "回复话术", "检查时间"):
        assert after[key] == before[key], key


def test_a_second_run_with_the_same_now_changes_nothing(tracker):
    path = tracker([row(), row(售后单号="AS2", 订单号="O2", 实付金额="bad")])
    run(path)
    first = path.read_bytes()
    result = run(path)
    assert result.changed == 0 and not result.saved
    assert path.read_bytes() == first


def test_customer_text_that_looks_like_a_formula_stays_text(tracker):
    path = tracker([row(买家="=HYPERLINK(\"http://x\",\"点我\")", 备注="@SUM(A1)"), row(售后单号="AS2", 订单号="O2", 买家="+1-2")])
    run(path)
    ws = openpyxl.load_workbook(path)["退款登记"]
    header = {c.value: c.column for c in ws[1]}
    assert ws.cell(2, header["买家"]).data_type == "s"
    reply = ws.cell(2, header["回复话术"])
    assert reply.data_type == "s" and reply.value.startswith("=HYPERLINK")
    with zipfile.ZipFile(path) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_a_19_digit_order_number_survives_as_text(tracker):
    path = tracker([row(订单号="6923456789012345678")])
    run(path)
    ws = openpyxl.load_workbook(path)["退款登记"]
    assert ws["B2"].value == "6923456789012345678" and ws["B2"].data_type == "s"


def test_the_register_can_be_an_excel_table(tmp_path):
    path = write_register(tmp_path / "t.xlsx", [row()])
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    from openpyxl.worksheet.table import Table

    ws.add_table(Table(displayName="登记表", ref=f"A1:{openpyxl.utils.get_column_letter(ws.max_column)}2"))
    wb.save(path)
    run(path)
    ws = openpyxl.load_workbook(path).active
    table = ws.tables["登记表"]
    assert table.ref == f"A1:{openpyxl.utils.get_column_letter(ws.max_column)}2"
    assert [c.name for c in table.tableColumns] == [c.value for c in ws[1]]


def test_register_found_on_another_sheet_below_a_title(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    ws = wb.create_sheet("售后")
    ws.append(["十一月售后"])
    ws.append([])
    ws.append(list(row()))
    ws.append(list(row().values()))
    wb.save(tmp_path / "t.xlsx")
    result = run(tmp_path / "t.xlsx")
    assert result.rows == 1
    assert openpyxl.load_workbook(tmp_path / "t.xlsx")["售后"].cell(4, 15).value == "退货退款"


def test_missing_columns_are_named_with_a_suggestion_and_nothing_is_written(tracker):
    data = row()
    data["售后理由"] = data.pop("售后原因")
    path = tracker([data])
    before = path.read_bytes()
    with pytest.raises(WorkbookError, match="缺少必填列“售后原因”（是否是“售后理由”？）"):
        run(path)
    assert path.read_bytes() == before and latest_backup(path) is None


def test_save_keeps_a_backup_of_the_previous_file(tracker):
    path = tracker([row()])
    before = path.read_bytes()
    result = run(path)
    assert result.backup == latest_backup(path) and result.backup.read_bytes() == before


def test_out_leaves_the_input_alone(tracker, tmp_path):
    path = tracker([row()])
    before = path.read_bytes()
    run(path, out=tmp_path / "out.xlsx")
    assert path.read_bytes() == before and read_register(tmp_path / "out.xlsx")[0]["处理建议"] == "退货退款"


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_failure_before_the_rename_leaves_the_file_byte_identical(tracker, tmp_path):
    path = tracker([row()])
    before = path.read_bytes()

    def crash(tmp):
        assert tmp.exists() and tmp.parent == path.parent
        raise OSError(28, "No space left on device")

    with pytest.raises(SaveError, match="原文件未改动"):
        run(path, _before_replace=crash)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []


def test_a_failure_mid_write_leaves_the_file_byte_identical(tracker, tmp_path, monkeypatch):
    path = tracker([row()])
    before = path.read_bytes()

    def half_save(self, filename, **_):
        with open(filename, "wb") as handle:
            handle.write(b"PK\x03\x04 half a zip")
        raise RuntimeError("power cut")

    monkeypatch.setattr(PackageEdit, "write", half_save)
    with pytest.raises(RuntimeError):
        run(path)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []
    assert latest_backup(path) is None


def test_a_file_open_in_excel_is_refused(tracker, tmp_path):
    path = tracker([row()])
    (tmp_path / f"~${path.name}").write_bytes(b"owner")
    before = path.read_bytes()
    with pytest.raises(SaveError, match="正在 Excel 中打开"):
        run(path)
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_check_prints_a_summary(tracker):
    path = tracker([row(), row(售后单号="AS2", 订单号="O2", 实付金额="x")])
    result = CliRunner().invoke(main, ["check", str(path), "--now", "2026-11-20 12:00"])
    assert result.exit_code == 0, result.output
    assert "已检查 2 行，更新 2 行" in result.output and "信息不全 1" in result.output
    assert "退款登记!I3: 实付金额" in result.output


def _file(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "nope.xlsx", "找不到文件"),
        (lambda d: _file(d / "x.xlsx", "售后单号,订单号\n1,2\n".encode()), "不是 .xlsx 工作簿"),
        (lambda d: _file(d / "old.xlsx", b"\xd0\xcf\x11\xe0" + b"\0" * 100), "另存为 .xlsx"),
        (lambda d: d, "是文件夹"),
    ],
)
def test_cli_refuses_bad_files_in_one_line(tmp_path, make, message):
    target = make(tmp_path)
    result = CliRunner().invoke(main, ["check", str(target)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_rejects_a_bad_now(tracker):
    path = tracker([row()])
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["check", str(path), "--now", "next tuesday"])
    assert result.exit_code == 2 and "--now" in result.output
    assert path.read_bytes() == before


def test_values_beyond_the_headers_are_never_written_over(tmp_path):
    """A note typed in the first column right of the headers, without a header of its own."""
    path = write_register(tmp_path / "t.xlsx", [row(), row(售后单号="AS2", 订单号="O2")])
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    beyond = ws.max_column + 1
    ws.cell(3, beyond, "记得回访")
    wb.save(path)
    run(path)
    ws = openpyxl.load_workbook(path).active
    assert ws.cell(3, beyond).value == "记得回访" and ws.cell(1, beyond).value is None
    assert ws.cell(1, beyond + 1).value == "处理建议" and ws.cell(3, beyond + 1).value == "退货退款"


def test_the_grid_path_keeps_values_beyond_the_headers_too():
    from refund_sheet.plan import output_columns, register_of_grid

    headers = list(row())
    grid = [headers, list(row().values()) + ["记得回访"]]
    columns, new_headers = output_columns(register_of_grid(grid, "退款登记"))
    assert columns["decision"] == len(headers) + 2 and new_headers[0] == "处理建议"  # sheet columns: the note's is n + 1


def test_the_last_five_backups_are_kept_oldest_removed_first(tracker, monkeypatch):
    from refund_sheet.workbook import backups_of

    path = tracker([row()])
    saves = []
    for hour in range(13, 20):  # seven saving runs, each with another language or time that changes the replies
        saves.append(path.read_bytes())
        result = service.check_file(path, now=datetime(2026, 11, 20, hour, 0), lang=("en" if hour % 2 else "zh-CN"))
        assert result.saved
    kept = backups_of(path)
    assert len(kept) == 5
    assert [p.read_bytes() for p in kept] == saves[-5:]
