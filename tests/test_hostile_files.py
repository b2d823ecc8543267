"""Hostile files (issue 8): bombs, renamed formats, passwords, macros, external links. Each is refused in one line
before openpyxl expands anything — or, for what belongs to the merchant (macros, links), kept byte for byte.

Every refusal test also checks that nothing was written (the file keeps its bytes, no backup, no leftovers).
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import NOW, read_register, row, write_register

from refund_sheet import service
from refund_sheet.cli import main
from refund_sheet.errors import SaveError, WorkbookError
from refund_sheet.workbook import guard, latest_backup

VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Attribute VB_Name = \"Module1\"\r\nSub Hello()\r\nEnd Sub\r\n" * 20


def rezip(src, dst, change=lambda name, data: data, extra=None):
    """A copy of the package ``src`` with some parts changed or added."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for info in a.infolist():
            b.writestr(info.filename, change(info.filename, a.read(info.filename)))
        for name, data in (extra or {}).items():
            b.writestr(name, data)
    return dst


def with_macros(name, data):
    """What Excel writes for an .xlsm: the macro-enabled main part, the VBA project and its relationship."""
    if name == "[Content_Types].xml":
        data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        data = data.replace(b"<Default ", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ', 1)
    if name == "xl/_rels/workbook.xml.rels":
        data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/'
                            b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    return data


@pytest.fixture
def register(tmp_path):
    return write_register(tmp_path / "src.xlsx", [row()])


def refused(path, match, **kw):
    """Run check on ``path``: it must refuse with ``match`` and leave the folder exactly as it was."""
    before = {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()}
    with pytest.raises((WorkbookError, SaveError), match=match) as caught:
        service.check_file(path, now=NOW, **kw)
    assert "\n" not in str(caught.value)
    assert {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()} == before
    return str(caught.value)


# ------------------------------------------------------------------------------------------------ bombs


def test_defusedxml_guards_openpyxl():
    """openpyxl picks defusedxml up by itself when it is installed; refund-sheet depends on it."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_a_zip_bomb_is_refused_before_it_expands(tmp_path, register):
    """A 64 MB sheet that compresses ~400:1 into 166 kB: refused from the zip directory alone."""
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(register) as a, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as b:
        for info in a.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                b.writestr(info.filename, a.read(info.filename))
        with b.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            chunk = b"<row><c><v>1</v></c></row>" * 40_000
            for _ in range(64 * 2**20 // len(chunk)):
                part.write(chunk)
            part.write(b"</sheetData></worksheet>")
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        message = refused(bomb, "压缩比 .* 异常.*压缩炸弹")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, peak  # nothing was expanded
    assert "xl/worksheets/sheet1.xml" in message


def _claim_size(path, name: str, size: int, packed: int | None = None) -> None:
    """Rewrite the central directory so that ``name`` claims ``size`` uncompressed bytes (and ``packed`` compressed
    ones): the guard judges a package from its directory, so this is a package of that size as far as it can tell."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # the first central directory header
    while at != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == name.encode():
            struct.pack_into("<I", data, at + 24, size)
            if packed is not None:
                struct.pack_into("<I", data, at + 20, packed)
            break
        at = data.find(b"PK\x01\x02", at + 4)
    else:
        raise AssertionError(name)
    path.write_bytes(bytes(data))


def test_a_package_claiming_gigabytes_is_refused(tmp_path, register):
    """A sheet claiming 4 GB from a few kB: the ratio gives it away, whatever a full sheet may hold."""
    claim = rezip(register, tmp_path / "claim.xlsx")
    _claim_size(claim, "xl/worksheets/sheet1.xml", 0xFFFF_FFF0)
    refused(claim, r"xl/worksheets/sheet1.xml 压缩比 \d+:1 异常（上限 200:1）")


# What a tracker of 1,048,575 sample cases (a full sheet) measures, built by benchmarks/bigsheet.py and checked by
# `refund-sheet check` (benchmarks/run.py --full-sheet --keep): the register part's uncompressed and compressed bytes.
FULL_SHEET_AS_BUILT = (1_370_438_926, 161_663_419)  # 1,307 MiB at 8.5:1, 1.3 KB a row
FULL_SHEET_CHECKED = (2_235_815_800, 269_833_424)  # 2,132 MiB at 8.3:1, 2.1 KB a row


@pytest.mark.parametrize("sizes", [FULL_SHEET_AS_BUILT, FULL_SHEET_CHECKED], ids=["as built", "checked"])
def test_a_full_sheet_tracker_passes_the_guard(tmp_path, register, sizes):
    """The old flat limit (512 MB unpacked) refused a full sheet, and a re-check above ~300k rows."""
    full = rezip(register, tmp_path / "full.xlsx")
    _claim_size(full, "xl/worksheets/sheet1.xml", *sizes)
    guard.check_package(full)


def test_a_full_sheet_with_longer_rows_and_shared_strings_passes_the_guard(tmp_path, register):
    """Rows 1.8 times as long as a checked tracker's (the merchant's own columns), and shared strings as big as a
    whole checked sheet."""
    size, packed = FULL_SHEET_CHECKED
    full = rezip(register, tmp_path / "full.xlsx", extra={"xl/sharedStrings.xml": b"<sst/>"})
    _claim_size(full, "xl/worksheets/sheet1.xml", size * 18 // 10, packed * 18 // 10)
    _claim_size(full, "xl/sharedStrings.xml", size, packed)
    guard.check_package(full)


def test_the_most_compressible_real_shape_passes_the_guard(tmp_path, register):
    """The same 174-character reply on every row and nothing else, as openpyxl writes it (character references):
    a 45 MB sheet at ~95:1, the highest ratio measured for a sheet a merchant could really have."""
    reply = "您好，您的退货退款申请已收到，请在七天内按照页面上的地址寄回商品，我们收到后会尽快为您处理退款，谢谢您的支持与理解。" * 3
    text = reply.encode("ascii", "xmlcharrefreplace")
    rows = b"".join(b'<row r="%d"><c r="AD%d" s="6" t="inlineStr"><is><t>%s</t></is></c></row>' % (n, n, text)
                    for n in range(2, 32_000))
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + rows
    full = rezip(register, tmp_path / "same.xlsx", lambda name, data: sheet + b"</sheetData></worksheet>"
                 if name == "xl/worksheets/sheet1.xml" else data)
    info = zipfile.ZipFile(full).getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size >= guard.RATIO_FROM and 50 * info.compress_size < info.file_size  # judged, and very high
    guard.check_package(full)


def test_many_small_parts_that_expand_a_thousandfold_are_refused_together(tmp_path, register):
    """Each part is under the size from which a part's own ratio is judged; the package as a whole is not."""
    zeros = bytes(2**20)
    bomb = rezip(register, tmp_path / "parts.xlsx", extra={f"xl/media/image{i}.png": zeros for i in range(40)})
    assert bomb.stat().st_size < 200_000
    refused(bomb, r"整体压缩比 \d+:1 异常（上限 200:1，共 \d+ 个内部文件）")


def test_a_structure_part_is_held_to_what_a_workbook_structure_can_need(tmp_path, register):
    """styles.xml holds at most Excel's 64,000 cell formats, a few MB: 100 MB is not a style sheet, whatever its ratio."""
    claim = rezip(register, tmp_path / "styles.xlsx")
    _claim_size(claim, "xl/styles.xml", 100 * 2**20, 10 * 2**20)
    refused(claim, r"xl/styles.xml 解压后有 100 MB（此类部件上限 64 MB）")


def test_a_sheet_beyond_a_full_sheet_of_long_rows_is_refused(tmp_path, register, monkeypatch):
    """Over the per-sheet limit (1,048,576 rows × 4 KiB; lowered here, as the zip directory's 32-bit sizes cannot
    claim more than 4 GiB without a zip64 record), even at an ordinary ratio."""
    monkeypatch.setattr(guard, "GRID_MAX", 2**30)
    claim = rezip(register, tmp_path / "long.xlsx")
    _claim_size(claim, "xl/worksheets/sheet1.xml", 2**31, 2**28)
    refused(claim, r"xl/worksheets/sheet1.xml 解压后有 2,048 MB（此类部件上限 1,024 MB）")


def test_a_workbook_of_several_full_sheets_is_refused_in_total(tmp_path, register):
    """Three sheets of 4 GB each at an ordinary ratio: each could be a full sheet, together they pass 8 GiB."""
    sheet = zipfile.ZipFile(register).read("xl/worksheets/sheet1.xml")
    extra = {"xl/worksheets/sheet2.xml": sheet, "xl/worksheets/sheet3.xml": sheet}  # as far as the directory goes
    claim = rezip(register, tmp_path / "three.xlsx", extra=extra)
    for name in ("xl/worksheets/sheet1.xml", *extra):
        _claim_size(claim, name, 4_000_000_000, 500_000_000)
    refused(claim, r"解压后有 11,4\d\d MB（上限 8,192 MB）")


def test_a_package_with_too_many_parts_is_refused(tmp_path, register):
    many = rezip(register, tmp_path / "many.xlsx", extra={f"xl/media/x{i}.bin": b"" for i in range(guard.MAX_ENTRIES)})
    refused(many, "个内部文件")


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]>"
)


