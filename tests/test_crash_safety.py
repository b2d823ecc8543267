"""Crash safety (issue 8): a failure at any step of a save leaves the workbook byte-identical and a backup intact;
a file locked or unreadable gives one clear line; two runs on one file never interleave.

tests/test_check_file.py already aborts a save mid-write and just before the rename; here every other step of
``save_atomic`` fails in turn, for both payloads it saves (an openpyxl workbook, or ready .xlsx bytes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import NOW, read_register, row, write_register

from refund_sheet import lock, service
from refund_sheet.cli import main
from refund_sheet.errors import SaveError
from refund_sheet.workbook import BACKUP_NAME, backup_path, latest_backup, save_atomic

ROOT = os.name != "nt" and os.geteuid() == 0  # root reads and writes through any permission bits


@pytest.fixture
def saved(tmp_path):
    """A tracker that was saved once before (so it has a backup), and the new content to save over it."""
    path = write_register(tmp_path / "t.xlsx", [row()])
    backup_path(path, datetime(2026, 1, 1)).write_bytes(write_register(tmp_path / "old.xlsx", [row(售后单号="旧")]).read_bytes())
    (tmp_path / "old.xlsx").unlink()
    new = openpyxl.load_workbook(path)
    new.active["A2"] = "AS-NEW"
    return path, path.read_bytes(), latest_backup(path).read_bytes(), new


def only_the_file_and_backups(folder):
    """No temporary left behind: the workbook and its backups only."""
    names = sorted(p.name for p in folder.iterdir())
    assert [n for n in names if n != "t.xlsx" and not BACKUP_NAME.match(n)] == [], names
    return names


def _fail_nth(monkeypatch, target, name, n, error):
    """Make the n-th call (1-based) of ``target.name`` raise ``error``; the others run as usual."""
    real = getattr(target, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == n:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


def _half_written(monkeypatch, kind):
    def write_half(filename, data=b"PK\x03\x04 half"):
        with open(filename, "wb") as handle:
            handle.write(b"PK\x03\x04 half a package")
        raise OSError(28, "No space left on device")

    if kind == "writer":
        monkeypatch.setattr(openpyxl.Workbook, "save", lambda self, filename: write_half(filename))
    else:
        monkeypatch.setattr(Path, "write_bytes", lambda self, data: write_half(self, data))


def _half_copied(monkeypatch):
    def copy_half(source, destination):
        Path(destination).write_bytes(Path(source).read_bytes()[:64])
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(shutil, "copy2", copy_half)


# step → (how it fails, message, whether the backup was already renamed into place when it failed)
STEPS = {
    "temporary file cannot be created": (lambda mp: _fail_nth(mp, tempfile, "mkstemp", 1, PermissionError(13, "Permission denied")),
                                         "没有写权限", False),
    "disk full while writing": (_half_written, "No space left on device", False),
    "fsync fails": (lambda mp: _fail_nth(mp, os, "fsync", 1, OSError(5, "Input/output error")), "Input/output error", False),
    "permissions cannot be set": (lambda mp: _fail_nth(mp, os, "chmod", 1, OSError(1, "Operation not permitted")),
                                  "没有写权限", False),  # OSError(EPERM) is a PermissionError
    "backup temporary cannot be created": (lambda mp: _fail_nth(mp, tempfile, "mkstemp", 2, OSError(28, "No space left on device")),
                                           "No space left on device", False),
    "backup copy fails half way": (lambda mp: _half_copied(mp), "Input/output error", False),
    "backup rename fails": (lambda mp: _fail_nth(mp, os, "replace", 1, OSError(5, "Input/output error")), "Input/output error", False),
    "final rename refused (Windows: open in another program)": (
        lambda mp: _fail_nth(mp, os, "replace", 2, PermissionError(13, "The process cannot access the file")), "被其他程序打开", True),
}


@pytest.mark.parametrize("kind", ["writer", "bytes"])
@pytest.mark.parametrize("step", list(STEPS))
def test_a_failure_at_any_step_of_a_save_leaves_the_file_and_a_backup_intact(saved, monkeypatch, step, kind):
    path, before, old_backup, new = saved
    payload = (lambda tmp: new.save(tmp)) if kind == "writer" else _bytes_of(new)  # a writer, as PackageEdit.write
    inject, message, backup_done = STEPS[step]
    if step == "disk full while writing":
        inject(monkeypatch, kind)
    else:
        inject(monkeypatch)
    with pytest.raises(SaveError, match=message) as caught:
        save_atomic(payload, path)
    assert "原文件未改动" in str(caught.value) and "\n" not in str(caught.value)
    monkeypatch.undo()
    assert path.read_bytes() == before
    # the backup is the previous backup, or — once the step that refreshes it has run — a copy of this very file
    assert latest_backup(path).read_bytes() == (before if backup_done else old_backup)
    only_the_file_and_backups(path.parent)


def _bytes_of(wb) -> bytes:
    import io

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_ctrl_c_during_a_save_leaves_the_file_intact(saved, monkeypatch):
    path, before, old_backup, new = saved

    def interrupted(self, filename):
        Path(filename).write_bytes(b"PK\x03\x04")
        raise KeyboardInterrupt

    monkeypatch.setattr(openpyxl.Workbook, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_atomic(lambda tmp: new.save(tmp), path)
    assert path.read_bytes() == before and latest_backup(path).read_bytes() == old_backup
    assert len(only_the_file_and_backups(path.parent)) == 2


def test_a_successful_save_after_a_failed_one_is_whole(saved, monkeypatch):
    path, before, _, new = saved
    _fail_nth(monkeypatch, os, "replace", 2, PermissionError(13, "locked"))
    with pytest.raises(SaveError):
        save_atomic(lambda tmp: new.save(tmp), path)
    monkeypatch.undo()
    assert save_atomic(lambda tmp: new.save(tmp), path) == latest_backup(path)
    assert read_register(path)[0]["售后单号"] == "AS-NEW" and latest_backup(path).read_bytes() == before


# ------------------------------------------------------------------------------------------------ locked files


def test_cli_says_the_file_is_open_elsewhere_when_windows_refuses_the_rename(tracker, monkeypatch):
    path = tracker([row()])
    before = path.read_bytes()
    _fail_nth(monkeypatch, os, "replace", 2, PermissionError(13, "The process cannot access the file"))
    result = CliRunner().invoke(main, ["check", str(path), "--now", "2026-11-20 12:00"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == "Error: 无法写入 tracker.xlsx：文件被其他程序打开或没有写权限，原文件未改动"
    assert path.read_bytes() == before


@pytest.mark.skipif(ROOT or os.name == "nt", reason="needs POSIX permissions that apply to this user")
def test_an_unreadable_file_is_refused_in_one_line(tracker):
    path = tracker([row()])
    path.chmod(0)
    try:
        result = CliRunner().invoke(main, ["check", str(path)])
    finally:
        path.chmod(0o644)
    assert result.exit_code == 1 and "没有读取权限" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.skipif(ROOT or os.name == "nt", reason="needs POSIX permissions that apply to this user")
def test_a_read_only_folder_is_refused_in_one_line_and_nothing_changes(tracker, tmp_path):
    path = tracker([row()])
    before = path.read_bytes()
    tmp_path.chmod(0o555)
    try:
        result = CliRunner().invoke(main, ["check", str(path), "--now", "2026-11-20 12:00"])
    finally:
        tmp_path.chmod(0o755)
    assert result.exit_code == 1 and "没有写权限" in result.output and len(result.output.strip().splitlines()) == 1
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["tracker.xlsx"]


def test_a_read_only_folder_as_root_sees_it_simulated(tracker, tmp_path, monkeypatch):
    """The same as above where the tests run as root (CI containers): the folder refuses new files."""
    path = tracker([row()])
    before = path.read_bytes()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(lock, "FileLock", lambda *a, **k: _RefusingLock())
    result = CliRunner().invoke(main, ["check", str(path), "--now", "2026-11-20 12:00"])
    assert result.exit_code == 1 and "没有写权限" in result.output and len(result.output.strip().splitlines()) == 1
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["tracker.xlsx"]


class _RefusingLock:
    def acquire(self):
        raise PermissionError(13, "Permission denied")


# ------------------------------------------------------------------------------------------------ concurrent runs


def _first_run_paused(path):
    """Start a check in a thread that stops inside the save (holding the lock) until ``go`` is set."""
    inside, go, outcome = threading.Event(), threading.Event(), {}

    def pause(tmp):
        inside.set()
        assert go.wait(30)

    def first():
        try:
            outcome["result"] = service.check_file(path, now=NOW, _before_replace=pause)
        except BaseException as error:  # reported to the test through outcome
            outcome["error"] = error
            inside.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(30)
    return thread, go, outcome


def test_a_second_run_waits_for_the_first_and_then_sees_its_result(tracker):
    path = tracker([row()])
    thread, go, outcome = _first_run_paused(path)
    second = {}
    waiting = threading.Thread(target=lambda: second.update(result=service.check_file(path, now=NOW)))
    waiting.start()
    go.set()
    thread.join(30)
    waiting.join(30)
    assert outcome["result"].saved and outcome["result"].changed == 1
    # the second run read the file only after the first had saved it: nothing left to change
    assert second["result"].changed == 0 and not second["result"].saved
    assert read_register(path)[0]["处理建议"] == "退货退款"
    assert not lock.lock_path(path).exists()


def test_a_second_run_refuses_after_a_bounded_wait_and_changes_nothing(tracker, monkeypatch):
    path = tracker([row()])
    before = path.read_bytes()
    monkeypatch.setattr(lock, "LOCK_TIMEOUT", 0.2)
    thread, go, outcome = _first_run_paused(path)
    try:
        result = CliRunner().invoke(main, ["check", str(path), "--now", "2026-11-20 12:00"])
        assert result.exit_code == 1 and "正在被另一个 refund-sheet 运行处理" in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert path.read_bytes() == before  # the first run has not renamed yet; the second wrote nothing
    finally:
        go.set()
        thread.join(30)
    assert outcome["result"].saved and read_register(path)[0]["处理建议"] == "退货退款"


def test_import_and_check_share_the_lock(tmp_path, monkeypatch):
    from douyin import export_row, write_export

    from refund_sheet.workbook.build import build_tracker, deterministic_bytes

    tracker = tmp_path / "t.xlsx"
    tracker.write_bytes(deterministic_bytes(build_tracker([])))
    before = tracker.read_bytes()
    export = write_export(tmp_path / "e.csv", [export_row("7001", "6001")])
    monkeypatch.setattr(lock, "LOCK_TIMEOUT", 0.1)
    with lock.exclusive(tracker), pytest.raises(lock.BusyError, match="另一个 refund-sheet"):
        service.import_file(export, tracker)  # the lock is per file: it sees the check's lock
    assert tracker.read_bytes() == before
    with lock.exclusive(tmp_path / "other.xlsx"):
        service.import_file(export, tracker)  # another file's lock does not block this one
    assert read_register(tracker)[0]["售后单号"] == "7001"


def test_another_process_holding_the_lock_blocks_and_its_death_frees_it(tracker):
    """Across processes (what two terminals or a scheduled task do); a killed holder frees the lock."""
    path = tracker([row()])
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from refund_sheet.lock import exclusive\n"
         "with exclusive(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(lock.BusyError), lock.exclusive(path, timeout=0.2):
            pass
    finally:
        holder.kill()
        holder.wait(30)
    result = service.check_file(path, now=NOW)  # the dead process's lock is gone with it
    assert result.saved and not lock.lock_path(path).exists()


def test_the_lock_file_is_removed_and_never_counted_as_a_workbook(tracker, tmp_path):
    path = tracker([row()])
    service.check_file(path, now=NOW)
    service.check_file(path, now=NOW)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[1] == "tracker.xlsx" and BACKUP_NAME.match(names[0])

