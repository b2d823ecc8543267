"""The ribbon is reviewed text whose callbacks name real code: addin/customUI14.xml ↔ addin/*.bas ↔ excel.BUTTONS.
And `refund-sheet addin install` puts the add-in where Excel looks, on Windows and macOS."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from refund_sheet import addin, excel
from refund_sheet.cli import main

ADDIN = Path(__file__).parent.parent / "addin"
NS = {"ui": "http://schemas.microsoft.com/office/2009/07/customui"}
RIBBON = ET.parse(ADDIN / "customUI14.xml").getroot()
BUTTONS = RIBBON.findall(".//ui:button", NS)
VBA = {path.stem: path.read_text(encoding="utf-8") for path in ADDIN.glob("*.bas")}


def test_the_tab_and_its_groups_are_as_the_spec_says():
    tab = RIBBON.find(".//ui:tab", NS)
    assert tab.get("label") == "退款助手"
    groups = {g.get("label"): [b.get("label") for b in g.findall("ui:button", NS)] for g in tab.findall("ui:group", NS)}
    assert groups == {
        "处理": ["检查全部", "检查选中行", "生成回复"],
        "时效": ["刷新时效"],
        "数据": ["导入售后单", "更新统计"],
        "设置": ["规则表", "说明"],
    }


def test_ids_are_unique_and_every_button_has_an_icon_and_a_tip():
    ids = [e.get("id") for e in RIBBON.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    for button in BUTTONS:
        assert button.get("imageMso") and button.get("supertip") and button.get("size") == "large"


def test_every_on_action_names_a_public_sub_taking_the_ribbon_control():
    for button in BUTTONS:
        module, _, sub = button.get("onAction").rpartition(".")
        assert module in VBA, button.get("onAction")
        assert re.search(rf"^Public Sub {sub}\(control As IRibbonControl\)\s*$", VBA[module], re.M), button.get("onAction")


def test_every_button_has_a_python_handler_and_every_handler_a_button():
    assert {b.get("id") for b in BUTTONS} == set(excel.BUTTONS)


def test_the_vba_sources_are_ascii():
    for path in ADDIN.glob("*.bas"):
        assert path.read_text(encoding="utf-8").isascii(), path
    assert (ADDIN / "ThisWorkbook.cls").read_text(encoding="utf-8").isascii()


def test_the_shipped_sources_are_the_reviewed_ones():
    """The package reaches addin/ through refund_sheet/_addin, as it reaches templates/ through _templates."""
    assert (addin.SOURCES / "customUI14.xml").read_bytes() == (ADDIN / "customUI14.xml").read_bytes()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return addin.build(tmp_path_factory.mktemp("install") / "RefundSheet.xlam").path


def test_install_on_windows_copies_to_xlstart_and_points_at_this_python(built, tmp_path):
    appdata, profile = tmp_path / "AppData" / "Roaming", tmp_path / "Users" / "me"
    environ = {"APPDATA": str(appdata), "USERPROFILE": str(profile)}
    config = profile / ".refundsheet" / "refundsheet.conf"
    config.parent.mkdir(parents=True)
    config.write_text('"PYTHONPATH","D:\\\\shop"\n"INTERPRETER_WIN","C:\\\\old\\\\python.exe"\n', encoding="utf-8")
    result = addin.install(built, platform="win32", home=tmp_path, environ=environ)
    assert result.addin == appdata / "Microsoft" / "Excel" / "XLSTART" / "RefundSheet.xlam"
    assert result.addin.read_bytes() == built.read_bytes()
    assert result.config == config
    assert config.read_text(encoding="utf-8").splitlines() == ['"PYTHONPATH","D:\\\\shop"', f'"INTERPRETER_WIN","{sys.executable}"']


def test_install_on_macos_uses_excels_startup_folder_and_enables_runpython(built, tmp_path):
    result = addin.install(built, platform="darwin", home=tmp_path, environ={})
    startup = tmp_path / "Library" / "Group Containers" / "UBF8T346G9.Office" / "User Content" / "Startup" / "Excel"
    assert result.addin == startup / "RefundSheet.xlam" and result.addin.exists()
    assert result.config == tmp_path / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "refundsheet.conf"
    assert result.config.read_text(encoding="utf-8") == f'"INTERPRETER_MAC","{sys.executable}"\n'
    scripts = tmp_path / "Library" / "Application Scripts" / "com.microsoft.Excel"
    assert [p.name for p in scripts.iterdir()] == ["xlwings-0.37.8.applescript"]


def test_install_elsewhere_explains_and_says_where_the_addin_is(built, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    result = CliRunner().invoke(main, ["addin", "install", "--file", str(built)])
    assert result.exit_code == 1
    assert "无法安装加载项" in result.output and str(built.resolve()) in result.output.replace("\n", "")
    with pytest.raises(addin.AddinError, match="不是 Windows 或 macOS"):
        addin.install(built, platform="linux")


def test_docs_describe_every_button_and_every_function():
    doc = (Path(__file__).parent.parent / "docs" / "excel.md").read_text(encoding="utf-8")
    for button in BUTTONS:
        assert f"| **{button.get('label')}** |" in doc, button.get("label")
    for function in excel.UDFS:
        assert f"`={function.__name__}(" in doc and f"| `{function.__name__}(" in doc, function.__name__
