"""Real-world workbook features, each injected into a tracker the way Excel 365, WPS or LibreOffice write it.

``FEATURES`` is the list (STYLE habit 14): each entry names a small function that edits a Package in place, and what
LibreOffice should still show of it (``lo_sees``: a test on the .ods LibreOffice converts the file to). The XML
follows files those programs write (Excel 365 / WPS 2019+ / LibreOffice 7.x): namespaces declared on the root,
``mc:Ignorable`` for the x14ac/xr extensions, ``\\r\\n`` after the XML declaration, GUIDs in braces.
"""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from package import (
    CT,
    NS_A,
    NS_MAIN,
    NS_MC,
    NS_R,
    NS_X14,
    NS_X14AC,
    NS_XDR,
    NS_XM,
    WORKBOOK_ORDER,
    Package,
    column_letter,
    unescape,
    xml_text,
)

DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
REGISTER = "退款登记"
NS_XR = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
NS_TC = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"


def png(width: int = 8, height: int = 8, rgb=(200, 30, 30)) -> bytes:
    """A real, tiny PNG (a screenshot stand-in)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------------------------------ helpers


def register(pkg: Package) -> str:
    return pkg.sheet(REGISTER)


def headers(pkg: Package) -> dict[str, str]:
    """Header text → column letter on the register's row 1 (inline or shared strings)."""
    text = pkg.text(register(pkg))
    row = re.search(r'<row\b[^>]*\br="1"[^>]*>(.*?)</row>', text, re.S).group(1)
    shared = shared_strings(pkg)
    found = {}
    for ref, attrs, body in re.findall(r'<c\b[^>]*?\br="([A-Z]+)1"([^>]*)>(.*?)</c>', row, re.S):
        if 't="s"' in attrs:
            value = shared[int(re.search(r"<v>(\d+)</v>", body).group(1))]
        else:
            value = unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", body, re.S)))
        found[value] = ref
    return found


