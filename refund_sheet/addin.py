"""Build RefundSheet.xlam, the 退款助手 ribbon add-in, without Excel (``refund-sheet addin build``); install.py puts
it on a Windows or Mac computer.

The add-in is xlwings' own ribbon add-in template (``quickstart_addin_ribbon.xlam`` in the installed, pinned
xlwings: its VBA module holds RunPython and hard-codes the xlwings DLL version) with:

- the ribbon ``addin/customUI14.xml`` and the callback module ``addin/RibbonRefundSheet.bas`` (reviewed text);
- ``addin/RefundSheetShell.bas``, and one line of xlwings' ``ExecuteMac`` changed to pass the interpreter path
  through its ``ShellQuoted`` (xlwings hands it to the Mac shell unquoted: a path with a space did nothing);
- ``ThisWorkbook``'s code from ``addin/ThisWorkbook.cls`` (registers the functions' help when the add-in opens);
- ``xlwings_udfs``: the worksheet functions' VBA wrappers, written by xlwings' own "Import Functions" code
  (``xlwings.udfs.import_udfs``) run against a stand-in workbook, so they are exactly what Excel would import;
- ``RefundSheetHelp``: the ``Application.MacroOptions`` calls that import would have made, as VBA run at open.

pyOpenVBA edits the VBA project; its output is then normalised (see ``normalise_project``) the way xlwings'
release build leaves its project: source only, so Excel compiles the modules from their text on first open.
Every VBA module is ASCII: Chinese help texts are spelled as UTF-16 code units decoded at run time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import shutil
import struct
import sys
import tempfile
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import RefundSheetError
from .resources import ADDIN_SOURCES

SOURCES = ADDIN_SOURCES  # the repository's addin/ folder, shipped in the package as refund_sheet/_addin
ADDIN_NAME = "RefundSheet.xlam"
TEMPLATE = "quickstart_addin_ribbon.xlam"
UDF_MODULE = "refund_sheet.excel"
VBA_PROJECT_NAME = "RefundSheet"  # what the VBA editor shows; the template calls it MyAddin
CONFIG_NAME = "refundsheet"  # xlwings' PROJECT_NAME: the config sheet refundsheet.conf and ~/.refundsheet/
RIBBON_MODULE = "RibbonRefundSheet"
HELP_MODULE = "RefundSheetHelp"
UDF_VBA_MODULE = "xlwings_udfs"
SHELL_MODULE = "RefundSheetShell"
# xlwings' ExecuteMac hands the interpreter path to its AppleScript unquoted; the build quotes it (addin/RefundSheetShell.bas)
MAC_INTERPRETER_LINE = re.compile(r'^( {4}ParameterString = ParameterString \+ "\|" \+ )(PythonInterpreter)(\r?)$', re.M)
RIBBON_PART = "customUI/customUI14.xml"
RIBBON_RELATIONSHIP = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed entry times: the same sources build the same bytes
MAX_VBA_LINE = 1000  # VBA's limit is 1023 characters per physical line


class AddinError(RefundSheetError):
    """The add-in cannot be built or installed; the message says why."""


@dataclass(frozen=True)
class BuildResult:
    """What ``build`` wrote, for the command line and the tests."""

    path: Path
    modules: dict[str, str]  # VBA module name → the source put in (CRLF line ends)
    functions: tuple[str, ...]


def xlwings_folder() -> Path:
    """The installed xlwings package folder, found without importing xlwings."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise AddinError("找不到 xlwings：请先 pip install refund-sheet（它会安装 xlwings）")
    return Path(next(iter(spec.submodule_search_locations)))


def crlf(text: str) -> str:
    """VBA stores source with CRLF line ends; the reviewed files use LF."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def ascii_only(name: str, source: str) -> str:
    """VBA source is stored in the project's code page (1252 here): refuse anything but ASCII."""
    for number, line in enumerate(source.splitlines(), start=1):
        bad = [c for c in line if ord(c) > 127]
        if bad:
            raise AddinError(f"VBA 模块 {name} 第 {number} 行含非 ASCII 字符 {''.join(bad[:5])!r}：VBA 里只能写 ASCII")
        if len(line) > MAX_VBA_LINE:
            raise AddinError(f"VBA 模块 {name} 第 {number} 行过长（{len(line)} 个字符）")
    return source


