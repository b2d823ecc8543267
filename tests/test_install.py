"""`refund-sheet addin install` and `refund-sheet doctor` on the computers merchants have, described as files in
tmp_path: a Chinese Windows (code page cp936) with the user 张三, an English one (cp1252), a conda environment, a
--user or Microsoft Store Python, a Mac. What the add-in's VBA will do with those files is taken from its source
(refund_sheet/install.py names each VBA function). Every failure is one line and leaves every file as it was.

Two things are simulated because these tests run as root on Linux: Excel holding the add-in open (on Windows,
replacing it raises PermissionError) and a folder without write permission (root may write anywhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from refund_sheet import addin, install
from refund_sheet.cli import main
from refund_sheet.install import InstallError, Machine

DLL = install.dll_name()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return addin.build(tmp_path_factory.mktemp("built") / "RefundSheet.xlam").path


def windows(tmp_path: Path, user: str = "张三", code_page: str = "cp936", python: Path | None = None,
            prefix: Path | None = None, excel_started: bool = True, environ: dict | None = None) -> Machine:
    """A Windows user's folders under tmp_path; by default a python.org Python installed for this user, with
    xlwings' DLL where pip puts it (sys.prefix, beside python.exe), and Excel started once."""
    home = tmp_path / "Users" / user
    appdata = home / "AppData" / "Roaming"
    if python is None:
        prefix = home / "AppData" / "Local" / "Programs" / "Python" / "Python311"
        python = prefix / "python.exe"
        touch(prefix / DLL)
    touch(python)
    if excel_started:
        (appdata / "Microsoft" / "Excel").mkdir(parents=True, exist_ok=True)
    env = {"APPDATA": str(appdata), "USERPROFILE": str(home), **(environ or {})}
    return Machine("win32", home, env, python, prefix or python.parent, code_page)


def mac(tmp_path: Path, python: Path | None = None) -> Machine:
    home = tmp_path / "Users" / "me"
    python = python or home / ".venvs" / "shop" / "bin" / "python3"
    touch(python)
    (home / "Library" / "Group Containers" / "UBF8T346G9.Office").mkdir(parents=True)
    return Machine("darwin", home, {}, python, python.parent.parent, "utf-8")


