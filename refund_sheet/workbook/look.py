"""How the sheets the tool builds look, and how openpyxl's parts are tidied for other readers: shared by the new
tracker (``build``) and its 统计 / 记录 sheets (``dashboard``)."""

from __future__ import annotations

import re

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
OUTPUT_FILL = PatternFill("solid", fgColor="375623")
TITLE_FONT = Font(bold=True, size=14, color="1F4E78")
TABLE_TITLE_FONT = Font(bold=True, size=12, color="1F4E78")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def style_header(ws, row: int, width: int, output_from: int | None = None) -> None:
    """A header row: white bold text on blue, output columns (from ``output_from``) on green."""
    for col in range(1, width + 1):
        cell = ws.cell(row, col)
        cell.fill = OUTPUT_FILL if output_from and col >= output_from else HEADER_FILL
        cell.font = HEADER_FONT
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


DRAWING_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
EMPTY_XFRM = b"<xfrm/>"
FULL_XFRM = b'<xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xfrm>'


def tidy_part(name: str, data: bytes) -> bytes:
    """A part openpyxl wrote, as other readers want it: a chart's frame with its (unused) position spelled out
    (Gnumeric drops a chart whose <xfrm/> is empty), the drawing prefix declared on the root, no empty text run in
    an axis's text properties, no empty <workbookProtection/> (it protects nothing and Gnumeric does not expect it)."""
    if name.startswith(("xl/drawings/", "xl/charts/")) and name.endswith(".xml"):
        # openpyxl declares the drawing prefix a: on each element that uses it; Gnumeric only finds it on the root
        root = re.search(rb"<(?:wsDr|c:chartSpace|chartSpace)\b", data)
        if root and b"xmlns:a=" not in data[root.start() : data.find(b">", root.start())]:
            data = data[: root.end()] + f' xmlns:a="{DRAWING_A}"'.encode() + data[root.end() :]
        data = data.replace(b"<a:r><a:t></a:t></a:r>", b"").replace(b"<a:r><a:t/></a:r>", b"")  # an empty run
        return data.replace(EMPTY_XFRM, FULL_XFRM)
    if name == "xl/workbook.xml":
        return data.replace(b"<workbookProtection/>", b"")
    return data
