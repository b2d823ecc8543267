"""The dashboard (统计), the run log (记录) and `refund-sheet report`, on a register whose numbers are known."""

from datetime import datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import NOW, facts_of, row
from openpyxl.chart import BarChart, LineChart

from refund_sheet import service, stats
from refund_sheet.cli import main
from refund_sheet.engine import default_policy, judge_all
from refund_sheet.engine.columns import INPUT_COLUMNS
from refund_sheet.workbook.build import build_tracker, deterministic_bytes

KEY_OF = {c.header: c.key for c in INPUT_COLUMNS}

# Checked at NOW = 2026-11-20 12:00. Each buyer and order differs, so no risk flag sends a case to 人工审核.
KNOWN = [
    # 尺码不合适, returned at the buyer's cost: 退货退款 ¥99.00; answer due 11-18 09:00 + 48 h = 11-20 09:00 → 已超时
    row(售后单号="A1", 订单号="O1", 买家="甲"),
    # 商品破损 with photos: 退货退款, merchant at fault: ¥150 + ¥10 shipping, capped at the ¥150 asked; due 11-22 08:00
    row(售后单号="A2", 订单号="O2", 买家="乙", 商品名称="陶瓷马克杯", 商品类目="家居", 售后原因="商品破损", 凭证="是",
        实付金额="150", 申请金额="150", 申请时间="2026-11-20 08:00"),
    # closed by the platform with the refund paid: 已完结, ¥30 refunded, a week earlier
    row(售后单号="A3", 订单号="O3", 买家="丙", 申请金额="30", 处理状态="同意退款，退款成功", 申请时间="2026-11-10 10:00"),
    # a paid amount nobody can read: 信息不全, yet the buyer still waits: due 11-19 10:00 + 48 h, 22 h away → 即将超时
    row(售后单号="A4", 订单号="O4", 买家="丁", 商品名称="运动袜", 实付金额="待确认", 申请时间="2026-11-19 10:00"),
    # an exchange for size: 换货, nothing refunded; due 11-19 00:00 + 48 h = 11-21 00:00, 12 h away → 即将超时
    row(售后单号="A5", 订单号="O5", 买家="戊", 售后类型="换货", 申请金额="0", 申请时间="2026-11-19 00:00"),
]


def tracker_of(tmp_path, rows, name="t.xlsx"):
    """A tracker built by `refund-sheet new`, holding rows given as header → value."""
    path = tmp_path / name
    data = [{KEY_OF[h]: v for h, v in r.items() if h in KEY_OF} for r in rows]
    path.write_bytes(deterministic_bytes(build_tracker(data)))
    return path


def blocks(ws) -> dict[str, tuple[int, list[tuple]]]:
    """Each table on 统计 by its title: (first body row, body rows as tuples of columns A–G)."""
    values = list(ws.iter_rows(min_col=1, max_col=7, values_only=True))
    found = {}
    for i, r in enumerate(values):
        if r[0] in stats.BLOCK_TITLES:
            body, j = [], i + 2
            while j < len(values) and values[j][0] not in stats.BLOCK_TITLES and any(v is not None for v in values[j]):
                body.append(values[j])
                j += 1
            found[r[0]] = (i + 3, body)
    return found


def kpi(ws, label):
    """The figure under a KPI card's label."""
    for cells in ws.iter_rows(min_row=1, max_row=12):
        for cell in cells:
            if cell.value == label:
                return ws.cell(cell.row + 1, cell.column).value
    raise KeyError(label)


def log_rows(path):
    return list(openpyxl.load_workbook(path)["记录"].iter_rows(values_only=True))


# ------------------------------------------------------------------------------------------------ numbers


def test_the_engine_agrees_with_the_comments_above():
    verdicts = judge_all(facts_of(KNOWN), default_policy(), NOW)
    assert [v.decision.value for v in verdicts] == ["退货退款", "退货退款", "已完结", "信息不全", "换货"]
    assert [v.sla.value for v in verdicts] == ["已超时", "正常", "已完结", "即将超时", "即将超时"]


