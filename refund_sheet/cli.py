"""The only module that parses arguments: each command makes one library call and prints its result.

Library errors (RefundSheetError) become one-line messages and exit code 1; a traceback is a bug.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from . import service
from .errors import RefundSheetError

PATH = click.Path(path_type=Path)


def _fail(error: Exception) -> None:
    raise click.ClickException(str(error))


def _progress(quiet: bool):
    """A progress bar (on standard error) for long runs; none with --quiet or when standard output is not a
    terminal, so logs and pipes stay clean. Yields the callback the service functions take, or None."""
    if quiet or not sys.stdout.isatty():
        return contextlib.nullcontext(None)
    from .report import progress_bar

    return progress_bar(True)


QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress bar (it is also off when output is not a terminal).")


def _now(text: str | None):
    try:
        return service.parse_now(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--now") from None


BACKUPS = click.option(
    "--backups", default=5, show_default=True, type=click.IntRange(1, 1000),
    help="How many backups (NAME.bak-YYYYMMDD-HHMMSS.xlsx) to keep beside the file; the oldest goes first.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="refund-sheet")
def main() -> None:
    """refund-sheet: process an after-sales (售后) tracker workbook without Excel."""


@main.command()
@click.argument("file", type=PATH)
@click.option("-o", "--out", type=PATH, help="Write the result here instead of saving FILE in place.")
@click.option("--now", "now_text", metavar='"YYYY-MM-DD HH:MM"', help="Judge as if it were this shop-local time.")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), help="Reply language (default: 规则!参数 语言).")
@click.option("--templates", type=PATH, help="A folder of your own reply templates, overriding the built-in ones.")
@BACKUPS
@QUIET
def check(
    file: Path, out: Path | None, now_text: str | None, lang: str | None, templates: Path | None, backups: int, quiet: bool
) -> None:
    """Judge every open case in FILE and fill the output columns.

    Only rows whose results change are written; a run that changes nothing leaves the file alone. Saves
    atomically, keeping the previous file as NAME.bak-YYYYMMDD-HHMMSS.xlsx (the last 5); a run that saves
    also rebuilds the 统计 sheet when it changed and adds one row to 记录. Example:

        refund-sheet check RefundTracker.xlsx --now "2026-11-20 12:00"
    """
    now = _now(now_text)
    source = "refund-sheet check" + (f" --now {now_text}" if now_text else "")
    try:
        with _progress(quiet) as progress:
            result = service.check_file(
                file, out, now, lang=lang, templates=templates, source=source, progress=progress, backups=backups
            )
    except RefundSheetError as error:
        _fail(error)
    click.echo(result.summary())


@main.command()
@click.argument("path", type=PATH)
@click.option("--force", is_flag=True, help="Replace an existing file (the old one is kept as NAME.bak-….xlsx).")
def new(path: Path, force: bool) -> None:
    """Build a new, empty tracker workbook at PATH.

        refund-sheet new 退款登记.xlsx
    """
    try:
        made = service.new_tracker(path, overwrite=force)
    except RefundSheetError as error:
        _fail(error)
    click.echo(f"已创建：{made}")


@main.command()
@click.argument("folder", type=PATH, default=Path("demo"), required=False)
@click.option("--rows", default=300, show_default=True, help="How many sample cases.")
@click.option("--now", "now_text", metavar='"YYYY-MM-DD HH:MM"', help="Date the sample around this time.")
@QUIET
def demo(folder: Path, rows: int, now_text: str | None, quiet: bool) -> None:
    """Build a tracker with a realistic sample of cases in FOLDER (default ./demo) and process it.

        refund-sheet demo
    """
    now = _now(now_text)
    try:
        with _progress(quiet) as progress:
            result = service.demo(folder, rows, now, progress)
    except RefundSheetError as error:
        _fail(error)
    click.echo(result.summary())
    click.echo(f"打开看看：{result.out.resolve()}")
    click.echo(DEMO_LOOP.format(folder=folder, export=service.DEMO_EXPORT, orders=service.DEMO_ORDERS))


DEMO_LOOP = """
再试试每天的流程（导入 → 每个商品填一次类目 → 检查）：
  refund-sheet new {folder}/我的登记表.xlsx
  refund-sheet import {folder}/{export} --into {folder}/我的登记表.xlsx --orders {folder}/{orders}
  （打开 我的登记表.xlsx，在 规则!商品 表为导入时新加的商品填写类目，保存）
  refund-sheet check {folder}/我的登记表.xlsx"""


@main.command("import")
@click.argument("export", type=PATH)
@click.option("--into", "tracker", type=PATH, required=True, help="The tracker workbook to merge into.")
@click.option("--orders", type=PATH, help="An order export (订单号, 买家, 签收时间) to fill buyer and delivery time.")
@click.option("-o", "--out", type=PATH, help="Write the merged tracker here instead of saving it in place.")
@BACKUPS
@QUIET
def import_(export: Path, tracker: Path, orders: Path | None, out: Path | None, backups: int, quiet: bool) -> None:
    """Merge a Douyin after-sales export (.xlsx or .csv) into a tracker, by 售后单号.

    New cases are appended; known cases get their platform fields refreshed; your own columns, manual
    decisions and notes are never overwritten. Products the 商品 table on 规则 does not know are added there with
    a blank 类目: fill it once per product, then run check. Example:

        refund-sheet import 售后列表导出.csv --into 退款登记.xlsx --orders 订单导出.xlsx
    """
    try:
        with _progress(quiet) as progress:
            plan = service.import_file(export, tracker, orders, out, progress=progress, backups=backups)
    except RefundSheetError as error:
        _fail(error)
    click.echo(plan.summary())


@main.command()
@click.argument("file", type=PATH)
@click.option("--png", type=PATH, metavar="DIR", help="Also write the charts as PNG images into DIR.")
@click.option("--now", "now_text", metavar='"YYYY-MM-DD HH:MM"', help="Count overdue cases as of this shop-local time.")
@QUIET
def report(file: Path, png: Path | None, now_text: str | None, quiet: bool) -> None:
    """Print the dashboard of FILE: KPIs, decisions, top reasons, categories, products and weeks.

    Judges the register as `check` would, but changes nothing in FILE. Example:

        refund-sheet report RefundTracker.xlsx --png charts
    """
    from .report import print_report

    now = _now(now_text)
    try:
        with _progress(quiet) as progress:
            result = service.report(file, now, png, progress)
    except RefundSheetError as error:
        _fail(error)
    print_report(result.dashboard, str(file))
    for image in result.images:
        click.echo(f"已写入：{image}")
    for warning in result.warnings:
        click.echo(f"注意：{warning}", err=True)


@main.group()
def templates() -> None:
    """Reply templates: check your own before using them.

        refund-sheet templates check my_templates
    """


@templates.command("check")
@click.argument("folder", type=PATH, required=False)
def templates_check(folder: Path | None) -> None:
    """Render every template against a sample case of every decision, in every language.

    FOLDER is your own template folder (it overrides the built-in templates file by file). Example:

        refund-sheet templates check my_templates
    """
    from .replies import check_templates

    try:
        problems, rendered = check_templates(folder)
    except RefundSheetError as error:
        _fail(error)
    for line in problems:
        click.echo(line, err=True)
    click.echo(f"已渲染 {rendered} 个回复，{len(problems)} 处错误")
    if problems:
        sys.exit(1)


@main.group()
def addin() -> None:
    """The 退款助手 Excel add-in (RefundSheet.xlam): build it, install it.

        refund-sheet addin build && refund-sheet addin install
    """


@addin.command("build")
@click.option("-o", "--out", type=PATH, default=Path("RefundSheet.xlam"), show_default=True,
              help="Where to write the add-in (.xlam; .xlsm builds the same project as a macro workbook).")
def addin_build(out: Path) -> None:
    """Build the ribbon add-in from addin/ and the installed xlwings' add-in template; no Excel needed.

    Example:

        refund-sheet addin build -o dist/RefundSheet.xlam
    """
    from . import addin as addins

    try:
        result = addins.build(out)
    except RefundSheetError as error:
        _fail(error)
    click.echo(f"已生成加载项：{result.path.resolve()}（函数：{'、'.join(result.functions)}）")


@addin.command("install")
@click.option("--file", "source", type=PATH, help="Install this built add-in instead of building a fresh one.")
def addin_install(source: Path | None) -> None:
    """Copy the add-in into Excel's start-up folder (XLSTART) on Windows or macOS and point it at this Python.

    Close Excel first; the 退款助手 tab appears the next time Excel starts. Nothing is changed when something
    fails. Then `refund-sheet doctor` shows what the add-in will find. Example:

        refund-sheet addin install
    """
    from . import addin as addins, install

    if not (sys.platform.startswith("win") or sys.platform == "darwin"):
        try:
            built = source or addins.build(Path(addins.ADDIN_NAME)).path
        except RefundSheetError as error:
            _fail(error)
        raise click.ClickException(
            f"这台电脑（{sys.platform}）没有 Excel，无法安装加载项；加载项在 {Path(built).resolve()}，"
            "请在装有 Excel 的 Windows 或 Mac 上运行 addin install，或按 docs/excel.md 手动安装。"
        )
    try:
        result = install.install(source)
    except RefundSheetError as error:
        _fail(error)
    click.echo(f"已安装加载项：{result.addin}")
    click.echo(f"Python 设置：{result.config}（{'，'.join(f'{k} = {v}' for k, v in result.settings.items())}）")
    for script in result.scripts:
        click.echo(f"RunPython 脚本：{script}")
    for warning in result.warnings:
        click.echo(f"注意：{warning}", err=True)
    click.echo("请重新启动 Excel，功能区会出现“退款助手”选项卡。")


@main.command()
def doctor() -> None:
    """Show what the add-in will find when a button is clicked: Python, the add-in, its settings, the xlwings
    DLL, the module import and the reply templates, each ok or with what to do. Exit code 1 if something is
    wrong. Example:

        refund-sheet doctor
    """
    from .install import doctor as examine

    checks = examine()
    for check in checks:
        mark = {True: "ok", False: "×", None: "–"}[check.ok]
        click.echo(f"{mark:<2} {check.name}：{check.detail}" + (f" → {check.fix}" if check.ok is False else ""))
    if any(check.ok is False for check in checks):
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
