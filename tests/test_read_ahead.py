"""The big parts inflated ahead on a second thread (``package.read_ahead``).

read_ahead must give exactly the chunks reading the part in place gives, raise the zip's errors (a bad CRC, a
truncated part, a missing part) to its caller, and never leave its thread behind: not when the caller stops
early, not when the caller raises, not when the thread itself fails.
"""

from __future__ import annotations

import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from refund_sheet.workbook.package import CHUNK, Package, _read_here, read_ahead

PART = "xl/worksheets/sheet1.xml"


def _inflating() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("inflate ")]


def _settled() -> list[threading.Thread]:
    """The inflating threads still alive once the ones stopping have had a moment."""
    for _ in range(200):
        if not _inflating():
            return []
        time.sleep(0.01)
    return _inflating()


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A zip whose one part inflates to ~11 MB (neither a whole number of megabytes nor of read_ahead's steps)."""
    path = tmp_path_factory.mktemp("ahead") / "big.xlsx"
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i * 7919 % 100_003) for i in range(1, 260_000))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr(PART, b"<worksheet><sheetData>" + rows + b"</sheetData></worksheet>")
    return path


def test_the_chunks_are_those_read_in_place(big):
    assert zipfile.ZipFile(big).getinfo(PART).file_size > 10 * CHUNK
    here = list(_read_here(big, PART))
    assert list(read_ahead(big, PART)) == here
    assert list(read_ahead(big, PART, ahead=1)) == here
    assert list(Package(big).stream(PART)) == here
    assert _settled() == []


def test_a_small_part_is_read_in_place(big):
    stream = Package(big).stream("[Content_Types].xml")
    assert next(stream) == b"<Types/>" and _inflating() == []


def test_a_caller_stopping_early_stops_the_thread(big):
    stream = read_ahead(big, PART, ahead=2)
    assert len(next(stream)) == CHUNK
    time.sleep(0.05)  # the thread has filled the queue and waits to put the next chunk
    assert len(_inflating()) == 1
    stream.close()
    assert _inflating() == []  # joined by close()


def test_a_caller_raising_stops_the_thread(big):
    def consume() -> None:
        for _ in Package(big).stream(PART):
            raise ValueError("the caller's own error")

    with pytest.raises(ValueError, match="the caller's own error"):
        consume()
    assert _settled() == []


def test_an_abandoned_stream_stops_its_thread(big):
    stream = read_ahead(big, PART, ahead=1)
    next(stream)
    del stream
    assert _settled() == []


def _damaged(big: Path, tmp_path: Path, how: str) -> Path:
    data = bytearray(big.read_bytes())
    info = zipfile.ZipFile(big).getinfo(PART)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    if how == "crc":  # the stored CRC no longer matches
        at = info.header_offset + 14
        data[at : at + 4] = (info.CRC ^ 1).to_bytes(4, "little")
        central = data.rfind(b"PK\x01\x02")
        while data[central + 46 : central + 46 + len(PART)] != PART.encode():
            central = data.rfind(b"PK\x01\x02", 0, central)
        data[central + 16 : central + 20] = (info.CRC ^ 1).to_bytes(4, "little")
    else:  # the deflated data garbled in its middle
        middle = start + info.compress_size // 2
        data[middle : middle + 64] = bytes(64)
    path = tmp_path / f"{how}.xlsx"
    path.write_bytes(bytes(data))
    return path


def _until_error(chunks) -> tuple[list[bytes], BaseException | None]:
    got: list[bytes] = []
    try:
        for chunk in chunks:
            got.append(chunk)
    except Exception as error:
        return got, error
    return got, None


@pytest.mark.parametrize("how", ["crc", "garbled"])
def test_a_damaged_part_gives_the_chunks_and_the_error_reading_in_place_gives(big, tmp_path, how):
    path = _damaged(big, tmp_path, how)
    here, error = _until_error(_read_here(path, PART))
    assert isinstance(error, (zipfile.BadZipFile, zlib.error, EOFError)) and len(here) >= 5
    for ahead in (1, 3, 8):
        got, raised = _until_error(read_ahead(path, PART, ahead))
        assert got == here
        assert type(raised) is type(error) and str(raised) == str(error)
    assert _settled() == []


def test_a_missing_part_or_file_raises_as_before(big, tmp_path):
    with pytest.raises(KeyError):
        list(read_ahead(big, "xl/worksheets/sheet9.xml"))
    with pytest.raises(FileNotFoundError):
        list(read_ahead(tmp_path / "gone.xlsx", PART))
    assert _settled() == []


def test_a_failing_thread_hands_its_error_over(big, monkeypatch):
    def broken(self, *args, **kwargs):
        raise MemoryError("inflating failed")

    monkeypatch.setattr(zipfile.ZipExtFile, "read", broken)
    with pytest.raises(MemoryError, match="inflating failed"):
        list(read_ahead(big, PART))
    assert _settled() == []
