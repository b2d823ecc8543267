"""The shape of the house: the pure core imports no Excel, file-format or template library."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import refund_sheet

PACKAGE = Path(refund_sheet.__file__).parent


def test_each_library_is_touched_by_one_module_only():
    # addin.py (the add-in builder) imports xlwings.udfs inside import_functions() only, at build time, to run
    # xlwings' own "Import Functions" wrapper generator; nothing at run time goes through it.
    # openpyxl builds new workbooks (build, look, dashboard's scratch sheets) and reads exports (__init__); it never
    # writes an existing workbook: that is the package writer's job (read, package, write, apply).
    workbook = {"workbook/build.py", "workbook/dashboard.py", "workbook/look.py", "workbook/__init__.py"}
    owners = {"openpyxl": workbook, "python_calamine": set(), "jinja2": {"replies.py"},
              "xlwings": {"excel.py", "addin.py"}, "click": {"cli.py"}, "rich": {"report.py"}, "matplotlib": {"charts.py"}}
    for library, allowed in owners.items():
        users = {
            str(p.relative_to(PACKAGE))
            for p in PACKAGE.rglob("*.py")
            if f"import {library}" in p.read_text(encoding="utf-8") or f"from {library}" in p.read_text(encoding="utf-8")
        }
        assert users <= allowed, (library, users)


HEAVY = ("openpyxl", "xlwings", "jinja2", "click", "rich", "matplotlib", "python_calamine", "filelock", "pyopenvba")
# What importing each module must not load, directly or through anything it imports (checked in a fresh interpreter,
# where sys.modules shows the whole chain). Libraries loaded later, inside the function that needs them, are fine.
NEVER_LOADED = {
    # the pure core: no file format, no Excel, no templates, no command line, no locks
    "refund_sheet.engine": set(HEAVY),
    "refund_sheet.engine.parse": set(HEAVY),
    "refund_sheet.engine.decide": set(HEAVY),
    "refund_sheet.engine.policy": set(HEAVY),
    "refund_sheet.stats": set(HEAVY),
    "refund_sheet.plan": set(HEAVY),  # the plans both front ends share: what to write, as values
    # the package reader and writer edit the file they read: openpyxl, which would re-serialise it, is not loaded
    "refund_sheet.workbook.read": set(HEAVY),  # calamine is only the tests' reference, never loaded at run time
    "refund_sheet.workbook.write": set(HEAVY),
    "refund_sheet.workbook.apply": set(HEAVY),
    "refund_sheet.workbook.package": set(HEAVY),
    "refund_sheet.workbook": set(HEAVY),
    # Excel's Python process: xlwings (which itself loads matplotlib when installed) and the service, nothing else
    "refund_sheet.excel": set(HEAVY) - {"xlwings", "matplotlib", "jinja2", "filelock"},
    # the command line: click; the rest when a command needs it
    "refund_sheet.cli": set(HEAVY) - {"click", "filelock"},
    "refund_sheet.service": set(HEAVY) - {"filelock"},
    "refund_sheet.replies": set(HEAVY) - {"jinja2"},
    "refund_sheet.report": set(HEAVY) - {"rich"},
    "refund_sheet.charts": set(HEAVY) - {"matplotlib"},
    "refund_sheet.imports": set(HEAVY),
    "refund_sheet.addin": set(HEAVY),
    "refund_sheet.install": set(HEAVY),
}


@pytest.mark.parametrize("module", sorted(NEVER_LOADED))
def test_importing_a_module_loads_only_the_libraries_of_its_layer(module):
    code = f"import sys, {module}; print(sorted(m.split('.')[0] for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    assert not loaded & NEVER_LOADED[module], sorted(loaded & NEVER_LOADED[module])