def shared_strings(pkg: Package) -> list[str]:
    if "xl/sharedStrings.xml" not in pkg.entries:
        return []
    items = re.findall(r"<si>(.*?)</si>", pkg.text("xl/sharedStrings.xml"), re.S)
    return [unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", si, re.S))) for si in items]


def last_row(pkg: Package) -> int:
    return max(int(r) for r in re.findall(r'<row\b[^>]*\br="(\d+)"', pkg.text(register(pkg))))


def last_column(pkg: Package) -> int:
    from package import column_index

    return max(column_index(c) for c in headers(pkg).values())


def cell_value(pkg: Package, ref: str) -> str | None:
    text = pkg.text(register(pkg))
    m = re.search(rf'<c\b[^>]*\br="{ref}"[^>]*?(?:/>|>(.*?)</c>)', text, re.S)
    if not m or not m.group(1):
        return None
    body = m.group(1)
    if "<is>" in body:
        return unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", body, re.S)))
    v = re.search(r"<v>(.*?)</v>", body)
    return v.group(1) if v else None


def ensure_shared_strings(pkg: Package) -> None:
    if "xl/sharedStrings.xml" in pkg.entries:
        return
    pkg.add(
        "xl/sharedStrings.xml",
        DECL + f'<sst xmlns="{NS_MAIN}" count="0" uniqueCount="0"></sst>',
        CT + "spreadsheetml.sharedStrings+xml",
    )
    pkg.relate("xl/workbook.xml", "sharedStrings", "sharedStrings.xml")


def add_shared(pkg: Package, si_inner: str) -> int:
    """Append one ``<si>`` to the shared strings; returns its index."""
    ensure_shared_strings(pkg)
    text = pkg.text("xl/sharedStrings.xml")
    index = len(re.findall(r"<si>", text))
    text = text.replace("</sst>", f"<si>{si_inner}</si></sst>")
    text = re.sub(r'count="\d+"', f'count="{index + 1}"', text, count=1)
    text = re.sub(r'uniqueCount="\d+"', f'uniqueCount="{index + 1}"', text, count=1)
    pkg.put("xl/sharedStrings.xml", text)
    return index


def excel_root(pkg: Package, part: str) -> None:
    """The root namespaces Excel 365 writes on a worksheet it saved."""
    for prefix, uri in (
        ("r", NS_R), ("mc", NS_MC), ("x14ac", NS_X14AC), ("xr", NS_XR),
        ("xr2", "http://schemas.microsoft.com/office/spreadsheetml/2015/revision2"),
        ("xr3", "http://schemas.microsoft.com/office/spreadsheetml/2016/revision3"),
    ):
        pkg.declare(part, prefix, uri)
    text = pkg.text(part)
    if "mc:Ignorable" not in text[: text.find(">")]:
        text = re.sub(r"<worksheet\b([^>]*)>", r'<worksheet\1 mc:Ignorable="x14ac xr xr2 xr3">', text, count=1)
        pkg.put(part, text)


def anchor(col_from: int, row_from: int, col_to: int, row_to: int) -> str:
    """xdr:from / xdr:to, 0-based, with the EMU offsets Excel writes."""
    return (
        f"<xdr:from><xdr:col>{col_from}</xdr:col><xdr:colOff>171450</xdr:colOff><xdr:row>{row_from}</xdr:row>"
        f"<xdr:rowOff>47625</xdr:rowOff></xdr:from><xdr:to><xdr:col>{col_to}</xdr:col><xdr:colOff>485775</xdr:colOff>"
        f"<xdr:row>{row_to}</xdr:row><xdr:rowOff>133350</xdr:rowOff></xdr:to>"
    )


def drawing_on(pkg: Package, sheet_part: str, anchors: str) -> str:
    """A drawing part holding ``anchors`` on ``sheet_part`` (made, or reused when the sheet has one)."""
    part = pkg.free("xl/drawings/drawing{}.xml")
    pkg.add(
        part,
        DECL + f'<xdr:wsDr xmlns:xdr="{NS_XDR}" xmlns:a="{NS_A}">{anchors}</xdr:wsDr>',
        CT + "drawing+xml",
    )
    rid = pkg.relate(sheet_part, "drawing", "../drawings/" + part.rsplit("/", 1)[1])
    pkg.declare(sheet_part, "r", NS_R)
    pkg.child(sheet_part, "drawing", f'<drawing r:id="{rid}"/>')
    return part


def media(pkg: Package, data: bytes) -> str:
    pkg.default("png", "image/png")
    name = pkg.free("xl/media/image{}.png")
    pkg.add(name, data)
    return name


# ------------------------------------------------------------------------------------------------ features


def text_box(pkg: Package) -> None:
    """A text box (an xdr:sp shape with txBody) on the register, as Excel 365 inserts one."""
    body = (
        '<xdr:twoCellAnchor editAs="absolute">' + anchor(33, 1, 37, 6) + '<xdr:sp macro="" textlink="">'
        '<xdr:nvSpPr><xdr:cNvPr id="2" name="文本框 1">'
        '<a:extLst><a:ext uri="{FF2B5EF4-FFF2-40B4-BE49-F238E27FC236}">'
        '<a16:creationId xmlns:a16="http://schemas.microsoft.com/office/drawing/2014/main" '
        'id="{6D3F8A51-0C2B-4E7A-9D14-2B8F5C7E1A90}"/></a:ext></a:extLst></xdr:cNvPr>'
        '<xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr><a:xfrm><a:off x="25260300" y="238125"/>'
        '<a:ext cx="3048000" cy="952500"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom>'
        '<a:solidFill><a:srgbClr val="FFF2CC"/></a:solidFill><a:ln w="9525" cmpd="sng"><a:solidFill>'
        '<a:srgbClr val="BF9000"/></a:solidFill></a:ln></xdr:spPr><xdr:style><a:lnRef idx="0"><a:scrgbClr r="0" g="0" b="0"/>'
        '</a:lnRef><a:fillRef idx="0"><a:scrgbClr r="0" g="0" b="0"/></a:fillRef><a:effectRef idx="0">'
        '<a:scrgbClr r="0" g="0" b="0"/></a:effectRef><a:fontRef idx="minor"><a:schemeClr val="dk1"/></a:fontRef>'
        '</xdr:style><xdr:txBody><a:bodyPr vertOverflow="clip" horzOverflow="clip" wrap="square" rtlCol="0" anchor="t"/>'
        '<a:lstStyle/><a:p><a:r><a:rPr lang="zh-CN" altLang="en-US" sz="1100" b="1"/><a:t>退货请先拍照留证</a:t></a:r></a:p>'
        '<a:p><a:r><a:rPr lang="zh-CN" altLang="en-US" sz="1100"/><a:t>大额订单找店长签字</a:t></a:r></a:p>'
        "</xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor>"
    )
    drawing_on(pkg, register(pkg), body)


def picture(pkg: Package) -> None:
    """A floating picture (xdr:pic, image in xl/media) on the register, as Excel inserts a screenshot."""
    image = media(pkg, png(16, 12, (30, 120, 200)))
    part = pkg.free("xl/drawings/drawing{}.xml")
    rel_from_drawing = None
    anchors = (
        '<xdr:twoCellAnchor editAs="oneCell">' + anchor(33, 7, 35, 12) + '<xdr:pic><xdr:nvPicPr>'
        '<xdr:cNvPr id="3" name="图片 2" descr="物流截图"/><xdr:cNvPicPr><a:picLocks noChangeAspect="1"/>'
        '</xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill><a:blip xmlns:r="' + NS_R + '" r:embed="rId1"/>'
        '<a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:xfrm><a:off x="25260300" y="1381125"/>'
        '<a:ext cx="1524000" cy="1143000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr>'
        "</xdr:pic><xdr:clientData/></xdr:twoCellAnchor>"
    )
    made = drawing_on(pkg, register(pkg), anchors)
    assert made == part
    rel_from_drawing = pkg.relate(part, "image", "../media/" + image.rsplit("/", 1)[1])
    assert rel_from_drawing == "rId1"


def wps_cell_image(pkg: Package) -> None:
    """WPS 嵌入单元格图片: ``=DISPIMG("ID_…",1)`` in 备注 + xl/cellimages.xml + its rels (WPS 2019+)."""
    image = media(pkg, png(10, 10, (20, 160, 60)))
    image_id = "ID_5A3C1B2D8E7F4A6B9C0D1E2F3A4B5C6D"
    pkg.add(
        "xl/cellimages.xml",
        DECL + '<etc:cellImages xmlns:xdr="' + NS_XDR + '" xmlns:r="' + NS_R + '" xmlns:a="' + NS_A + '" '
        'xmlns:etc="http://www.wps.cn/officeDocument/2017/etCustomData"><etc:cellImage><xdr:pic><xdr:nvPicPr>'
        f'<xdr:cNvPr id="2" name="{image_id}" descr="凭证截图"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill>'
        '<a:blip r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:xfrm>'
        '<a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        "</a:prstGeom></xdr:spPr></xdr:pic></etc:cellImage></etc:cellImages>",
        "application/vnd.wps-officedocument.cellimage+xml",
    )
    pkg.relate("xl/cellimages.xml", "image", "media/" + image.rsplit("/", 1)[1])
    pkg.relate("xl/workbook.xml", "http://www.wps.cn/officeDocument/2020/cellImage", "cellimages.xml")
    note = headers(pkg)["备注"]
    pkg.cell(
        register(pkg), f"{note}2",
        f'<c r="{note}2" t="str"><f>_xlfn.DISPIMG("{image_id}",1)</f><v>=DISPIMG("{image_id}",1)</v></c>',
    )


def excel_cell_image(pkg: Package) -> None:
    """Excel 365 “Place in Cell” picture in 备注: vm= on the cell, xl/metadata.xml and xl/richData/* (rich value)."""
    image = media(pkg, png(10, 10, (160, 60, 160)))
    rd = "http://schemas.microsoft.com/office/spreadsheetml/2017/richdata"
    pkg.add(
        "xl/metadata.xml",
        DECL + f'<metadata xmlns="{NS_MAIN}" xmlns:xlrd="{rd}"><metadataTypes count="1">'
        '<metadataType name="XLRICHVALUE" minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" '
        'merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" coerce="1"/>'
        '</metadataTypes><futureMetadata name="XLRICHVALUE" count="1"><bk><extLst>'
        '<ext uri="{3e2802c4-a4d2-4d8b-9148-e3be6c30e623}"><xlrd:rvb i="0"/></ext></extLst></bk></futureMetadata>'
        '<valueMetadata count="1"><bk><rc t="1" v="0"/></bk></valueMetadata></metadata>',
        CT + "spreadsheetml.sheetMetadata+xml",
    )
    pkg.add(
        "xl/richData/rdrichvalue.xml",
        DECL + f'<rvData xmlns="{rd}" count="1"><rv s="0"><v>0</v><v>5</v></rv></rvData>',
        "application/vnd.ms-excel.rdrichvalue+xml",
    )
    pkg.add(
        "xl/richData/rdrichvaluestructure.xml",
        DECL + f'<rvStructures xmlns="{rd}" count="1"><s t="_localImage"><k n="_rvRel:LocalImageIdentifier" t="i"/>'
        '<k n="CalcOrigin" t="i"/></s></rvStructures>',
        "application/vnd.ms-excel.rdrichvaluestructure+xml",
    )
    pkg.add(
        "xl/richData/rdRichValueTypes.xml",
        DECL + '<rvTypesInfo xmlns="http://schemas.microsoft.com/office/spreadsheetml/2017/richdata2" '
        f'xmlns:mc="{NS_MC}" mc:Ignorable="x" xmlns:x="{NS_MAIN}"><global><keyFlags>'
        '<key name="_Self"><flag name="ExcludeFromFile" value="1"/><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_DisplayString"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_Flags"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_Format"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_SubLabel"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_Attribution"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_Icon"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_Display"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_CanonicalPropertyNames"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        '<key name="_ClassificationId"><flag name="ExcludeFromCalcComparison" value="1"/></key>'
        "</keyFlags></global></rvTypesInfo>",
        "application/vnd.ms-excel.rdrichvaluetypes+xml",
    )
    pkg.add(
        "xl/richData/richValueRel.xml",
        DECL + '<richValueRels xmlns="http://schemas.microsoft.com/office/spreadsheetml/2022/richvaluerel" '
        f'xmlns:r="{NS_R}"><rel r:id="rId1"/></richValueRels>',
        "application/vnd.ms-excel.richvaluerel+xml",
    )
    pkg.relate("xl/richData/richValueRel.xml", "image", "../media/" + image.rsplit("/", 1)[1])
    pkg.relate("xl/workbook.xml", "sheetMetadata", "metadata.xml")
    pkg.relate("xl/workbook.xml", "http://schemas.microsoft.com/office/2022/10/relationships/richValueRel",
               "richData/richValueRel.xml")
    pkg.relate("xl/workbook.xml", "http://schemas.microsoft.com/office/2017/06/relationships/rdRichValue",
               "richData/rdrichvalue.xml")
    pkg.relate("xl/workbook.xml", "http://schemas.microsoft.com/office/2017/06/relationships/rdRichValueStructure",
               "richData/rdrichvaluestructure.xml")
    pkg.relate("xl/workbook.xml", "http://schemas.microsoft.com/office/2017/06/relationships/rdRichValueTypes",
               "richData/rdRichValueTypes.xml")
    note = headers(pkg)["备注"]
    pkg.cell(register(pkg), f"{note}3", f'<c r="{note}3" t="e" vm="1"><v>#VALUE!</v></c>')


def sparklines(pkg: Package) -> None:
    """Sparklines of each case's amounts (x14:sparklineGroups in the worksheet's extLst), in a column right of the Table."""
    part = register(pkg)
    h = headers(pkg)
    spark_col = column_letter(last_column(pkg) + 2)
    lines = "".join(
        f"<x14:sparkline><xm:f>{REGISTER}!{h['实付金额']}{r}:{h['运费']}{r}</xm:f><xm:sqref>{spark_col}{r}</xm:sqref>"
        "</x14:sparkline>"
        for r in range(2, last_row(pkg) + 1)
    )
    pkg.declare(part, "x14", NS_X14)
    pkg.declare(part, "xm", NS_XM)
    pkg.ext(
        part,
        '<ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" xmlns:x14="' + NS_X14 + '">'
        '<x14:sparklineGroups xmlns:xm="' + NS_XM + '"><x14:sparklineGroup type="column" displayEmptyCellsAs="gap" '
        'high="1"><x14:colorSeries theme="5" tint="-0.499984740745262"/><x14:colorNegative theme="6"/>'
        '<x14:colorAxis rgb="FF000000"/><x14:colorMarkers theme="5" tint="-0.499984740745262"/>'
        '<x14:colorFirst theme="5" tint="0.39997558519241921"/><x14:colorLast theme="5" tint="0.39997558519241921"/>'
        '<x14:colorHigh theme="5"/><x14:colorLow theme="5"/><x14:sparklines>' + lines + "</x14:sparklines>"
        "</x14:sparklineGroup></x14:sparklineGroups></ext>",
    )


def x14_validation(pkg: Package) -> None:
    """A list validation whose source is on another sheet, stored the Excel 2010 way (x14:dataValidations)."""
    part = register(pkg)
    col = headers(pkg)["备注"]
    pkg.ext(
        part,
        '<ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" xmlns:x14="' + NS_X14 + '">'
        '<x14:dataValidations count="1" xmlns:xm="' + NS_XM + '"><x14:dataValidation type="list" allowBlank="1" '
        'showInputMessage="1" showErrorMessage="1" xr:uid="{2F6B1C0D-8E4A-4B7F-9C3D-5A1E7B9F0C2D}" '
        f'xmlns:xr="{NS_XR}"><x14:formula1><xm:f>说明!$A$2:$A$8</xm:f></x14:formula1>'
        f"<xm:sqref>{col}2:{col}5000</xm:sqref></x14:dataValidation></x14:dataValidations></ext>",
    )


def x14_data_bar(pkg: Package) -> None:
    """A gradient data bar on 实付金额: the 2007 cfRule with an x14:id, and its x14 twin in extLst."""
    part = register(pkg)
    col = headers(pkg)["实付金额"]
    guid = "{A1B2C3D4-E5F6-4789-ABCD-0123456789AB}"
    pkg.child(
        part, "conditionalFormatting",
        f'<conditionalFormatting sqref="{col}2:{col}5000"><cfRule type="dataBar" priority="3"><dataBar>'
        '<cfvo type="min"/><cfvo type="max"/><color rgb="FF638EC6"/></dataBar><extLst>'
        '<ext uri="{B025F937-C7B1-47D3-B67F-A62EFF666E3E}" xmlns:x14="' + NS_X14 + f'"><x14:id>{guid}</x14:id>'
        "</ext></extLst></cfRule></conditionalFormatting>",
    )
    pkg.ext(
        part,
        '<ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}" xmlns:x14="' + NS_X14 + '"><x14:conditionalFormattings>'
        '<x14:conditionalFormatting xmlns:xm="' + NS_XM + f'"><x14:cfRule type="dataBar" id="{guid}">'
        '<x14:dataBar minLength="0" maxLength="100" gradient="1" border="1" negativeBarBorderColorSameAsPositive="0">'
        '<x14:cfvo type="autoMin"/><x14:cfvo type="autoMax"/><x14:borderColor rgb="FF638EC6"/>'
        '<x14:negativeFillColor rgb="FFFF0000"/><x14:negativeBorderColor rgb="FFFF0000"/>'
        '<x14:axisColor rgb="FF000000"/></x14:dataBar></x14:cfRule>'
        f"<xm:sqref>{col}2:{col}5000</xm:sqref></x14:conditionalFormatting></x14:conditionalFormattings></ext>",
    )


VML_HEAD = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml"\r\n xmlns:o="urn:schemas-microsoft-com:office:office"\r\n'
    ' xmlns:x="urn:schemas-microsoft-com:office:excel">\r\n <o:shapelayout v:ext="edit">\r\n'
    '  <o:idmap v:ext="edit" data="1"/>\r\n </o:shapelayout>'
)
NOTE_TYPE = (
    '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202"\r\n  path="m,l,21600r21600,l21600,xe">\r\n'
    '  <v:stroke joinstyle="miter"/>\r\n  <v:path gradientshapeok="t" o:connecttype="rect"/>\r\n </v:shapetype>'
)


