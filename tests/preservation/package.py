"""An .xlsx package as an ordered list of (entry name, bytes), with the few edits the feature fixtures need.

The fixtures edit XML as text, the way a test of a byte-for-byte writer should: nothing here re-serialises a part,
so every part keeps exactly the bytes a feature function gave it.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path

from refund_sheet.engine.columns import column_letter  # noqa: F401  (the project's own; the suite imports it from here)

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS_X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
NS_X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
NS_XM = "http://schemas.microsoft.com/office/excel/2006/main"
NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
CT = "application/vnd.openxmlformats-officedocument."

# CT_Worksheet's children in schema order: a child is inserted before the first existing child that comes later.
WORKSHEET_ORDER = [
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr", "sheetProtection",
    "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate", "customSheetViews", "mergeCells",
    "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions", "pageMargins",
    "pageSetup", "headerFooter", "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors",
    "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
    "webPublishItems", "tableParts", "extLst",
]
WORKBOOK_ORDER = [
    "fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews", "sheets", "functionGroups",
    "externalReferences", "definedNames", "calcPr", "oleSize", "customWorkbookViews", "pivotCaches",
    "smartTagPr", "smartTagTypes", "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst",
]




def column_index(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def rels_of(part: str) -> str:
    """xl/worksheets/sheet1.xml → xl/worksheets/_rels/sheet1.xml.rels"""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    """A relationship's Target, relative to the part that holds the relationship, as an entry name."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


class Package:
    """An .xlsx/.xlsm as ordered zip entries. ``text``/``put`` read and replace a part; ``add`` appends one."""

    def __init__(self, data: bytes):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            self.entries: dict[str, bytes] = {i.filename: z.read(i.filename) for i in z.infolist()}
        self.suffix = ".xlsx"

    # ---------------------------------------------------------------- raw parts
    def text(self, name: str) -> str:
        return self.entries[name].decode("utf-8")

    def put(self, name: str, text: str | bytes) -> None:
        self.entries[name] = text.encode("utf-8") if isinstance(text, str) else text

    def add(self, name: str, data: str | bytes, content_type: str | None = None) -> None:
        assert name not in self.entries, f"{name} already in the package"
        self.put(name, data)
        if content_type:
            self.override(name, content_type)

    def free(self, pattern: str) -> str:
        """The first free name for ``pattern`` (``xl/drawings/drawing{}.xml``), counting from 1."""
        n = 1
        while pattern.format(n) in self.entries:
            n += 1
        return pattern.format(n)

    def bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in self.entries.items():
                z.writestr(name, data)
        return out.getvalue()

    def save(self, path: Path) -> Path:
        path.write_bytes(self.bytes())
        return path

    # ---------------------------------------------------------------- content types and relationships
    def override(self, name: str, content_type: str) -> None:
        types = self.text("[Content_Types].xml")
        entry = f'<Override PartName="/{name}" ContentType="{content_type}"/>'
        self.put("[Content_Types].xml", types.replace("</Types>", entry + "</Types>"))

    def default(self, extension: str, content_type: str) -> None:
        types = self.text("[Content_Types].xml")
        if f'Extension="{extension}"' in types:
            return
        entry = f'<Default Extension="{extension}" ContentType="{content_type}"/>'
        self.put("[Content_Types].xml", re.sub(r"(<Types[^>]*>)", lambda m: m.group(1) + entry, types, count=1))

    def relate(self, source: str, rel_type: str, target: str, external: bool = False) -> str:
        """Add a relationship from ``source`` (a part, or "" for the package) and return its new Id."""
        rels = rels_of(source) if source else "_rels/.rels"
        if rels not in self.entries:
            self.entries[rels] = (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="{NS_PKG_R}">'
                "</Relationships>"
            ).encode()
        text = self.text(rels)
        used = set(re.findall(r'Id="([^"]+)"', text))
        n = 1
        while f"rId{n}" in used:
            n += 1
        rid = f"rId{n}"
        mode = ' TargetMode="External"' if external else ""
        kind = rel_type if rel_type.startswith("http") else REL + rel_type
        text = text.replace(
            "</Relationships>", f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"{mode}/></Relationships>'
        )
        self.put(rels, text)
        return rid

    def targets(self, source: str) -> dict[str, tuple[str, str]]:
        """Relationship Id → (type, entry name) for the relationships of ``source``."""
        rels = rels_of(source) if source else "_rels/.rels"
        if rels not in self.entries:
            return {}
        found = {}
        for attrs in re.findall(r"<Relationship\b([^>]*)/?>", self.text(rels)):
            get = dict(re.findall(r'(\w+)="([^"]*)"', attrs))
            external = get.get("TargetMode") == "External"
            found[get["Id"]] = (get["Type"], get["Target"] if external else resolve(source, get["Target"]))
        return found

    # ---------------------------------------------------------------- sheets
    def sheets(self) -> dict[str, str]:
        """Sheet name → its part, in workbook order."""
        rels = self.targets("xl/workbook.xml")
        found = {}
        for tag in re.findall(r"<sheet\b[^>]*>", self.text("xl/workbook.xml")):
            name = re.search(r'\bname="([^"]*)"', tag).group(1)
            rid = re.search(r'\br:id="([^"]*)"', tag).group(1)
            found[unescape(name)] = rels[rid][1]
        return found

    def sheet(self, name: str) -> str:
        return self.sheets()[name]

    def add_sheet(self, name: str, xml: str) -> str:
        """A new worksheet part, listed last in workbook.xml; returns its entry name."""
        part = self.free("xl/worksheets/sheet{}.xml")
        self.add(part, xml, CT + "spreadsheetml.worksheet+xml")
        rid = self.relate("xl/workbook.xml", "worksheet", part.removeprefix("xl/"))
        book = self.text("xl/workbook.xml")
        ids = [int(i) for i in re.findall(r'sheetId="(\d+)"', book)]
        r = prefix_of(book, NS_R) or "r"
        if r not in prefix_map(book):
            book = declare(book, "r", NS_R)
        book = book.replace(
            "</sheets>", f'<sheet name="{name}" sheetId="{max(ids) + 1}" {r}:id="{rid}"/></sheets>'
        )
        self.put("xl/workbook.xml", book)
        return part

    def child(self, part: str, tag: str, xml: str, order=WORKSHEET_ORDER) -> None:
        """Insert ``xml`` (a ``tag`` element) into the root of ``part`` at its place in the schema order."""
        text = self.text(part)
        later = order[order.index(tag) + 1 :]
        root_end = re.search(r"</[\w:]*(?:worksheet|workbook)>\s*$", text).start()
        at = root_end
        for m in re.finditer(r"<(\w+)[\s/>]", text):
            if m.group(1) in later and depth_at(text, m.start()) == 1:
                at = m.start()
                break
        self.put(part, text[:at] + xml + text[at:])

    def ext(self, part: str, ext_xml: str) -> None:
        """Add an ``<ext>`` to the worksheet's extLst (made when missing)."""
        text = self.text(part)
        if "<extLst>" in text[text.rfind("</sheetData>") :]:
            at = text.rfind("</extLst>")
            self.put(part, text[:at] + ext_xml + text[at:])
        else:
            self.child(part, "extLst", f"<extLst>{ext_xml}</extLst>")

    def declare(self, part: str, prefix: str, uri: str) -> None:
        self.put(part, declare(self.text(part), prefix, uri))

    def cell(self, part: str, ref: str, xml: str) -> None:
        """Replace (or insert, in column order) the cell ``ref`` in its row, which must exist."""
        text = self.text(part)
        row = int(re.sub(r"[A-Z]+", "", ref))
        m = re.search(rf'<row\b[^>]*\br="{row}"[^>]*?(/>|>(.*?)</row>)', text, re.S)
        assert m, f"{part}: no row {row}"
        if m.group(1) == "/>":
            start_tag = m.group(0)[:-2] + ">"
            body = ""
        else:
            body = m.group(2)
            start_tag = m.group(0)[: m.group(0).index(">") + 1]
        cells = re.findall(r"<c\b[^>]*?(?:/>|>.*?</c>)", body, re.S)
        col = column_index(re.sub(r"\d", "", ref))
        out, placed = [], False
        for c in cells:
            r = re.search(r'\br="([A-Z]+)\d+"', c).group(1)
            if column_index(r) == col:
                out.append(xml)
                placed = True
                continue
            if column_index(r) > col and not placed:
                out.append(xml)
                placed = True
            out.append(c)
        if not placed:
            out.append(xml)
        self.put(part, text[: m.start()] + start_tag + "".join(out) + "</row>" + text[m.end() :])

    def row_attrs(self, part: str, row: int, attrs: str) -> None:
        """Add attributes to the start tag of row ``row``."""
        text = self.text(part)
        new = re.sub(rf'(<row\b[^>]*\br="{row}")', lambda m: m.group(1) + " " + attrs, text, count=1)
        assert new != text, f"{part}: no row {row}"
        self.put(part, new)


