"""Putting the add-in on this computer (``refund-sheet addin install``) and checking what it will find there at run
time (``refund-sheet doctor``).

Every rule here is read from the pinned xlwings VBA module inside the add-in, which is what runs on a click:

- Settings: ``GetConfigFilePath`` is ``%USERPROFILE%\\.refundsheet\\refundsheet.conf`` on Windows and
  ``~/Library/Containers/com.microsoft.Excel/Data/refundsheet.conf`` on a Mac, one ``"KEY","VALUE"`` per line, read
  with ``Open … For Input`` and ``Input #``. On Windows that decodes the bytes in the ANSI code page (cp936 on
  Chinese Windows, cp1252 on English), so the file is written in that code page and read back in it before
  install reports success. xlwings' own ``xlwings config create`` also writes in the locale's encoding.
- Conda (Windows): with ``"CONDA PATH"`` and ``"CONDA ENV"`` and no ``INTERPRETER_WIN``, RunPython runs
  ``conda activate ENV && python`` and the worksheet functions look for the DLL in the environment's folder; this
  is what ``xlwings config create`` writes in a conda environment.
- The worksheet functions load ``xlwings64-<version>.dll`` with ``LoadLibrary`` from the interpreter's folder, then
  from the folder above it (``XLPyLoadDLL``), nowhere else. pip puts the DLL in ``sys.prefix``: right for a
  python.org Python and for a virtual environment, wrong for ``pip install --user`` and the Microsoft Store Python.
- The buttons do not need the DLL: RunPython starts the interpreter through ``cmd.exe`` (Windows) or xlwings'
  AppleScript (Mac), which Excel's sandbox only runs from ``~/Library/Application Scripts/com.microsoft.Excel``.

Everything that describes the computer is one value, ``Machine``, so the tests can describe a Chinese Windows,
an English one, a conda environment or a Mac on any computer.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import locale
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import addin as addins
from .errors import RefundSheetError

WINDOWS_KEYS = ("INTERPRETER_WIN", "CONDA PATH", "CONDA ENV")  # the settings install owns on Windows
MAC_KEYS = ("INTERPRETER_MAC",)
VENV_FIX = (
    r"改用虚拟环境（README“Windows”一节）：py -m venv %USERPROFILE%\refund-sheet，"
    r"再运行 %USERPROFILE%\refund-sheet\Scripts\python -m pip install 源码包 和 … -m refund_sheet addin install"
)
UNCHANGED = "没有做任何修改。"


class InstallError(RefundSheetError):
    """The add-in was not installed and nothing was changed; the message says what to do."""


@dataclass(frozen=True)
class Machine:
    """What install and doctor look at on this computer."""

    platform: str  # sys.platform: win32, darwin, linux
    home: Path
    environ: Mapping[str, str]
    executable: Path  # the Python the buttons will run: the one that has refund-sheet installed
    prefix: Path  # sys.prefix: where pip put xlwings' DLL, and a conda environment's root
    code_page: str  # the encoding VBA's Input # reads the settings file in

    @property
    def windows(self) -> bool:
        return self.platform.startswith("win")

    @property
    def mac(self) -> bool:
        return self.platform == "darwin"


def this_machine() -> Machine:
    """This computer. ``locale.getencoding()`` is the ANSI code page on Windows, even in Python's UTF-8 mode."""
    windows = sys.platform.startswith("win")
    return Machine(
        platform=sys.platform,
        home=Path.home(),
        environ=dict(os.environ),
        executable=Path(sys.executable),
        prefix=Path(sys.prefix),
        code_page=locale.getencoding() if windows else "utf-8",
    )


# ---------------------------------------------------------------------------------------------------------------
# Where things are.


def excel_folder(machine: Machine) -> Path:
    """The folder Excel makes for this user the first time it starts; its start-up folder is inside."""
    if machine.windows:
        appdata = machine.environ.get("APPDATA") or str(machine.home / "AppData" / "Roaming")
        return Path(appdata) / "Microsoft" / "Excel"
    if machine.mac:
        return machine.home / "Library" / "Group Containers" / "UBF8T346G9.Office"
    raise InstallError(f"这台电脑（{machine.platform}）不是 Windows 或 macOS，没有 Excel 可以安装加载项")


def xlstart_folder(machine: Machine) -> Path:
    """Excel's per-user start-up folder (``Application.StartupPath``): Excel opens every file in it at start."""
    if machine.mac:
        return excel_folder(machine) / "User Content" / "Startup" / "Excel"
    return excel_folder(machine) / "XLSTART"