def note_shape(n: int, row: int, col: int, width: str, height: str, visible: bool) -> str:
    """The VML box of a note: Excel writes its size in ``style`` and its place in ``x:Anchor``."""
    shown = "visible" if visible else "hidden"
    return (
        f'<v:shape id="_x0000_s{1024 + n}" type="#_x0000_t202" style=\'position:absolute;\r\n'
        f"  margin-left:107.25pt;margin-top:1.5pt;width:{width};height:{height};z-index:{n};\r\n"
        f"  visibility:{shown}' fillcolor=\"#ffffe1\" o:insetmode=\"auto\">\r\n"
        '  <v:fill color2="#ffffe1"/>\r\n  <v:shadow on="t" color="black" obscured="t"/>\r\n'
        '  <v:path o:connecttype="none"/>\r\n  <v:textbox style=\'mso-direction-alt:auto\'>\r\n'
        "   <div style='text-align:left'></div>\r\n  </v:textbox>\r\n  <x:ClientData ObjectType=\"Note\">\r\n"
        "   <x:MoveWithCells/>\r\n   <x:SizeWithCells/>\r\n   <x:Anchor>\r\n"
        f"    {col + 1}, 15, {row - 1}, 2, {col + 4}, 31, {row + 5}, 0</x:Anchor>\r\n"
        "   <x:AutoFill>False</x:AutoFill>\r\n"
        f"   <x:Row>{row - 1}</x:Row>\r\n   <x:Column>{col - 1}</x:Column>\r\n"
        + ("   <x:Visible/>\r\n" if visible else "")
        + "  </x:ClientData>\r\n </v:shape>"
    )


def legacy_comments(pkg: Package, comments: str, shapes: str, authors: str) -> tuple[str, str]:
    """comments part + VML part + legacyDrawing on the register (what both notes and threaded comments need)."""
    part = register(pkg)
    comments_part = pkg.free("xl/comments{}.xml")
    pkg.add(
        comments_part,
        DECL + f'<comments xmlns="{NS_MAIN}" xmlns:mc="{NS_MC}" mc:Ignorable="xr" xmlns:xr="{NS_XR}">'
        f"<authors>{authors}</authors><commentList>{comments}</commentList></comments>",
        CT + "spreadsheetml.comments+xml",
    )
    pkg.default("vml", CT + "vmlDrawing")
    vml = pkg.free("xl/drawings/vmlDrawing{}.vml")
    pkg.add(vml, VML_HEAD + NOTE_TYPE + shapes + "</xml>")
    vml_rid = pkg.relate(part, "vmlDrawing", "../drawings/" + vml.rsplit("/", 1)[1])
    pkg.relate(part, "comments", "../" + comments_part.removeprefix("xl/"))
    pkg.declare(part, "r", NS_R)
    pkg.child(part, "legacyDrawing", f'<legacyDrawing r:id="{vml_rid}"/>')
    return comments_part, vml


def rpr(bold: bool = False) -> str:
    return (
        "<rPr>" + ("<b/>" if bold else "") + '<sz val="9"/><color indexed="81"/><rFont val="宋体"/>'
        '<family val="3"/><charset val="134"/></rPr>'
    )


def notes(pkg: Package) -> None:
    """Two legacy notes (批注): one hidden, one always shown, both with a box the merchant resized."""
    h = headers(pkg)
    a, n = h["买家"], h["售后原因"]
    comments = (
        f'<comment ref="{a}2" authorId="0" shapeId="0" xr:uid="{{3C1D5E7F-1A2B-4C3D-8E9F-0A1B2C3D4E5F}}"><text>'
        f"<r>{rpr(True)}<t>店主:</t></r><r>{rpr()}<t xml:space=\"preserve\">\n老客户，优先处理</t></r></text></comment>"
        f'<comment ref="{n}4" authorId="0" shapeId="0" xr:uid="{{4D2E6F80-2B3C-4D4E-9FA0-1B2C3D4E5F60}}"><text>'
        f"<r>{rpr(True)}<t>店主:</t></r><r>{rpr()}<t xml:space=\"preserve\">\n买家说收到时外箱已破，等快递理赔</t></r>"
        "</text></comment>"
    )
    from package import column_index

    shapes = note_shape(1, 2, column_index(a), "180pt", "90pt", False) + note_shape(
        2, 4, column_index(n), "240pt", "120.75pt", True
    )
    legacy_comments(pkg, comments, shapes, "<author>店主</author>")


def threaded_comments(pkg: Package) -> None:
    """An Excel 365 comment thread (threadedComments + persons), with the legacy note Excel writes beside it."""
    part = register(pkg)
    product = headers(pkg)["商品名称"]
    ref = f"{product}3"
    p1, p2 = "{8B5C1A2E-3F4D-4E6A-9B7C-0D1E2F3A4B5C}", "{9C6D2B3F-405E-4F7B-8C8D-1E2F3A4B5C6D}"
    t1, t2 = "{1A2B3C4D-0000-4000-8000-000000000001}", "{1A2B3C4D-0000-4000-8000-000000000002}"
    pkg.add(
        "xl/persons/person.xml",
        DECL + f'<personList xmlns="{NS_TC}" xmlns:x="{NS_MAIN}">'
        f'<person displayName="王店长" id="{p1}" userId="S::wang@haowu.example::0a1b" providerId="AD"/>'
        f'<person displayName="客服小李" id="{p2}" userId="li@haowu.example" providerId="None"/></personList>',
        "application/vnd.ms-excel.person+xml",
    )
    pkg.relate("xl/workbook.xml", "http://schemas.microsoft.com/office/2017/10/relationships/person",
               "persons/person.xml")
    threads = pkg.free("xl/threadedComments/threadedComment{}.xml")
    pkg.add(
        threads,
        DECL + f'<ThreadedComments xmlns="{NS_TC}" xmlns:x="{NS_MAIN}">'
        f'<threadedComment ref="{ref}" dT="2026-11-19T08:15:42.31" personId="{p1}" id="{t1}">'
        "<text>这个买家上次也是少件，查一下仓库录像</text></threadedComment>"
        f'<threadedComment ref="{ref}" dT="2026-11-19T09:02:10.05" personId="{p2}" id="{t2}" parentId="{t1}">'
        "<text>录像显示已发全，先让买家补充凭证</text></threadedComment></ThreadedComments>",
        "application/vnd.ms-excel.threadedcomments+xml",
    )
    pkg.relate(part, "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment",
               "../threadedComments/" + threads.rsplit("/", 1)[1])
    fallback = (
        "[线程批注]\n\n你的Excel版本可读取此线程批注; 但如果在更高版本的Excel中打开文件，则对批注所做的任何编辑都将被删除。"
        "了解详细信息: https://go.microsoft.com/fwlink/?linkid=870924\n\n批注:\n    这个买家上次也是少件，查一下仓库录像\n答复:\n"
        "    录像显示已发全，先让买家补充凭证"
    )
    from package import column_index

    legacy_comments(
        pkg,
        f'<comment ref="{ref}" authorId="0" shapeId="0" xr:uid="{t1}"><text><t>{xml_text(fallback)}</t></text></comment>',
        note_shape(1, 3, column_index(product), "108pt", "59.25pt", False),
        f"<author>tc={t1}</author>",
    )