def unescape(text: str) -> str:
    text = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), text)
    text = re.sub(r"&#x([0-9a-fA-F]+);", lambda m: chr(int(m.group(1), 16)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace(
        "&amp;", "&"
    )


def prefix_map(xml: str) -> dict[str, str]:
    root = re.search(r"<(?!\?)[^>]*>", xml).group(0)
    return dict(re.findall(r'xmlns:(\w+)="([^"]*)"', root))


def prefix_of(xml: str, uri: str) -> str | None:
    for p, u in prefix_map(xml).items():
        if u == uri:
            return p
    return None


def declare(xml: str, prefix: str, uri: str) -> str:
    """Declare ``xmlns:prefix`` on the root element (as Excel does), unless it is already there."""
    if prefix_map(xml).get(prefix) == uri:
        return xml
    m = re.search(r"<(?!\?)[\w:]+[^>]*?(/?)>", xml)  # after the root's last attribute, as Excel orders them
    at = m.end() - len(m.group(1)) - 1
    return xml[:at] + f' xmlns:{prefix}="{uri}"' + xml[at:]


def depth_at(text: str, position: int) -> int:
    """How many elements are open at ``position`` (the root counts 1); good enough for the parts built here."""
    depth = 0
    for m in re.finditer(r"<(/?)([\w:]+)[^>]*?(/?)>", text[:position]):
        if m.group(1):
            depth -= 1
        elif not m.group(3):
            depth += 1
    return depth
