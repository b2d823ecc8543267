"""The full-sheet benchmark's tracker generator (benchmarks/bigsheet.py) writes what ``refund-sheet new`` with the
same cases would write, so the 1,048,575-row benchmark measures a real tracker, not a look-alike. No timing here:
the benchmark itself is benchmarks/run.py --full-sheet."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from refund_sheet.samples import sample_rows
from refund_sheet.workbook import guard
from refund_sheet.workbook.build import write_new

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bigsheet


@pytest.mark.parametrize("count", [1, 300])
def test_the_generator_writes_the_same_package_as_write_new(tmp_path, count):
    cases = sample_rows(bigsheet.NOW, count)
    slow = write_new(tmp_path / "openpyxl.xlsx", cases)
    fast = bigsheet.write_tracker(tmp_path / "streamed.xlsx", iter(cases), count)
    with zipfile.ZipFile(slow) as a, zipfile.ZipFile(fast) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


def test_text_that_needs_escaping_is_written_as_openpyxl_writes_it(tmp_path):
    cases = sample_rows(bigsheet.NOW, 3)
    cases[0]["note"] = ' 1 < 2 & "3" > 0 '
    cases[1]["buyer"] = "=HYPERLINK(\"http://example.com\",\"点我\")"
    cases[2]["product"] = "Tab\tand ü"
    slow = write_new(tmp_path / "openpyxl.xlsx", cases)
    fast = bigsheet.write_tracker(tmp_path / "streamed.xlsx", iter(cases), 3)
    with zipfile.ZipFile(slow) as a, zipfile.ZipFile(fast) as b:
        assert a.read(bigsheet.SHEET) == b.read(bigsheet.SHEET)


def test_cases_come_in_chunks_and_the_table_reaches_the_last_row(tmp_path):
    count = bigsheet.CHUNK + 5
    path = bigsheet.write_tracker(tmp_path / "big.xlsx", bigsheet.sample_cases(count), count)
    guard.check_package(path)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read(bigsheet.SHEET)
        assert f'<dimension ref="A1:AE{count + 1}"/>'.encode() in sheet
        assert f'<row r="{count + 1}">'.encode() in sheet and f'<row r="{count + 2}"'.encode() not in sheet
        assert f'ref="A1:AE{count + 1}"'.encode() in archive.read(bigsheet.TABLE)
        info = archive.getinfo(bigsheet.SHEET)
    # real sheet XML deflates ~8:1 (a full sheet: 8.5:1); the guard refuses big parts above 200:1
    assert info.file_size < guard.MAX_RATIO / 10 * info.compress_size


def test_too_few_cases_or_too_many_rows_are_refused(tmp_path):
    with pytest.raises(ValueError, match="only 2 cases"):
        bigsheet.write_tracker(tmp_path / "a.xlsx", iter(sample_rows(bigsheet.NOW, 2)), 3)
    with pytest.raises(ValueError, match="1,048,575"):
        bigsheet.write_tracker(tmp_path / "b.xlsx", iter(()), bigsheet.MAX_CASES + 1)