def checkbox(pkg: Package) -> None:
    """A form-control checkbox (已回访) linked to a cell right of the Table: ctrlProp + VML + mc:AlternateContent."""
    part = register(pkg)
    link_col = column_letter(last_column(pkg) + 3)
    pkg.add(
        pkg.free("xl/ctrlProps/ctrlProp{}.xml"),
        DECL + '<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" '
        f'objectType="CheckBox" checked="Checked" lockText="1" fmlaLink="${link_col}$2"/>',
        "application/vnd.ms-excel.controlproperties+xml",
    )
    pkg.default("vml", CT + "vmlDrawing")
    vml = pkg.free("xl/drawings/vmlDrawing{}.vml")
    col = last_column(pkg) + 2
    pkg.add(
        vml,
        VML_HEAD
        + '<v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201"\r\n  path="m,l,21600r21600,l21600,xe">\r\n'
        '  <v:stroke joinstyle="miter"/>\r\n  <v:path shadowok="f" o:extrusionok="f" strokeok="f" fillok="f"\r\n'
        '   o:connecttype="rect"/>\r\n  <o:lock v:ext="edit" shapetype="t"/>\r\n </v:shapetype>'
        '<v:shape id="_x0000_s1025" type="#_x0000_t201" style=\'position:absolute;\r\n'
        "  margin-left:1260pt;margin-top:15pt;width:72pt;height:18pt;z-index:1;\r\n"
        "  mso-wrap-style:tight' filled=\"f\" fillcolor=\"window [65]\" stroked=\"f\"\r\n"
        '  strokecolor="windowText [64]" o:insetmode="auto">\r\n  <v:path shadowok="t" strokeok="t" fillok="t"/>\r\n'
        '  <o:lock v:ext="edit" rotation="t"/>\r\n  <v:textbox style=\'mso-direction-alt:auto\' o:singleclick="f">\r\n'
        "   <div style='text-align:left'><font face=\"宋体\" size=\"180\" color=\"auto\">已回访</font></div>\r\n"
        '  </v:textbox>\r\n  <x:ClientData ObjectType="Checkbox">\r\n   <x:SizeWithCells/>\r\n   <x:Anchor>\r\n'
        f"    {col}, 10, 1, 2, {col + 1}, 40, 2, 2</x:Anchor>\r\n   <x:AutoFill>False</x:AutoFill>\r\n"
        "   <x:AutoLine>False</x:AutoLine>\r\n   <x:TextVAlign>Center</x:TextVAlign>\r\n"
        f"   <x:FmlaLink>${link_col}$2</x:FmlaLink>\r\n   <x:Checked>1</x:Checked>\r\n   <x:NoThreeD/>\r\n"
        "  </x:ClientData>\r\n </v:shape></xml>",
    )
    vml_rid = pkg.relate(part, "vmlDrawing", "../drawings/" + vml.rsplit("/", 1)[1])
    ctrl_rid = pkg.relate(part, "ctrlProp", "../ctrlProps/ctrlProp1.xml")
    excel_root(pkg, part)
    pkg.declare(part, "xdr", NS_XDR)
    pkg.child(part, "legacyDrawing", f'<legacyDrawing r:id="{vml_rid}"/>')
    pkg.child(
        part, "controls",
        '<mc:AlternateContent xmlns:mc="' + NS_MC + '"><mc:Choice Requires="x14"><controls>'
        '<mc:AlternateContent xmlns:mc="' + NS_MC + '"><mc:Choice Requires="x14">'
        f'<control shapeId="1025" r:id="{ctrl_rid}" name="Check Box 1"><controlPr defaultSize="0" autoFill="0" '
        'autoLine="0" autoPict="0"><anchor moveWithCells="1"><from>'
        f"<xdr:col>{col}</xdr:col><xdr:colOff>123825</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>19050</xdr:rowOff>"
        f"</from><to><xdr:col>{col + 1}</xdr:col><xdr:colOff>495300</xdr:colOff><xdr:row>2</xdr:row>"
        "<xdr:rowOff>19050</xdr:rowOff></to></anchor></controlPr></control></mc:Choice></mc:AlternateContent>"
        "</controls></mc:Choice></mc:AlternateContent>",
    )
    # the control's mc:AlternateContent sits where <controls> belongs: move it after legacyDrawing, before tableParts
    text = pkg.text(part)
    assert text.index("<mc:AlternateContent") > text.index("<legacyDrawing")


def custom_xml(pkg: Package) -> None:
    """A customXml data store part (document-management / SharePoint metadata), related from the package."""
    pkg.add(
        "customXml/item1.xml",
        '<?xml version="1.0" encoding="utf-8"?><ct:contentTypeSchema xmlns:ct="http://schemas.microsoft.com/office/2006/metadata/contentType" '
        'ct:_="" ma:_="" ma:contentTypeName="Document" ma:contentTypeID="0x010100A1B2C3" ma:contentTypeVersion="4" '
        'xmlns:ma="http://schemas.microsoft.com/office/2006/metadata/properties/metaAttributes"/>',
    )
    pkg.add(
        "customXml/itemProps1.xml",
        DECL + '<ds:datastoreItem ds:itemID="{5E0B7F7A-2C1D-4F3E-8A9B-6C7D8E9F0A1B}" '
        'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml"><ds:schemaRefs>'
        '<ds:schemaRef ds:uri="http://schemas.microsoft.com/office/2006/metadata/contentType"/></ds:schemaRefs>'
        "</ds:datastoreItem>",
        CT + "customXmlProperties+xml",
    )
    pkg.relate("customXml/item1.xml", "customXmlProps", "itemProps1.xml")
    pkg.relate("xl/workbook.xml", "customXml", "../customXml/item1.xml")


def merchant_sheet(pkg: Package, name: str = "店铺月报") -> str:
    """A sheet of the merchant's own: COUNTIF formulas over the register with cached values, a shared formula,
    a string formula and an array formula (Excel keeps the last computed value of each in <v>)."""
    h = headers(pkg)
    reason = h["售后原因"]
    rows = []
    labels = ["尺码不合适", "商品破损", "未收到货"]
    rows.append(
        '<row r="1" spans="1:4" x14ac:dyDescent="0.25"><c r="A1" t="inlineStr"><is><t>原因</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>件数</t></is></c><c r="C1" t="inlineStr"><is><t>占比</t></is></c>'
        '<c r="D1" t="inlineStr"><is><t>备注</t></is></c></row>'
    )
    for i, label in enumerate(labels, start=2):
        shared = (
            '<f t="shared" ref="C2:C4" si="0">IFERROR(B2/SUM($B$2:$B$4),0)</f>' if i == 2 else '<f t="shared" si="0"/>'
        )
        rows.append(
            f'<row r="{i}" spans="1:4" x14ac:dyDescent="0.25"><c r="A{i}" t="inlineStr"><is><t>{label}</t></is></c>'
            f'<c r="B{i}"><f>COUNTIF({REGISTER}!${reason}:${reason},A{i})</f><v>{i - 1}</v></c>'
            f'<c r="C{i}" s="0">{shared}<v>{(i - 1) / 6:.15g}</v></c>'
            f'<c r="D{i}" t="str"><f>IF(B{i}&gt;1,"重点跟进","")</f><v>{"重点跟进" if i > 2 else ""}</v></c></row>'
        )
    rows.append(
        '<row r="6" spans="1:4" x14ac:dyDescent="0.25"><c r="A6" t="inlineStr"><is><t>合计</t></is></c>'
        '<c r="B6"><f t="array" ref="B6">SUM(IF(B2:B4&gt;0,B2:B4))</f><v>6</v></c></row>'
    )
    xml = (
        DECL + f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}" xmlns:mc="{NS_MC}" mc:Ignorable="x14ac xr" '
        f'xmlns:x14ac="{NS_X14AC}" xmlns:xr="{NS_XR}" xr:uid="{{0E6A3B2C-9D8F-4A1B-8C7D-6E5F4A3B2C1D}}">'
        '<dimension ref="A1:D6"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="14.25" x14ac:dyDescent="0.25"/><cols><col min="1" max="1" width="14" '
        'customWidth="1"/></cols><sheetData>' + "".join(rows) + "</sheetData>"
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )
    return pkg.add_sheet(name, xml)


