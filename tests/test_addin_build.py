"""`refund-sheet addin build` without Excel: what can be proven here about RefundSheet.xlam.

Built once per session. Checked: the package and its ribbon part validate (openxml-audit), the VBA project parses
(olefile, olevba) and each module's source comes back byte for byte, the project is source-only (Excel compiles
it on open), the UDF wrappers are xlwings' own and match the Python signatures, the function help decodes back to
the docstrings, and LibreOffice imports every module. That Excel runs a button is the one thing left to a person
(docs/excel.md, "Try it by hand").
"""

from __future__ import annotations

import inspect
import io
import os
import re
import struct
import subprocess
import sys
import warnings
import zipfile

import olefile
import pytest
from click.testing import CliRunner
from libreoffice import convert
from openxml_audit import OpenXmlValidator
from pyopenvba.vba import decompress

from refund_sheet import addin, excel
from refund_sheet.cli import main


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> addin.BuildResult:
    return addin.build(tmp_path_factory.mktemp("addin") / "RefundSheet.xlam")


@pytest.fixture(scope="session")
def project(built) -> olefile.OleFileIO:
    with zipfile.ZipFile(built.path) as package:
        return olefile.OleFileIO(io.BytesIO(package.read("xl/vbaProject.bin")))


def test_the_package_and_its_ribbon_part_validate(built):
    result = OpenXmlValidator().validate(str(built.path))
    assert result.is_valid, [str(e) for e in result.errors][:10]
    with zipfile.ZipFile(built.path) as package:
        names = package.namelist()
        rels = package.read("_rels/.rels").decode()
        types = package.read("[Content_Types].xml").decode()
    assert names[0] == "[Content_Types].xml" and "customUI/customUI14.xml" in names and "customUI/customUI.xml" not in names
    assert 'Type="http://schemas.microsoft.com/office/2007/relationships/ui/extensibility" Target="customUI/customUI14.xml"' in rels
    assert 'PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.addin.macroEnabled.main+xml"' in types


def test_openxml_audit_would_catch_a_broken_ribbon(built, tmp_path):
    """The validation above is not vacuous: the same package with one bad ribbon attribute fails."""
    broken = tmp_path / "broken.xlam"
    with zipfile.ZipFile(built.path) as source, zipfile.ZipFile(broken, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data.replace(b'size="large"', b'size="huge"', 1) if name.startswith("customUI/") else data)
    assert not OpenXmlValidator().validate(str(broken)).is_valid