def config_file(machine: Machine) -> Path:
    """Where the add-in's VBA reads its user settings (``GetConfigFilePath``)."""
    name = addins.CONFIG_NAME
    if machine.windows:
        return Path(machine.environ.get("USERPROFILE") or machine.home) / f".{name}" / f"{name}.conf"
    return machine.home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / f"{name}.conf"


def applescript_folder(machine: Machine) -> Path:
    """The only folder from which sandboxed Mac Excel runs a script (``AppleScriptTask``)."""
    return machine.home / "Library" / "Application Scripts" / "com.microsoft.Excel"


def xlwings_version() -> str:
    return importlib.metadata.version("xlwings")


def dll_name() -> str:
    """The DLL the add-in's VBA declares for 64-bit Excel (the 32-bit one ships beside it)."""
    return f"xlwings64-{xlwings_version()}.dll"


def installed_dlls() -> list[Path]:
    """Where pip put xlwings' DLLs: they are data files of its wheel, listed in its RECORD (Windows only)."""
    dist = importlib.metadata.distribution("xlwings")
    names = [f for f in dist.files or [] if f.name.lower().startswith("xlwings") and f.name.lower().endswith(".dll")]
    return [Path(str(dist.locate_file(f))).resolve() for f in names]


# ---------------------------------------------------------------------------------------------------------------
# The settings file.


def conda(machine: Machine) -> tuple[str, str] | None:
    """(CONDA PATH, CONDA ENV) when this Python is a conda environment on Windows, else None.

    CONDA PATH is the conda installation (xlwings takes it from CONDA_EXE, ``…\\Scripts\\conda.exe``, minus two
    levels); CONDA ENV is ``base``, an environment's name under ``envs``, or its full path (the VBA accepts all
    three). A conda without ``condabin\\conda.bat`` is too old for the VBA (``CheckConda``): None, so the
    interpreter is written instead, as the VBA's own message advises.
    """
    if not machine.windows or not (machine.prefix / "conda-meta").is_dir():
        return None
    exe = machine.environ.get("CONDA_EXE")
    if exe:
        root = Path(exe).parent.parent
    elif machine.prefix.parent.name.lower() == "envs":
        root = machine.prefix.parent.parent
    else:
        root = machine.prefix
    if not (root / "condabin" / "conda.bat").is_file():
        return None
    if machine.prefix == root:
        return str(root), "base"
    if machine.prefix.parent == root / "envs":
        return str(root), machine.prefix.name
    return str(root), str(machine.prefix)


def settings_for(machine: Machine) -> dict[str, str]:
    """What install writes: the conda pair in a conda environment on Windows, else this Python."""
    found = conda(machine)
    if found:
        return {"CONDA PATH": found[0], "CONDA ENV": found[1]}
    return {("INTERPRETER_WIN" if machine.windows else "INTERPRETER_MAC"): str(machine.executable)}


def _key(line: bytes) -> str:
    match = re.match(rb'\s*"?([^",]*)', line)
    return match.group(1).decode("ascii", "replace").strip().upper() if match else ""


def read_settings(data: bytes, code_page: str) -> dict[str, str]:
    """The settings as the VBA reads them: bytes decoded in ``code_page``, then ``Input #`` two fields a line."""
    settings: dict[str, str] = {}
    for line in data.decode(code_page, errors="replace").splitlines():
        match = re.fullmatch(r'\s*"([^"]*)"\s*,\s*"([^"]*)"\s*', line) or re.fullmatch(r"\s*([^,]*?)\s*,\s*(.*?)\s*", line)
        if match:
            settings.setdefault(match.group(1).upper(), match.group(2))  # the VBA stops at the first match
    return settings


LOCALE_FIX = "在 控制面板 → 区域 → 管理 → 更改系统区域设置 中选“中文(简体，中国)”并重启"


def encodable(text: str, machine: Machine, what: str, fix: str) -> bytes:
    """``text`` in the code page the VBA reads it in, or a one-line InstallError naming ``fix``."""
    try:
        return text.encode(machine.code_page)
    except UnicodeEncodeError as error:
        bad = text[error.start : error.end]
        raise InstallError(
            f"{what} {text} 含有“{bad}”，Windows 的非 Unicode 程序语言（代码页 {machine.code_page}）写不出它，"
            f"Excel 的 VBA 会读错。办法：{fix}。" + UNCHANGED
        ) from None


