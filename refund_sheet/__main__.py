"""``python -m refund_sheet …`` (``py -m refund_sheet …`` on Windows): the same commands as ``refund-sheet``, for
when Python's Scripts folder is not on PATH, as is usual with the python.org installer's defaults."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover - run as python -m refund_sheet
    main(prog_name="refund-sheet")