def test_the_numbers_of_a_known_register():
    policy = default_policy()
    facts = facts_of(KNOWN, policy)
    d = stats.compute(facts, judge_all(facts, policy, NOW), NOW)
    k = d.kpis
    assert (k.cases, k.open, k.overdue, k.due_soon, k.incomplete) == (5, 4, 1, 2, 1)
    # 99 + 150 pending; 30 paid back by the platform before the tracker judged the case (issue 15: kept apart)
    assert (k.pending, k.refunded, k.refunded_by_platform) == (Decimal("249.00"), Decimal("0.00"), Decimal("30.00"))
    assert k.answer_hours is None and k.refund_rate is None
    # open cases waited 51 h (A1), 4 h (A2), 26 h (A4), 36 h (A5): 29.25 h on average
    assert k.waiting_hours == pytest.approx(29.2, abs=0.06)
    assert {label: n for label, n, _ in d.decisions if n} == {"退货退款": 2, "已完结": 1, "信息不全": 1, "换货": 1}
    assert [(g.key, g.cases, g.requested) for g in d.top_by_count] == [
        ("纯棉T恤", 3, Decimal("129.00")), ("陶瓷马克杯", 1, Decimal("150.00")), ("运动袜", 1, Decimal("99.00"))
    ]  # a tie in cases goes to the larger amount asked
    assert [g.key for g in d.top_by_amount] == ["陶瓷马克杯", "纯棉T恤", "运动袜"]
    tee = d.top_by_count[0]
    assert (tee.open, tee.overdue, tee.refund, tee.share) == (2, 1, Decimal("129.00"), 0.6)
    assert [(g.key, g.cases) for g in d.categories] == [("服装", 4), ("家居", 1)]
    assert [(g.key, g.cases) for g in d.reasons] == [("尺码不合适", 4), ("商品破损", 1)]
    # 11-10 falls in the week of Monday 11-09, the others in the week of 11-16
    assert [(g.key, g.cases, g.refund) for g in d.weeks] == [("2026-11-09", 1, Decimal("30.00")), ("2026-11-16", 4, Decimal("249.00"))]


def test_order_counts_give_refund_rates_and_bad_lines_say_why():
    policy = default_policy()
    facts = facts_of(KNOWN, policy)
    orders = [("纯棉T恤", 30), ("2026-11-18", "40"), ("2026-W46", 10), ("运动袜", "很多"), ("全部", 100)]
    d = stats.compute(facts, judge_all(facts, policy, NOW), NOW, orders=orders)
    assert [(line.kind, line.cases, line.rate) for line in d.orders] == [
        ("product", 3, 0.1), ("week", 4, 0.1), ("week", 1, 0.1), ("", None, None), ("total", 5, 0.05)
    ]
    assert "不是正整数" in d.orders[3].problem and any("运动袜" in n for n in d.notes)
    assert d.kpis.refund_rate == 0.05  # the 全部 line wins over the sum of weeks (which would give 5/50)


def test_closed_cases_count_as_refunded_only_when_money_went_back():
    rows = [
        row(售后单号="C1", 订单号="O1", 买家="甲", 处理状态="同意退款，退款成功"),
        row(售后单号="C2", 订单号="O2", 买家="乙", 处理状态="售后关闭"),
        row(售后单号="C3", 订单号="O3", 买家="丙", 处理状态="换货成功"),
        row(售后单号="C4", 订单号="O4", 买家="丁", 处理状态="已完结"),
    ]
    policy = default_policy()
    facts = facts_of(rows, policy)
    verdicts = judge_all(facts, policy, NOW)
    sheet_amounts = [Decimal("80.00"), Decimal("99.00"), None, Decimal("19.80")]
    d = stats.compute(facts, verdicts, NOW, amounts=sheet_amounts)
    assert d.kpis.refunded == Decimal("99.80")  # 80 (the amount decided earlier) + 19.80; 售后关闭 and 换货成功 paid nothing
    unjudged = stats.compute(facts, verdicts, NOW).kpis  # no sheet amount: what was asked, as a figure of its own
    assert (unjudged.refunded, unjudged.refunded_by_platform) == (Decimal("0.00"), Decimal("99.00"))


