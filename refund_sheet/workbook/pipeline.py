"""Writing the register while the check's pass goes on, in a spare process on the second core.

At a full sheet the pass (judge, reply, compare: ``plan.plan_check``) keeps one core busy for half a minute while
the other idles, and the save then spends as long again writing the register. Where the system forks (Linux), a
spare copy of this process is forked at the very start of a check, while the run holds next to nothing (a copy
forked later would share the run's heap, and every page either process touched afterwards would be copied:
``docs/performance.md``). Once the tracker is read, the run tells the spare what the register's edit is made of
(the part, its output columns, their header cells, its column styles); the spare opens the file itself (the same
file: its stamp is compared) and, as the pass hands it each changed row (pickled in batches through a pipe, with
how far the pass has gone), writes the register part into a temporary zip, a block of rows at a time, once every
row of the block is final. At the save the run copies the spare's deflated part into place
(``PackageEdit.premade``, ``deflate.copy_deflated``), after asking its own styles the questions the spare's writer
asked, in the same order: the same answers mean the same bytes (styles.xml gets what writing the part here would
have added, and 记录's styles come after).

The spare only ever takes the common case, decided before the pass from what was read (``usable``): a plain check
of every row, a register big enough to be worth it, no merged range over an output column, no formula in one, and
a <dimension> that already covers every row and output column (so nothing the pass finds changes the part outside
its rows). Anything else — the spare failed, died, the file changed, rows came out of order, a style answered
differently, a pipe broke, it took no rows or did not finish for STUCK seconds — and the run writes the register
itself from the plan, as it always did: the same file either way (``tests/test_pipeline_save.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import select
import struct
import tempfile
import threading
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import WorkbookError
from ..plan import Updates
from . import halves
from .apply import grown_dimension, header_cells
from .formats import OUTPUT_FORMATS
from .package import Package
from .read import Tracker
from .write import BulkRows, PackageEdit, Premade, Put, SheetWriter

SPARE_FROM = halves.HALVE_FROM  # a register XML this big (~25k rows) is worth a spare
BATCH = 2048  # rows of the pass between two batches handed over
QUEUED = 32  # batches the spare holds before the pipe (then the pass) waits for it
LEVEL = 6  # the level the spare writes at: the save's own (``PackageEdit.write``'s default)
FILE_SHARE = 32  # a register of SPARE_FROM bytes is in a file of more than SPARE_FROM / FILE_SHARE (deflated XML)
STUCK = 60.0  # seconds the run waits for the spare (to take rows, or to finish) before writing the register itself


@dataclass(frozen=True)
class _Setup:
    """What the spare needs to write the register: the file and its stamp, the part, the bulk's places, the
    edit's column styles, header row and header cells."""

    path: Path
    stamp: tuple[int, int, int]
    part: str
    places: tuple[tuple[str, int, str | None], ...]
    col_styles: dict[int, int]
    header_row: int
    headers: dict[int, Put]


@dataclass(frozen=True)
class _Done:
    """The spare wrote ``part`` at ``level``; its writer asked these styles, in order (``Premade.styles``)."""

    part: str
    level: int
    styles: tuple[tuple[tuple[int, str], int], ...]