def config_bytes(old: bytes | None, settings: Mapping[str, str], machine: Machine) -> bytes:
    """The settings file with ``settings`` in it: lines install does not own are kept byte for byte, its own are
    replaced, in the code page the VBA reads and with the platform's line ends."""
    owned = WINDOWS_KEYS if machine.windows else MAC_KEYS
    newline = b"\r\n" if machine.windows else b"\n"
    kept = [line for line in (old or b"").splitlines() if line.strip() and _key(line) not in owned]
    for key, value in settings.items():
        if '"' in value:
            raise InstallError(f"路径里有双引号，Excel 的 VBA 读不了：{value}。" + UNCHANGED)
        fix = f"{VENV_FIX.replace('%USERPROFILE%', 'C:')}（路径里只用英文字母）；或{LOCALE_FIX}"
        kept.append(encodable(f'"{key}","{value}"', machine, "路径", fix))
    return newline.join(kept) + newline


# ---------------------------------------------------------------------------------------------------------------
# Writing: everything or nothing.


def _failure(error: OSError, path: Path, machine: Machine, replacing: bool) -> InstallError:
    """One line for what went wrong writing ``path``."""
    if isinstance(error, PermissionError) and replacing and path.suffix.lower() == ".xlam":
        return InstallError(
            f"Excel 正在使用 {path}：请关闭所有 Excel 窗口（任务管理器里也不要留 EXCEL.EXE），再运行 addin install。" + UNCHANGED
        )
    if isinstance(error, PermissionError):
        who = "平时打开 Excel 的那个 Windows 用户运行（不要“以管理员身份运行”）" if machine.windows else "你自己的用户运行（不要 sudo）"
        return InstallError(f"没有权限写入 {path.parent}：请用{who}，公司电脑请让 IT 开放这个文件夹。" + UNCHANGED)
    return InstallError(f"无法写入 {path}：{error.strerror or error}。" + UNCHANGED)


Written = list[tuple[Path, "bytes | None"]]  # each target replaced, with what it held before (None: it was new)


def write_all(files: list[tuple[Path, bytes]], machine: Machine) -> Written:
    """Write every file or none. Each content first goes to a temporary file beside its target; then the targets
    are replaced one by one, and a failure puts back the ones already replaced and removes what was made."""
    made: list[Path] = []
    temporaries: list[Path] = []
    done: Written = []
    current, replacing = files[0][0], False
    try:
        for target, data in files:
            current = target
            made += reversed([p for p in [target.parent, *target.parent.parents] if not p.exists()])
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".refund-sheet-", dir=target.parent)
            temporaries.append(Path(name))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
        replacing = True
        for (target, _), temporary in zip(files, temporaries):
            current = target
            old = target.read_bytes() if target.is_file() else None
            os.replace(temporary, target)
            done.append((target, old))
    except OSError as error:
        undo(done, temporaries, made)
        raise _failure(error, current, machine, replacing and current.exists()) from None
    return done


def undo(done: Written, temporaries: Sequence[Path] = (), made: Sequence[Path] = ()) -> None:
    """Put back what ``write_all`` replaced, best effort: the first error is the one the user sees."""
    for target, old in reversed(done):
        with contextlib.suppress(OSError):
            if old is None:
                target.unlink()
            else:
                target.write_bytes(old)
    for temporary in temporaries:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


# ---------------------------------------------------------------------------------------------------------------
# Install.


@dataclass(frozen=True)
class InstallResult:
    """What ``install`` wrote, and what the merchant should know (e.g. that the worksheet functions lack the DLL)."""

    addin: Path
    config: Path
    settings: dict[str, str]
    warnings: tuple[str, ...] = ()
    scripts: tuple[Path, ...] = ()


def install(source: Path | None = None, machine: Machine | None = None, dlls: list[Path] | None = None) -> InstallResult:
    """Copy the add-in into Excel's start-up folder and point it at this Python, all or nothing.

    Builds the add-in first when ``source`` is not given. Every check that can fail runs before anything is
    written: Excel's folder exists (else Excel never started for this user), the settings can be written in the
    code page the VBA reads. Then the add-in, the settings file (and on a Mac xlwings' AppleScript) are written
    together, and the settings are read back as the VBA will read them. The xlwings DLL is checked last: only the
    worksheet functions need it, so a missing DLL is a warning with the fix, not a failure.
    """
    machine = machine or this_machine()
    excel = excel_folder(machine)
    if not excel.is_dir():
        raise InstallError(f"找不到 Excel 的用户文件夹 {excel}：请先打开一次 Excel 再关掉，然后重新运行 addin install。" + UNCHANGED)
    target = xlstart_folder(machine) / addins.ADDIN_NAME
    config = config_file(machine)
    if machine.windows:
        # the VBA builds this path from Environ("USERPROFILE"), converted to the code page: only the locale helps
        encodable(str(config), machine, "设置文件的路径", LOCALE_FIX + "（设置文件在你的用户文件夹里）")
    settings = settings_for(machine)
    try:
        old = config.read_bytes() if config.is_file() else None
    except OSError as error:
        raise _failure(error, config, machine, False) from None
    files = [(target, _addin_bytes(source)), (config, config_bytes(old, settings, machine))]
    if machine.mac:
        files += [(applescript_folder(machine) / p.name, p.read_bytes()) for p in _applescripts()]
    done = write_all(files, machine)
    back = read_settings(config.read_bytes(), machine.code_page)  # as the VBA will read it
    if any(back.get(key) != value for key, value in settings.items()):
        undo(done)
        raise InstallError(f"{config} 按 {machine.code_page} 读回的设置与写入的不同（{back}）。" + UNCHANGED)
    dll = dll_check(machine, settings, dlls)
    warnings = (f"{dll.detail}：{dll.fix}",) if dll.ok is False else ()
    return InstallResult(target, config, settings, warnings, tuple(path for path, _ in files[2:]))