def test_answer_hours_come_from_an_answer_time_column(tmp_path):
    rows = [row(售后单号="B1", 订单号="O1", 买家="甲", 处理时间="2026-11-18 15:00"),
            row(售后单号="B2", 订单号="O2", 买家="乙", 处理时间="2026-11-18 10:00"),
            row(售后单号="B3", 订单号="O3", 买家="丙", 处理时间="不知道")]
    headers = list(rows[0])
    extras = stats.extras_of(headers)
    amounts, answered = zip(*(extras([r[h] for h in headers]) for r in rows))
    policy = default_policy()
    facts = facts_of(rows, policy)
    d = stats.compute(facts, judge_all(facts, policy, NOW), NOW, amounts=amounts, answered=answered)
    assert (d.kpis.answer_hours, d.kpis.answered) == (3.5, 2)  # (6 h + 1 h) / 2; the unreadable time is left out


# ------------------------------------------------------------------------------------------------ the 统计 sheet


@pytest.fixture
def checked(tmp_path):
    path = tracker_of(tmp_path, KNOWN)
    result = service.check_file(path, now=NOW)
    assert result.saved
    return path


def test_check_writes_the_numbers_on_the_stats_sheet(checked):
    wb = openpyxl.load_workbook(checked)
    assert wb.sheetnames == ["退款登记", "规则", "统计", "记录", "说明"]
    ws = wb["统计"]
    assert [kpi(ws, label) for label in ("售后单数", "未完结", "已超时", "即将超时", "信息不全")] == [5, 4, 1, 2, 1]
    assert (kpi(ws, "待退款金额"), kpi(ws, "已退款金额"), kpi(ws, "平台已退款（未经本表判定）"), kpi(ws, "退款率")) == (249, 0, 30, "—")
    assert ws.cell(*stats.SUBTITLE_CELL).value.startswith("统计时间：2026-11-20 12:00")
    tables = blocks(ws)
    assert tables["按售后原因"][1] == [("尺码不合适", 4, 0.8, 3, 1, 228, 129), ("商品破损", 1, 0.2, 1, 0, 150, 150)]
    assert [r[:2] for r in tables["商品 Top 10（按单数）"][1]] == [("纯棉T恤", 3), ("陶瓷马克杯", 1), ("运动袜", 1)]
    assert [r[:2] for r in tables["按周（申请时间）"][1]] == [("2026-11-09", 1), ("2026-11-16", 4)]
    first, _ = tables["按售后原因"]
    assert [ws.cell(first, col).number_format for col in (2, 3, 6)] == ["0", "0.0%", '"¥"#,##0.00']


def test_the_charts_point_at_their_tables(checked):
    ws = openpyxl.load_workbook(checked)["统计"]
    tables = blocks(ws)
    expected = [
        (BarChart, "按售后原因", 2), (BarChart, "商品 Top 10（按单数）", 3), (LineChart, "按周（申请时间）", 2),
    ]
    assert len(ws._charts) == 3
    for chart, (kind, title, length) in zip(ws._charts, expected):
        first, body = tables[title]
        assert isinstance(chart, kind) and len(body) == length
        last = first + length - 1
        series = chart.series[0]
        categories = series.cat.numRef or series.cat.strRef
        assert series.val.numRef.f == f"'统计'!$B${first}:$B${last}"
        assert categories.f == f"'统计'!$A${first}:$A${last}"
        assert ws.cell(first - 1, 2).value == "单数"  # the series takes its name from the header cell
        assert chart.anchor._from.col >= 8  # right of the tables (columns A–G), never over them