def merchant_formulas(pkg: Package) -> None:
    merchant_sheet(pkg)


def merchant_chart(pkg: Package) -> None:
    """A bar chart on the merchant's sheet, formatted by hand (colours, data labels, title font, gap width),
    with the chart style and colour parts Excel 2013+ writes beside it."""
    part = merchant_sheet(pkg)
    chart = pkg.free("xl/charts/chart{}.xml")
    txpr = (
        '<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="900" b="1"><a:solidFill><a:srgbClr val="7F3F00"/>'
        '</a:solidFill><a:latin typeface="微软雅黑"/><a:ea typeface="微软雅黑"/></a:defRPr></a:pPr>'
        '<a:endParaRPr lang="zh-CN"/></a:p></c:txPr>'
    )
    labels = "".join(f'<c:pt idx="{i}"><c:v>{t}</c:v></c:pt>' for i, t in enumerate(["尺码不合适", "商品破损", "未收到货"]))
    values = "".join(f'<c:pt idx="{i}"><c:v>{i + 1}</c:v></c:pt>' for i in range(3))
    pkg.add(
        chart,
        DECL + f'<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:a="{NS_A}" '
        f'xmlns:r="{NS_R}" xmlns:c16r2="http://schemas.microsoft.com/office/drawing/2015/06/chart">'
        '<c:date1904 val="0"/><c:lang val="zh-CN"/><c:roundedCorners val="0"/>'
        '<mc:AlternateContent xmlns:mc="' + NS_MC + '"><mc:Choice Requires="c14" '
        'xmlns:c14="http://schemas.microsoft.com/office/drawing/2007/8/2/chart"><c14:style val="102"/></mc:Choice>'
        '<mc:Fallback><c:style val="2"/></mc:Fallback></mc:AlternateContent>'
        '<c:chart><c:title><c:tx><c:rich><a:bodyPr rot="0" spcFirstLastPara="1" vertOverflow="ellipsis" vert="horz" '
        'wrap="square" anchor="ctr" anchorCtr="1"/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="1400" b="1">'
        '<a:solidFill><a:srgbClr val="C00000"/></a:solidFill><a:latin typeface="微软雅黑"/><a:ea typeface="微软雅黑"/>'
        '</a:defRPr></a:pPr><a:r><a:rPr lang="zh-CN" altLang="en-US" sz="1400" b="1"><a:solidFill>'
        '<a:srgbClr val="C00000"/></a:solidFill><a:latin typeface="微软雅黑"/><a:ea typeface="微软雅黑"/></a:rPr>'
        '<a:t>本月退款原因（店主自制）</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>'
        '<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/><c:barChart><c:barDir val="bar"/>'
        '<c:grouping val="clustered"/><c:varyColors val="0"/><c:ser><c:idx val="0"/><c:order val="0"/>'
        '<c:tx><c:strRef><c:f>店铺月报!$B$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>件数</c:v></c:pt>'
        '</c:strCache></c:strRef></c:tx><c:spPr><a:solidFill><a:srgbClr val="ED7D31"/></a:solidFill>'
        '<a:ln w="12700"><a:solidFill><a:srgbClr val="7F3F00"/></a:solidFill></a:ln></c:spPr>'
        '<c:invertIfNegative val="0"/><c:dLbls><c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>' + txpr +
        '<c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/><c:showSerName val="0"/>'
        '<c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
        f'<c:cat><c:strRef><c:f>店铺月报!$A$2:$A$4</c:f><c:strCache><c:ptCount val="3"/>{labels}</c:strCache>'
        f'</c:strRef></c:cat><c:val><c:numRef><c:f>店铺月报!$B$2:$B$4</c:f><c:numCache><c:formatCode>General'
        f'</c:formatCode><c:ptCount val="3"/>{values}</c:numCache></c:numRef></c:val>'
        '<c:extLst><c:ext uri="{C3380CC4-5D6E-409C-BE32-E72D297353CC}"><c16:uniqueId val="{00000000-7A3B-4C2D-8E1F-000000000001}" '
        'xmlns:c16="http://schemas.microsoft.com/office/drawing/2014/chart"/></c:ext></c:extLst></c:ser>'
        '<c:gapWidth val="40"/><c:axId val="508412928"/><c:axId val="508413256"/></c:barChart>'
        '<c:catAx><c:axId val="508412928"/><c:scaling><c:orientation val="maxMin"/></c:scaling><c:delete val="0"/>'
        '<c:axPos val="l"/><c:numFmt formatCode="General" sourceLinked="1"/><c:majorTickMark val="none"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/><c:crossAx val="508413256"/><c:crosses val="autoZero"/>'
        '<c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
        '<c:valAx><c:axId val="508413256"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="1"/>'
        '<c:axPos val="t"/><c:majorGridlines><c:spPr><a:ln w="6350" cap="flat" cmpd="sng" algn="ctr"><a:solidFill>'
        '<a:srgbClr val="D9D9D9"/></a:solidFill><a:prstDash val="dash"/></a:ln></c:spPr></c:majorGridlines>'
        '<c:numFmt formatCode="General" sourceLinked="1"/><c:majorTickMark val="none"/><c:minorTickMark val="none"/>'
        '<c:tickLblPos val="nextTo"/><c:crossAx val="508412928"/><c:crosses val="autoZero"/><c:crossBetween val="between"/>'
        '</c:valAx><c:spPr><a:solidFill><a:srgbClr val="FFFBF2"/></a:solidFill></c:spPr></c:plotArea>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart><c:spPr><a:solidFill><a:srgbClr val="FFF2CC"/>'
        '</a:solidFill><a:ln w="19050"><a:solidFill><a:srgbClr val="BF9000"/></a:solidFill></a:ln></c:spPr>'
        '<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr><a:latin typeface="微软雅黑"/><a:ea typeface="微软雅黑"/>'
        '</a:defRPr></a:pPr><a:endParaRPr lang="zh-CN"/></a:p></c:txPr><c:printSettings><c:headerFooter/>'
        '<c:pageMargins b="0.75" l="0.7" r="0.7" t="0.75" header="0.3" footer="0.3"/><c:pageSetup/></c:printSettings>'
        "</c:chartSpace>",
        CT + "drawingml.chart+xml",
    )
    number = re.search(r"(\d+)\.xml$", chart).group(1)
    pkg.add(
        f"xl/charts/style{number}.xml",
        DECL + '<cs:chartStyle xmlns:cs="http://schemas.microsoft.com/office/drawing/2012/chartStyle" '
        f'xmlns:a="{NS_A}" id="216"><cs:axisTitle><cs:lnRef idx="0"/><cs:fillRef idx="0"/><cs:effectRef idx="0"/>'
        '<cs:fontRef idx="minor"><a:schemeClr val="tx1"/></cs:fontRef><cs:defRPr sz="1000" b="1"/></cs:axisTitle>'
        "</cs:chartStyle>",
        "application/vnd.ms-office.chartstyle+xml",
    )
    pkg.add(
        f"xl/charts/colors{number}.xml",
        DECL + '<cs:colorStyle xmlns:cs="http://schemas.microsoft.com/office/drawing/2012/chartStyle" '
        f'xmlns:a="{NS_A}" meth="cycle" id="10"><a:schemeClr val="accent2"/><cs:variation/></cs:colorStyle>',
        "application/vnd.ms-office.chartcolorstyle+xml",
    )
    pkg.relate(chart, "http://schemas.microsoft.com/office/2011/relationships/chartColorStyle", f"colors{number}.xml")
    pkg.relate(chart, "http://schemas.microsoft.com/office/2011/relationships/chartStyle", f"style{number}.xml")
    frame = (
        '<xdr:twoCellAnchor editAs="oneCell">' + anchor(5, 1, 12, 16) + '<xdr:graphicFrame macro="">'
        '<xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="图表 1"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
        '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:r="' + NS_R + '" r:id="rId1"/>'
        "</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>"
    )
    drawing = drawing_on(pkg, part, frame)
    assert pkg.relate(drawing, "chart", "../charts/" + chart.rsplit("/", 1)[1]) == "rId1"