def _addin_bytes(source: Path | None) -> bytes:
    if source is not None:
        try:
            return Path(source).read_bytes()
        except OSError as error:
            raise InstallError(f"读不了加载项文件 {source}：{error.strerror or error}。" + UNCHANGED) from None
    with tempfile.TemporaryDirectory(prefix="refund-sheet-") as folder:
        return addins.build(Path(folder) / addins.ADDIN_NAME).path.read_bytes()


def _applescripts() -> list[Path]:
    scripts = sorted(addins.xlwings_folder().glob(f"xlwings-{xlwings_version()}.applescript"))
    if not scripts:
        raise InstallError(f"xlwings 里找不到 xlwings-{xlwings_version()}.applescript：请重新安装 refund-sheet。" + UNCHANGED)
    return scripts


# ---------------------------------------------------------------------------------------------------------------
# Doctor: what the add-in will find at run time.


@dataclass(frozen=True)
class Check:
    """One line of ``doctor``: ok True (fine), False (``fix`` says what to do) or None (does not apply here)."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


def dll_folders(settings: Mapping[str, str]) -> list[Path]:
    """The two folders ``XLPyLoadDLL`` tries, for these settings."""
    if "INTERPRETER_WIN" in settings:
        python = Path(settings["INTERPRETER_WIN"])
    else:
        root, env = Path(settings["CONDA PATH"]), settings["CONDA ENV"]
        if env == "base":
            python = root / "pythonw"
        elif "\\" in env or "/" in env:
            python = Path(env) / "pythonw"
        else:
            python = root / "envs" / env / "pythonw"
    return [python.parent, python.parent.parent]


def dll_check(machine: Machine, settings: Mapping[str, str], dlls: list[Path] | None = None) -> Check:
    """Is xlwings' DLL where the worksheet functions will look for it? If not: the command that fixes it."""
    name = "DLL"
    if not machine.windows:
        return Check(name, None, "只有 Windows 的工作表函数（REFUND_*）用 xlwings 的 DLL")
    wanted = dll_name()
    folders = dll_folders(settings)
    for folder in folders:
        if (folder / wanted).is_file():
            return Check(name, True, str(folder / wanted))
    elsewhere = [p for p in (installed_dlls() if dlls is None else dlls) if p.name.lower() == wanted.lower()]
    where = f"（它在 {elsewhere[0].parent}）" if elsewhere else ""
    detail = f"工作表函数要的 {wanted} 不在 {folders[0]} 或 {folders[1]}{where}，按钮不受影响"
    if elsewhere and "windowsapps" not in str(folders[0]).lower():
        return Check(name, False, detail, f'复制过去：copy "{elsewhere[0]}" "{folders[0]}"，或{VENV_FIX}')
    return Check(name, False, detail, VENV_FIX)


def _interpreter(machine: Machine, settings: Mapping[str, str]) -> Path | None:
    """The python.exe the buttons run for these settings (a conda environment's is in its root)."""
    key = "INTERPRETER_WIN" if machine.windows else "INTERPRETER_MAC"
    if key in settings:
        return Path(settings[key])
    if "CONDA PATH" in settings and "CONDA ENV" in settings:
        return dll_folders(settings)[0] / "python.exe"
    return None