def touch(path: Path, data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under root, with the files' bytes: to prove that nothing was written."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.endswith("没有做任何修改。"), message
    return message


# ---------------------------------------------------------------------------------------------------------------
# The settings file, in the code page the VBA reads.


def test_chinese_windows_gets_the_settings_in_cp936_and_they_read_back(built, tmp_path):
    machine = windows(tmp_path, user="张三", code_page="cp936")
    result = install.install(built, machine, dlls=[])
    python = str(machine.executable)
    assert "张三" in python
    config = tmp_path / "Users" / "张三" / ".refundsheet" / "refundsheet.conf"
    assert result.config == config
    assert config.read_bytes() == b'"INTERPRETER_WIN","' + python.encode("cp936") + b'"\r\n'
    assert install.read_settings(config.read_bytes(), "cp936") == {"INTERPRETER_WIN": python}
    # what the old UTF-8 file gave the VBA on a Chinese Windows: mojibake, "Could not find Interpreter!"
    assert install.read_settings(python.encode("utf-8").join([b'"INTERPRETER_WIN","', b'"']), "cp936") != {"INTERPRETER_WIN": python}
    target = tmp_path / "Users" / "张三" / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART" / "RefundSheet.xlam"
    assert result.addin == target and target.read_bytes() == built.read_bytes()
    assert result.warnings == ()  # the DLL is beside python.exe


def test_the_windows_path_of_the_issue_reads_back_in_cp936():
    """The exact path a merchant called 张三 has, as the VBA on a Chinese Windows reads it."""
    python = r"C:\Users\张三\AppData\Local\Programs\Python\Python311\python.exe"
    machine = Machine("win32", Path("."), {}, Path(python), Path("."), "cp936")
    data = install.config_bytes(None, {"INTERPRETER_WIN": python}, machine)
    assert data == '"INTERPRETER_WIN","C:\\Users\\张三\\AppData\\Local\\Programs\\Python\\Python311\\python.exe"\r\n'.encode("cp936")
    assert install.read_settings(data, "cp936") == {"INTERPRETER_WIN": python}
    with pytest.raises(InstallError, match="cp1252"):
        install.config_bytes(None, {"INTERPRETER_WIN": python}, Machine("win32", Path("."), {}, Path(python), Path("."), "cp1252"))


def test_english_windows_reads_back_a_latin_user_name_in_cp1252(built, tmp_path):
    machine = windows(tmp_path, user="Zoë", code_page="cp1252")
    result = install.install(built, machine, dlls=[])
    data = result.config.read_bytes()
    assert b"Zo\xeb" in data  # cp1252's ë, one byte
    assert install.read_settings(data, "cp1252") == {"INTERPRETER_WIN": str(machine.executable)}


def test_english_windows_cannot_hold_a_chinese_user_name_one_line_names_the_fix_nothing_written(built, tmp_path):
    machine = windows(tmp_path, user="张三", code_page="cp1252")
    before = snapshot(tmp_path)
    with pytest.raises(InstallError) as error:
        install.install(built, machine, dlls=[])
    message = one_line(error)
    assert "cp1252" in message and "张三" in message and "设置文件的路径" in message
    # the VBA finds the settings through the user folder: another Python folder cannot help, only the locale
    assert "中文(简体，中国)" in message and "py -m venv" not in message
    assert snapshot(tmp_path) == before


def test_a_python_in_a_chinese_folder_on_english_windows_is_refused_before_anything_is_written(built, tmp_path):
    python = tmp_path / "工具" / "python.exe"
    machine = windows(tmp_path, user="shop", code_page="cp1252", python=python)
    before = snapshot(tmp_path)
    with pytest.raises(InstallError) as error:
        install.install(built, machine, dlls=[])
    message = one_line(error)
    assert "工具" in message and "py -m venv C:\\refund-sheet" in message and "中文(简体，中国)" in message  # either fix
    assert snapshot(tmp_path) == before


def test_other_settings_are_kept_byte_for_byte_and_the_old_interpreter_replaced(built, tmp_path):
    machine = windows(tmp_path, user="张三")
    config = install.config_file(machine)
    mine = '"PYTHONPATH","D:\\店铺\\脚本"'.encode("cp936")
    touch(config, mine + b'\r\n"INTERPRETER_WIN","C:\\old\\python.exe"\r\n"CONDA ENV","old"\r\n')
    install.install(built, machine, dlls=[])
    lines = config.read_bytes().split(b"\r\n")
    assert lines == [mine, f'"INTERPRETER_WIN","{machine.executable}"'.encode("cp936"), b""]


# ---------------------------------------------------------------------------------------------------------------
# Conda, as xlwings' own `xlwings config create` writes it.


def conda_machine(tmp_path: Path, env: str | None = "shop", old_conda: bool = False) -> Machine:
    root = tmp_path / "Users" / "me" / "miniconda3"
    if not old_conda:
        touch(root / "condabin" / "conda.bat")
    prefix = root / "envs" / env if env else root
    (prefix / "conda-meta").mkdir(parents=True)
    touch(prefix / DLL)  # pip in a conda environment puts data files in the environment's root
    environ = {"CONDA_EXE": str(root / "Scripts" / "conda.exe"), "CONDA_DEFAULT_ENV": env or "base"}
    return windows(tmp_path, user="me", python=prefix / "python.exe", prefix=prefix, environ=environ)


def xlwings_config_create(machine: Machine, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """What xlwings 0.37.8's own `xlwings config create` writes for the same environment."""
    import xlwings
    import xlwings.cli

    monkeypatch.setattr(sys, "platform", machine.platform)
    monkeypatch.setattr(sys, "executable", str(machine.executable))
    for name in ("CONDA_EXE", "CONDA_DEFAULT_ENV"):
        monkeypatch.setenv(name, machine.environ[name])
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(tmp_path / "xlwings" / "xlwings.conf"))
    xlwings.cli.config_create(types.SimpleNamespace(force=True))
    return install.read_settings((tmp_path / "xlwings" / "xlwings.conf").read_bytes(), "utf-8")


def test_a_conda_environment_gets_conda_path_and_env_like_xlwings_writes(built, tmp_path, monkeypatch):
    machine = conda_machine(tmp_path, "shop")
    touch(install.config_file(machine), b'"INTERPRETER_WIN","C:\\old\\python.exe"\r\n')
    result = install.install(built, machine, dlls=[])
    root = str(tmp_path / "Users" / "me" / "miniconda3")
    written = install.read_settings(result.config.read_bytes(), "cp936")
    assert written == {"CONDA PATH": root, "CONDA ENV": "shop"}  # no INTERPRETER_WIN: the VBA then activates conda
    assert xlwings_config_create(machine, tmp_path, monkeypatch) == written
    assert install.dll_folders(written)[0] == machine.prefix  # XLPyLoadDLL: CONDA PATH\envs\ENV
    assert install.dll_check(machine, written, []).ok is True and result.warnings == ()


def test_conda_base_and_an_environment_outside_envs(tmp_path):
    assert install.settings_for(conda_machine(tmp_path / "a", env=None)) == {
        "CONDA PATH": str(tmp_path / "a" / "Users" / "me" / "miniconda3"), "CONDA ENV": "base"}
    elsewhere = tmp_path / "b" / "projects" / "shop-env"
    (elsewhere / "conda-meta").mkdir(parents=True)
    touch(tmp_path / "b" / "miniconda3" / "condabin" / "conda.bat")
    machine = windows(tmp_path / "b", user="me", python=elsewhere / "python.exe", prefix=elsewhere,
                      environ={"CONDA_EXE": str(tmp_path / "b" / "miniconda3" / "Scripts" / "conda.exe")})
    settings = install.settings_for(machine)
    assert settings == {"CONDA PATH": str(tmp_path / "b" / "miniconda3"), "CONDA ENV": str(elsewhere)}
    assert install.dll_folders(settings)[0] == elsewhere  # the VBA's "path to a non-default env location"


def test_a_conda_too_old_for_the_vba_gets_the_interpreter_instead(tmp_path):
    machine = conda_machine(tmp_path, old_conda=True)  # no condabin\conda.bat: CheckConda would refuse
    assert install.settings_for(machine) == {"INTERPRETER_WIN": str(machine.executable)}


def test_on_a_mac_conda_is_an_interpreter_as_xlwings_writes_it(tmp_path):
    machine = mac(tmp_path)
    (machine.prefix / "conda-meta").mkdir()
    assert install.settings_for(machine) == {"INTERPRETER_MAC": str(machine.executable)}


# ---------------------------------------------------------------------------------------------------------------
# The xlwings DLL of the worksheet functions.


def test_the_dll_of_a_virtual_environment_is_one_folder_up(tmp_path):
    venv = tmp_path / "refund-sheet"
    touch(venv / DLL)
    machine = windows(tmp_path, python=venv / "Scripts" / "python.exe", prefix=venv)
    check = install.dll_check(machine, install.settings_for(machine), [venv / DLL])
    assert check.ok is True and check.detail == str(venv / DLL)


def test_a_user_install_puts_the_dll_where_the_vba_does_not_look_and_says_what_to_copy(built, tmp_path):
    home = tmp_path / "Users" / "me"
    prefix = home / "AppData" / "Local" / "Programs" / "Python" / "Python311"
    user_dll = touch(home / "AppData" / "Roaming" / "Python" / DLL)  # pip install --user: %APPDATA%\Python
    machine = windows(tmp_path, user="me", python=prefix / "python.exe", prefix=prefix)
    check = install.dll_check(machine, install.settings_for(machine), [user_dll])
    assert check.ok is False
    assert str(prefix) in check.detail and str(user_dll.parent) in check.detail
    assert f'copy "{user_dll}" "{prefix}"' in check.fix
    result = install.install(built, machine, dlls=[user_dll])  # the buttons do not need it: a warning
    assert result.addin.exists() and len(result.warnings) == 1 and "copy" in result.warnings[0]


def test_the_microsoft_store_python_is_sent_to_a_virtual_environment(tmp_path):
    apps = tmp_path / "Users" / "me" / "AppData" / "Local" / "Microsoft" / "WindowsApps"
    python = apps / "PythonSoftwareFoundation.Python.3.11_qbz5n2kfra8p0" / "python.exe"
    store_dll = touch(tmp_path / "Users" / "me" / "AppData" / "Local" / "Packages" / "PythonSoftwareFoundation.Python.3.11"
                      / "LocalCache" / "local-packages" / DLL)
    machine = windows(tmp_path, user="me", python=python, prefix=python.parent)
    check = install.dll_check(machine, install.settings_for(machine), [store_dll])
    assert check.ok is False and "copy" not in check.fix and "py -m venv" in check.fix


def test_the_dll_check_does_not_apply_on_a_mac(tmp_path):
    assert install.dll_check(mac(tmp_path), {}, []).ok is None


# ---------------------------------------------------------------------------------------------------------------
# Every failure: one line, nothing written.


def test_no_excel_folder_means_excel_never_started(built, tmp_path):
    machine = windows(tmp_path, excel_started=False)
    before = snapshot(tmp_path)
    with pytest.raises(InstallError) as error:
        install.install(built, machine, dlls=[])
    assert "请先打开一次 Excel" in one_line(error) and "Microsoft" in str(error.value)
    assert snapshot(tmp_path) == before


def test_a_missing_xlstart_is_made_inside_excels_folder(built, tmp_path):
    machine = windows(tmp_path)
    assert not install.xlstart_folder(machine).exists()
    assert install.install(built, machine, dlls=[]).addin.parent == install.xlstart_folder(machine)


def test_excel_holding_the_addin_is_one_line_and_changes_nothing(built, tmp_path, monkeypatch):
    machine = windows(tmp_path)
    touch(install.xlstart_folder(machine) / "RefundSheet.xlam", b"the add-in Excel has open")
    touch(install.config_file(machine), b'"INTERPRETER_WIN","C:\\old\\python.exe"\r\n')
    before = snapshot(tmp_path)
    real_replace = os.replace

    def locked(source, target):  # what Windows does while Excel has the add-in open
        if str(target).endswith(".xlam"):
            raise PermissionError(13, "Permission denied", str(target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(InstallError) as error:
        install.install(built, machine, dlls=[])
    assert one_line(error).startswith("Excel 正在使用 ") and "关闭所有 Excel 窗口" in str(error.value)
    assert snapshot(tmp_path) == before  # no temporary file left either


def test_no_permission_on_xlstart_is_one_line_and_changes_nothing(built, tmp_path, monkeypatch):
    machine = windows(tmp_path)
    before = snapshot(tmp_path)
    real = install.tempfile.mkstemp

    def refused(*args, **kwargs):
        if Path(kwargs["dir"]).name == "XLSTART":
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(install.tempfile, "mkstemp", refused)
    with pytest.raises(InstallError) as error:
        install.install(built, machine, dlls=[])
    assert one_line(error).startswith("没有权限写入 ") and "XLSTART" in str(error.value)
    assert snapshot(tmp_path) == before  # the XLSTART folder it had made is gone again


def test_a_settings_file_that_cannot_be_replaced_puts_the_old_addin_back(built, tmp_path, monkeypatch):
    machine = windows(tmp_path)
    touch(install.xlstart_folder(machine) / "RefundSheet.xlam", b"yesterday's add-in")
    before = snapshot(tmp_path)
    real_replace = os.replace

    def full_disk(source, target):
        if str(target).endswith(".conf"):
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(InstallError) as error:
        install.install(built, machine, dlls=[])
    assert "No space left on device" in one_line(error)
    assert snapshot(tmp_path) == before


def test_the_command_prints_one_line_and_exits_1(built, tmp_path, monkeypatch):
    machine = windows(tmp_path, excel_started=False)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(install, "this_machine", lambda: machine)
    result = CliRunner().invoke(main, ["addin", "install", "--file", str(built)])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and result.output.startswith("Error: 找不到 Excel")


def test_the_command_on_windows_says_what_it_wrote(built, tmp_path, monkeypatch):
    home = tmp_path / "Users" / "me"
    user_dll = touch(home / "AppData" / "Roaming" / "Python" / DLL)
    machine = windows(tmp_path, user="me")
    (machine.prefix / DLL).unlink()
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(install, "this_machine", lambda: machine)
    monkeypatch.setattr(install, "installed_dlls", lambda: [user_dll])
    result = CliRunner().invoke(main, ["addin", "install", "--file", str(built)])
    assert result.exit_code == 0, result.output
    assert f"已安装加载项：{install.xlstart_folder(machine) / 'RefundSheet.xlam'}" in result.output
    assert f"INTERPRETER_WIN = {machine.executable}" in result.output
    assert "注意：" in result.output and "copy" in result.output  # the DLL, with the command that fixes it


def test_on_linux_the_command_says_there_is_no_excel_and_where_the_addin_is(built, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    result = CliRunner().invoke(main, ["addin", "install", "--file", str(built)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "没有 Excel" in result.output and str(built.resolve()) in result.output
    with pytest.raises(InstallError, match="不是 Windows 或 macOS"):
        install.install(built, Machine("linux", Path("."), {}, Path(sys.executable), Path(sys.prefix), "utf-8"))


# ---------------------------------------------------------------------------------------------------------------
# The Mac.


def test_install_on_a_mac_writes_utf8_settings_and_xlwings_applescript(built, tmp_path):
    machine = mac(tmp_path)
    result = install.install(built, machine)
    home = tmp_path / "Users" / "me"
    startup = home / "Library" / "Group Containers" / "UBF8T346G9.Office" / "User Content" / "Startup" / "Excel"
    assert result.addin == startup / "RefundSheet.xlam" and result.addin.read_bytes() == built.read_bytes()
    assert result.config == home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "refundsheet.conf"
    assert result.config.read_bytes() == f'"INTERPRETER_MAC","{machine.executable}"\n'.encode()
    script = home / "Library" / "Application Scripts" / "com.microsoft.Excel" / "xlwings-0.37.8.applescript"
    assert result.scripts == (script,) and script.read_bytes() == (addin.xlwings_folder() / script.name).read_bytes()


def test_a_mac_without_office_started_is_refused(built, tmp_path):
    machine = mac(tmp_path)
    (machine.home / "Library" / "Group Containers" / "UBF8T346G9.Office").rmdir()
    before = snapshot(tmp_path)
    with pytest.raises(InstallError) as error:
        install.install(built, machine)
    assert "UBF8T346G9.Office" in one_line(error) and snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("hfs", "posix"),
    [
        ("Macintosh HD:Users:me:Downloads:售后列表导出.csv", "/Users/me/Downloads/售后列表导出.csv"),
        ("U盘:抖店:导出 11/20.csv", "{volumes}/U盘/抖店/导出 11:20.csv"),  # HFS "/" is POSIX ":"
        ("Backup:", "{volumes}/Backup/"),
        ("Gone Disk:a.csv", "/a.csv"),  # not under /Volumes: taken as the start-up disk, as before
    ],
)
def test_the_import_dialogs_hfs_answer_becomes_a_posix_path_on_any_volume(tmp_path, hfs, posix):
    volumes = tmp_path / "Volumes"
    volumes.mkdir()
    (volumes / "Macintosh HD").symlink_to("/")  # what macOS has for its start-up disk
    (volumes / "U盘").mkdir()
    (volumes / "Backup").mkdir()
    assert install.hfs_to_posix(hfs, volumes) == posix.format(volumes=volumes)


# ---------------------------------------------------------------------------------------------------------------
# doctor.


def fake_python(version: str = "0.37.8", returncode: int = 0, stderr: str = ""):
    """Stands in for running the configured python.exe, which does not exist on this computer."""
    calls = []

    def run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, returncode, stdout=version + "\n", stderr=stderr)

    run.calls = calls
    return run


def test_doctor_after_install_on_windows_is_all_ok(built, tmp_path):
    machine = windows(tmp_path)
    install.install(None, machine, dlls=[])  # builds the add-in itself, as the command does
    run = fake_python()
    checks = install.doctor(machine, run, dlls=[])
    assert [(c.name, c.ok) for c in checks] == [("Python", True), ("加载项", True), ("设置", True), ("DLL", True),
                                                ("模块", True), ("模板", True)]
    assert run.calls == [[str(machine.executable), "-c", "import refund_sheet.excel, xlwings; print(xlwings.__version__)"]]


def test_doctor_names_each_problem_and_its_fix(built, tmp_path):
    machine = windows(tmp_path)
    checks = {c.name: c for c in install.doctor(machine, fake_python(returncode=1, stderr="ModuleNotFoundError: x"), dlls=[])}
    assert checks["加载项"].ok is False and "addin install" in checks["加载项"].fix
    assert checks["设置"].ok is False and "不存在" in checks["设置"].detail
    assert checks["模块"].ok is False and "ModuleNotFoundError" in checks["模块"].detail
    touch(install.xlstart_folder(machine) / "RefundSheet.xlam", b"an old add-in")
    touch(install.config_file(machine), b'"INTERPRETER_WIN","C:\\other\\python.exe"\r\n')
    (machine.prefix / DLL).unlink()
    checks = {c.name: c for c in install.doctor(machine, fake_python("0.30.0"), dlls=[])}
    assert checks["加载项"].ok is False and "重新运行 addin install" in checks["加载项"].fix
    assert checks["设置"].ok is False and "C:\\other\\python.exe" in checks["设置"].detail
    assert checks["DLL"].ok is False and "py -m venv" in checks["DLL"].fix
    assert checks["模块"].ok is False and "0.30.0" in checks["模块"].detail


def test_doctor_here_runs_the_real_import_and_the_real_templates():
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("ok Python：") and any(line.startswith("ok 模块：") for line in lines)
    assert any(line.startswith("ok 模板：") and "渲染了 18 个回复" in line for line in lines)


def test_a_missing_addin_file_is_one_line(tmp_path):
    machine = windows(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(InstallError) as error:
        install.install(tmp_path / "nowhere" / "RefundSheet.xlam", machine, dlls=[])
    assert "nowhere" in one_line(error) and snapshot(tmp_path) == before
