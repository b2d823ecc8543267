"""The dashboard (统计) and the audit log's header (记录) built with openpyxl, in a new tracker or in a scratch
workbook whose sheets the package writer takes over (``scratch``).

统计 is laid out whole from a ``stats.Plan`` (values, styles, native charts), the merchant's 订单数 lines included
(read from the sheet before the rebuild). Lines are appended to 记录 by ``apply.append_log``, never rewritten.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .. import stats
from .formats import DATE_FORMAT, STATS_FORMATS
from .look import BOX, HEADER_FILL, HEADER_FONT, TABLE_TITLE_FONT, TITLE_FONT, style_header, tidy_part
from .read import LOG_HEADERS, LOG_SHEET, STATS_SHEET

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
LABEL_FILL = PatternFill("solid", fgColor="DDEBF7")
KPI_FONT = Font(bold=True, size=13, color="1F4E78")
NOTE_FONT = Font(italic=True, color="7F7F7F")
WIDTHS = {"A": 24, "B": 14, "C": 14, "D": 14, "E": 14, "F": 13, "G": 13, "H": 3}
AXIS_POINTS = 800  # axis labels at 8 pt, so twelve reasons or ten product names all show
CHART_WIDTH_CM, ROW_CM = 17.0, 0.53
LOG_WIDTHS = (18, 30, 26, 9, 9, 60, 9, 18)


# ------------------------------------------------------------------------------------------------ 统计


def empty_plan() -> stats.Plan:
    """统计 of a tracker with no cases yet (``refund-sheet new``): KPIs at zero and the empty 订单数 table."""
    return stats.plan(stats.compute([], []))


def write_stats(wb: Workbook, plan: stats.Plan, name: str = STATS_SHEET) -> Worksheet:
    """Replace 统计 (or the sheet ``name``) by a fresh sheet laid out as ``plan`` (same place among the tabs; before
    记录 if new)."""
    if name in wb.sheetnames:
        index = wb.sheetnames.index(name)
        wb.remove(wb[name])
    else:
        index = wb.sheetnames.index(LOG_SHEET) if LOG_SHEET in wb.sheetnames else len(wb.sheetnames)
    ws = wb.create_sheet(name, index)
    for (row, col), cell in plan.cells.items():
        _put(ws, row, col, cell)
    for column, width in WIDTHS.items():
        ws.column_dimensions[column].width = width
    ws.row_dimensions[1].height = 24
    for spec in plan.charts:
        ws.add_chart(_chart(ws, spec), _anchor(spec))
    ws.sheet_properties.tabColor = "1F4E78"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    return ws


def _put(ws: Worksheet, row: int, col: int, cell: stats.Cell) -> None:
    target = ws.cell(row, col)
    value = cell.value
    if isinstance(value, Decimal):
        value = float(value)  # money on the dashboard is display only; float keeps the comparison exact
    target.value = value
    if isinstance(value, str):
        target.data_type = "s"  # a reason or product typed as "=…" stays text, never a formula
    style = cell.style
    if style in STATS_FORMATS and not isinstance(value, str):
        target.number_format = STATS_FORMATS[style]
    if isinstance(value, datetime):
        target.number_format = DATE_FORMAT
    if style == stats.TITLE:
        target.font = TITLE_FONT
    elif style == stats.SUBTITLE or style == stats.NOTE:
        target.font = NOTE_FONT
    elif style == stats.BLOCK:
        target.font = TABLE_TITLE_FONT
    elif style == stats.HEADER:
        target.fill, target.font = HEADER_FILL, HEADER_FONT
        target.alignment = Alignment(horizontal="center")
    elif style == stats.LABEL:
        target.fill = LABEL_FILL
        target.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        target.border = BOX
        ws.row_dimensions[row].height = 30
    elif style in stats.KPI_STYLE.values():
        target.font = KPI_FONT
        target.alignment = Alignment(horizontal="center", vertical="center")
        target.border = BOX
        ws.row_dimensions[row].height = 22
    elif style == stats.INPUT:
        target.fill = INPUT_FILL
        target.border = BOX
    else:
        target.border = BOX


CHART_COLUMNS = 10  # a chart spans ten default-width columns (17 cm)


def _anchor(spec: stats.ChartSpec):
    """A chart's place as a two-cell anchor (moves with its cells, keeps its size): Excel and LibreOffice read
    openpyxl's default one-cell anchor too, Gnumeric does not and drops the chart."""
    from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor

    row, col = spec.anchor[0] - 1, spec.anchor[1] - 1
    return TwoCellAnchor(editAs="oneCell", _from=AnchorMarker(col=col, row=row),
                         to=AnchorMarker(col=col + CHART_COLUMNS, row=row + spec.rows))


def _chart(ws: Worksheet, spec: stats.ChartSpec):
    """A native chart over one table's columns: the category labels and one value column, with the header cell
    as the series name, so the chart follows the table when the numbers change."""
    chart: LineChart | BarChart
    if spec.kind == "bar":
        chart = bar = BarChart()
        bar.type = "bar"  # horizontal bars: long product names stay readable
        bar.x_axis.scaling.orientation = "maxMin"  # first row on top, like the table
        bar.gapWidth = 60
    else:
        chart = LineChart()
    chart.title = spec.title
    chart.y_axis.title = spec.y_title
    chart.x_axis.delete = False  # openpyxl ≥ 3.1 hides axes unless told (Excel then shows no labels)
    chart.y_axis.delete = False
    chart.legend = None
    values = Reference(ws, min_col=spec.val_col, min_row=spec.header_row, max_row=spec.last)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=spec.cat_col, min_row=spec.first, max_row=spec.last))
    chart.y_axis.scaling.min = 0
    for axis in (chart.x_axis, chart.y_axis):
        axis.txPr = RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(sz=AXIS_POINTS)), endParaRPr=CharacterProperties(sz=AXIS_POINTS))])
    if spec.kind == "line":
        series = chart.series[0]
        series.smooth = False  # a straight line between weeks: a curve would invent values in between
        series.marker.symbol = "circle"
    chart.width, chart.height = CHART_WIDTH_CM, spec.rows * ROW_CM  # type: ignore[assignment]  # cm, a float; the stubs say int
    return chart


def scratch(stats_name: str | None = None, log_name: str | None = None, plan: stats.Plan | None = None) -> bytes:
    """A workbook holding only the tool's own sheets under the names given (统计 laid out as ``plan``, 记录 with its
    header), as .xlsx bytes: the package writer takes those sheets' parts from it into the merchant's file."""
    import io
    import zipfile

    wb = Workbook()
    blank = wb.active
    if stats_name:
        write_stats(wb, plan or empty_plan(), stats_name)
    if log_name:
        init_log(wb.create_sheet(log_name))
    assert blank is not None  # a new Workbook has its one sheet
    wb.remove(blank)
    raw, out = io.BytesIO(), io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as tidy:
        for info in source.infolist():
            tidy.writestr(info, tidy_part(info.filename, source.read(info.filename)))
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ 记录


def init_log(ws: Worksheet) -> None:
    """The header row and column widths of an empty 记录 sheet."""
    for col, header in enumerate(LOG_HEADERS, start=1):
        ws.cell(1, col, header)
    style_header(ws, 1, len(LOG_HEADERS))
    for col, width in enumerate(LOG_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
