"""The terminal side of the dashboard: `refund-sheet report` tables and the progress bar of long runs.

The only module that imports rich. It formats a ``stats.Dashboard``; it computes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from . import stats

WEEKS_SHOWN = 8


def fmt(value: object, style: str) -> str:
    """A number as the dashboard shows it: ¥1,234.50 · 12.5% · 3.5 (hours) · 42; text stays text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if style in (stats.MONEY, stats.KPI_STYLE[stats.MONEY]) and isinstance(value, (Decimal, int, float)):
        return f"¥{Decimal(value):,.2f}"
    if style in (stats.PERCENT, stats.KPI_STYLE[stats.PERCENT]):
        return f"{value:.1%}"
    if style in (stats.HOURS, stats.KPI_STYLE[stats.HOURS]):
        return f"{value:.1f}"
    return str(value)


def _groups(title: str, key_header: str, groups: Sequence[stats.Group]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column(key_header)
    for header in stats.GROUP_HEADERS:
        table.add_column(header, justify="right")
    for g in groups:
        values = (g.cases, g.share, g.open, g.overdue, g.requested, g.refund)
        table.add_row(g.key, *(fmt(v, s) for v, s in zip(values, stats.GROUP_STYLES)))
    if not groups:
        table.add_row("（暂无数据）", *[""] * len(stats.GROUP_HEADERS))
    return table


def render(d: stats.Dashboard, console: Console, source: str = "") -> None:
    """Print the KPIs and the top tables of a dashboard."""
    when = d.now.strftime("%Y-%m-%d %H:%M") if d.now else ""
    console.print(f"[bold]售后统计[/bold]  {source}  统计时间 {when}")
    kpis = Table(title="概览", title_justify="left", title_style="bold", show_header=False)
    for justify in ("left", "right", "left", "right"):
        kpis.add_column(justify=justify)
    items = [(label, fmt(value, style)) for label, value, style in stats.kpi_items(d.kpis)]
    half = (len(items) + 1) // 2
    for left, right in zip(items[:half], items[half:] + [("", "")] * (2 * half - len(items))):
        kpis.add_row(left[0], f"[bold]{left[1]}[/bold]", right[0], f"[bold]{right[1]}[/bold]")
    console.print(kpis)

    decisions = Table(title="处理建议分布", title_justify="left", title_style="bold")
    decisions.add_column("处理建议")
    decisions.add_column("单数", justify="right")
    decisions.add_column("占比", justify="right")
    for label, count, share in d.decisions:
        if count:
            decisions.add_row(label, str(count), fmt(share, stats.PERCENT))
    console.print(decisions)
    console.print(_groups("按售后原因", "售后原因", d.reasons[: stats.TOP]))
    console.print(_groups("按商品类目", "商品类目", d.categories[: stats.TOP]))
    console.print(_groups("商品 Top 10（按单数）", "商品", d.top_by_count))
    console.print(_groups("商品 Top 10（按申请金额）", "商品", d.top_by_amount))
    console.print(_groups(f"按周（最近 {WEEKS_SHOWN} 周）", "周（周一）", d.weeks[-WEEKS_SHOWN:]))
    if d.orders:
        rates = Table(title="退款率（统计!订单数 表）", title_justify="left", title_style="bold")
        for header in stats.ORDERS_HEADERS:
            rates.add_column(header, justify="left" if header in ("商品或周", "说明") else "right")
        for line in d.orders:
            rates.add_row(
                fmt(line.key, stats.TEXT) if isinstance(line.key, str) else str(line.key)[:10],
                str(line.orders),
                fmt(line.cases, stats.INT),
                fmt(line.rate, stats.PERCENT),
                line.problem,
            )
        console.print(rates)
    for note in d.notes:
        console.print(f"[dim]注：{note}[/dim]")


def print_report(d: stats.Dashboard, source: str = "") -> None:
    """``render`` to standard output (no colours when it is not a terminal)."""
    render(d, Console(), source)


@contextmanager
def progress_bar(enabled: bool) -> Iterator:
    """A ``service.Progress`` callback drawing one bar per stage on standard error; ``None`` when not enabled,
    so service functions run quietly (``--quiet``, or output piped to a file)."""
    if not enabled:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            for other, task in tasks.items():
                if other != stage:
                    bar.update(task, completed=bar.tasks[task].total or 1, total=bar.tasks[task].total or 1)
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
