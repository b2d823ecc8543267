"""The big sheet parts inflated and deflated by ISA-L (``workbook/deflate.py``): the same part bytes whichever
library does the work, zipfile's checks (the CRC) still in force, zlib where ISA-L is missing — and on the CI's
Python the fast way really taken (a zipfile whose insides moved would quietly fall back to zlib)."""

from __future__ import annotations

import struct
import zipfile

import pytest

from refund_sheet.workbook import deflate
from refund_sheet.workbook.deflate import deflating, fast, inflating
from refund_sheet.workbook.package import _read_here

PART = "xl/worksheets/sheet1.xml"
XML = b"<worksheet><sheetData>" + b"".join(
    f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>退款{i * 7919 % 1009}</t></is></c></row>'.encode()
    for i in range(1, 40_000)) + b"</sheetData></worksheet>"


def write(path, fast_way: bool) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        info = zipfile.ZipInfo(PART)
        info.compress_type = zipfile.ZIP_DEFLATED
        opened = archive.open(info, "w")
        with deflating(opened) if fast_way else opened as stream:
            assert fast(stream) is fast_way
            for i in range(0, len(XML), 100_000):
                stream.write(XML[i : i + 100_000])


def test_isal_deflates_and_inflates_here(tmp_path):
    path = tmp_path / "a.xlsx"
    write(path, fast_way=True)
    with zipfile.ZipFile(path) as archive:
        assert archive.read(PART) == XML  # zlib reads ISA-L's deflate
        assert archive.testzip() is None
        assert fast(inflating(archive.open(PART)))
    assert b"".join(_read_here(path, PART)) == XML


def test_a_part_zlib_deflated_reads_the_same_through_isal(tmp_path):
    path = tmp_path / "b.xlsx"
    write(path, fast_way=False)
    with zipfile.ZipFile(path) as archive, inflating(archive.open(PART)) as handle:
        assert fast(handle)
        assert handle.read() == XML


def test_a_bad_crc_is_still_found(tmp_path):
    path = tmp_path / "c.xlsx"
    write(path, fast_way=True)
    data = bytearray(path.read_bytes())
    at = -1
    while (at := data.find(b"PK\x01\x02", at + 1)) != -1:  # the central directory's entries
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length] == PART.encode():
            data[at + 16] ^= 0xFF  # its CRC-32, which zipfile checks the inflated bytes against
            break
    else:
        raise AssertionError("no entry for the part")
    path.write_bytes(bytes(data))
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        b"".join(_read_here(path, PART))


def test_without_isal_zlib_does_it(tmp_path, monkeypatch):
    monkeypatch.setattr(deflate, "_isal", None)
    path = tmp_path / "d.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, deflating(archive.open(PART, "w")) as stream:
        assert not fast(stream)
        stream.write(XML)
    with zipfile.ZipFile(path) as archive, inflating(archive.open(PART)) as handle:
        assert not fast(handle) and handle.read() == XML


def test_the_writer_deflates_a_big_register_with_isal(tmp_path, monkeypatch):
    from conftest import NOW, read_register, row, write_register

    from refund_sheet import service
    from refund_sheet.workbook import write as writer

    path = write_register(tmp_path / "t.xlsx", [row(售后单号=f"AS{n}") for n in range(50)])
    used: list[bool] = []

    def spied(handle):
        handle = deflating(handle)
        used.append(fast(handle))
        return handle

    monkeypatch.setattr(writer, "STREAMED_BIG", 0)  # the register counts as big
    monkeypatch.setattr(writer, "deflating", spied)
    service.check_file(path, now=NOW)
    assert used and all(used)
    assert [r["售后单号"] for r in read_register(path)] == [f"AS{n}" for n in range(50)]
    assert all(r["处理建议"] for r in read_register(path))


