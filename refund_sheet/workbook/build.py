"""Building the tracker workbook from code (``refund-sheet new``, the committed ``workbook/RefundTracker.xlsx``).

The build is deterministic: the same code gives the same bytes (fixed document times, fixed zip entry times), so
a test can prove the committed workbook is what the code builds.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..engine import defaults
from ..engine.columns import INPUT_COLUMNS, OUTPUT_COLUMNS
from ..engine.layout import FIRST_TITLE_ROW, SPARE_ROWS, policy_layout
from ..engine.model import CaseType, Decision, Sla
from . import DATETIME_FORMAT, MONEY_FORMAT, POLICY_SHEET, REGISTER_SHEET
from .look import BOX, HEADER_FILL, HEADER_FONT, TABLE_TITLE_FONT, TITLE_FONT, style_header, tidy_part
from .read import LOG_SHEET

HELP_SHEET = "说明"
TABLE_NAME = "售后登记"
FIXED_TIME = "2026-01-01T00:00:00Z"
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
FORMAT_ROWS = 5000  # rows below the header that get validation and colouring in a new tracker

RED_FILL = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
AMBER_FILL = PatternFill("solid", fgColor="FFEB9C", bgColor="FFEB9C")
RED_FONT = Font(color="9C0006")
BLUE_FILL = PatternFill("solid", fgColor="DDEBF7", bgColor="DDEBF7")
BLUE_FONT = Font(color="1F4E78")
AMBER_FONT = Font(color="9C5700")

WIDTHS = {
    "case_id": 22, "order_id": 22, "buyer": 12, "product": 24, "sku": 12, "category": 10, "type": 15, "reason": 14,
    "paid": 11, "requested": 11, "shipping_fee": 8, "shipped": 10, "delivered_at": 17, "requested_at": 17,
    "platform_deadline": 17, "evidence": 7, "return_received_at": 17, "status": 12, "platform_risk": 9,
    "override": 11, "note": 20, "decision": 11, "amount": 11, "payer": 9, "deadline": 17, "sla": 10,
    "risks": 28, "rule_id": 9, "explanation": 60, "reply": 60, "checked_at": 17,
}
MONEY_KEYS = ("paid", "requested", "shipping_fee", "amount")
TIME_KEYS = ("delivered_at", "requested_at", "platform_deadline", "return_received_at", "deadline", "checked_at")
TEXT_ID_KEYS = ("case_id", "order_id", "sku")

STATUS_CHOICES = ("待商家处理", "待买家退货", "待商家收货", "待退款", "退款失败", "已完结", "已关闭")
YES_NO = ("是", "否")
DUE_SOON_NAME = "DueSoonHours"

# Dropdown lists stand on 规则 to the right of the tables, one column each.
CHOICE_LISTS = (
    ("售后类型", tuple(t.value for t in CaseType)),
    ("处理状态", STATUS_CHOICES),
    ("人工决定", tuple(d.value for d in Decision if d is not Decision.INCOMPLETE)),
    ("是否", YES_NO),
)
CHOICE_FIRST_COL = len(defaults.RULE_HEADERS) + 2  # one blank column after the widest table


def register_headers() -> list[str]:
    return [c.header for c in INPUT_COLUMNS + OUTPUT_COLUMNS]


def build_tracker(rows: Sequence[dict[str, object]] = ()) -> Workbook:
    """A complete tracker: 退款登记 (with ``rows``, keyed by canonical key), 规则, 统计, 记录, 说明."""
    wb = Workbook()
    register = wb.active
    assert register is not None  # a new Workbook has its one sheet
    register.title = REGISTER_SHEET
    policy = wb.create_sheet(POLICY_SHEET)
    from . import dashboard

    dashboard.write_stats(wb, dashboard.empty_plan())  # the 订单数 input table is there before the first check
    dashboard.init_log(wb.create_sheet(LOG_SHEET))
    _write_help(wb.create_sheet(HELP_SHEET))
    anchors = _write_policy(policy)
    _write_register(register, rows, anchors)
    wb.defined_names[DUE_SOON_NAME] = DefinedName(DUE_SOON_NAME, attr_text=anchors["due_soon"])
    wb.properties.creator = "refund-sheet"
    return wb


def deterministic_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes with fixed document and zip times: same content, same bytes."""
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_TIME.encode(), data)
            data = tidy_part(info.filename, data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, data)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ 退款登记