def test_every_module_source_round_trips_byte_for_byte(built):
    with warnings.catch_warnings():  # oletools 0.60 uses pyparsing names that now warn
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(built.path))
    found = {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    assert set(found) == set(built.modules) | {"Dictionary", "Sheet2"}
    for name, source in built.modules.items():
        assert found[name].encode("cp1252") == source.encode("cp1252"), name
    assert "RibbonMyAddin" not in found  # the template's demo callback is gone


def test_the_project_is_source_only_and_named_refund_sheet(project):
    """MS-OVBA 2.3.4.1: no performance cache, so Excel compiles from the source; nothing after dir's end."""
    assert project.openstream("VBA/_VBA_PROJECT").read() == b"\xcc\x61\xff\xff\x00\x01\x00"
    assert not [s for s in project.listdir() if s[-1].startswith("__SRP_")]
    directory = decompress(project.openstream("VBA/dir").read())
    assert directory.endswith(struct.pack("<HI", 0x0010, 0)) and b"RefundSheet" in directory and b"MyAddin" not in directory
    text = project.openstream("PROJECT").read().decode("cp1252")
    workspace = text.split("[Workspace]\r\n", 1)[1]
    assert 'Name="RefundSheet"' in text and "\r\n\r\n" not in workspace.rstrip("\r\n")
    for module in ("RibbonRefundSheet", "xlwings_udfs", "RefundSheetHelp"):
        assert f"Module={module}\r\n" in text and f"{module}=" in workspace


def test_every_vba_module_is_ascii(built):
    for name, source in built.modules.items():
        assert source.isascii(), name
    with pytest.raises(addin.AddinError, match="非 ASCII"):
        addin.ascii_only("RibbonRefundSheet", "MsgBox \"退款\"\r\n")


def test_the_xlwings_module_is_the_pinned_one_renamed_for_this_addin(built):
    xlwings_module = built.modules["xlwings"]
    assert 'Public Const PROJECT_NAME As String = "refundsheet"' in xlwings_module
    assert 'Public Const XLWINGS_VERSION As String = "0.37.8"' in xlwings_module  # the DLL version it loads


def test_the_ribbon_callback_runs_on_button_with_the_control_id(built):
    assert re.search(
        r"Public Sub OnButton\(control As IRibbonControl\)\r\n"
        r"    RunPython \"import refund_sheet.excel; refund_sheet.excel.on_button\('\" & control.Id & \"'\)\"\r\n",
        built.modules["RibbonRefundSheet"],
    )
    assert "RegisterFunctionHelp" in built.modules["ThisWorkbook"].split("Private Sub Workbook_Open()")[1]


def python_arguments(function) -> list[str]:
    """The VBA signature xlwings gives a Python function: its parameters but caller, defaults Optional."""
    return [
        ("Optional " if p.default is not p.empty else "") + p.name
        for p in inspect.signature(function).parameters.values()
        if p.name != "caller"
    ]


@pytest.mark.parametrize("function", excel.UDFS, ids=lambda f: f.__name__)
def test_each_worksheet_function_has_xlwings_wrapper_with_its_python_signature(built, function):
    wrappers = built.modules["xlwings_udfs"]
    name = function.__name__
    match = re.search(rf"^Function {name}\((.*)\)\r$", wrappers, re.M)
    assert match and match.group(1).split(", ") == python_arguments(function)
    assert f'{name} = XLPy.CallUDF("refund_sheet.excel", "{name}", Array(' in wrappers
    assert ", Nothing), ActiveWorkbook, Application.Caller)" in wrappers  # the caller slot, as in an add-in


def test_the_wrappers_are_what_xlwings_import_functions_writes(built):
    assert built.modules["xlwings_udfs"].startswith(
        'Attribute VB_Name = "xlwings_udfs"\r\n'
        "'Autogenerated code by xlwings - changes will be lost with next import!\r\n"
    )
    assert set(built.functions) == {f.__name__ for f in excel.UDFS}
    assert "pythoncom" not in sys.modules and "xlwings.udfs" not in sys.modules  # the stand-ins were taken out


def decode(expression: str) -> str:
    """A VBA text expression from vba_text back to text."""
    if expression.startswith('U("'):
        return "".join(chr(int(unit, 16)) for unit in expression[3:-2].split())
    return expression[1:-1].replace('""', '"')


def test_function_help_at_open_decodes_back_to_the_docstrings(built):
    help_vba = built.modules["RefundSheetHelp"]
    for function in excel.UDFS:
        block = help_vba.split(f"!{function.__name__}\", _\r\n", 1)[1].split("Application.MacroOptions", 1)[0]
        block = block.split("End Sub", 1)[0]
        texts = [decode(t) for t in re.findall(r'U\("[0-9A-F ]*"\)|"(?:[^"]|"")*"', block)]
        description, category, *arguments = texts
        assert description == " ".join(function.__doc__.split("\n\n")[0].split())
        assert category == "退款助手"
        assert len(arguments) == len(python_arguments(function))
        assert excel.RULES_DOC in arguments and excel.AT_DOC in arguments
    assert max(len(line) for line in help_vba.splitlines()) < 1000  # VBA's line limit is 1023


def test_two_builds_are_byte_identical_and_readable_by_others(built, tmp_path):
    again = addin.build(tmp_path / "RefundSheet.xlam")
    assert again.path.read_bytes() == built.path.read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert again.path.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not a temporary file's 0600


def test_importing_the_builder_does_not_import_xlwings():
    code = "import sys, refund_sheet.addin; print('xlwings' in sys.modules, 'openpyxl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.libreoffice
def test_libreoffice_imports_every_module(built, tmp_path):
    ods = convert(built.path, "ods", tmp_path, infilter="Calc MS Excel 2007 VBA XML")
    with zipfile.ZipFile(ods) as package:
        library = package.read("Basic/RefundSheet/script-lb.xml").decode()
        modules = {name: package.read(f"Basic/RefundSheet/{name}.xml").decode() for name in built.modules}
    for name, source in built.modules.items():
        assert f'library:name="{name}"' in library
        body = [line for line in source.splitlines() if line.strip() and not line.startswith("Attribute ")]
        imported = modules[name].replace("&apos;", "'").replace("&quot;", '"').replace("&amp;", "&")
        imported = imported.replace("&lt;", "<").replace("&gt;", ">")
        assert all(line in imported for line in body), name


def test_the_build_command_writes_the_addin_where_asked(tmp_path):
    result = CliRunner().invoke(main, ["addin", "build", "-o", str(tmp_path / "dist" / "RefundSheet.xlam")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dist" / "RefundSheet.xlam").exists() and "REFUND_CHECK" in result.output


def test_an_xlsm_build_is_a_macro_workbook_with_the_same_project(built, tmp_path):
    xlsm = addin.build(tmp_path / "RefundSheet.xlsm")
    with zipfile.ZipFile(xlsm.path) as package:
        assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in package.read("[Content_Types].xml")
    assert xlsm.modules == built.modules


def test_a_wrong_output_name_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["addin", "build", "-o", str(tmp_path / "RefundSheet.xlsx")])
    assert result.exit_code == 1 and "应以 .xlam 或 .xlsm 结尾" in result.output


def shell_quoted(text: str) -> str:
    """addin/RefundSheetShell.bas's ShellQuoted, the same expression in Python."""
    return "'" + text.replace("'", "'\\''") + "'"


def test_on_a_mac_the_interpreter_path_reaches_the_shell_quoted(built, tmp_path):
    """xlwings' AppleScript starts its `do shell script` command (sh) with the interpreter path as it gets it; the
    build makes ExecuteMac hand it over through ShellQuoted, so a Python whose path has a space or a quote runs."""
    assert re.search(r'\r?\n    ParameterString = ParameterString \+ "\|" \+ ShellQuoted\(PythonInterpreter\)\r?\n', built.modules["xlwings"])
    assert '+ "|" + PythonInterpreter\n' not in built.modules["xlwings"].replace("\r", "")
    assert "    ShellQuoted = \"'\" & Replace(text, \"'\", \"'\\''\") & \"'\"\r\n" in built.modules["RefundSheetShell"]
    applescript = (addin.xlwings_folder() / "xlwings-0.37.8.applescript").read_text(encoding="utf-8")
    assert 'set ShellCommand to PythonInterpreter & " -B -u -W ignore -c \\"' in applescript
    python = tmp_path / "My Envs" / "shop's env" / "bin" / "python3"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    tail = ' -B -u -W ignore -c "import sys; print(sys.argv[1:])" "--wb=退款登记.xlsx"'
    quoted = subprocess.run(["/bin/sh", "-c", shell_quoted(str(python)) + tail], capture_output=True, text=True)
    assert quoted.returncode == 0 and "--wb=退款登记.xlsx" in quoted.stdout, quoted.stderr
    unquoted = subprocess.run(["/bin/sh", "-c", str(python) + tail], capture_output=True, text=True)
    assert unquoted.returncode != 0  # what xlwings' template did: the button silently did nothing
