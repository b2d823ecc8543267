"""Render the dashboard of a sample month to docs/img/stats.png (the 统计 sheet, as LibreOffice prints it) and
docs/img/report-by-reason.png, report-by-product.png, report-by-week.png (`refund-sheet report --png`).

    .venv/bin/python docs/render_stats.py

The sample is six weeks of cases (samples.sample_rows, one batch per week; most older cases already closed),
checked at a fixed "now", with a few order counts typed into 统计's 订单数 table so the refund rates show.
Needs LibreOffice headless and pdftoppm (Debian: libreoffice-calc-nogui, poppler-utils, fonts-noto-cjk).
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl

from refund_sheet import service
from refund_sheet.samples import sample_rows
from refund_sheet.workbook.build import write_new

NOW = datetime(2026, 11, 26, 18, 0)
WEEKS = 6
ORDERS = [("全部", 9800), ("2026-11-16", 1650), ("2026-11-23", 1580), ("纯棉圆领T恤", 820), ("陶瓷马克杯", 540)]


def month_of_cases() -> list[dict]:
    rng = random.Random(7)
    rows = []
    for week in range(WEEKS):
        batch = sample_rows(NOW - timedelta(weeks=week), count=rng.randint(45, 70), seed=100 + week)
        for case in batch:
            if week and rng.random() < 0.85:  # older weeks: most cases are settled by now
                case["status"] = rng.choice(["同意退款，退款成功"] * 3 + ["售后关闭", "换货成功"])
        rows += batch
    return rows


def crop(source: Path, target: Path, margin: int = 24) -> None:
    """The page without its blank margins."""
    from PIL import Image, ImageOps

    page = Image.open(source).convert("RGB")
    box = ImageOps.invert(page).getbbox()
    left, top, right, bottom = box
    shown = page.crop((max(left - margin, 0), max(top - margin, 0), right + margin, bottom + margin))
    shown.quantize(colors=96).save(target, optimize=True)  # a palette PNG: a third of the size, same look


def main(img: Path = Path(__file__).parent / "img") -> None:
    img.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = write_new(tmp / "tracker.xlsx", month_of_cases())
        service.check_file(path, now=NOW)
        wb = openpyxl.load_workbook(path)
        ws = wb["统计"]
        first = next(c.row for c in ws["A"] if c.value == "商品或周") + 1
        for i, (key, count) in enumerate(ORDERS):
            ws.cell(first + i, 1, key)
            ws.cell(first + i, 2, count)
        wb.save(path)
        service.refresh_stats(path, now=NOW)

        wb = openpyxl.load_workbook(path)
        for name in wb.sheetnames:
            if name != "统计":
                wb[name].sheet_state = "hidden"
        wb.active = wb.sheetnames.index("统计")
        stats = wb["统计"]
        stats.page_setup.paperSize = stats.PAPERSIZE_A3
        stats.page_setup.orientation = "portrait"
        stats.page_setup.fitToHeight = 1  # the whole dashboard on one page for the picture
        view = tmp / "stats.xlsx"
        wb.save(view)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--convert-to", "pdf",
                        "--outdir", str(tmp), str(view)], check=True, capture_output=True)
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(tmp / "stats.pdf"),
                        str(tmp / "stats")], check=True)
        crop(tmp / "stats.png", img / "stats.png")

        report = service.report(path, NOW, tmp / "png")
        for image in report.images:
            (img / f"report-{image.name}").write_bytes(image.read_bytes())
    print(img / "stats.png")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