def _write_register(ws, rows: Sequence[dict[str, object]], anchors: dict[str, str]) -> None:
    columns = INPUT_COLUMNS + OUTPUT_COLUMNS
    letter = {c.key: get_column_letter(i) for i, c in enumerate(columns, start=1)}
    ws.append(register_headers())
    for data in rows:
        ws.append([data.get(c.key) for c in columns])
    last_row = max(2, len(rows) + 1)
    for cells in ws.iter_rows(min_row=2, max_row=last_row):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # sample text is data, never a formula
    style_header(ws, 1, len(columns), output_from=len(INPUT_COLUMNS) + 1)
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "C2"  # the header row and the two ID columns stay in view
    ws.print_title_rows = "1:1"  # printed: every page repeats the headers and the two IDs
    ws.print_title_cols = "A:B"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    for column in columns:
        ws.column_dimensions[letter[column.key]].width = WIDTHS.get(column.key, 12)
    for key, fmt in [(k, MONEY_FORMAT) for k in MONEY_KEYS] + [(k, DATETIME_FORMAT) for k in TIME_KEYS] + [
        (k, "@") for k in TEXT_ID_KEYS
    ]:
        for (cell,) in ws.iter_rows(min_row=2, max_row=last_row, min_col=_index(letter[key]), max_col=_index(letter[key])):
            cell.number_format = fmt
    for key in ("explanation", "reply"):
        for (cell,) in ws.iter_rows(min_row=2, max_row=last_row, min_col=_index(letter[key]), max_col=_index(letter[key])):
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    table = Table(displayName=TABLE_NAME, ref=f"A1:{get_column_letter(len(columns))}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    _add_validation(ws, letter, anchors)
    _add_deadline_colours(ws, letter)


def _index(letter: str) -> int:
    from openpyxl.utils import column_index_from_string

    return column_index_from_string(letter)


def _add_validation(ws, letter: dict[str, str], anchors: dict[str, str]) -> None:
    """Dropdowns whose values come from the 规则 sheet, so a category added there shows up here."""
    end = FORMAT_ROWS + 1
    for key, source, strict in (
        ("category", anchors["类目"], False),
        ("reason", anchors["原因"], False),
        ("type", anchors["售后类型"], False),
        ("status", anchors["处理状态"], False),
        ("override", anchors["人工决定"], True),
        ("evidence", anchors["是否"], False),
        ("platform_risk", anchors["是否"], False),
    ):
        # Written as Excel writes it: no leading "=", no quotes round 规则 (Gnumeric refuses "='规则'!…").
        dv = DataValidation(type="list", formula1=_list_source(source), allow_blank=True)
        dv.showErrorMessage = strict  # imported Douyin spellings (已发货仅退款…) must stay allowed
        dv.errorTitle = "无法识别的值"
        dv.error = "请从下拉列表中选择（列表来自“规则”表）"
        dv.add(f"{letter[key]}2:{letter[key]}{end}")
        ws.add_data_validation(dv)


def _list_source(anchor: str) -> str:
    """``'规则'!$A$59:$A$78`` → ``规则!$A$59:$A$78``: a list validation's source as Excel saves it."""
    sheet, _, cells = anchor.rpartition("!")
    return f"{sheet.strip(chr(39))}!{cells}"


def _add_deadline_colours(ws, letter: dict[str, str]) -> None:
    """Blue while the case waits on the buyer (等待买家: the deadline shown is the buyer's); red when the
    deadline has passed, amber within the due-soon hours, driven by NOW(), so the colours stay right while the
    file is open, without re-running the check."""
    d, s = letter["deadline"], letter["sla"]
    target = f"{d}2:{d}{FORMAT_ROWS + 1} {s}2:{s}{FORMAT_ROWS + 1}"
    ws.conditional_formatting.add(
        target, FormulaRule(formula=[f'${s}2="{Sla.WAITING.value}"'], fill=BLUE_FILL, font=BLUE_FONT, stopIfTrue=True)
    )
    open_case = f'AND(ISNUMBER(${d}2),${s}2<>"{Sla.CLOSED.value}",${s}2<>"{Sla.WAITING.value}")'
    ws.conditional_formatting.add(
        target, FormulaRule(formula=[f"AND({open_case},${d}2<NOW())"], fill=RED_FILL, font=RED_FONT, stopIfTrue=True)
    )
    ws.conditional_formatting.add(
        target,
        FormulaRule(formula=[f"AND({open_case},${d}2>=NOW(),${d}2-NOW()<={DUE_SOON_NAME}/24)"], fill=AMBER_FILL, font=AMBER_FONT),
    )


# ------------------------------------------------------------------------------------------------ 规则


def _ref(col: int, first: int, last: int) -> str:
    c = get_column_letter(col)
    return f"'{POLICY_SHEET}'!${c}${first}:${c}${last}"


def _write_policy(ws) -> dict[str, str]:
    """Lay out every policy table (the same rows the engine compiles by default); return the cells that the
    register's dropdowns and formulas point at."""
    ws["A1"] = "规则（可编辑）：处理建议按“决策表”从上到下第一条满足的规则给出"
    ws["A1"].font = TITLE_FONT
    ws["A2"] = "条件留空表示任意；一格可写多个值，用“、”分隔。可在表内空行添加规则、原因、类目、节假日和商品；改完后点“检查全部”。"
    anchors: dict[str, str] = {}
    layout = policy_layout()
    for name, (headers, rows) in defaults.TABLES.items():
        first, _ = layout[name]
        title = ws.cell(first - 2, 1, name)
        title.font = TABLE_TITLE_FONT
        for col, header in enumerate(headers, start=1):
            ws.cell(first - 1, col, header)
        style_header(ws, first - 1, len(headers))
        for i, values in enumerate(rows):
            for col, text in enumerate(values, start=1):
                cell = ws.cell(first + i, col, _typed(text))
                cell.border = BOX
        for i in range(len(rows), len(rows) + SPARE_ROWS):
            for col in range(1, len(headers) + 1):
                ws.cell(first + i, col).border = BOX
        anchors[name] = _ref(1, first, first + len(rows) + SPARE_ROWS - 1)
        if name == "参数":
            index = [p[0] for p in rows].index("即将超时小时")
            anchors["due_soon"] = f"'{POLICY_SHEET}'!$B${first + index}"
    col = CHOICE_FIRST_COL
    title = ws.cell(FIRST_TITLE_ROW, col, "下拉选项")
    title.font = TABLE_TITLE_FONT
    for name, values in CHOICE_LISTS:
        ws.cell(FIRST_TITLE_ROW + 1, col, name)
        _style_header_cell(ws.cell(FIRST_TITLE_ROW + 1, col))
        for i, value in enumerate(values):
            ws.cell(FIRST_TITLE_ROW + 2 + i, col, value).border = BOX
        anchors[name] = _ref(col, FIRST_TITLE_ROW + 2, FIRST_TITLE_ROW + 1 + len(values))
        ws.column_dimensions[get_column_letter(col)].width = 14
        col += 1
    for col, width in enumerate((10, 16, 18, 12, 9, 9, 14, 9, 9, 11, 11, 9, 9, 10, 40), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A4"
    return anchors


def _style_header_cell(cell) -> None:
    cell.fill = HEADER_FILL
    cell.font = HEADER_FONT
    cell.alignment = Alignment(horizontal="center")


def _typed(text: str) -> object:
    """Numbers as numbers (so Excel does not flag "number stored as text"), everything else as text."""
    return int(text) if text.isdigit() and len(text) < 10 else text


# ------------------------------------------------------------------------------------------------ 说明

HELP_ZH = """\
退款助手 · 使用说明
1. 把抖店后台“售后列表导出”的内容粘贴到“退款登记”表（或点“导入售后单”），列的顺序可以随意，系统按表头识别。导入时，没见过的商品会加到“规则”表的“商品”表里，类目留空：每个商品填一次类目，之后的售后单自动沿用。
2. 点功能区“退款助手”→“检查全部”。每一行会填好：处理建议、退款金额、退货运费由谁出、处理时限、时效状态、风险提示、命中规则、判定依据和回复话术。
3. 处理时限变红表示已超时、变黄表示即将超时（默认 24 小时内），变蓝表示“等待买家”（如待买家退货，显示的是买家的期限），颜色随时间自动更新。平台的“自动处理截止时间”优先；否则按“规则”表的时限计算，退款时限按法定工作日（含调休）计算。
4. 想自己决定某一单时，在“人工决定”列选择处理方式：系统不会改动它，只在判定依据里写出系统原本的建议。
5. “处理状态”为已完结、已关闭、售后失败、用户取消、系统取消，或含“成功”“关闭”的售后单视为完结，系统不再改动其结果；“退款失败”不算完结（钱没有退到买家手里，需要重新退款）。
6. 标红的“信息不全”说明某个格子有问题，判定依据会写明是哪一格（例如 退款登记!I14）以及原因。
7. 规则都在“规则”表：决策表从上到下，第一条条件全部满足的规则给出处理建议；条件留空表示任意。可以修改部分退款比例、小额阈值、高金额阈值、店铺名称、回复署名，增加类目、原因、节假日和商品。规则有错时系统会逐条指出单元格，并且不改动文件。
8. 每次保存前会把原文件备份为“文件名.bak.xlsx”。
按钮：检查全部 · 检查选中行 · 生成回复 · 刷新时效 · 导入售后单 · 更新统计 · 规则表 · 说明。
命令行（无需 Excel）：refund-sheet check 退款登记.xlsx
"""

HELP_EN = """\
Refund assistant · how to use it (English)
1. Paste the Douyin after-sales export into 退款登记 (or click 导入售后单 / Import). Columns are found by their headers, in any order.
2. Click 退款助手 → 检查全部 (Check all). Each row gets a decision, refund amount, who pays return shipping, a deadline, SLA state, risk flags, the rule that decided, an explanation and a reply.
3. Deadlines turn red when overdue and amber when due soon; the colours follow the clock while the file is open.
4. A decision typed in 人工决定 (manual decision) is never changed; the explanation shows what the engine would have said.
5. Rules live on 规则: the first rule (top to bottom) whose conditions all hold decides. Mistakes there are reported cell by cell and nothing is written.
6. Every save keeps the previous file as NAME.bak.xlsx. Headless: refund-sheet check FILE.xlsx
"""


def _write_help(ws) -> None:
    ws.column_dimensions["A"].width = 100
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)  # printed on the page's width
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    for i, line in enumerate(HELP_ZH.splitlines() + [""] + HELP_EN.splitlines(), start=1):
        cell = ws.cell(i, 1, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if i == 1 or line.startswith("Refund assistant"):
            cell.font = TITLE_FONT


def write_new(path: Path, rows: Sequence[dict[str, object]] = (), overwrite: bool = False) -> Path:
    """Write a new tracker to ``path`` (deterministic bytes, atomic). Refuses to replace a file unless asked,
    and then keeps the old one as the backup."""
    from ..errors import WorkbookError
    from . import save_atomic

    path = Path(path)
    if path.exists() and not overwrite:
        raise WorkbookError(f"{path} 已存在：不会覆盖已有的登记表（确需重建请加 --force）")
    if not path.parent.is_dir():
        raise WorkbookError(f"文件夹不存在：{path.parent}")
    save_atomic(deterministic_bytes(build_tracker(rows)), path)
    return path