@pytest.mark.libreoffice
def test_a_spreadsheet_program_reads_the_charts_on_the_same_ranges(checked, tmp_path):
    from libreoffice import convert

    def ranges(path):
        ws = openpyxl.load_workbook(path)["统计"]
        return [
            (type(c).__name__, c.series[0].val.numRef.f.replace("'", ""), (c.series[0].cat.numRef or c.series[0].cat.strRef).f.replace("'", ""))
            for c in ws._charts
        ]

    again = convert(checked, "xlsx:Calc MS Excel 2007 XML", tmp_path)
    assert len(ranges(checked)) == 3 and ranges(again) == ranges(checked)
    assert blocks(openpyxl.load_workbook(again)["统计"])["按售后原因"] == blocks(openpyxl.load_workbook(checked)["统计"])["按售后原因"]


def test_text_that_looks_like_a_formula_stays_text_on_the_dashboard(tmp_path):
    path = tracker_of(tmp_path, [row(售后原因="=1+1", 商品名称="@商品")])
    service.check_file(path, now=NOW)
    ws = openpyxl.load_workbook(path)["统计"]
    cells = [c for r in ws.iter_rows() for c in r if c.value in ("=1+1", "@商品")]
    assert len(cells) >= 3 and all(c.data_type == "s" for c in cells)


def test_the_order_table_survives_rebuilds_and_gives_rates(checked):
    wb = openpyxl.load_workbook(checked)
    ws = wb["统计"]
    first = next(c.row for c in ws["A"] if c.value == "商品或周") + 1
    ws.cell(first, 1, "纯棉T恤"), ws.cell(first, 2, 30)
    ws.cell(first + 3, 1, datetime(2026, 11, 17)), ws.cell(first + 3, 2, 40)  # a spare row further down
    wb.save(checked)

    assert service.refresh_stats(checked, now=NOW).saved  # rates changed: 统计 is rebuilt, 记录 gets a row
    ws = openpyxl.load_workbook(checked)["统计"]
    body = blocks(ws)[stats.ORDERS_TITLE][1]
    assert body[:2] == [("纯棉T恤", 30, 3, 0.1, "按商品", None, None), (datetime(2026, 11, 17), 40, 4, 0.1, "按周", None, None)]
    assert kpi(ws, "退款率") == 0.1  # weeks together: 4 cases / 40 orders

    service.check_file(checked, now=datetime(2026, 11, 20, 13, 0))  # a later check rebuilds 统计 again
    again = blocks(openpyxl.load_workbook(checked)["统计"])[stats.ORDERS_TITLE][1]
    assert [r[:2] for r in again[:2]] == [("纯棉T恤", 30), (datetime(2026, 11, 17), 40)]


# ------------------------------------------------------------------------------------------------ 记录


def test_the_log_grows_by_one_row_per_saving_run_and_keeps_older_rows(checked):
    first = log_rows(checked)
    assert first[0] == ("时间", "操作", "文件", "检查行数", "变更行数", "处理建议分布", "信息不全", "规则指纹")
    assert len(first) == 2
    when, source, name, rows, changed, kinds, errors, fingerprint = first[1]
    assert isinstance(when, datetime) and (source, name, rows, changed, errors) == ("refund-sheet check", "t.xlsx", 5, 5, 1)
    assert kinds == "退货退款 2，换货 1，信息不全 1，已完结 1" and fingerprint == default_policy().fingerprint

    before = checked.read_bytes()
    assert not service.check_file(checked, now=NOW).saved  # nothing changed: no save, no row
    assert checked.read_bytes() == before and log_rows(checked) == first
    assert not service.refresh_stats(checked, now=NOW).saved  # 统计 already shows these numbers

    assert not service.check_file(checked, now=datetime(2026, 11, 20, 13, 0)).saved  # a new "now" moved nothing
    assert checked.read_bytes() == before

    service.check_file(checked, now=datetime(2026, 11, 20, 13, 0), source="检查全部", lang="en")
    second = log_rows(checked)
    assert len(second) == 3 and second[:2] == first
    assert second[2][1] == "检查全部" and second[2][4] == 4  # the replies of the four open rows changed language

    service.check_file(checked, out=checked.with_name("copy.xlsx"), now=datetime(2026, 11, 20, 13, 0))
    assert log_rows(checked) == second  # the original is untouched …
    copy = log_rows(checked.with_name("copy.xlsx"))
    assert copy[:3] == second and copy[3][2] == "t.xlsx → copy.xlsx"  # … and the copy carries the log on