def calculated_column(pkg: Package) -> None:
    """A merchant column 净损失 added inside the register Table, with a calculated-column formula (Excel fills it
    down and keeps the formula in the Table part)."""
    part = register(pkg)
    table = table_part(pkg)
    col = last_column(pkg) + 1
    letter = column_letter(col)
    name = re.search(r'\bname="([^"]*)"', pkg.text(table)).group(1)
    formula = f"{name}[[#This Row],[退款金额]]+{name}[[#This Row],[运费]]"
    pkg.cell(part, f"{letter}1", f'<c r="{letter}1" s="1" t="inlineStr"><is><t>净损失</t></is></c>')
    for r in range(2, last_row(pkg) + 1):
        pkg.cell(part, f"{letter}{r}", f'<c r="{letter}{r}" s="4"><f>{formula}</f><v>{r * 3}</v></c>')
    text = pkg.text(table)
    end = last_row(pkg)
    text = re.sub(r'ref="A1:[A-Z]+(\d+)"', lambda m: f'ref="A1:{letter}{m.group(1)}"', text)
    count = int(re.search(r'tableColumns count="(\d+)"', text).group(1))
    text = text.replace(f'tableColumns count="{count}"', f'tableColumns count="{count + 1}"')
    text = text.replace(
        "</tableColumns>",
        f'<tableColumn id="{count + 1}" name="净损失" dataDxfId="0"><calculatedColumnFormula>{formula}'
        "</calculatedColumnFormula></tableColumn></tableColumns>",
    )
    pkg.put(table, text)
    book = pkg.text(part)
    pkg.put(part, re.sub(r'<dimension ref="A1:[A-Z]+\d+"/>', f'<dimension ref="A1:{letter}{end}"/>', book))


def table_part(pkg: Package) -> str:
    return next(t for kind, t in pkg.targets(register(pkg)).values() if kind.endswith("/table"))


def outline(pkg: Package) -> None:
    """Grouped rows (3–5, collapsed under 6) and grouped date columns, as Excel's 组合 writes them."""
    part = register(pkg)
    for r in (3, 4, 5):
        pkg.row_attrs(part, r, 'hidden="1" outlineLevel="1"')
    pkg.row_attrs(part, 6, 'collapsed="1"')
    text = pkg.text(part)
    h = headers(pkg)
    from package import column_index

    first, last = column_index(h["签收时间"]), column_index(h["平台截止时间"])
    for c in range(first, last + 1):
        text = re.sub(rf'(<col\b[^>]*\bmin="{c}" max="{c}")', r'\1 outlineLevel="1"', text)
    text = text.replace("<sheetFormatPr ", '<sheetFormatPr outlineLevelRow="1" outlineLevelCol="1" ', 1)
    pkg.put(part, text)


def rich_text(pkg: Package) -> None:
    """Rich-text runs (red bold 加急 + plain text) in shared strings, in the register's 备注 and 买家 cells."""
    part = register(pkg)
    font = '<sz val="11"/><rFont val="等线"/><family val="3"/><charset val="134"/><scheme val="minor"/>'
    red = font.replace("<sz", '<color rgb="FFFF0000"/><sz')
    runs = (
        f'<r><rPr><b/>{red}</rPr><t>加急</t></r>'
        f'<r><rPr>{font}</rPr><t xml:space="preserve"> 客户已投诉两次，</t></r>'
        f'<r><rPr><u/>{font}</rPr><t>今天必须回复</t></r>'
        '<phoneticPr fontId="1" type="noConversion"/>'
    )
    index = add_shared(pkg, runs)
    plain = add_shared(pkg, "<t>普通备注</t>")
    h = headers(pkg)
    pkg.cell(part, f"{h['备注']}4", f'<c r="{h["备注"]}4" t="s"><v>{index}</v></c>')
    pkg.cell(part, f"{h['备注']}5", f'<c r="{h["备注"]}5" t="s"><v>{plain}</v></c>')


def print_setup(pkg: Package) -> None:
    """Page setup from Excel's dialog: A4 landscape fit to 1 page wide, custom margins, header/footer with codes,
    gridlines printed, a manual page break, and the printer's DEVMODE (printerSettings1.bin)."""
    part = register(pkg)
    pkg.default("bin", CT + "spreadsheetml.printerSettings")
    devmode = ("HP LaserJet Pro M404".encode("utf-16-le").ljust(64, b"\0") + bytes(range(256)) * 4)[:1160]
    pkg.add(pkg.free("xl/printerSettings/printerSettings{}.bin"), devmode)
    rid = pkg.relate(part, "printerSettings", "../printerSettings/printerSettings1.bin")
    text = pkg.text(part)
    text = re.sub(r"<pageMargins[^>]*/>", "", text)
    text = re.sub(r"<pageSetup[^>]*/>", "", text)
    text = text.replace("<pageSetUpPr/>", '<pageSetUpPr fitToPage="1"/>')
    pkg.put(part, text)
    pkg.declare(part, "r", NS_R)
    pkg.child(part, "printOptions", '<printOptions horizontalCentered="1" gridLines="1"/>')
    pkg.child(part, "pageMargins", '<pageMargins left="0.25" right="0.25" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    pkg.child(
        part, "pageSetup",
        f'<pageSetup paperSize="9" scale="62" fitToHeight="0" orientation="landscape" horizontalDpi="600" '
        f'verticalDpi="600" r:id="{rid}"/>',
    )
    pkg.child(
        part, "headerFooter",
        '<headerFooter differentFirst="1"><oddHeader>&amp;L&amp;"微软雅黑,加粗"好物小店&amp;C&amp;A&amp;R打印于 &amp;D &amp;T'
        '</oddHeader><oddFooter>&amp;C第 &amp;P 页，共 &amp;N 页</oddFooter><firstHeader>&amp;C&amp;16售后登记（首页）'
        "</firstHeader></headerFooter>",
    )
    pkg.child(part, "rowBreaks", '<rowBreaks count="1" manualBreakCount="1"><brk id="5" max="16383" man="1"/></rowBreaks>')


def ignored_errors(pkg: Package) -> None:
    """Green-triangle errors the merchant dismissed (numbers stored as text in the ID columns)."""
    part = register(pkg)
    h = headers(pkg)
    end = last_row(pkg)
    pkg.child(
        part, "ignoredErrors",
        f'<ignoredErrors><ignoredError sqref="{h["售后单号"]}2:{h["订单号"]}{end}" numberStoredAsText="1"/>'
        f'<ignoredError sqref="{h["备注"]}2:{h["备注"]}{end}" formula="1" evalError="1"/></ignoredErrors>',
    )


def hyperlinks(pkg: Package) -> None:
    """Links in the register: a case id to the Douyin backend (external), a note to the policy sheet (internal)."""
    part = register(pkg)
    h = headers(pkg)
    case = cell_value(pkg, f"{h['售后单号']}3")
    rid = pkg.relate(
        part, "hyperlink", f"https://fxg.jinritemai.com/ffa/maftersale/aftersale/detail?aftersale_id={case}", external=True
    )
    note = h["备注"]
    pkg.cell(part, f"{note}6", f'<c r="{note}6" t="inlineStr"><is><t>见规则第7条</t></is></c>')
    pkg.declare(part, "r", NS_R)
    pkg.child(
        part, "hyperlinks",
        f'<hyperlinks><hyperlink ref="{h["售后单号"]}3" r:id="{rid}" tooltip="在抖店后台打开" '
        f'display="{case}"/><hyperlink ref="{note}6" location="\'规则\'!A1" display="见规则第7条"/></hyperlinks>',
    )


def defined_names(pkg: Package) -> None:
    """The merchant's names: a range, a structured reference, a sheet-local name, a hidden filter name, a constant."""
    book = pkg.text("xl/workbook.xml")
    h = headers(pkg)
    end = last_row(pkg)
    table = re.search(r'\bname="([^"]*)"', pkg.text(table_part(pkg))).group(1)
    names = (
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">{REGISTER}!$A$1:$C${end}</definedName>'
        f'<definedName name="本月退款" comment="退款金额合计用">{REGISTER}!${h["退款金额"]}$2:${h["退款金额"]}${end}</definedName>'
        f'<definedName name="待处理">{table}[处理建议]</definedName>'
        '<definedName name="店铺抽成">0.05</definedName>'
        f'<definedName name="首行" localSheetId="0">{REGISTER}!$1:$1</definedName>'
    )
    book = book.replace("<definedNames>", "<definedNames>" + names, 1)
    pkg.put("xl/workbook.xml", book)


