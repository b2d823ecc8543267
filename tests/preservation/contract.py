"""The writer's contract, as checks that return a list of precise problems (empty = kept).

Each problem names the part, the cell or element, and the bytes before and after (abbreviated), so a failing test
says where the writer went wrong. See issue 12: parts the tool does not own are byte-identical, entry order is kept,
and in the register only the output cells (and for ``import`` the platform's cells and new rows) may change.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from package import Package, column_index, column_letter, unescape

OUTPUT_HEADERS = ("处理建议", "退款金额", "退货运费", "处理时限", "时效状态", "风险提示", "命中规则", "判定依据", "回复话术", "检查时间")
TOOL_SHEETS = ("统计", "记录")
REGISTER = "退款登记"
POLICY = "规则"


def short(data: bytes | str, limit: int = 160) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text if len(text) <= limit else text[: limit // 2] + " … " + text[-limit // 2 :]


def first_difference(a: bytes | str, b: bytes | str, context: int = 60) -> str:
    """Where two byte strings first differ, with a little context from each."""
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, n - context)
    return (
        f"at byte {n} (sizes {len(a)} → {len(b)}): before …{short(a[start : n + context], 2 * context + 20)}… "
        f"after …{short(b[start : n + context], 2 * context + 20)}…"
    )


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


# ------------------------------------------------------------------------------------------------ ownership


@dataclass
class Owned:
    """What a command may change in one package, by entry name."""

    parts: set[str]
    register: str
    register_tables: list[str]
    workbook_level: bool  # workbook.xml, its rels and [Content_Types].xml (only when a tool sheet was added)


def related(pkg: Package, part: str, seen: set[str]) -> None:
    """``part``, its .rels and everything it relates to (transitively), except images and external targets."""
    from package import rels_of

    if part in seen or part not in pkg.entries:
        return
    seen.add(part)
    rels = rels_of(part)
    if rels in pkg.entries:
        seen.add(rels)
    for kind, target in pkg.targets(part).values():
        if kind.endswith(("/hyperlink", "/image")):
            continue
        related(pkg, target, seen)


def owned(pkg: Package, command: str) -> Owned:
    sheets = pkg.sheets()
    register = sheets[REGISTER]
    tables = [t for kind, t in pkg.targets(register).values() if kind.endswith("/table")]
    parts = {register, "xl/styles.xml"} | set(tables)
    for tool in TOOL_SHEETS:
        if tool in sheets:
            related(pkg, sheets[tool], parts)
    if command == "import" and POLICY in sheets:
        parts.add(sheets[POLICY])
        for kind, t in pkg.targets(sheets[POLICY]).values():
            if kind.endswith("/table") and re.search(r'\bname="商品"', pkg.text(t)):
                parts.add(t)
    workbook_level = any(tool not in sheets for tool in TOOL_SHEETS)
    if workbook_level:
        parts |= {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
    return Owned(parts, register, tables, workbook_level)


# ------------------------------------------------------------------------------------------------ zip entries


def package_problems(before: bytes, after: bytes, command: str) -> list[str]:
    """Every entry not owned is byte-identical, none disappears, the relative order is kept."""
    a, b = entries(before), entries(after)
    own = owned(Package(before), command)
    problems = []
    for name in a:
        if name not in b:
            problems.append(f"{name}: entry disappeared")
        elif name not in own.parts and a[name] != b[name]:
            problems.append(f"{name}: not owned by the tool but changed {first_difference(a[name], b[name])}")
    kept = [n for n in a if n in b]
    order_after = [n for n in b if n in a]
    if kept != order_after:
        moved = next(i for i, (x, y) in enumerate(zip(kept, order_after)) if x != y)
        problems.append(f"entry order changed from position {moved}: before {kept[moved:moved + 3]} after {order_after[moved:moved + 3]}")
    new = [n for n in b if n not in a]
    if new and not own.workbook_level:
        problems.append(f"new entries although no tool sheet had to be added: {new[:6]}")
    if own.workbook_level:
        problems += minimal_edit_problems(a, b)
    return sorted(problems, key=rank)


ADDED = {
    "xl/workbook.xml": r"<sheet\b[^>]*/>",
    "xl/_rels/workbook.xml.rels": r"<Relationship\b[^>]*/>",
    "[Content_Types].xml": r"<(?:Override|Default)\b[^>]*/>",
}


def minimal_edit_problems(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    """Adding a tool sheet may only insert elements (a <sheet>, a <Relationship>, an <Override>) into workbook.xml,
    its rels and [Content_Types].xml: taking out what is new must give back the old bytes."""
    problems = []
    for part, element in ADDED.items():
        if part not in a or part not in b:
            continue
        old, new = a[part].decode(), b[part].decode()
        kept = set(re.findall(element, old))
        stripped = re.sub(element, lambda m, kept=kept: m.group(0) if m.group(0) in kept else "", new)
        if stripped != old:
            problems.append(f"{part}: edited beyond inserting new entries {first_difference(old, stripped)}")
    return problems


def rank(problem: str) -> int:
    """Losses first, then changed parts, then the entry order, then docProps (which every save of today touches)."""
    if "disappeared" in problem:
        return 0
    if problem.startswith("docProps/"):
        return 3
    if problem.startswith("entry order"):
        return 2
    return 1


# ------------------------------------------------------------------------------------------------ the register


def split_sheet(xml: str) -> tuple[str, str, str]:
    """(before sheetData's content, its content, after it); an empty ``<sheetData/>`` has content ''."""
    m = re.search(r"<sheetData\s*/>", xml)
    if m:
        return xml[: m.end()], "", xml[m.end() :]
    start = re.search(r"<sheetData\b[^>]*>", xml)
    end = xml.rindex("</sheetData>")
    return xml[: start.end()], xml[start.end() : end], xml[end:]


ROW = re.compile(r"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
CELL = re.compile(r"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)


@dataclass
class Row:
    number: int
    tag: str  # the start tag (``/>`` of an empty row turned into ``>``)
    cells: dict[int, str]  # column number → raw <c> XML


def rows_of(sheet_data: str) -> dict[int, Row]:
    """Rows and cells by position; a row or cell without r= takes the next number, as Excel reads it."""
    rows: dict[int, Row] = {}
    number = 0
    for m in ROW.finditer(sheet_data):
        raw = m.group(0)
        tag = raw[: raw.index(">") + 1]
        r = re.search(r'\sr="(\d+)"', tag)
        number = int(r.group(1)) if r else number + 1
        column = 0
        cells = {}
        body = "" if tag.endswith("/>") else raw[len(tag) : -len("</row>")]
        for c in CELL.finditer(body):
            ref = re.search(r'\sr="([A-Z]+)\d+"', c.group(0)[: c.group(0).index(">") + 1])
            column = column_index(ref.group(1)) if ref else column + 1
            cells[column] = c.group(0)
        if tag.endswith("/>"):
            tag = tag[:-2].rstrip() + ">"
        rows[number] = Row(number, tag, cells)
    return rows


def holds_value(raw: str) -> bool:
    """A cell with a value or a formula (not just a style)."""
    return any(tag in raw for tag in ("<v>", "<v ", "<is>", "<f>", "<f ", "<f/>"))


def cell_text(raw: str, shared: list[str]) -> str:
    head = raw[: raw.index(">") + 1]
    if 't="s"' in head:
        v = re.search(r"<v>(\d+)</v>", raw)
        return shared[int(v.group(1))] if v else ""
    return unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", raw, re.S)) or "".join(re.findall(r"<v>(.*?)</v>", raw)))


def shared_of(files: dict[str, bytes]) -> list[str]:
    if "xl/sharedStrings.xml" not in files:
        return []
    text = files["xl/sharedStrings.xml"].decode()
    return [unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", si, re.S))) for si in re.findall(r"<si>(.*?)</si>", text, re.S)]


def table_range(table_xml: str) -> tuple[int, int, int, int]:
    """(first column, first row, last column, last row) of a Table's ref."""
    m = re.search(r'<table\b[^>]*\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"', table_xml)
    return column_index(m.group(1)), int(m.group(2)), column_index(m.group(3)), int(m.group(4))


def register_problems(before: bytes, after: bytes, command: str) -> list[str]:
    """The register sheet part: outside sheetData only <dimension ref> may change; inside, only output cells
    (``check``), or output and platform cells and new rows below the last filled row (``import``)."""
    a, b = entries(before), entries(after)
    pkg = Package(before)
    own = owned(pkg, command)
    part = own.register
    if part not in b:
        return [f"{part}: the register sheet part is gone"]
    xa, xb = a[part].decode(), b[part].decode()
    problems = []
    head_a, data_a, tail_a = split_sheet(xa)
    head_b, data_b, tail_b = split_sheet(xb)
    dim = re.compile(r'(<dimension\b[^>]*\bref=")[^"]*(")')
    if dim.sub(r"\1…\2", head_a) != dim.sub(r"\1…\2", head_b):
        problems.append(f"{part} before <sheetData>: changed {first_difference(dim.sub('', head_a), dim.sub('', head_b))}")
    if tail_a != tail_b:
        problems.append(f"{part} after <sheetData>: changed {first_difference(tail_a, tail_b)}")

    shared = shared_of(a)
    table_xml = a[own.register_tables[0]].decode() if own.register_tables else ""
    t_first_col, header_row, t_last_col, _t_last_row = table_range(table_xml) if table_xml else (1, 1, 1, 1)
    rows_a, rows_b = rows_of(data_a), rows_of(data_b)
    header = {col: cell_text(raw, shared) for col, raw in rows_a.get(header_row, Row(0, "", {})).cells.items()}
    free = {col for col, text in header.items() if text in OUTPUT_HEADERS}
    if command == "import":
        from refund_sheet.engine.columns import BY_KEY, map_headers
        from refund_sheet.imports import FILL_BLANK_KEYS, PLATFORM_KEYS

        found = map_headers([header.get(c) for c in range(1, max(header, default=0) + 1)])
        free |= {i + 1 for key, i in found.items() if key in PLATFORM_KEYS + FILL_BLANK_KEYS and key in BY_KEY}
    last_filled = max((r.number for r in rows_a.values() if any(map(holds_value, r.cells.values()))), default=header_row)
    if command == "import":
        table_cols = set(range(t_first_col, t_last_col + 1))

        def is_free(col: int, number: int) -> bool:
            return number != header_row and (col in free or (number > last_filled and col in table_cols))
    else:

        def is_free(col: int, number: int) -> bool:
            return number != header_row and col in free

    def where(col: int, row: int) -> str:
        name = header.get(col) or "(no header)"
        return f"{part} {column_letter(col)}{row} [{name}]"

    for number, row in rows_a.items():
        other = rows_b.get(number)
        if other is None:
            kept = {c: x for c, x in row.cells.items() if not is_free(c, number)}
            if kept or row.tag != f'<row r="{number}">':
                problems.append(f"{part} row {number}: disappeared (was {short(row.tag)} with {len(row.cells)} cells)")
            continue
        if row.tag != other.tag:
            problems.append(f"{part} row {number}: row attributes changed: before {short(row.tag)} after {short(other.tag)}")
        for col, raw in row.cells.items():
            if is_free(col, number):
                continue
            if col not in other.cells:
                problems.append(f"{where(col, number)}: cell disappeared (was {short(raw)})")
            elif other.cells[col] != raw:
                problems.append(f"{where(col, number)}: cell changed: before {short(raw)} after {short(other.cells[col])}")
        for col, raw in other.cells.items():
            if col in row.cells or is_free(col, number):
                continue
            problems.append(f"{where(col, number)}: new cell written where the merchant had none: {short(raw)}")
    for number, row in rows_b.items():
        if number in rows_a:
            continue
        appended = command == "import" and number > last_filled
        for col, raw in row.cells.items():
            if appended and t_first_col <= col <= max(t_last_col, max(free, default=0)):
                continue
            if not appended and col in free:
                continue
            problems.append(f"{where(col, number)}: new cell in a new row {number}: {short(raw)}")
    return problems


# ------------------------------------------------------------------------------------------------ table and styles


def table_problems(before: bytes, after: bytes, command: str) -> list[str]:
    """The register's Table: unchanged by ``check``; ``import`` may move its ref (and its autoFilter's) only."""
    a, b = entries(before), entries(after)
    own = owned(Package(before), command)
    problems = []
    for table in own.register_tables:
        if table not in b:
            problems.append(f"{table}: the register Table part is gone")
            continue
        xa, xb = a[table].decode(), b[table].decode()
        if command == "import":
            refs = re.compile(r'(<(?:table|autoFilter)\b[^>]*?\bref=")[^"]*(")')
            xa, xb = refs.sub(r"\1…\2", xa), refs.sub(r"\1…\2", xb)
        if xa != xb:
            problems.append(f"{table}: changed {first_difference(xa, xb)}")
        elif command == "import":
            problems += appended_rows_problems(b, own.register, b[table].decode())
    return problems


def appended_rows_problems(files: dict[str, bytes], register: str, table_xml: str) -> list[str]:
    """After an import the Table's ref reaches the last row holding a cell in the Table's columns."""
    first_col, _, last_col, last_row = table_range(table_xml)
    _, data, _ = split_sheet(files[register].decode())
    filled = [
        n for n, row in rows_of(data).items()
        if any(first_col <= c <= last_col and holds_value(x) for c, x in row.cells.items())
    ]
    if filled and max(filled) > last_row:
        return [f"Table ref ends at row {last_row} but the register has cases down to row {max(filled)}"]
    return []


STYLE_LISTS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs")


def children(xml: str, tag: str) -> list[str]:
    """The raw top-level children of ``<tag>`` (none when it is missing)."""
    m = re.search(rf"<{tag}\b[^>]*?(?:/>|>(.*?)</{tag}>)", xml, re.S)
    if not m or not m.group(1):
        return []
    body, out, depth, start = m.group(1), [], 0, 0
    for t in re.finditer(r"<(/?)[\w:]+[^>]*?(/?)>", body):
        if t.group(1):
            depth -= 1
            if depth == 0:
                out.append(body[start : t.end()])
        elif t.group(2):
            if depth == 0:
                out.append(t.group(0))
        else:
            if depth == 0:
                start = t.start()
            depth += 1
    return out


def styles_problems(before: bytes, after: bytes) -> list[str]:
    """styles.xml is append-only: every existing entry keeps its index and its bytes."""
    a, b = entries(before), entries(after)
    xa, xb = a["xl/styles.xml"].decode(), b.get("xl/styles.xml", b"").decode()
    problems = []
    for tag in STYLE_LISTS:
        old, new = children(xa, tag), children(xb, tag)
        for i, item in enumerate(old):
            if i >= len(new):
                problems.append(f"xl/styles.xml <{tag}> entry {i} disappeared: {short(item)}")
            elif new[i] != item:
                problems.append(f"xl/styles.xml <{tag}> entry {i} changed: before {short(item)} after {short(new[i])}")
    return problems
