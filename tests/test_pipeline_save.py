"""The register written by a spare process while the check's pass goes on (``workbook.pipeline``) makes the very
file the run makes writing it itself: every part, byte for byte. Where the spare cannot be used (an unusual
register) or fails (it dies, the file changed, rows come out of order, a style answers differently), the run
writes the register itself, with the same result; an error leaves the file untouched and no temporary file.

Each case is run twice from the same file, once without a spare and once with one (its threshold lowered, the
sheets read in small blocks so the spare writes many blocks as the rows come), with the clock fixed so that 记录's
line is the same; a spy tells whether the spare's register was taken (written by this process or not)."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import zipfile
from datetime import datetime, timedelta

import openpyxl
import pytest
from test_package_writer import NOW, REGISTER, libre_order, parts, patch_part, register_in_a_table, small

from refund_sheet import service
from refund_sheet.engine.columns import INPUT_COLUMNS, OUTPUT_COLUMNS
from refund_sheet.errors import SaveError, WorkbookError
from refund_sheet.plan import Updates
from refund_sheet.workbook import package, pipeline, write

CLOCK = datetime(2026, 11, 26, 18, 5)
LOG = "xl/worksheets/sheet4.xml"


@pytest.fixture
def spy(monkeypatch):
    """Fixed clock, small blocks, a spare for any register; records which sheets this process wrote itself and
    what the spare handed over."""
    monkeypatch.setattr(service, "now_in", lambda zone: CLOCK)
    monkeypatch.setattr(package, "CHUNK", 4096)
    monkeypatch.setattr(pipeline, "SPARE_FROM", 0)
    here = os.getpid()
    seen: dict[str, list] = {"written": [], "taken": [], "offered": []}
    write_sheet = write.PackageEdit.write_sheet

    def spied_write(self, out, name, *args, **kwargs):
        if os.getpid() == here:
            seen["written"].append(name)
        return write_sheet(self, out, name, *args, **kwargs)

    take = pipeline.Spare.take

    def spied_take(self, level):
        seen["taken"].append(take(self, level))
        return seen["taken"][-1]

    offer = pipeline.Spare.offer

    def spied_offer(self, *args):
        seen["offered"].append(offer(self, *args))
        return seen["offered"][-1]

    monkeypatch.setattr(write.PackageEdit, "write_sheet", spied_write)
    monkeypatch.setattr(pipeline.Spare, "take", spied_take)
    monkeypatch.setattr(pipeline.Spare, "offer", spied_offer)
    return seen


def assert_untouched(source, before: bytes) -> None:
    """The tracker as it was, nothing beside it (no backup, no temporary file), and no spare left running."""
    assert source.read_bytes() == before
    assert sorted(p.name for p in source.parent.iterdir()) == [source.name]
    assert not multiprocessing.active_children()


def both(tmp_path, monkeypatch, seen, source, now=NOW, used=True, register=REGISTER):
    """``source`` checked without a spare and with one: the two files, part for part; whether the spare's
    register was taken must be ``used``."""
    results = {}
    for mode in ("alone", "spare"):
        folder = tmp_path / mode
        folder.mkdir(parents=True, exist_ok=True)
        path = shutil.copy(source, folder / "tracker.xlsx")
        for key in seen:
            seen[key].clear()
        with monkeypatch.context() as patch:
            if mode == "alone":
                patch.setattr(pipeline, "worth_a_spare", lambda path, only_rows: False)
            assert service.check_file(path, now=now).saved
        assert not multiprocessing.active_children()
        results[mode] = path
        if mode == "spare":
            assert (register not in seen["written"]) == used, seen
            if used:
                assert seen["taken"] and seen["taken"][-1] is not None
    alone, spare = parts(results["alone"]), parts(results["spare"])
    assert list(alone) == list(spare)
    assert [n for n in alone if alone[n] != spare[n]] == []
    assert results["alone"].read_bytes() == results["spare"].read_bytes()
    return results["spare"]


def test_a_first_check(tmp_path, monkeypatch, spy):
    path = both(tmp_path, monkeypatch, spy, small(tmp_path, rows=300))
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    assert spy["offered"] == [True]


def test_a_re_check_later_changes_some_rows(tmp_path, monkeypatch, spy):
    first = small(tmp_path, rows=300, seed=7)
    assert service.check_file(first, now=NOW).saved
    both(tmp_path, monkeypatch, spy, first, now=NOW + timedelta(days=3, hours=5))


def test_a_re_check_that_changes_nothing_writes_nothing(tmp_path, spy):
    first = small(tmp_path, rows=200, seed=3)
    assert service.check_file(first, now=NOW).saved
    before = first.read_bytes()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not service.check_file(first, now=NOW + timedelta(minutes=1)).saved
    assert spy["offered"][-1] is True  # the spare was writing: stopped
    assert first.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == names
    assert not multiprocessing.active_children()


def test_libreoffice_order(tmp_path, monkeypatch, spy):
    source = libre_order(small(tmp_path, rows=300))
    both(tmp_path, monkeypatch, spy, source)


def test_new_output_columns_beside_a_table(tmp_path, monkeypatch, spy):
    """Within its <dimension> the register takes the spare, its new headers and the Table grown over them too;
    a <dimension> the new columns grow is left to the run. (记录, written before the register here — a new
    part after styles.xml — is made first, so that the styles it needs are there and the register's come first.)"""
    source = register_in_a_table(tmp_path)
    both(tmp_path / "narrow", monkeypatch, spy, source, used=False)
    assert spy["offered"] == [False]
    wide = both(tmp_path / "wide-first", monkeypatch, spy,
                _patched(source, lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:AZ90"', xml)),
                used=False)  # the styles 记录 adds first make the register's answer otherwise: written here
    assert spy["offered"] == [True]
    service.refresh_stats(source, now=NOW)  # 记录 made, with its styles
    patch_part(source, REGISTER, lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:AZ90"', xml))
    path = both(tmp_path / "wide", monkeypatch, spy, source)
    for made in (wide, path):
        ws = openpyxl.load_workbook(made)["退款登记"]
        end = openpyxl.utils.get_column_letter(len(INPUT_COLUMNS) + len(OUTPUT_COLUMNS))
        assert ws.tables["T"].ref == f"A1:{end}6"
        assert ws.cell(1, len(INPUT_COLUMNS) + 1).value == OUTPUT_COLUMNS[0].header


def _patched(source, change):
    copy = shutil.copy(source, source.with_name("patched.xlsx"))
    patch_part(copy, REGISTER, change)
    return copy


def test_gaps_and_odd_rows(tmp_path, monkeypatch, spy):
    """Rows missing between the cases, rows without their number, a comment, CDATA that looks like a cell."""
    source = small(tmp_path, rows=300, seed=11)

    def odd(xml: bytes) -> bytes:
        xml = re.sub(rb'<row r="(?:1[0-9]|4[0-4])"[^>]*>.*?</row>', b"", xml, flags=re.S)  # gaps
        xml = xml.replace(b'<row r="60"', b'<!-- a note --><row r="60"', 1)
        xml = re.sub(rb'<row r="(12[0-9])"([^>]*)>', rb'<row\2>', xml)  # numbered on from the row before
        return xml

    patch_part(source, REGISTER, odd)
    both(tmp_path, monkeypatch, spy, source)


def test_a_merged_range_over_an_output_column_is_refused_as_before(tmp_path, monkeypatch, spy):
    source = small(tmp_path, rows=60)
    patch_part(source, REGISTER, lambda xml: xml.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="Y5:Z6"/></mergeCells>', 1))
    before = source.read_bytes()
    with pytest.raises(WorkbookError, match="合并单元格"):
        service.check_file(source, now=NOW)
    assert spy["offered"] == [False]
    assert_untouched(source, before)


def test_a_merged_range_elsewhere_takes_the_spare(tmp_path, monkeypatch, spy):
    source = small(tmp_path, rows=200)
    patch_part(source, REGISTER, lambda xml: xml.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="B5:C6"/></mergeCells>', 1))
    both(tmp_path, monkeypatch, spy, source)


def test_a_formula_in_an_output_column_is_left_to_the_run(tmp_path, monkeypatch, spy):
    source = small(tmp_path, rows=60)
    patch_part(source, REGISTER, lambda xml: re.sub(
        rb'<c r="AE3"[^>]*?(?:/>|>.*?</c>)', b'<c r="AE3"><f>NOW()</f><v>1</v></c>', xml, count=1, flags=re.S))
    both(tmp_path, monkeypatch, spy, source, used=False)
    assert spy["offered"] == [False]


def test_a_spare_that_dies_is_written_around(tmp_path, monkeypatch, spy):
    monkeypatch.setattr(pipeline, "_write_register", lambda rows, spool: os._exit(3))
    both(tmp_path, monkeypatch, spy, small(tmp_path, rows=200), used=False)


def test_a_spare_that_fails_is_written_around(tmp_path, monkeypatch, spy):
    def fails(rows, spool):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "_write_register", fails)
    both(tmp_path, monkeypatch, spy, small(tmp_path, rows=200), used=False)


def test_rows_out_of_order_are_written_around(tmp_path, monkeypatch, spy):
    changed = pipeline.Spare.changed
    held: list[tuple] = []

    def swapped(self, number, stored):
        if not held:
            held.append((number, stored))  # the first row handed over after the second
            return
        changed(self, number, stored)
        if len(held) == 1:
            held.append(())
            changed(self, *held[0])

    monkeypatch.setattr(pipeline.Spare, "changed", swapped)
    both(tmp_path, monkeypatch, spy, small(tmp_path, rows=200), used=False)


def test_a_file_changed_since_it_was_read_is_written_around(tmp_path, monkeypatch, spy):
    offer = pipeline.Spare.offer

    def touched(self, tracker, *args):
        os.utime(tracker.package.path, ns=(1, 1))  # another program saved it
        return offer(self, tracker, *args)

    monkeypatch.setattr(pipeline.Spare, "offer", touched)
    both(tmp_path, monkeypatch, spy, small(tmp_path, rows=200), used=False)


def test_a_style_that_answers_otherwise_is_written_around(tmp_path, monkeypatch, spy):
    """The spare's styles asked here again answer differently: its register is not taken (styles.xml then is
    what writing the register here makes)."""
    write_register = pipeline._write_register

    def wrong(rows, spool):
        done = write_register(rows, spool)
        return pipeline._Done(done.part, done.level, tuple(((s, c), i + 1000) for (s, c), i in done.styles)) if done else done

    monkeypatch.setattr(pipeline, "_write_register", wrong)
    both(tmp_path, monkeypatch, spy, small(tmp_path, rows=200), used=False)


def test_an_error_at_the_save_leaves_the_file_and_no_temporary_file(tmp_path, monkeypatch, spy):
    source = small(tmp_path, rows=200)
    before = source.read_bytes()

    def fail(tmp):
        raise OSError("disk gone")

    with pytest.raises(SaveError, match="disk gone"):
        service.check_file(source, now=NOW, _before_replace=fail)
    assert spy["taken"] and spy["taken"][-1] is not None  # the spare's register was taken, then the save failed
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name != "tracker.xlsx" and ".bak-" not in p.name] == []
    assert not multiprocessing.active_children()


def test_an_error_in_the_pass_stops_the_spare(tmp_path, monkeypatch, spy):
    source = small(tmp_path, rows=200)
    before = source.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "plan_check", broken)
    with pytest.raises(KeyboardInterrupt):
        service.check_file(source, now=NOW)
    assert spy["offered"] == [True]
    assert_untouched(source, before)


def test_a_selection_or_a_small_register_has_no_spare(tmp_path, monkeypatch, spy):
    source = small(tmp_path, rows=60)
    service.check_file(source, now=NOW, only_rows={3, 4})
    assert spy["offered"] == []
    monkeypatch.setattr(pipeline, "SPARE_FROM", 1 << 40)
    service.check_file(source, now=NOW + timedelta(days=1))
    assert spy["offered"] == []
    assert REGISTER in spy["written"]


def test_no_spare_where_there_is_no_fork(tmp_path, monkeypatch, spy):
    monkeypatch.setattr(pipeline.halves, "can_fork", lambda: False)
    assert pipeline.Spare.start() is None
    both(tmp_path, monkeypatch, spy, small(tmp_path, rows=60), used=False)


def test_a_row_pickles_with_its_absent_keys():
    import pickle

    updates = Updates()
    updates.add(7, {"decision": "同意退款", "sla": None})
    again = Updates()
    again.keep(7, pickle.loads(pickle.dumps(updates.stored(7), protocol=5)))
    assert again[7] == updates[7] == {"decision": "同意退款", "sla": None}


def test_the_pass_hands_its_sink_every_row_it_writes_in_order(tmp_path):
    from refund_sheet.plan import plan_check

    first = small(tmp_path, rows=120, seed=4)
    assert service.check_file(first, now=NOW).saved
    opened = service.open_tracker(first, NOW + timedelta(days=2), "t.xlsx")

    class Sink:
        def __init__(self):
            self.rows, self.marks = [], []

        def changed(self, number, stored):
            self.rows.append((number, stored))

        def through(self, number):
            self.marks.append(number)

    sink = Sink()
    alone = plan_check(opened.register, opened.book)
    told = plan_check(opened.register, opened.book, sink=sink)
    assert 0 < len(told.updates) < len(opened.register.rows)  # only some rows change
    assert dict(told.updates) == dict(alone.updates) and told.tally == alone.tally and told.log == alone.log
    assert sink.rows == [(number, told.updates.stored(number)) for number in told.updates]
    assert sink.marks == [number for number, _ in opened.register.rows]


def test_a_spare_that_is_stuck_is_written_around(tmp_path, monkeypatch, spy):
    """A spare that stops taking rows (stopped, stuck) holds neither the pass (its pipe full) nor the save: after
    STUCK seconds the run writes the register itself."""
    import signal
    import time

    monkeypatch.setattr(pipeline, "STUCK", 0.5)
    monkeypatch.setattr(pipeline, "_write_register", lambda rows, spool: time.sleep(3600))

    class Hung(Exception):
        pass

    def hung(signum, frame):
        raise Hung("the run waited on its spare")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, 20)
    try:
        both(tmp_path, monkeypatch, spy, small(tmp_path, rows=600), used=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_slow_spare_holds_the_pass_back_and_is_taken(tmp_path, monkeypatch, spy):
    """A spare slower than the pass fills its pipe: the pass waits for it (less than STUCK) and its register is
    taken."""
    import time

    monkeypatch.setattr(pipeline, "BATCH", 8)
    monkeypatch.setattr(pipeline, "QUEUED", 1)
    need = pipeline._Feed.need

    def slow(self, last):
        time.sleep(0.01)
        need(self, last)

    monkeypatch.setattr(pipeline._Feed, "need", slow)
    poll = pipeline.select.poll
    waits: list[bool] = []

    def counted():
        waits.append(True)
        return poll()

    monkeypatch.setattr(pipeline.select, "poll", counted)
    both(tmp_path, monkeypatch, spy, small(tmp_path, rows=600, seed=3))
    assert waits  # the pipe was full, and the pass waited
