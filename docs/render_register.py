"""Render the processed demo register to docs/img/register.png, the way a merchant sees it.

    .venv/bin/python docs/render_register.py

Builds the demo (fixed "now"), hides the columns a merchant scrolls past, prints the first rows landscape on one
page with LibreOffice headless, and turns the PDF into a PNG with pdftoppm (Debian: libreoffice-calc-nogui,
poppler-utils, fonts-noto-cjk).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.worksheet.properties import PageSetupProperties

from refund_sheet import service

SHOW = ["售后单号", "买家", "商品名称", "商品类目", "售后类型", "售后原因", "实付金额", "处理建议", "退款金额", "退货运费",
        "处理时限", "时效状态", "风险提示", "命中规则", "判定依据"]
ROWS = 22


def main(out: Path = Path(__file__).parent / "img" / "register.png") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result = service.demo(tmp, 120, now=datetime(2026, 11, 26, 18, 0))
        wb = openpyxl.load_workbook(result.out)
        for name in wb.sheetnames[1:]:
            wb[name].sheet_state = "hidden"  # not printed, but 规则 still feeds the colours' due-soon hours
        ws = wb.active
        for cell in ws[1]:
            letter = cell.column_letter
            ws.column_dimensions[letter].hidden = cell.value not in SHOW
            if cell.value == "判定依据":
                ws.column_dimensions[letter].width = 70
            if cell.value == "风险提示":
                ws.column_dimensions[letter].width = 30
        for r in range(2, ROWS + 2):
            ws.row_dimensions[r].height = 30
        ws.print_area = f"A1:{ws.cell(1, ws.max_column).column_letter}{ROWS + 1}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A3
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 1
        view = tmp / "register.xlsx"
        wb.save(view)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--convert-to", "pdf",
                        "--outdir", str(tmp), str(view)], check=True, capture_output=True)
        subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(tmp / "register.pdf"), str(tmp / "register")], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "register.png", out)
    print(out)


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