def test_a_workbook_without_the_stats_and_log_sheets_gets_them(tracker):
    path = tracker([row()])
    service.check_file(path, now=NOW)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["退款登记", "统计", "记录"] and wb.active.title == "退款登记"
    assert len(list(wb["记录"].iter_rows())) == 2 and len(wb["统计"]._charts) == 3


def test_a_new_tracker_has_an_empty_dashboard_and_checking_it_changes_nothing(tmp_path):
    path = tracker_of(tmp_path, [])
    ws = openpyxl.load_workbook(path)["统计"]
    assert kpi(ws, "售后单数") == 0 and ws._charts == []
    assert any(c.value == "商品或周" for c in ws["A"])
    before = path.read_bytes()
    assert not service.check_file(path, now=NOW).saved and path.read_bytes() == before


def test_progress_is_reported_through_the_callback(tmp_path):
    path = tracker_of(tmp_path, KNOWN)
    seen = []
    service.check_file(path, now=NOW, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == ["打开", "读取", "核对风险", "生成回复", "写入", "保存"]
    assert seen[-3:] == [("生成回复", 5, 5), ("写入", 0, None), ("保存", 0, None)] and ("读取", 5, 5) in seen


# ------------------------------------------------------------------------------------------------ report


def test_report_prints_the_kpis_and_writes_the_charts_without_touching_the_file(checked, tmp_path):
    before = checked.read_bytes()
    result = CliRunner().invoke(main, ["report", str(checked), "--now", "2026-11-20 12:00", "--png", str(tmp_path / "png")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "已超时" in out and "¥249.00" in out and "¥30.00" in out and "纯棉T恤" in out and "尺码不合适" in out
    assert "━" not in out.splitlines()[0]  # no progress bar when the output is not a terminal
    images = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert images == ["by-product.png", "by-reason.png", "by-week.png"]
    assert all((tmp_path / "png" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in images)
    assert checked.read_bytes() == before


def test_report_on_a_file_that_is_not_a_tracker_is_a_one_line_error(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_text("not a workbook")
    result = CliRunner().invoke(main, ["report", str(bad)])
    assert result.exit_code == 1 and "不是 .xlsx 工作簿" in result.output and "Traceback" not in result.output


def test_check_and_report_accept_quiet():
    for command in ("check", "report"):
        assert "--quiet" in CliRunner().invoke(main, [command, "--help"]).output


def test_an_import_that_saves_adds_one_log_row_and_one_that_changes_nothing_adds_none(tmp_path):
    from douyin import export_row, write_export

    path = tracker_of(tmp_path, [])
    export = write_export(tmp_path / "export.csv", [export_row("7012345678901234501", "6912345678901234501"),
                                                    export_row("7012345678901234502", "6912345678901234502")])
    seen = []
    service.import_file(export, path, progress=lambda stage, done, total: seen.append(stage))
    rows = log_rows(path)
    assert len(rows) == 2 and seen == ["打开", "保存"]
    _, source, name, checked, changed, counts, rejected, _ = rows[1]
    assert (source, name, checked, changed, rejected) == ("refund-sheet import export.csv", "t.xlsx", 2, 2, 0)
    assert counts == "导入：新增 2，更新 0，未变 0"
    service.import_file(export, path)
    assert log_rows(path) == rows


def test_a_run_over_selected_rows_still_counts_the_whole_register(tmp_path):
    path = tracker_of(tmp_path, KNOWN)
    result = service.check_file(path, now=NOW, only_rows={2})
    assert result.rows == 1 and result.saved
    ws = openpyxl.load_workbook(path)["统计"]
    assert (kpi(ws, "售后单数"), kpi(ws, "已超时"), kpi(ws, "待退款金额")) == (5, 1, 249)


def test_without_a_cjk_font_the_images_are_still_written_and_the_report_says_so(checked, tmp_path, monkeypatch):
    from refund_sheet import charts

    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    result = service.report(checked, NOW, tmp_path / "png")
    assert [p.name for p in result.images] == ["by-reason.png", "by-product.png", "by-week.png"]
    assert result.warnings == (charts.MISSING_FONT,) and "fonts-noto-cjk" in charts.MISSING_FONT
    assert service.report(checked, NOW).warnings == ()  # no images asked for, nothing to warn about


def test_tallies_counted_one_case_at_a_time_match_a_count_over_lists_of_cases():
    """统计 is counted as a check judges each case (no list of cases is kept); every group's figures equal those of
    grouping the cases in lists and adding them up, on a register of the demo's mix (several weeks, products,
    reasons, open and closed cases, sheet amounts for the closed ones)."""
    from refund_sheet.samples import sample_rows

    policy = default_policy()
    rows = sample_rows(NOW, 3000)
    for i, r in enumerate(rows):  # spread over five weeks
        if r.get("requested_at"):
            r["requested_at"] -= timedelta(days=7 * (i % 5))
    facts = facts_of([{c.header: r.get(c.key) for c in INPUT_COLUMNS} for r in rows])
    verdicts = judge_all(facts, policy, NOW)
    amounts = [Decimal("12.30") if v.decision.value == "已完结" and i % 3 else None for i, v in enumerate(verdicts)]
    board = stats.compute(facts, verdicts, NOW, amounts=amounts)

    def refund(f, v, amount):
        pending = v.amount if v.decision.refunds and v.amount is not None else Decimal(0)
        return pending + sum(stats._refunded(f, v, amount))

    def grouped(key_of):
        by: dict[str, list] = {}
        for f, v, a in zip(facts, verdicts, amounts):
            by.setdefault(key_of(f, v) or stats.BLANK, []).append((f, v, a))
        return {key: (len(cases), sum(v.decision.value != "已完结" for _, v, _ in cases),
                      sum(v.sla is not None and v.sla.value == "已超时" for _, v, _ in cases),
                      sum((f.requested or Decimal(0) for f, _, _ in cases), Decimal(0)),
                      sum((refund(*c) for c in cases), Decimal(0)))
                for key, cases in by.items()}

    def shown(groups):
        return {g.key: (g.cases, g.open, g.overdue, g.requested, g.refund) for g in groups}

    assert shown(board.reasons) == grouped(lambda f, v: v.reason or f.reason)
    assert shown(board.categories) == grouped(lambda f, v: f.category)
    assert shown(board.top_by_count) == {k: g for k, g in grouped(lambda f, v: f.product).items()
                                         if k in shown(board.top_by_count)}
    weeks = grouped(lambda f, v: stats.week_of(f.requested_at).isoformat() if f.requested_at else None)
    weeks.pop(stats.BLANK, None)
    assert {k: g for k, g in shown(board.weeks).items() if g[0]} == weeks and len(weeks) > 1
    assert board.kpis.cases == 3000 and board.kpis.open == sum(v.decision.value != "已完结" for v in verdicts)
    assert board.kpis.refunded == sum((stats._refunded(*c)[0] for c in zip(facts, verdicts, amounts)), Decimal(0)) > 0
