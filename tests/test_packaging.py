"""The package carries its templates and add-in sources as real files, however it is installed or checked out.

.ci/run also builds the wheel and the sdist, installs them into fresh virtual environments, and does the same from
a clone made with symlinks disabled (.ci/install-check); these tests guard the pieces of that in the suite.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from refund_sheet import addin, replies, resources
from refund_sheet.cli import main

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
NOT_SOURCE = {".git", ".venv", ".hypothesis", ".pytest_cache", "build", "dist", "demo"}


def test_no_symlink_anywhere_in_the_repository():
    """Git for Windows and a zip download turn a symlink into a small text file holding its target."""
    links = [
        str(path.relative_to(ROOT))
        for top in ROOT.iterdir()
        if top.name not in NOT_SOURCE
        for path in ([top, *top.rglob("*")] if top.is_dir() and not top.is_symlink() else [top])
        if path.is_symlink()
    ]
    assert links == []


def test_every_python_package_is_listed_in_pyproject():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "refund_sheet").rglob("__init__.py")}
    assert found <= set(PYPROJECT["packages"]), "add the new package to [tool.setuptools] packages"


def package_folder(name: str) -> Path:
    """A listed package's folder in the checkout, following [tool.setuptools.package-dir]."""
    mapping = PYPROJECT.get("package-dir", {})
    for base in sorted(mapping, key=len, reverse=True):
        if name == base or name.startswith(base + "."):
            return ROOT / mapping[base] / Path(*name[len(base) :].split(".")[1:])
    return ROOT / Path(*name.split("."))


def test_every_template_and_addin_source_is_package_data():
    """pyproject maps templates/ and addin/ into the package: every file in them matches a package-data glob of
    the innermost package that holds it, so the wheel carries it."""
    folders = {package_folder(name): name for name in PYPROJECT["packages"]}
    for top in ("templates", "addin"):
        for path in (ROOT / top).rglob("*"):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            folder = max((f for f in folders if f in path.parents), key=lambda f: len(f.parts))
            globs = PYPROJECT["package-data"].get(folders[folder], [])
            assert any(fnmatch.fnmatch(path.relative_to(folder).as_posix(), g) for g in globs), path


def test_the_data_folders_are_found_installed_or_in_a_checkout(tmp_path):
    package = tmp_path / "site" / "refund_sheet"
    (package / "_templates").mkdir(parents=True)
    assert resources.data_folder("_templates", "templates", package) == package / "_templates"
    checkout = tmp_path / "checkout" / "refund_sheet"
    checkout.mkdir(parents=True)
    (checkout / "_templates").write_text("../templates")  # what core.symlinks=false makes of the old symlink
    (tmp_path / "checkout" / "templates").mkdir()
    assert resources.data_folder("_templates", "templates", checkout) == tmp_path / "checkout" / "templates"
    assert resources.data_folder("_addin", "addin", tmp_path / "empty") == tmp_path / "empty" / "_addin"
    assert (resources.TEMPLATES / "zh-CN" / "reject.j2").is_file() and (resources.ADDIN_SOURCES / "customUI14.xml").is_file()


def test_missing_templates_are_one_line_naming_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(replies, "BUILTIN", tmp_path / "_templates")
    result = CliRunner().invoke(main, ["templates", "check"])
    assert result.exit_code == 1 and "找不到内置回复模板" in result.output and str(tmp_path) in result.output
    assert "已渲染" in result.output and "已渲染 0 个回复，0 处错误" not in result.output


def test_missing_addin_sources_are_one_line_and_write_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(addin, "SOURCES", tmp_path / "_addin")
    result = CliRunner().invoke(main, ["addin", "build", "-o", str(tmp_path / "out" / "RefundSheet.xlam")])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "找不到加载项的源文件" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["--help"], ["templates", "check"]])
def test_python_dash_m_refund_sheet_runs_the_commands(command, tmp_path):
    """For Windows users whose Scripts folder is not on PATH: py -m refund_sheet …"""
    done = subprocess.run([sys.executable, "-m", "refund_sheet", *command], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("Usage: refund-sheet" in done.stdout) if command == ["--help"] else ("已渲染 18 个回复，0 处错误" in done.stdout)


def install_blocks() -> dict[str, list[str]]:
    """The code blocks of the README's install sections, by language, as lists of lines."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = readme.split("## Install on Windows", 1)[1].split("## What it does", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", sections, re.S)
    return {language: [line.strip() for line in body.strip().splitlines()] for language, body in blocks}


def test_the_readme_install_lines_are_real_commands_that_need_nothing_on_path():
    blocks = install_blocks()
    assert set(blocks) == {"powershell", "bat", "bash"}
    for language, lines in blocks.items():
        assert len(lines) == 4 and "-m venv" in lines[0] and "refund-sheet-main.zip" in lines[1], language
        assert "pip install refund-sheet" not in " ".join(lines)  # not on PyPI
        for line in lines[1:]:
            assert re.match(r'(& )?"?[$%~][^ ]*[/\\]python(\.exe)?"? -m ', line), line  # the environment's python
        commands = [line.split(" -m refund_sheet ", 1)[1].split() for line in lines if " -m refund_sheet " in line]
        assert commands == [["addin", "install"], ["doctor"]], language
        for command in commands:
            assert CliRunner().invoke(main, [*command, "--help"]).exit_code == 0, command
