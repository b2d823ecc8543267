"""Inflating and deflating the big sheet parts with ISA-L (the ``isal`` package) where it is installed.

A run inflates the register's XML twice (to read it, and again as the writer copies it) and deflates it once; at a
full sheet that is ~1.8 GB each way. ISA-L does the same work as zlib — the same deflate format, which every zip
reader reads — in a fraction of the time (measured on a checked 100k-row register of 212 MB: inflate 0.14 s
against zlib's 0.35 s, deflate 0.25 s at its level 2 against zlib's 1.32 s at level 3, for a part 6 % bigger),
and like zlib it lets go of the interpreter while it works. zipfile keeps everything else it does (the
headers, the CRC and its check, Zip64): only its inflater or deflater object is handed ISA-L's.

Where ``isal`` has no wheel (Windows on ARM), or a Python's zipfile no longer keeps those objects where this module
looks for them, the part goes through zlib as before: the same bytes, more slowly. ``tests/test_deflate.py`` holds
the CI's Python to the fast way.
"""

from __future__ import annotations

import importlib
import zlib
from types import ModuleType
from typing import IO, Protocol

_isal: ModuleType | None
try:
    _isal = importlib.import_module("isal.isal_zlib")
except ImportError:  # no wheel for this platform: zlib does it
    _isal = None

_ZLIB_INFLATER = type(zlib.decompressobj(-zlib.MAX_WBITS))
_ZLIB_DEFLATER = type(zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS))
# ISA-L's levels are 0–3. Its 2 deflates the 212 MB register in 0.25 s to 34.7 MB, its 3 in 0.59 s to 32.9 MB
# (zlib's 3, which it replaces: 1.32 s, 32.8 MB): when a forked copy wrote the second half of a full sheet, that
# ~0.9 GB is deflated after the first half's rows, with nothing else to do meanwhile (3.8 s at level 3)
LEVEL = 2


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


class Packer(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


class Unpacker(Protocol):
    def decompress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


def packer(level: int = 1) -> Packer:
    """A raw deflate compressor for bytes this run keeps for itself a moment (a temporary file): fast over small."""
    packing: Packer = (_isal or zlib).compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packing


def unpacker() -> Unpacker:
    """The inflater for what a ``packer`` made."""
    unpacking: Unpacker = (_isal or zlib).decompressobj(-zlib.MAX_WBITS)
    return unpacking