def worth_a_spare(path: Path, only_rows: set[int] | None) -> bool:
    """Whether a check of ``path`` may use a spare, known before anything is read: a plain check of a file
    that may hold a register worth it (the file's size says roughly), where a spare can be forked."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return only_rows is None and size * FILE_SHARE >= SPARE_FROM and halves.can_fork()


def usable(tracker: Tracker, columns: dict[str, int]) -> bool:
    """Whether the register's edit can be written before the pass ends: its part big enough to be worth it, no
    merged range over an output column, no formula in one, and a <dimension> (if any) already covering every row
    and output column (so ``apply.grow_dimension`` leaves it)."""
    reg = tracker.register
    if tracker.package.size(reg.part) < SPARE_FROM:
        return False
    outputs = set(columns.values())
    scan = reg.scan
    if any(c1 <= column <= c2 for _r1, c1, _r2, c2 in scan.merged for column in outputs):
        return False
    if any(column in outputs for _row, column in scan.formulas):
        return False
    last_row = max([reg.header_row, *(number for number, _ in tracker.rows[-1:])])
    return grown_dimension(scan.head, last_row, max(outputs, default=0)) is None


class Spare:
    """The spare process, seen from the run: forked by ``start``, given the register by ``offer``, handed the
    pass's rows as a ``plan.RowSink``, and asked for the part at the save (``take``)."""

    def __init__(self, process: multiprocessing.process.BaseProcess, rows, results, spool: IO[bytes]) -> None:
        self.process, self.rows, self.results, self.spool = process, rows, results, spool
        self.part = ""
        self.batch: list[tuple[int, tuple[object, ...]]] = []
        self.mark = 0  # the row the next batch is handed over at
        self.live = False  # given the register and still taking rows
        self.ended = False  # told every row

    @classmethod
    def start(cls) -> Spare | None:
        """The spare, or None where there is none to be had (no fork, no temporary file, out of memory)."""
        if not halves.can_fork():
            return None
        with ExitStack() as stack:
            try:
                spool = stack.enter_context(tempfile.TemporaryFile(prefix="refund-sheet-"))
            except OSError:
                return None
            context = multiprocessing.get_context("fork")
            rows_in, rows_out = context.Pipe(duplex=False)
            results_in, results_out = context.Pipe(duplex=False)
            for end in (rows_in, rows_out, results_in, results_out):
                stack.callback(end.close)
            try:
                process = context.Process(target=_spare, args=(rows_in, rows_out, results_in, results_out, spool), daemon=True)
                process.start()
            except OSError:
                return None  # everything closed on the way out
            stack.pop_all()  # the spare's: kept
        rows_in.close()
        results_out.close()
        os.set_blocking(rows_out.fileno(), False)  # a spare that stops taking rows never holds the pass (``_send``)
        return cls(process, rows_out, results_in, spool)

    def offer(self, tracker: Tracker, columns: dict[str, int], new_headers: tuple[str, ...]) -> bool:
        """Give the spare the register to write when it can (``usable``); False when it is not to be used (it is
        then told so, and stops)."""
        reg = tracker.register
        try:
            headers = header_cells(tracker, columns, new_headers) if usable(tracker, columns) else None
        except WorkbookError:  # a header in a merged range: the run meets the same refusal applying the plan
            headers = None
        if headers is None:
            self._send(None)
            return False
        places = tuple((key, columns[key], OUTPUT_FORMATS.get(key)) for key in columns)
        setup = _Setup(tracker.package.path, tracker.package.stamp, reg.part, places, dict(reg.scan.col_styles),
                       reg.header_row, headers)
        self.part, self.mark = reg.part, 0
        self.live = self._send(setup)
        return self.live

    # -- plan.RowSink

    def changed(self, number: int, stored: tuple[object, ...]) -> None:
        # text goes as its UTF-8 bytes (the output values are never bytes themselves): pickled as it is, each
        # text would keep a UTF-8 copy of itself for the rest of the run (pickle asks for it, and the string
        # caches it), half a gigabyte at a full sheet
        if self.live:
            self.batch.append((number, tuple([v.encode("utf-8", "surrogatepass") if type(v) is str else v for v in stored])))

    def through(self, number: int) -> None:
        if number >= self.mark:
            self.mark = number + BATCH
            self._hand(number)

    def _hand(self, through: int | None) -> None:
        batch, self.batch = self.batch, []
        if not self.live:
            return
        self.live = self._send((batch, through))

    def end(self) -> None:
        """Every row handed over: the spare writes the rest."""
        if self.live:
            self._hand(None)
            self.ended = self.live

    def _send(self, message: object) -> bool:
        """Hand ``message`` over as ``Connection.send_bytes`` frames it; False when the spare is gone, or has taken
        nothing for STUCK seconds (stopped, or stuck): the run then writes the register itself and never waits on
        it again (a message cut short makes the spare stop at it)."""
        data = pickle.dumps(message, protocol=5)
        size = len(data)
        head = struct.pack("!i", size) if size <= 0x7FFFFFFF else struct.pack("!iQ", -1, size)
        view = memoryview(head + data)
        try:
            fd = self.rows.fileno()
            while view:
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    ready = select.poll()  # not select.select: a host's descriptor may be past FD_SETSIZE
                    ready.register(fd, select.POLLOUT)
                    if not ready.poll(STUCK * 1000):
                        return False
        except (OSError, ValueError):  # the spare is gone
            return False
        return True

    # -- at the save

    def take(self, level: int) -> Premade | None:
        """The register as the spare wrote it, once it is done; None when it failed, died or wrote at another
        level than ``level``."""
        if not self.ended or level != LEVEL:
            return None
        self.ended = False  # taken once
        try:
            if not self.results.poll(STUCK):
                return None  # stuck: written here
            outcome = self.results.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            return None
        if not (isinstance(outcome, _Done) and outcome.part == self.part and outcome.level == level):
            return None
        self.spool.seek(0)
        return Premade(self.spool, outcome.styles)

    def stop(self) -> None:
        """Stop the spare if it still runs, wait for it, and let its temporary file go."""
        self.rows.close()
        self.results.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.process.close()
        self.spool.close()