def test_reading_ahead_inflates_with_isal_too(tmp_path, monkeypatch):
    from refund_sheet.workbook import package
    from refund_sheet.workbook.package import read_ahead

    path = tmp_path / "e.xlsx"
    write(path, fast_way=True)
    seen: list[bool] = []

    def spied(handle):
        handle = inflating(handle)
        seen.append(fast(handle))
        return handle

    monkeypatch.setattr(package, "inflating", spied)
    assert b"".join(read_ahead(path, PART)) == XML
    assert seen == [True]


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_tracker_whose_compressed_data_is_damaged_is_refused_untouched(tmp_path, where):
    from conftest import NOW, row, write_register

    from refund_sheet import service
    from refund_sheet.errors import WorkbookError

    path = write_register(tmp_path / "t.xlsx", [row(售后单号=f"AS{n}", 买家=f"买家{n * 7919 % 10007}") for n in range(3000)])
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(PART)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    # early: what the guard reads of each part's start; late: only the register's read reaches it
    at = start + 40 if where == "start" else start + info.compress_size - 400
    for i in range(at, at + 200):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(WorkbookError, match="文件已损坏"):
        service.check_file(path, now=NOW)
    assert path.read_bytes() == bytes(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


def spool(path, compress_type=zipfile.ZIP_DEFLATED):
    """A temporary zip holding PART the way the writer spools a sheet."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("first.xml", b"<a/>" * 1000, compress_type=zipfile.ZIP_DEFLATED)  # PART is not at offset 0
        info = zipfile.ZipInfo(PART)
        info.compress_type = compress_type
        with archive.open(info, "w") as stream:
            stream.write(XML)


@pytest.mark.parametrize("zip64", [False, True])
@pytest.mark.parametrize("with_isal", [True, False])
def test_a_deflated_part_is_copied_into_another_zip_without_deflating_it_again(tmp_path, monkeypatch, with_isal, zip64):
    if not with_isal:
        monkeypatch.setattr(deflate, "_isal", None)
    spool(tmp_path / "spool.zip")
    with open(tmp_path / "spool.zip", "rb") as handle, zipfile.ZipFile(handle) as spooled:
        entry = spooled.getinfo(PART)
        with zipfile.ZipFile(tmp_path / "out.xlsx", "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr("[Content_Types].xml", b"<Types/>")
            info = zipfile.ZipInfo(PART)
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w", force_zip64=zip64) as stream:
                deflate.copy_deflated(stream, handle, entry, spooled)
        with zipfile.ZipFile(tmp_path / "out.xlsx") as out:
            assert out.testzip() is None  # the CRC the entry was given matches what it holds
            copied = out.getinfo(PART)
            assert (copied.CRC, copied.file_size, copied.compress_size) == (entry.CRC, entry.file_size, entry.compress_size)
            assert out.read(PART) == XML
            assert out.namelist() == ["[Content_Types].xml", PART]
        # the deflated bytes are the spool's, byte for byte
        raw = (tmp_path / "out.xlsx").read_bytes()
        assert deflated_bytes(tmp_path / "spool.zip", entry) in raw


def deflated_bytes(path, entry: zipfile.ZipInfo) -> bytes:
    data = path.read_bytes()
    name_length, extra_length = struct.unpack("<HH", data[entry.header_offset + 26 : entry.header_offset + 30])
    start = entry.header_offset + 30 + name_length + extra_length
    return data[start : start + entry.compress_size]


def test_a_part_not_deflated_in_the_spool_is_written_through(tmp_path):
    spool(tmp_path / "spool.zip", compress_type=zipfile.ZIP_STORED)
    with (open(tmp_path / "spool.zip", "rb") as handle, zipfile.ZipFile(handle) as spooled,
          zipfile.ZipFile(tmp_path / "out.xlsx", "w", zipfile.ZIP_DEFLATED) as out):
        info = zipfile.ZipInfo(PART)
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w") as stream:
            deflate.copy_deflated(stream, handle, spooled.getinfo(PART), spooled)
    with zipfile.ZipFile(tmp_path / "out.xlsx") as out:
        assert out.testzip() is None and out.read(PART) == XML
        assert out.getinfo(PART).compress_size < len(XML) // 5  # deflated on the way


def test_a_spool_cut_short_is_an_error_not_a_short_part(tmp_path):
    spool(tmp_path / "spool.zip")
    data = (tmp_path / "spool.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "spool.zip") as spooled:
        entry = spooled.getinfo(PART)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: entry.header_offset + 30 + len(PART) + 100])
    with (open(cut, "rb") as handle, zipfile.ZipFile(tmp_path / "spool.zip") as spooled,
          zipfile.ZipFile(tmp_path / "out.xlsx", "w", zipfile.ZIP_DEFLATED) as out):
        info = zipfile.ZipInfo(PART)
        info.compress_type = zipfile.ZIP_DEFLATED
        with pytest.raises(zipfile.BadZipFile, match="cut short"), out.open(info, "w") as stream:
            deflate.copy_deflated(stream, handle, entry, spooled)


@pytest.mark.parametrize("compress_type", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2])
def test_a_part_copied_into_an_entry_not_deflated_is_written_through(tmp_path, compress_type):
    """The deflated bytes go as they are only into an entry that deflates: a ZipInfo left stored (its own
    compress_type wins over the ZipFile's) got them under the part's CRC, a broken part."""
    spool(tmp_path / "spool.zip")
    with (open(tmp_path / "spool.zip", "rb") as handle, zipfile.ZipFile(handle) as spooled,
          zipfile.ZipFile(tmp_path / "out.xlsx", "w", zipfile.ZIP_DEFLATED) as out):
        info = zipfile.ZipInfo(PART)
        info.compress_type = compress_type
        with out.open(info, "w") as stream:
            deflate.copy_deflated(stream, handle, spooled.getinfo(PART), spooled)
    with zipfile.ZipFile(tmp_path / "out.xlsx") as out:
        assert out.getinfo(PART).compress_type == compress_type
        assert out.testzip() is None and out.read(PART) == XML
