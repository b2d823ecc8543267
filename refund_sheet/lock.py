"""One run at a time per workbook: a lock file beside it, held from reading the file to saving it.

Two runs on the same tracker (two terminals, a scheduled import while the merchant clicks 检查全部) must not both
read the old file and then both save: the second save would silently drop the first run's work. The second run
waits up to ``LOCK_TIMEOUT`` seconds, then refuses with a message; the file is left as the first run saved it.

The lock file is ``.~NAME.xlsx.lock`` (hidden on macOS and Linux) and is removed at the end of the run. It uses the
operating system's file locks (``filelock``), so a run that crashes releases it with its process.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import SaveError

LOCK_TIMEOUT = 10.0  # seconds a second run waits for the first before refusing


class BusyError(SaveError):
    """Another run is processing the same workbook; nothing was changed."""


def lock_path(target: Path) -> Path:
    """``RefundTracker.xlsx`` → ``.~RefundTracker.xlsx.lock`` beside it."""
    target = Path(target)
    return target.with_name(f".~{target.name}.lock")


@contextmanager
def exclusive(target: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of ``target`` for the duration of the block.

    Raises BusyError when another run holds it for longer than ``timeout`` (default ``LOCK_TIMEOUT``). When the
    lock file cannot be created at all (a read-only or missing folder), the run goes on unlocked: nobody else can
    save there either, and a save that is needed fails with its own clear message.
    """
    path = lock_path(target)
    if not path.parent.is_dir():  # filelock would create the folder; the save reports it missing instead
        yield
        return
    wait = LOCK_TIMEOUT if timeout is None else timeout
    lock = FileLock(path, timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise BusyError(
            f"{Path(target).name} 正在被另一个 refund-sheet 运行处理（等待 {wait:g} 秒后仍未结束）：请等它完成后再试，文件未改动"
        ) from None
    except OSError:
        yield
        return
    try:
        yield
    finally:
        if os.name != "nt":  # remove it while still holding it, so a waiting run retries on a fresh file
            try:
                path.unlink()
            except OSError:
                pass
        lock.release()


def one_run_at_a_time(*names: str):
    """Decorate a service function so it runs holding the lock of the file it writes: the first of the
    arguments ``names`` that is given (``@one_run_at_a_time("out", "path")`` → ``out`` if given, else ``path``)."""

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            target = next(bound.arguments[n] for n in names if bound.arguments.get(n) is not None)
            with exclusive(Path(target)):
                return function(*args, **kwargs)

        return wrapper

    return decorate