def merchant_columns(pkg: Package) -> None:
    """The merchant's own columns right of the Table: one blank column as a gap, then 跟进人 (a header), a column
    of shared formulas with no header, and an empty styled header cell above values."""
    part = register(pkg)
    h = headers(pkg)
    last = last_column(pkg)
    gap_after = column_letter(last + 2)  # last + 1 stays empty
    nameless = column_letter(last + 3)
    styled = column_letter(last + 4)
    pkg.cell(part, f"{gap_after}1", f'<c r="{gap_after}1" s="1" t="inlineStr"><is><t>跟进人</t></is></c>')
    pkg.cell(part, f"{styled}1", f'<c r="{styled}1" s="1"/>')
    people = ["小李", "小王", "店长"]
    for r in range(2, last_row(pkg) + 1):
        pkg.cell(part, f"{gap_after}{r}", f'<c r="{gap_after}{r}" t="inlineStr"><is><t>{people[r % 3]}</t></is></c>')
        shared = (
            f'<f t="shared" ref="{nameless}2:{nameless}{last_row(pkg)}" si="0">{h["申请金额"]}2-{h["实付金额"]}2</f>'
            if r == 2 else '<f t="shared" si="0"/>'
        )
        pkg.cell(part, f"{nameless}{r}", f'<c r="{nameless}{r}">{shared}<v>0</v></c>')
        pkg.cell(part, f"{styled}{r}", f'<c r="{styled}{r}" t="inlineStr"><is><t>已电话</t></is></c>')
    text = pkg.text(part)
    pkg.put(part, re.sub(r'<dimension ref="A1:[A-Z]+(\d+)"/>', lambda m: f'<dimension ref="A1:{styled}{m.group(1)}"/>', text))


def excel_saved_register(pkg: Package) -> None:
    """The register as Excel 365 saves it: every text in shared strings (t="s"), spans and x14ac:dyDescent on rows,
    empty styled cells as <c r=".." s=".."/>, mc:Ignorable root namespaces, xr:uid, a <selection> with sqref."""
    part = register(pkg)
    excel_root(pkg, part)
    text = pkg.text(part)
    text = re.sub(r"<worksheet\b([^>]*)>", r'<worksheet\1 xr:uid="{7B0E2A4C-1D3F-4E5A-8B6C-9D0E1F2A3B4C}">', text, count=1)

    def to_shared(m: re.Match) -> str:
        attrs, body = m.group(1), m.group(2)
        value = "".join(re.findall(r"<t[^>]*>(.*?)</t>", body, re.S))
        index = add_shared(pkg, f"<t>{value}</t>")
        attrs = attrs.replace(' t="inlineStr"', "")
        return f'<c{attrs} t="s"><v>{index}</v></c>'

    data_start, data_end = text.index("<sheetData>"), text.index("</sheetData>")
    data = text[data_start:data_end]
    data = re.sub(r'<c\b([^>]*?t="inlineStr"[^>]*)><is>(.*?)</is></c>', to_shared, data, flags=re.S)
    data = re.sub(r'<c\b([^>]*?) t="n"></c>', r"<c\1/>", data)
    data = re.sub(r' t="n">', ">", data)
    width = last_column(pkg)
    data = re.sub(r'<row r="(\d+)"', rf'<row r="\1" spans="1:{width}"', data)
    data = re.sub(r'(<row\b[^>]*?)>', r'\1 x14ac:dyDescent="0.2">', data)
    text = text[:data_start] + data + text[data_end:]
    text = text.replace('<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>',
                        '<sheetFormatPr defaultRowHeight="14.25" x14ac:dyDescent="0.2"/>')
    pkg.put(part, text)


def xlsm_with_vba(pkg: Package) -> None:
    """A macro-enabled tracker (.xlsm) with a VBA project: xl/vbaProject.bin, codeName, the macroEnabled type."""
    import xlwings

    source = Path(xlwings.__file__).parent / "quickstart.xlsm"
    import zipfile

    with zipfile.ZipFile(source) as z:
        vba = z.read("xl/vbaProject.bin")
    pkg.default("bin", "application/vnd.ms-office.vbaProject")
    pkg.add("xl/vbaProject.bin", vba)
    pkg.relate("xl/workbook.xml", "http://schemas.microsoft.com/office/2006/relationships/vbaProject", "vbaProject.bin")
    types = pkg.text("[Content_Types].xml")
    pkg.put("[Content_Types].xml", types.replace(
        CT + "spreadsheetml.sheet.main+xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml"))
    book = pkg.text("xl/workbook.xml")
    pkg.put("xl/workbook.xml", re.sub(r"<workbookPr\s*/>", '<workbookPr codeName="ThisWorkbook"/>', book))
    part = register(pkg)
    pkg.put(part, pkg.text(part).replace("<sheetPr>", '<sheetPr codeName="Sheet1">', 1))
    pkg.suffix = ".xlsm"


def pivot_table(pkg: Package) -> None:
    """A merchant sheet 透视 holding a pivot table (退款原因 × 实付金额 sum) over the register, with its cache
    definition and records, the way Excel 365 writes them."""
    h = headers(pkg)
    reason_col, paid_col = h["售后原因"], h["实付金额"]
    end = last_row(pkg)
    reasons = [cell_value(pkg, f"{reason_col}{r}") or "" for r in range(2, end + 1)]
    paid = [float(cell_value(pkg, f"{paid_col}{r}") or 0) for r in range(2, end + 1)]
    items = list(dict.fromkeys(reasons))
    shared = "".join(f'<s v="{xml_text(i)}"/>' for i in items)
    cache = pkg.free("xl/pivotCache/pivotCacheDefinition{}.xml")
    records = cache.replace("Definition", "Records")
    pkg.add(
        cache,
        DECL + f'<pivotCacheDefinition xmlns="{NS_MAIN}" xmlns:r="{NS_R}" r:id="rId1" refreshedBy="店主" '
        f'refreshedDate="46345.52" createdVersion="8" refreshedVersion="8" minRefreshableVersion="3" '
        f'recordCount="{len(reasons)}"><cacheSource type="worksheet"><worksheetSource '
        f'ref="{reason_col}1:{paid_col}{end}" sheet="{REGISTER}"/></cacheSource><cacheFields count="2">'
        f'<cacheField name="售后原因" numFmtId="0"><sharedItems count="{len(items)}">{shared}</sharedItems></cacheField>'
        f'<cacheField name="实付金额" numFmtId="0"><sharedItems containsSemiMixedTypes="0" containsString="0" '
        f'containsNumber="1" minValue="{min(paid):g}" maxValue="{max(paid):g}"/></cacheField></cacheFields>'
        "</pivotCacheDefinition>",
        CT + "spreadsheetml.pivotCacheDefinition+xml",
    )
    rows = "".join(f'<r><x v="{items.index(r)}"/><n v="{p:g}"/></r>' for r, p in zip(reasons, paid))
    pkg.add(
        records,
        DECL + f'<pivotCacheRecords xmlns="{NS_MAIN}" xmlns:r="{NS_R}" count="{len(reasons)}">{rows}</pivotCacheRecords>',
        CT + "spreadsheetml.pivotCacheRecords+xml",
    )
    pkg.relate(cache, "pivotCacheRecords", records.rsplit("/", 1)[1])
    cache_rid = pkg.relate("xl/workbook.xml", "pivotCacheDefinition", cache.removeprefix("xl/"))
    book = pkg.text("xl/workbook.xml")
    pkg.put("xl/workbook.xml", book)
    pkg.child("xl/workbook.xml", "pivotCaches", f'<pivotCaches><pivotCache cacheId="7" r:id="{cache_rid}"/></pivotCaches>',
              order=WORKBOOK_ORDER)
    sums = {i: sum(p for r, p in zip(reasons, paid) if r == i) for i in items}
    n = len(items)
    cells = ['<row r="3"><c r="A3" t="inlineStr"><is><t>行标签</t></is></c><c r="B3" t="inlineStr"><is><t>求和项:实付金额'
             "</t></is></c></row>"]
    for k, item in enumerate(items):
        cells.append(f'<row r="{4 + k}"><c r="A{4 + k}" t="inlineStr"><is><t>{xml_text(item)}</t></is></c>'
                     f'<c r="B{4 + k}"><v>{sums[item]:g}</v></c></row>')
    cells.append(f'<row r="{4 + n}"><c r="A{4 + n}" t="inlineStr"><is><t>总计</t></is></c>'
                 f'<c r="B{4 + n}"><v>{sum(paid):g}</v></c></row>')
    sheet = pkg.add_sheet(
        "透视",
        DECL + f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}"><dimension ref="A3:B{4 + n}"/><sheetViews>'
        '<sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="14.25"/><sheetData>'
        + "".join(cells) + '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        'footer="0.3"/></worksheet>',
    )
    pivot = pkg.free("xl/pivotTables/pivotTable{}.xml")
    item_xml = "".join(f'<item x="{k}"/>' for k in range(n))
    row_items = "<i><x/></i>" + "".join(f'<i><x v="{k}"/></i>' for k in range(1, n)) + '<i t="grand"><x/></i>'
    pkg.add(
        pivot,
        DECL + f'<pivotTableDefinition xmlns="{NS_MAIN}" name="数据透视表1" cacheId="7" applyNumberFormats="0" '
        'applyBorderFormats="0" applyFontFormats="0" applyPatternFormats="0" applyAlignmentFormats="0" '
        'applyWidthHeightFormats="1" dataCaption="值" updatedVersion="8" minRefreshableVersion="3" useAutoFormatting="1" '
        'itemPrintTitles="1" createdVersion="8" indent="0" outline="1" outlineData="1" multipleFieldFilters="0" '
        f'rowHeaderCaption="退款原因"><location ref="A3:B{4 + n}" firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/>'
        f'<pivotFields count="2"><pivotField axis="axisRow" showAll="0"><items count="{n + 1}">{item_xml}'
        '<item t="default"/></items></pivotField><pivotField dataField="1" showAll="0"/></pivotFields>'
        f'<rowFields count="1"><field x="0"/></rowFields><rowItems count="{n + 1}">{row_items}</rowItems>'
        '<colItems count="1"><i/></colItems><dataFields count="1"><dataField name="求和项:实付金额" fld="1" '
        'baseField="0" baseItem="0" numFmtId="2"/></dataFields><pivotTableStyleInfo name="PivotStyleLight16" '
        'showRowHeaders="1" showColHeaders="1" showRowStripes="0" showColStripes="0" showLastColumn="1"/>'
        "</pivotTableDefinition>",
        CT + "spreadsheetml.pivotTable+xml",
    )
    pkg.relate(pivot, "pivotCacheDefinition", "../pivotCache/" + cache.rsplit("/", 1)[1])
    pkg.relate(sheet, "pivotTable", "../pivotTables/" + pivot.rsplit("/", 1)[1])


