"""Inflating and deflating the big sheet parts with ISA-L (the ``isal`` package) where it is installed.

A run inflates the register's XML twice (to read it, and again as the writer copies it) and deflates it once; at a
full sheet that is ~1.8 GB each way. ISA-L does the same work as zlib — the same deflate format, which every zip
reader reads — in a fraction of the time (measured on a checked 100k-row register of 212 MB: inflate 0.14 s
against zlib's 0.35 s, deflate 0.59 s at its level 3 against zlib's 1.32 s at level 3, for a part of the same
size), and like zlib it lets go of the interpreter while it works. zipfile keeps everything else it does (the
headers, the CRC and its check, Zip64): only its inflater or deflater object is handed ISA-L's.

The same seam lets a part already deflated elsewhere be copied into a new zip as it is (``copy_deflated``): the
writer deflates a sheet into a temporary zip when the styles part must be written before it (``write.py``).

Where ``isal`` has no wheel (Windows on ARM), or a Python's zipfile no longer keeps those objects where this module
looks for them, the part goes through zlib as before: the same bytes, more slowly. ``tests/test_deflate.py`` holds
the CI's Python to the fast way.
"""

from __future__ import annotations

import importlib
import struct
import zipfile
import zlib
from types import ModuleType
from typing import IO

_isal: ModuleType | None
try:
    _isal = importlib.import_module("isal.isal_zlib")
except ImportError:  # no wheel for this platform: zlib does it
    _isal = None

# what reading a part whose compressed bytes are damaged raises: zipfile's bad CRC or truncated data, zlib's
# error, ISA-L's own (not a zlib.error)
DAMAGED: tuple[type[BaseException], ...] = (zipfile.BadZipFile, EOFError, zlib.error) + (
    (_isal.error,) if _isal is not None else ()
)

_ZLIB_INFLATER = type(zlib.decompressobj(-zlib.MAX_WBITS))
_ZLIB_DEFLATER = type(zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS))
LEVEL = 3  # ISA-L's levels are 0–3: its 3 gives about zlib's level 3 size (the writer's STREAMED_LEVEL)
# what a part opened for writing deflates with (zipfile's zlib, or ISA-L's handed it by ``deflating``)
_DEFLATERS: tuple[type, ...] = (_ZLIB_DEFLATER,) + (
    (type(_isal.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)),) if _isal is not None else ()
)


def inflating(handle: IO[bytes]) -> IO[bytes]:
    """``handle`` (a part just opened for reading with ``ZipFile.open``, nothing read yet), inflating with ISA-L
    when it can."""
    inside = vars(handle)  # where zipfile keeps the object doing the work
    if _isal is not None and isinstance(inside.get("_decompressor"), _ZLIB_INFLATER):
        inside["_decompressor"] = _isal.decompressobj(-zlib.MAX_WBITS)
    return handle


def deflating(handle: IO[bytes]) -> IO[bytes]:
    """``handle`` (a part just opened for writing with ``ZipFile.open``, nothing written yet), deflating with
    ISA-L at ``LEVEL`` when it can."""
    inside = vars(handle)
    if _isal is not None and isinstance(inside.get("_compressor"), _ZLIB_DEFLATER):
        inside["_compressor"] = _isal.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return handle


def fast(handle: IO[bytes]) -> bool:
    """Whether ``handle`` inflates or deflates with ISA-L."""
    worker = vars(handle).get("_decompressor") or vars(handle).get("_compressor")
    return _isal is not None and type(worker).__module__.startswith("isal")


class _AsIs:
    """A "compressor" handing back what it is given: the bytes written are deflated already."""

    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self, *_mode: int) -> bytes:
        return b""


_HEADER = struct.Struct("<4s22xHH")  # a local file header: signature, …, the name's and the extra field's lengths
_HEADER_SIGNATURE = b"PK\x03\x04"


def copy_deflated(handle: IO[bytes], source: IO[bytes], entry: zipfile.ZipInfo, spooled: zipfile.ZipFile) -> None:
    """Write part ``entry`` of ``spooled`` (a zip in the file ``source``, its part deflated) into ``handle`` (a
    part just opened for writing with ``ZipFile.open``, deflated, nothing written yet) without inflating and
    deflating it again: its deflated bytes are copied, and the entry is given the part's CRC and size. Where
    this Python's zipfile keeps its state elsewhere, or ``handle`` does not deflate (a ``ZipInfo`` left stored:
    deflated bytes there would be a broken part), the part is inflated and written (the same content, slower)."""
    inside = vars(handle)
    deflates = isinstance(inside.get("_compressor"), _DEFLATERS)
    if not deflates or not {"_crc", "_file_size"} <= inside.keys() or entry.compress_type != zipfile.ZIP_DEFLATED:
        with spooled.open(entry) as part:
            while chunk := part.read(1 << 20):
                handle.write(chunk)
        return
    source.seek(entry.header_offset)
    signature, name_length, extra_length = _HEADER.unpack(source.read(_HEADER.size))
    if signature != _HEADER_SIGNATURE:
        raise zipfile.BadZipFile(f"no local header for {entry.filename}")
    source.seek(entry.header_offset + _HEADER.size + name_length + extra_length)
    inside["_compressor"] = _AsIs()
    left = entry.compress_size
    while left:
        chunk = source.read(min(left, 1 << 20))
        if not chunk:
            raise zipfile.BadZipFile(f"{entry.filename} is cut short")
        handle.write(chunk)
        left -= len(chunk)
    inside["_crc"], inside["_file_size"] = entry.CRC, entry.file_size