@pytest.mark.parametrize("part", ["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/styles.xml", "docProps/core.xml"])
def test_an_xml_entity_bomb_is_refused(tmp_path, register, part):
    def bomb(name, data):
        if name != part:
            return data
        body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
        root_end = body.index(b">")
        return BILLION_LAUGHS + body[:root_end + 1] + b"&lol9;" * 0 + body[root_end + 1 :]

    path = rezip(register, tmp_path / "lol.xlsx", bomb)
    refused(path, "XML 实体/DOCTYPE")


def _padded_bomb(name, data):
    """A DOCTYPE pushed 100 kB down by a comment, and a cell that uses the entity."""
    if name != "xl/worksheets/sheet1.xml":
        return data
    body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
    padded = b'<?xml version="1.0"?><!--' + b" x" * 50_000 + b"-->" + BILLION_LAUGHS[21:]
    return padded + body.replace(b"<sheetData>", b'<sheetData><row r="9"><c r="A9" t="inlineStr"><is><t>&lol9;</t></is></c></row>', 1)


def test_an_entity_bomb_behind_a_long_comment_is_still_found(tmp_path, register):
    refused(rezip(register, tmp_path / "lol.xlsx", _padded_bomb), "sheet1.xml 含有 XML 实体/DOCTYPE")


