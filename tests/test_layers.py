"""The shape of the house: the pure core imports no Excel, file-format or template library."""

import subprocess
import sys
from pathlib import Path

import refund_sheet

PACKAGE = Path(refund_sheet.__file__).parent


def test_the_core_imports_neither_openpyxl_nor_xlwings_nor_jinja2():
    code = (
        "import sys, refund_sheet.engine, refund_sheet.engine.parse, refund_sheet.engine.decide;"
        "print(sorted(m for m in ('openpyxl', 'xlwings', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_each_library_is_touched_by_one_module_only():
    # addin.py (the add-in builder) imports xlwings.udfs inside import_functions() only, at build time, to run
    # xlwings' own "Import Functions" wrapper generator; nothing at run time goes through it.
    # openpyxl builds new workbooks (build, dashboard's scratch sheets) and reads exports (__init__); it never
    # writes an existing workbook: that is the package writer's job (read, package, write, apply).
    workbook = {"workbook/build.py", "workbook/dashboard.py", "workbook/__init__.py"}
    owners = {"openpyxl": workbook, "python_calamine": {"workbook/read.py"}, "jinja2": {"replies.py"},
              "xlwings": {"excel.py", "addin.py"}, "click": {"cli.py"}, "rich": {"report.py"}, "matplotlib": {"charts.py"}}
    for library, allowed in owners.items():
        users = {
            str(p.relative_to(PACKAGE))
            for p in PACKAGE.rglob("*.py")
            if f"import {library}" in p.read_text(encoding="utf-8") or f"from {library}" in p.read_text(encoding="utf-8")
        }
        assert users <= allowed, (library, users)


def test_reading_and_saving_a_tracker_never_loads_openpyxl():
    """The package writer edits the file it read: openpyxl, which would re-serialise it, is not even loaded."""
    code = (
        "import sys, refund_sheet.workbook.read, refund_sheet.workbook.write, refund_sheet.workbook.apply;"
        "print('openpyxl' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