def doctor(machine: Machine | None = None, run: Callable = subprocess.run, dlls: list[Path] | None = None) -> list[Check]:
    """Interpreter, add-in, settings, DLL, module import and templates, each ok or with its fix."""
    machine = machine or this_machine()
    excel_here = machine.windows or machine.mac
    checks = [Check("Python", sys.version_info >= (3, 11), f"{machine.executable}（Python {sys.version.split()[0]}）",
                    "需要 Python 3.11 或更新")]
    settings: dict[str, str] = {}
    if excel_here:
        checks.append(_addin_check(machine))
        config_check, settings = _config_check(machine)
        checks.append(config_check)
    else:
        checks.append(Check("加载项", None, f"这台电脑（{machine.platform}）没有 Excel；refund-sheet addin build 可以生成加载项"))
    checks.append(dll_check(machine, settings or settings_for(machine), dlls))
    checks.append(_module_check(_interpreter(machine, settings) if settings else machine.executable, run))
    checks.append(_templates_check())
    return checks


def _addin_check(machine: Machine) -> Check:
    target = xlstart_folder(machine) / addins.ADDIN_NAME
    if not target.is_file():
        return Check("加载项", False, f"{target} 不存在", "运行 addin install（先关闭 Excel）")
    with tempfile.TemporaryDirectory(prefix="refund-sheet-") as folder:
        fresh = addins.build(Path(folder) / addins.ADDIN_NAME).path.read_bytes()  # the build is reproducible
    if target.read_bytes() != fresh:
        return Check("加载项", False, f"{target} 不是这个版本构建的", "关闭 Excel，重新运行 addin install")
    return Check("加载项", True, f"{target}（与当前版本一致）")


def _config_check(machine: Machine) -> tuple[Check, dict[str, str]]:
    config = config_file(machine)
    if not config.is_file():
        return Check("设置", False, f"{config} 不存在", "运行 addin install"), {}
    settings = read_settings(config.read_bytes(), machine.code_page)
    wanted = settings_for(machine)
    owned = WINDOWS_KEYS if machine.windows else MAC_KEYS
    mine = {k: v for k, v in settings.items() if k in owned}
    interpreter = _interpreter(machine, mine)
    if interpreter is None or not interpreter.is_file():
        return Check("设置", False, f"{config} 指向的 Python 不存在：{interpreter}", "在装了 refund-sheet 的环境里运行 addin install"), mine
    if mine != wanted:
        return Check("设置", False, f"{config} 指向别的 Python：{mine}", "要用这个 Python 就在这里运行 addin install"), mine
    return Check("设置", True, f"{config}（{machine.code_page}）：{', '.join(f'{k}={v}' for k, v in mine.items())}"), mine


def _module_check(interpreter: Path | None, run: Callable) -> Check:
    code = "import refund_sheet.excel, xlwings; print(xlwings.__version__)"
    try:
        done = run([str(interpreter), "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Check("模块", False, f"{interpreter} 无法运行：{error}", "在装了 refund-sheet 的环境里运行 addin install")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return Check("模块", False, f"{interpreter} 导入 refund_sheet.excel 失败：{last}", "用这个 Python 重新 pip install refund-sheet")
    found = done.stdout.strip()
    if found != xlwings_version():
        return Check("模块", False, f"{interpreter} 的 xlwings 是 {found}，加载项要 {xlwings_version()}", "关闭 Excel，重新运行 addin install")
    return Check("模块", True, f"{interpreter} 能导入 refund_sheet.excel（xlwings {found}）")


def _templates_check() -> Check:
    from .replies import BUILTIN, check_templates  # jinja2 only when asked

    try:
        problems, rendered = check_templates(None)
    except RefundSheetError as error:
        return Check("模板", False, str(error), "按 README 重新安装 refund-sheet")
    if problems or not rendered:
        return Check("模板", False, f"{BUILTIN}：{len(problems)} 处错误，渲染了 {rendered} 个回复", "按 README 重新安装 refund-sheet")
    return Check("模板", True, f"{BUILTIN}（渲染了 {rendered} 个回复）")


# ---------------------------------------------------------------------------------------------------------------
# Mac paths at run time.


def hfs_to_posix(hfs: str, volumes: Path = Path("/Volumes")) -> str:
    """The POSIX path of an HFS path, as Mac Excel's ``get open filename`` answers (导入售后单's dialog).

    ``Macintosh HD:Users:me:售后.csv`` is on the start-up disk, whose ``/Volumes/Macintosh HD`` is a link to ``/``:
    ``/Users/me/售后.csv``. Any other volume is mounted under /Volumes: ``U盘:导出:售后.csv`` is
    ``/Volumes/U盘/导出/售后.csv``. A ``/`` inside an HFS name is a ``:`` in the POSIX name, and the reverse.
    """
    volume, _, rest = hfs.partition(":")
    names = [name.replace("/", ":") for name in rest.split(":") if name]
    mount = volumes / volume.replace("/", ":")
    start_up_disk = not mount.exists() or mount.resolve() == Path("/").resolve()
    return ("" if start_up_disk else str(mount)) + "/" + "/".join(names)