def libreoffice_saved(pkg: Package) -> None:
    """The tracker after a merchant opened it in LibreOffice Calc and saved it as .xlsx (the whole package is LO's)."""
    with tempfile.TemporaryDirectory(prefix="lo-save-") as folder:
        source = Path(folder) / "tracker.xlsx"
        source.write_bytes(pkg.bytes())
        out = Path(folder) / "out"
        out.mkdir()
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{folder}/profile", "--headless", "--norestore",
             "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(source)],
            check=True, capture_output=True, timeout=180,
        )
        fresh = Package((out / "tracker.xlsx").read_bytes())
    pkg.entries = fresh.entries


# ------------------------------------------------------------------------------------------------ the list


def ods_has(*needles: str) -> Callable[[dict[str, bytes]], bool]:
    """LibreOffice shows the feature: every needle occurs in the .ods (its XML parts, e.g. an embedded chart's
    Object 1/content.xml, or an entry name such as Pictures/…)."""

    def check(ods: dict[str, bytes]) -> bool:
        text = "".join(data.decode("utf-8", "replace") for name, data in ods.items() if name.endswith(".xml"))
        names = "\n".join(ods)
        return all(n in text or n in names for n in needles)

    check.needles = needles  # type: ignore[attr-defined]
    return check


@dataclass(frozen=True)
class Feature:
    name: str
    build: Callable[[Package], None]
    source: str  # which program writes it this way
    lo_sees: Callable[[dict[str, bytes]], bool] | None = None


def cells_without_r(pkg: Package) -> None:
    """Rows and cells without the optional ``r`` attribute (ECMA-376 makes it optional; Excel reads a missing one as
    "the next row / the next column"). Written by some export generators; a writer must not re-address them."""
    part = register(pkg)
    text = pkg.text(part)
    from package import column_index

    def strip(row: re.Match) -> str:
        number = int(row.group(1))
        if number < 6:
            return row.group(0)
        previous = 0
        out = []
        for cell in re.findall(r"<c\b[^>]*?(?:/>|>.*?</c>)", row.group(2), re.S):
            col = column_index(re.search(r'\br="([A-Z]+)\d+"', cell).group(1))
            if col == previous + 1:
                cell = re.sub(r'\s+r="[A-Z]+\d+"', "", cell, count=1)
            out.append(cell)
            previous = col
        tag = row.group(0)[: row.group(0).index(">") + 1]
        if number == 9:  # the row after row 8: its number may go too
            tag = tag.replace(' r="9"', "")
        return tag + "".join(out) + "</row>"

    pkg.put(part, re.sub(r'<row\b[^>]*\br="(\d+)"[^>]*>(.*?)</row>', strip, text, flags=re.S))


def without_tool_sheets(pkg: Package) -> None:
    """A tracker whose 统计 and 记录 sheets the merchant deleted in Excel (the run must add them back, editing
    workbook.xml, its rels and [Content_Types].xml only by the new entries)."""
    from contract import related

    book = pkg.text("xl/workbook.xml")
    rels = pkg.targets("xl/workbook.xml")
    for name in ("统计", "记录"):
        part = pkg.sheet(name)
        gone: set[str] = set()
        related(pkg, part, gone)
        for entry in gone:
            del pkg.entries[entry]
            types = pkg.text("[Content_Types].xml")
            pkg.put("[Content_Types].xml", re.sub(rf'<Override PartName="/{re.escape(entry)}"[^>]*/>', "", types))
        rid = next(r for r, (_, target) in rels.items() if target == part)
        escaped = "".join(f"&#{ord(ch)};" for ch in name)
        book = re.sub(rf'<sheet\b[^>]*name="(?:{name}|{escaped})"[^>]*/>', "", book)
        wb_rels = pkg.text("xl/_rels/workbook.xml.rels")
        pkg.put("xl/_rels/workbook.xml.rels", re.sub(rf'<Relationship\b[^>]*Id="{rid}"[^>]*/>', "", wb_rels))
        pkg.put("xl/workbook.xml", book)
    assert "统计" not in pkg.sheets() and "记录" not in pkg.sheets()


def plain(pkg: Package) -> None:
    """No feature: the tracker exactly as refund-sheet itself saved it (the control every feature is compared to)."""


FEATURES = [
    Feature("plain", plain, "refund-sheet (control)"),
    Feature("text_box", text_box, "Excel 365", ods_has("退货请先拍照留证")),
    Feature("picture", picture, "Excel 365", ods_has("Pictures/")),
    Feature("wps_cell_image", wps_cell_image, "WPS 2019+", ods_has("DISPIMG")),
    Feature("excel_cell_image", excel_cell_image, "Excel 365"),
    Feature("sparklines", sparklines, "Excel 2010+", ods_has("calcext:sparkline-group", 'calcext:type="column"')),
    Feature("x14_validation", x14_validation, "Excel 2010+", ods_has("cell-content-is-in-list([$说明.$A$2:.$A$8])")),
    Feature("x14_data_bar", x14_data_bar, "Excel 2010+", ods_has("calcext:data-bar")),
    Feature("threaded_comments", threaded_comments, "Excel 365", ods_has("查一下仓库录像")),
    Feature("notes", notes, "Excel / WPS", ods_has("老客户，优先处理", "等快递理赔", 'office:display="true"', 'svg:width="2.9862in"')),
    Feature("checkbox", checkbox, "Excel (form controls)", ods_has('form:label="已回访"', 'form:state="checked"', 'form:linked-cell="退款登记.AH2"')),
    Feature("custom_xml", custom_xml, "Excel + SharePoint"),
    Feature("merchant_formulas", merchant_formulas, "Excel 365", ods_has("店铺月报", "COUNTIF")),
    Feature("merchant_chart", merchant_chart, "Excel 365", ods_has("本月退款原因（店主自制）", "#ed7d31")),
    Feature("calculated_column", calculated_column, "Excel 365", ods_has("净损失")),
    Feature("outline", outline, "Excel / WPS", ods_has("table:table-row-group")),
    Feature("rich_text", rich_text, "Excel / WPS", ods_has('">加急</text:span>', "今天必须回复")),
    Feature("print_setup", print_setup, "Excel 365", ods_has("好物小店")),
    Feature("ignored_errors", ignored_errors, "Excel 365"),
    Feature("hyperlinks", hyperlinks, "Excel 365", ods_has("fxg.jinritemai.com")),
    Feature("defined_names", defined_names, "Excel 365", ods_has("本月退款")),
    Feature("merchant_columns", merchant_columns, "Excel / WPS", ods_has("跟进人", "已电话")),
    Feature("excel_saved_register", excel_saved_register, "Excel 365"),
    Feature("xlsm_with_vba", xlsm_with_vba, "Excel 365 (.xlsm)", ods_has("Basic/VBAProject/Module1.xml")),
    Feature("pivot_table", pivot_table, "Excel 365", ods_has("table:data-pilot-table")),
    Feature("libreoffice_saved", libreoffice_saved, "LibreOffice Calc 7.4"),
    Feature("without_tool_sheets", without_tool_sheets, "Excel (sheets deleted by the merchant)"),
    Feature("cells_without_r", cells_without_r, "ECMA-376 (r optional); some generators"),
]