def test_without_the_guard_openpyxl_still_refuses_entities_through_defusedxml(tmp_path, register):
    """Defence in depth: were the guard bypassed, openpyxl's defusedxml parser refuses the entities instead of
    expanding 10^9 "lol"s."""
    import defusedxml

    path = rezip(register, tmp_path / "lol.xlsx", _padded_bomb)
    tracemalloc.start()
    try:
        with pytest.raises(Exception) as caught:
            openpyxl.load_workbook(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    chain, error = [], caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(e, defusedxml.EntitiesForbidden) for e in chain), chain
    assert peak < 64 * 2**20, peak


@pytest.mark.parametrize(
    "prolog",
    [b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n', b"\xef\xbb\xbf<?xml version='1.0'?>", b"<!-- made by hand -->", b""],
)
def test_ordinary_prologs_pass(prolog):
    data = prolog + b'<Types xmlns="x"><!DOCTYPE-not-here/></Types>'
    assert guard._declares_doctype(io.BytesIO(data)) is False
    assert guard._declares_doctype(io.BytesIO(prolog + b"<!DOCTYPE x []><Types/>")) is True


# ------------------------------------------------------------------------------------------------ not an .xlsx


def test_a_csv_renamed_to_xlsx_is_refused(tmp_path):
    path = tmp_path / "导出.xlsx"
    path.write_bytes("售后单号,订单号,买家\n7001,6001,小王\n".encode("gb18030"))
    refused(path, "不是 .xlsx 工作簿.*另存为 .xlsx")


@pytest.mark.parametrize(
    "parts, message",
    [
        ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}, "OpenDocument"),
        ({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\0" * 10}, r"\.xlsb"),
        ({"word/document.xml": b"<w/>"}, "不是 Excel 工作簿"),
    ],
)
def test_other_zip_formats_renamed_to_xlsx_are_named(tmp_path, parts, message):
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    refused(path, message)


def test_a_password_protected_workbook_is_named_as_such(tmp_path, register):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = tmp_path / "加密.xlsx"
    with open(register, "rb") as plain, open(encrypted, "wb") as out:
        OOXMLFile(plain).encrypt("123456", out)
    with open(encrypted, "rb") as file:
        assert msoffcrypto.OfficeFile(file).is_encrypted()
    refused(encrypted, "设有打开密码（已加密）.*清空密码")


@pytest.mark.libreoffice
def test_a_real_xls_renamed_to_xlsx_is_refused(tmp_path, register):
    from libreoffice import convert

    (tmp_path / "lo").mkdir()
    xls = convert(register, "xls", tmp_path / "lo")
    renamed = xls.with_name("旧表.xlsx")
    xls.rename(renamed)
    refused(renamed, "旧版 .xls")


def test_cli_refuses_a_bomb_in_one_line(tmp_path, register):
    claim = rezip(register, tmp_path / "claim.xlsx")
    _claim_size(claim, "xl/worksheets/sheet1.xml", 0xFFFF_FFF0)
    result = CliRunner().invoke(main, ["check", str(claim)])
    assert result.exit_code == 1 and "压缩炸弹" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------ macros, links


def test_the_macros_of_an_xlsm_are_kept_byte_for_byte(tmp_path, register):
    xlsm = rezip(register, tmp_path / "进销存.xlsm", with_macros, {"xl/vbaProject.bin": VBA})
    result = service.check_file(xlsm, now=NOW)
    assert result.saved and read_register(xlsm)[0]["处理建议"] == "退货退款"
    with zipfile.ZipFile(xlsm) as z:
        assert z.read("xl/vbaProject.bin") == VBA
        assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in z.read("[Content_Types].xml")
        assert b"vbaProject.bin" in z.read("xl/_rels/workbook.xml.rels")


def test_macros_in_a_file_named_xlsx_are_refused_not_dropped(tmp_path, register):
    """A save with keep_vba off would drop the VBA project without a word."""
    renamed = rezip(register, tmp_path / "进销存.xlsx", with_macros, {"xl/vbaProject.bin": VBA})
    refused(renamed, r"含有宏（VBA），但扩展名是 \.xlsx.*改为 \.xlsm")


def test_an_xlsm_saved_under_an_xlsx_name_is_refused(tmp_path, register):
    xlsm = rezip(register, tmp_path / "进销存.xlsm", with_macros, {"xl/vbaProject.bin": VBA})
    before = xlsm.read_bytes()
    with pytest.raises(SaveError, match=r"含宏.*不能保存为 结果\.xlsx"):
        service.check_file(xlsm, tmp_path / "结果.xlsx", now=NOW)
    assert xlsm.read_bytes() == before and not (tmp_path / "结果.xlsx").exists()
    service.check_file(xlsm, tmp_path / "结果.xlsm", now=NOW)
    with zipfile.ZipFile(tmp_path / "结果.xlsm") as z:
        assert z.read("xl/vbaProject.bin") == VBA


def test_external_links_are_kept_and_never_followed(tmp_path, register):
    from openpyxl.packaging.relationship import Relationship
    from openpyxl.workbook.external_link.external import ExternalBook, ExternalLink

    wb = openpyxl.load_workbook(register)
    link = ExternalLink(externalBook=ExternalBook(id="rId1"))
    link.file_link = Relationship(Id="rId1", Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                                  "externalLinkPath", Target="file:///C:/价格表.xlsx", TargetMode="External")
    wb._external_links.append(link)
    wb.active["Z2"] = "='[1]Sheet1'!A1"
    wb.save(register)
    service.check_file(register, now=NOW)
    with zipfile.ZipFile(register) as z:
        assert "file:///C:/价格表.xlsx".encode() in z.read("xl/externalLinks/_rels/externalLink1.xml.rels")
    ws = openpyxl.load_workbook(register).active
    assert ws["Z2"].value == "='[1]Sheet1'!A1" and read_register(register)[0]["处理建议"] == "退货退款"


def test_the_guard_passes_every_workbook_the_project_builds(tmp_path):
    """No false alarm: the tracker and a demo of 300 cases pass the checks."""
    result = service.demo(tmp_path, 300, NOW)
    guard.check_package(result.out)
    guard.check_package(latest_backup(result.out))