# ------------------------------------------------------------------------------------------------ in the spare


class _Feed:
    """The rows of the pass as they come (``write.RowFeed``): a thread takes the pipe's batches as they arrive
    (so the pass seldom waits for the writer), the writer unpickles them as it needs them, and rows written are
    let go."""

    def __init__(self, rows, updates: Updates, waiting: list[int]) -> None:
        self.updates, self.waiting = updates, waiting
        self.through = 0  # every row up to here is known
        self.all = False
        self.written = 0  # every row up to here is written once the writer asks for more: let go then
        self.kept = 0  # the first row of ``waiting`` not let go
        self.batches: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED)
        threading.Thread(target=self._take, args=(rows,), daemon=True).start()

    def _take(self, rows) -> None:
        try:
            while True:
                self.batches.put(rows.recv_bytes())
        except BaseException:  # the pipe closed, or anything else: the writer stops at the end of what came
            self.batches.put(None)

    def need(self, last: int | None) -> None:
        updates, waiting = self.updates, self.waiting
        if last is not None:  # asked for the next block: the one before is written
            while self.kept < len(waiting) and waiting[self.kept] <= self.written:
                updates.drop(waiting[self.kept])
                self.kept += 1
            self.written = max(self.written, last)
        while not self.all and (last is None or self.through < last):
            data = self.batches.get()
            if data is None:
                raise EOFError("the run stopped handing rows over")
            message = pickle.loads(data)
            if message is None:
                raise RuntimeError("the run writes the register itself")
            batch, through = message
            for number, stored in batch:
                if waiting and number <= waiting[-1]:
                    raise ValueError(f"row {number} out of order")
                updates.keep(number, tuple([v.decode("utf-8", "surrogatepass") if type(v) is bytes else v for v in stored]))
                waiting.append(number)
            if through is None:
                self.all = True
            elif through < self.through:
                raise ValueError(f"the pass went back to row {through}")
            else:
                self.through = through


def _spare(rows_in, rows_out, results_in, results_out, spool: IO[bytes]) -> None:
    """The spare's life: write the register as the run hands it over, and say how that went (as the reader's copy
    says it: ``halves._run_copy``). The pipes' other ends are let go of first: held, they would keep either process
    waiting forever if the other died."""
    rows_out.close()
    halves._run_copy(lambda: _write_register(rows_in, spool), results_out, results_in)


def _write_register(rows, spool: IO[bytes]) -> _Done | None:
    """In the spare: wait for the register's set-up, then write it into ``spool`` as its rows come."""
    setup = pickle.loads(rows.recv_bytes())
    if not isinstance(setup, _Setup):
        return None  # not wanted
    package = Package(setup.path)
    if package.stamp != setup.stamp:
        raise RuntimeError(f"{setup.path.name} changed since the run read it")
    edit = PackageEdit(package)
    sheet = edit.sheet(setup.part, setup.col_styles, setup.header_row)
    if setup.headers:
        sheet.cells[setup.header_row] = dict(setup.headers)
    updates = Updates()
    sheet.bulk = BulkRows(updates, setup.places)
    feed = _Feed(rows, updates, sheet.row_numbers())
    writer = SheetWriter(sheet, edit.styles, edit.date1904)
    old = next((info for info in package.infos if info.filename == setup.part), None)
    with zipfile.ZipFile(spool, "w") as out:
        edit.write_sheet(out, setup.part, writer, old, LEVEL, feed)
    spool.flush()
    return _Done(setup.part, LEVEL, tuple(edit.styles.derived.items()))