# ---------------------------------------------------------------------------------------------------------------
# The worksheet functions: xlwings' "Import Functions", run against a stand-in workbook.


class _ComError(Exception):
    """Stand-in for pywintypes.com_error."""


class _Components:
    """The part of VBProject.VBComponents that import_udfs uses: remove (absent here) and import a .bas file."""

    def __init__(self) -> None:
        self.imported: str | None = None

    def __call__(self, name: str):
        raise _ComError(f"no component {name}")  # a fresh add-in has no xlwings_udfs module to remove yet

    def Remove(self, component) -> None:  # COM spelling
        raise AssertionError("unreachable")

    def Import(self, path: str) -> None:  # COM spelling
        self.imported = Path(path).read_text(encoding="utf-8")


class _Application:
    """The part of Excel.Application that import_udfs uses: its version and MacroOptions."""

    Version = "16.0"

    def __init__(self) -> None:
        self.macro_options: list[dict] = []

    def MacroOptions(self, macro: str, **options) -> None:  # COM spelling
        self.macro_options.append({"Macro": macro, **options})


class _Workbook:
    """A stand-in for the add-in's COM Workbook object, recording what "Import Functions" does to it."""

    def __init__(self, name: str) -> None:
        self.Name = name
        self.Application = _Application()
        self.VBProject = types.SimpleNamespace(VBComponents=_Components())


