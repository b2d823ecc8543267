"""One test per bug the reliability work (issue 8) found, named after the bug. Each failed before its fix."""

from __future__ import annotations

import shutil
import tracemalloc
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import NOW, judge_row, judge_rows, read_register, row, write_register
from douyin import export_row, write_export

from refund_sheet import service
from refund_sheet.cli import main
from refund_sheet.engine import Decision
from refund_sheet.engine.money import parse_money
from refund_sheet.errors import SaveError, WorkbookError
from refund_sheet.workbook.build import build_tracker, deterministic_bytes

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
    """Found by hypothesis through the grid path the Excel front uses (then check_grid, now plan.register_of_grid + plan_check): Decimal('NaN') < 0 raised."""
    with pytest.raises(ValueError, match="不是金额"):
        parse_money(value)
    assert judge_row(实付金额=value).decision is Decision.INCOMPLETE


# ------------------------------------------------------------------------------------------------ workbook


def _folder(path):
    return {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()}


def test_bug_a_merged_cell_in_an_output_column_crashed_with_attribute_error(tmp_path):
    """Found by the register fuzzer: openpyxl's MergedCell is read-only, and write_block raised AttributeError."""
    path = write_register(tmp_path / "t.xlsx", [row(处理建议="旧", 退款金额=None, 判定依据=None)])
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("P2:Q2")  # 退款金额 merged into 判定依据
    wb.save(path)
    before = _folder(path)
    with pytest.raises(WorkbookError, match=r"退款登记!Q2（判定依据）在合并单元格中.*取消合并") as caught:
        service.check_file(path, now=NOW)
    assert "\n" not in str(caught.value) and _folder(path) == before


def test_bug_one_cell_at_row_1048576_made_check_create_26_million_cells(tmp_path):
    """openpyxl's iter_rows creates every cell it passes: 260 s, 7 GB and a file written back with a million
    rows. Rows are now read from the cells that exist."""
    path = write_register(tmp_path / "t.xlsx", [row()])
    wb = openpyxl.load_workbook(path)
    wb.active.cell(1_048_576, 1).value = "AS9"
    wb.save(path)
    tracemalloc.start()
    try:
        result = service.check_file(path, now=NOW)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.rows == 2 and result.errors and "退款登记!B1048576" in result.errors[0]
    assert peak < 64 * 2**20, peak
    assert path.stat().st_size < 100_000
    ws = openpyxl.load_workbook(path).active
    assert ws.cell(1_048_576, 15).value == "信息不全" and len(ws._cells) < 200


def test_bug_control_characters_in_an_imported_csv_crashed_the_import(tmp_path):
    """openpyxl refuses \\x00-\\x1f (except tab and newlines) with IllegalCharacterError; the export had them."""
    tracker = tmp_path / "t.xlsx"
    tracker.write_bytes(deterministic_bytes(build_tracker([])))
    export = write_export(tmp_path / "e.csv", [export_row("7001", "6001", 商品名称="杯子\x07\x1b[31m", 售后备注="坏了\x01\x0b")],
                          encoding="utf-8")
    service.import_file(export, tracker)
    saved = read_register(tracker)[0]
    assert saved["商品名称"] == "杯子[31m" and saved["备注"] == "坏了"


def test_bug_a_reply_longer_than_an_excel_cell_was_written(tmp_path):
    """A 32,767-character buyer name made a 32,8xx-character reply; Excel repairs (truncates) such a file."""
    path = write_register(tmp_path / "t.xlsx", [row(买家="买" * 32_767)])
    service.check_file(path, now=NOW)
    saved = read_register(path)[0]
    assert len(saved["回复话术"]) == 32_767 and saved["回复话术"].endswith("…")


def test_bug_out_into_a_missing_folder_gave_a_traceback(tmp_path):
    path = write_register(tmp_path / "t.xlsx", [row()])
    result = CliRunner().invoke(main, ["check", str(path), "-o", str(tmp_path / "没有这个文件夹" / "out.xlsx")])
    assert result.exit_code == 1 and "Traceback" not in result.output and "原文件未改动" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bug_an_unreadable_file_gave_a_traceback(tmp_path, monkeypatch):
    """is_zipfile() swallows PermissionError and returned False; read_bytes() then raised it."""
    path = write_register(tmp_path / "t.xlsx", [row()])
    real_open = open

    def locked(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", locked)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1 and "没有读取权限" in result.output and "Traceback" not in result.output


def test_bug_a_failed_backup_copy_left_a_temporary_file_behind(tmp_path, monkeypatch):
    path = write_register(tmp_path / "t.xlsx", [row()])
    before = path.read_bytes()

    def half_copy(source, destination):
        Path(destination).write_bytes(Path(source).read_bytes()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copy2", half_copy)
    with pytest.raises(SaveError, match=r"No space left on device.*原文件未改动"):
        service.check_file(path, now=NOW)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


def test_bug_the_zip_bomb_guard_refused_a_tracker_the_tool_itself_had_written(tmp_path):
    """Found by the register fuzzer: long runs of one character (a pasted note, a reply quoting it) compress
    beyond 200:1, and the ratio check refused the file on the next run. Only parts of 32 MB and more are judged."""
    import zipfile

    path = write_register(tmp_path / "t.xlsx", [row(售后单号=f"AS{i}", 订单号=f"O{i}", 备注="长" * 32_000) for i in range(12)])
    service.check_file(path, now=NOW)
    with zipfile.ZipFile(path) as z:
        part = max(z.infolist(), key=lambda i: i.file_size)
    assert part.file_size > 2**20 and part.file_size > 200 * part.compress_size  # what used to be refused
    assert service.check_file(path, now=NOW).changed == 0
