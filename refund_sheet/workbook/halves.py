"""Reading half of a big register in a forked copy of this process, on the second core.

Reading the register is one pass over the sheet's XML in Python, a row at a time; on a full sheet it takes half a
minute on one core while the other only inflates. Where the system forks (Linux), the reader hands the rows from
about the middle of the XML (the seam) to a copy of this process, made before anything is read: the copy streams
the part again, skips to the first block of rows that starts at or after the seam, reads the rest and passes its
rows back through a temporary file, a block at a time, while this process reads the rows before the seam. The
copy's rows are taken only when it started exactly where this process stopped (the same block, after the same
row); anything else — it failed, died, said something unexpected, or the sheet is unusual at the seam — and this
process reads the second half itself. Either way the result is the one a single process gives
(``tests/test_read_halves.py``).

Not on Windows or macOS (no fork there, or not a safe one), and never while this process runs another thread (a
fork copies one thread only): there a sheet is read by one process, as before.

Why not the writer too: it was tried (``docs/performance.md``). A copy forked at the save shares the run's whole
heap, and every page either process then touches — each row's values, their reference counts — is copied: at 100k
rows +100 MB, at a full sheet +750 MB, over the 2 GiB a full sheet may take. The reader's copy is forked while the
run holds next to nothing; so is the spare that writes the register during the check's pass (``pipeline``).
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

SEAM = 0.52  # where the copy starts, as a share of the XML (it inflates the first half to get there)
HALVE_FROM = 48 << 20  # a sheet XML this big (~25k rows) is worth a copy


def can_fork() -> bool:
    """Linux, one thread, and not itself a daemonic process (a multiprocessing pool's worker may have none)."""
    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


class Copy:
    """A forked copy of this process running ``work`` and sending back what it returns."""

    def __init__(self, process: multiprocessing.process.BaseProcess, receive) -> None:
        self.process, self.receive = process, receive

    @classmethod
    def start(cls, work: Callable[[], object]) -> Copy | None:
        """The copy, or None where there is none to be had (see the module's docstring; out of memory)."""
        if not can_fork():
            return None
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        try:
            process = context.Process(target=_run_copy, args=(work, send, receive), daemon=True)
            process.start()
        except OSError:
            receive.close()
            send.close()
            return None
        send.close()
        return cls(process, receive)

    def result(self, kind: type[T]) -> T | None:
        """What the copy's work returned, once it is done; None when it failed, died or returned anything but a
        ``kind``."""
        try:
            outcome = self.receive.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            return None
        return outcome if isinstance(outcome, kind) else None

    def stop(self) -> None:
        """Stop the copy if it still runs, and wait for it."""
        self.receive.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.process.close()


def _run_copy(work: Callable[[], object], send, receive) -> None:
    """In the copy: run ``work`` and send what it returns, or the error's text (this process then does the work
    itself, and meets the same error if it is one). The pipe's reading end is let go of first: held, it would
    keep the copy waiting to send forever if this process died."""
    receive.close()
    try:
        outcome = work()
    except BaseException as error:
        outcome = f"{type(error).__name__}: {error}"
    try:
        send.send(outcome)
    except OSError:
        pass  # this process stopped waiting
    finally:
        send.close()