@contextlib.contextmanager
def _windows_stand_ins():
    """Small stand-ins for pywin32 (pythoncom, pywintypes, win32com.client) so that xlwings.udfs imports on
    Linux and macOS; everything put into sys.modules is taken out again."""
    pythoncom = types.ModuleType("pythoncom")
    vars(pythoncom).update(CoInitialize=lambda: None)
    pywintypes = types.ModuleType("pywintypes")
    vars(pywintypes).update(com_error=_ComError)
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    vars(client).update(Dispatch=lambda obj: obj)
    vars(win32com).update(client=client)
    stand_ins = {"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com, "win32com.client": client}
    saved = {name: sys.modules.get(name) for name in [*stand_ins, "xlwings.udfs"]}
    if sys.platform.startswith("win") and saved["pythoncom"] is not None:
        stand_ins = {}  # real pywin32: use it
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def import_functions(addin_name: str = ADDIN_NAME) -> tuple[str, list[dict]]:
    """Run xlwings' "Import Functions" (``xlwings.udfs.import_udfs``) for refund_sheet.excel against a stand-in
    workbook: returns the VBA module it imports and the MacroOptions calls it makes.

    On Windows xlwings' decorators record each function's arguments; elsewhere they are pass-throughs, so the
    module is executed once more, privately, with xlwings' recording decorators in place.
    """
    with _windows_stand_ins():
        import xlwings  # only the builder needs xlwings' generator, and only here
        import xlwings.udfs as udfs

        saved = (xlwings.func, xlwings.arg, xlwings.ret)
        # the recording decorators stand in for xlwings' own on purpose; their signatures differ
        xlwings.func, xlwings.arg, xlwings.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret  # type: ignore[assignment]
        try:
            module = _fresh_module(UDF_MODULE)
        finally:
            xlwings.func, xlwings.arg, xlwings.ret = saved
        udfs.udf_modules[UDF_MODULE] = {"filename": module.__file__, "filetime": None, "module": module}
        book = _Workbook(addin_name)
        log = logging.getLogger(udfs.__name__)
        quiet = logging.NullHandler()
        log.addHandler(quiet)  # import_udfs prints a line unless its logger has a handler
        try:
            udfs.import_udfs(UDF_MODULE, book)
        finally:
            log.removeHandler(quiet)
            udfs.udf_modules.pop(UDF_MODULE, None)
    wrappers = book.VBProject.VBComponents.imported
    if not wrappers:
        raise AddinError("xlwings 没有生成函数的 VBA 包装")
    return crlf(wrappers), book.Application.macro_options


def _fresh_module(name: str) -> types.ModuleType:
    """A private copy of a module of this package, executed anew. It stands in sys.modules only while it runs
    (a dataclass in it looks its module up there), and whatever stood there before is put back."""
    spec = importlib.util.find_spec(name)
    copy = importlib.util.spec_from_file_location(name, spec.origin) if spec is not None and spec.origin else None
    if copy is None or copy.loader is None:
        raise ModuleNotFoundError(f"no source for {name}")
    module = importlib.util.module_from_spec(copy)
    before = sys.modules.get(name)
    sys.modules[name] = module
    try:
        copy.loader.exec_module(module)
    finally:
        if before is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = before
    return module


def vba_text(text: str) -> str:
    """A VBA expression for any text, in ASCII: a literal when it is ASCII, else U("9000 6B3E ...")."""
    text = " ".join(text.split())
    if all(ord(c) < 128 for c in text):
        return '"' + text.replace('"', '""') + '"'
    units = struct.unpack(f"<{len(text.encode('utf-16-le')) // 2}H", text.encode("utf-16-le"))
    return 'U("' + " ".join(f"{u:X}" for u in units) + '")'


def help_module(macro_options: list[dict]) -> str:
    """VBA that repeats, each time the add-in opens, the MacroOptions calls of "Import Functions" (Excel does
    not keep them for an add-in). The description is the docstring's first paragraph."""
    lines = [
        f'Attribute VB_Name = "{HELP_MODULE}"',
        "' Generated by 'refund-sheet addin build' from the docstrings of refund_sheet/excel.py: do not edit.",
        "' Chinese texts are UTF-16 code units in hex, decoded by U(), so that this module stays ASCII.",
        "Option Explicit",
        "",
        "Public Sub RegisterFunctionHelp()",
        "    ' Run by Workbook_Open. Help texts are a convenience: a failure must not stop the add-in from opening.",
        "    On Error Resume Next",
    ]
    for options in sorted(macro_options, key=lambda o: o["Macro"]):
        function = options["Macro"].rsplit("!", 1)[-1]
        description = options.get("Description", "").split("\n\n")[0]
        lines.append(f'    Application.MacroOptions Macro:="\'" & ThisWorkbook.Name & "\'!{function}", _')
        lines.append(f"        Description:={vba_text(description)}, _")
        arguments = options.get("ArgumentDescriptions") or []
        if arguments:
            lines.append(f"        Category:={vba_text(str(options.get('Category', '')))}, _")
            lines.append("        ArgumentDescriptions:=Array( _")
            lines += [f"            {vba_text(a)}{', _' if i < len(arguments) - 1 else ')'}" for i, a in enumerate(arguments)]
        else:
            lines.append(f"        Category:={vba_text(str(options.get('Category', '')))}")
    lines += [
        "End Sub",
        "",
        "Private Function U(ByVal codes As String) As String",
        "    ' Space-separated hex UTF-16 code units -> text (ChrW works on Windows and macOS).",
        "    Dim parts() As String, i As Long",
        "    parts = Split(codes, \" \")",
        "    For i = LBound(parts) To UBound(parts)",
        "        U = U & ChrW(CLng(\"&H\" & parts(i)))",
        "    Next i",
        "End Function",
        "",
    ]
    return "\r\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# The VBA project.


def vba_modules(template_modules: dict[str, str], wrappers: str, macro_options: list[dict]) -> dict[str, str]:
    """The sources of the modules the build adds or replaces, keyed by module name (CRLF, ASCII)."""
    this_workbook = template_modules["ThisWorkbook"]
    header = "".join(line + "\r\n" for line in this_workbook.splitlines() if line.startswith("Attribute "))
    xlwings_module = template_modules["xlwings"]
    project_line = 'Public Const PROJECT_NAME As String = "myaddin"'
    if xlwings_module.count(project_line) != 1:
        raise AddinError("xlwings 模板中找不到 PROJECT_NAME：xlwings 版本不对？请安装 pyproject.toml 中固定的版本")
    if len(MAC_INTERPRETER_LINE.findall(xlwings_module)) != 1:
        raise AddinError("xlwings 模板中找不到 Mac 的解释器参数行：xlwings 版本不对？请安装 pyproject.toml 中固定的版本")
    xlwings_module = xlwings_module.replace(project_line, f'Public Const PROJECT_NAME As String = "{CONFIG_NAME}"')
    modules = {
        "ThisWorkbook": header + crlf((SOURCES / "ThisWorkbook.cls").read_text(encoding="utf-8")),
        "xlwings": MAC_INTERPRETER_LINE.sub(r"\1ShellQuoted(\2)\3", xlwings_module),
        RIBBON_MODULE: crlf((SOURCES / f"{RIBBON_MODULE}.bas").read_text(encoding="utf-8")),
        SHELL_MODULE: crlf((SOURCES / f"{SHELL_MODULE}.bas").read_text(encoding="utf-8")),
        UDF_VBA_MODULE: wrappers,
        HELP_MODULE: help_module(macro_options),
    }
    return {name: ascii_only(name, source) for name, source in modules.items()}


def _dir_records(data: bytes):
    """(record id, offset, end) for each record of a decompressed dir stream (MS-OVBA 2.3.4.2)."""
    offset = 0
    while offset + 6 <= len(data):
        record, size = struct.unpack_from("<HI", data, offset)
        end = offset + 6 + size
        if record == 0x0009:  # PROJECTVERSION: its "size" is a reserved 4, then 6 bytes of version
            end = offset + 12
        yield record, offset, end
        if record == 0x0010:  # dir terminator
            return
        offset = end


def normalise_dir(data: bytes, project_name: str) -> bytes:
    """The dir stream with the project renamed and nothing after its terminator record."""
    out = bytearray()
    for record, start, end in _dir_records(data):
        if record == 0x0004:  # PROJECTNAME
            name = project_name.encode("ascii")
            out += struct.pack("<HI", 0x0004, len(name)) + name
        else:
            out += data[start:end]
        if record == 0x0010:
            return bytes(out)
    raise AddinError("VBA 工程的 dir 流没有结束记录")


def normalise_project_stream(text: str, project_name: str) -> str:
    """The PROJECT stream with the project renamed and no blank line left inside [Workspace]."""
    text = re.sub(r'^Name="[^"]*"', f'Name="{project_name}"', text, count=1, flags=re.M)
    head, sep, workspace = text.partition("[Workspace]\r\n")
    if sep:
        entries = [line for line in workspace.split("\r\n") if line.strip()]
        text = head + sep + "".join(line + "\r\n" for line in entries)
    return text


def normalise_project(vba_bin: bytes, template_bin: bytes) -> bytes:
    """Make pyOpenVBA's output what Excel expects of a source-only project (MS-OVBA 2.3.4.1): the 7-byte
    ``_VBA_PROJECT`` stream of the template (version 0xFFFF, no performance cache), a dir stream that ends at its
    terminator, a PROJECT stream without blank lines in [Workspace]; and name the project RefundSheet."""
    from pyopenvba.cfb import CFB
    from pyopenvba.vba import compress, decompress

    cfb = CFB.from_bytes(vba_bin)
    original = CFB.from_bytes(template_bin).get_stream_in_storage("VBA", "_VBA_PROJECT")
    if len(original) != 7 or original[:4] != b"\xcc\x61\xff\xff":
        raise AddinError("xlwings 模板的 _VBA_PROJECT 流不是 7 字节的源码形式")
    cfb.write_stream_in_storage("VBA", "_VBA_PROJECT", original)
    directory = decompress(cfb.get_stream_in_storage("VBA", "dir"))
    cfb.write_stream_in_storage("VBA", "dir", compress(normalise_dir(directory, VBA_PROJECT_NAME)))
    project = cfb.get_stream("PROJECT").decode("cp1252")
    cfb.write_stream("PROJECT", normalise_project_stream(project, VBA_PROJECT_NAME).encode("cp1252"))
    return cfb.to_bytes()


# ---------------------------------------------------------------------------------------------------------------
# The package.


def package_parts(template: zipfile.ZipFile, vba_bin: bytes, ribbon: bytes) -> dict[str, bytes]:
    """The parts of the add-in: the template's, with the ribbon swapped, the VBA project replaced and the
    config sheet renamed for this add-in."""
    parts = {name: template.read(name) for name in template.namelist()}
    old_ribbon = [name for name in parts if name.startswith("customUI/")]
    for name in old_ribbon:
        del parts[name]
    parts[RIBBON_PART] = ribbon
    rels = parts["_rels/.rels"].decode("utf-8")
    rels, count = re.subn(
        r'<Relationship Id="(\w+)" Type="' + re.escape(RIBBON_RELATIONSHIP) + r'" Target="[^"]*" />',
        rf'<Relationship Id="\1" Type="{RIBBON_RELATIONSHIP}" Target="{RIBBON_PART}" />',
        rels,
    )
    if count != 1:
        raise AddinError("xlwings 模板的 _rels/.rels 中没有功能区关系")
    parts["_rels/.rels"] = rels.encode("utf-8")
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    workbook = workbook.replace('name="_myaddin.conf"', f'name="_{CONFIG_NAME}.conf"')
    workbook = re.sub(r"<mc:AlternateContent[^>]*><mc:Choice[^>]*><x15ac:absPath[^>]*/></mc:Choice></mc:AlternateContent>", "", workbook)
    parts["xl/workbook.xml"] = workbook.encode("utf-8")
    parts["xl/vbaProject.bin"] = vba_bin
    return parts


def write_package(path: Path, parts: dict[str, bytes]) -> None:
    """A zip with [Content_Types].xml first and fixed entry times; written beside ``path``, then moved."""
    order = ["[Content_Types].xml", "_rels/.rels"] + sorted(n for n in parts if n not in ("[Content_Types].xml", "_rels/.rels"))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".refund-sheet-", suffix=".xlam", dir=path.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as package:
            for name in order:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                package.writestr(info, parts[name])
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The mode a new file gets (mkstemp makes 0600); a file being replaced keeps its own."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def build(out: Path | str | None = None) -> BuildResult:
    """Build RefundSheet.xlam (default: ./RefundSheet.xlam) from addin/, refund_sheet/excel.py and the installed
    xlwings' add-in template. An ``.xlsm`` name builds the same project as a macro workbook (for trying it out)."""
    from pyopenvba import ExcelFile  # a build-time dependency only

    path = Path(out) if out else Path(ADDIN_NAME)
    if path.suffix.lower() not in (".xlam", ".xlsm"):
        raise AddinError(f"输出文件应以 .xlam 或 .xlsm 结尾：{path}")
    if not (SOURCES / "customUI14.xml").is_file():
        raise AddinError(f"找不到加载项的源文件：{SOURCES / 'customUI14.xml'} 不存在。安装不完整：请按 README 重新安装 refund-sheet")
    template_path = xlwings_folder() / TEMPLATE
    if not template_path.exists():
        raise AddinError(f"找不到 xlwings 的加载项模板：{template_path}")
    ribbon = (SOURCES / "customUI14.xml").read_bytes()
    wrappers, macro_options = import_functions(path.name if path.suffix.lower() == ".xlam" else ADDIN_NAME)
    with tempfile.TemporaryDirectory(prefix="refund-sheet-addin-") as folder:
        work = Path(folder) / ADDIN_NAME
        shutil.copyfile(template_path, work)
        with ExcelFile(work) as book:
            template_modules = {name: book.get_module(name) for name in book.module_names()}
            modules = vba_modules(template_modules, wrappers, macro_options)
            project = book.vba_project()
            project.delete_module("RibbonMyAddin")
            for name, source in modules.items():
                if name in template_modules:
                    book.set_module(name, source)
                else:
                    project.add_module(name, source)
            book.save(allow_invalidate_signature=True)
        with zipfile.ZipFile(template_path) as template:
            template_bin = template.read("xl/vbaProject.bin")
            with zipfile.ZipFile(work) as edited:
                vba_bin = normalise_project(edited.read("xl/vbaProject.bin"), template_bin)
            parts = package_parts(template, vba_bin, ribbon)
    if path.suffix.lower() == ".xlsm":
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"application/vnd.ms-excel.addin.macroEnabled.main+xml", b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        )
    write_package(path, parts)
    functions = tuple(sorted(o["Macro"].rsplit("!", 1)[-1] for o in macro_options))
    return BuildResult(path=path, modules=modules, functions=functions)
