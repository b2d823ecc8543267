"""Helpers that let a test write a register row or a policy row as the merchant would type it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import hypothesis_profiles  # noqa: F401  (registers the ci/long hypothesis profiles)
import openpyxl
import pytest

from refund_sheet.engine import default_policy, judge_all
from refund_sheet.engine.columns import INPUT_COLUMNS, map_headers
from refund_sheet.engine.parse import read_facts

NOW = datetime(2026, 11, 20, 12, 0)

HEADERS = [c.header for c in INPUT_COLUMNS]

# A complete, ordinary case: a T-shirt delivered on the 16th, a request on the 18th. Tests change what they need.
BASE = {
    "售后单号": "AS0001",
    "订单号": "6923456789012345678",
    "买家": "小王",
    "商品名称": "纯棉T恤",
    "商家编码": "TS-001",
    "商品类目": "服装",
    "售后类型": "退货退款",
    "售后原因": "尺码不合适",
    "实付金额": "99.00",
    "申请金额": "99.00",
    "运费": "10",
    "签收时间": "2026-11-16 10:00",
    "申请时间": "2026-11-18 09:00",
    "凭证": "否",
}


def row(**changes) -> dict:
    """BASE with some cells changed, keyed by header: ``row(售后原因="商品破损", 凭证="是")``."""
    data = dict(BASE)
    data.update(changes)
    return data


def facts_of(rows: list[dict], policy=None, sheet="退款登记"):
    policy = policy or default_policy()
    headers = list(dict.fromkeys(h for r in rows for h in r))
    found = map_headers(headers)
    letters = {key: openpyxl.utils.get_column_letter(i + 1) for key, i in found.items()}
    return [
        read_facts([r.get(h) for h in headers], found, letters, sheet, n, policy)
        for n, r in enumerate(rows, start=2)
    ]


def judge_rows(rows: list[dict], now: datetime = NOW, policy=None):
    """Verdicts for rows of header → value, through the same parsing the workbook path uses."""
    policy = policy or default_policy()
    return judge_all(facts_of(rows, policy), policy, now)


def judge_row(now: datetime = NOW, policy=None, **changes):
    return judge_rows([row(**changes)], now, policy)[0]


def write_register(path: Path, rows: list[dict], headers: list[str] | None = None, sheet="退款登记") -> Path:
    """A real .xlsx with one header row and the rows (missing cells blank)."""
    headers = headers or list(dict.fromkeys(h for r in rows for h in r))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text typed by a merchant or pasted from an export, never a formula
    wb.save(path)
    return path


def read_register(path: Path, sheet="退款登记") -> list[dict]:
    """The rows of a saved register as header → value, re-read with openpyxl."""
    ws = openpyxl.load_workbook(path)[sheet]
    values = list(ws.iter_rows(values_only=True))
    headers = values[0]
    return [dict(zip(headers, r)) for r in values[1:]]


@pytest.fixture
def tracker(tmp_path):
    """A factory: tracker(rows) → path of a register workbook in tmp_path."""

    def make(rows, name="tracker.xlsx", **kw):
        return write_register(tmp_path / name, rows, **kw)

    return make


@pytest.fixture
def click(monkeypatch):
    """click(book, "import_cases", export=path): pressing a ribbon button on a stand-in workbook
    (tests/fake_excel.py) at NOW; the file dialog answers ``export`` (None is Cancel)."""
    import xlwings as xw

    from refund_sheet import excel, service

    monkeypatch.setattr(service, "now_in", lambda tz: NOW)

    def press(book, control_id: str, export=None):
        monkeypatch.setattr(xw.Book, "caller", lambda: book)
        monkeypatch.setattr(excel, "choose_export", lambda b: None if export is None else str(export))
        excel.on_button(control_id)
        return book

    return press
