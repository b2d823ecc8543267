"""The ribbon is reviewed text whose callbacks name real code: addin/customUI14.xml ↔ addin/*.bas ↔ excel.BUTTONS.
(`refund-sheet addin install`: tests/test_install.py.)"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from refund_sheet import addin, excel

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
    """In a checkout the package finds addin/ itself; installed, the same files are refund_sheet/_addin."""
    assert (addin.SOURCES / "customUI14.xml").read_bytes() == (ADDIN / "customUI14.xml").read_bytes()


def test_docs_describe_every_button_and_every_function():
    doc = (Path(__file__).parent.parent / "docs" / "excel.md").read_text(encoding="utf-8")
    for button in BUTTONS:
        assert f"| **{button.get('label')}** |" in doc, button.get("label")
    for function in excel.UDFS:
        assert f"`={function.__name__}(" in doc and f"| `{function.__name__}(" in doc, function.__name__
