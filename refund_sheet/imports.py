"""Merging the platform's after-sales export into the register, by 售后单号 (``refund-sheet import``).

``plan_merge`` is pure: rows of values in, a plan out (rows to append, cells to refresh, what was unchanged or
rejected and why). The workbook edge applies the plan; the Excel button can apply the same plan with xlwings.

What the merge may change: new cases are appended whole; for a known case only the platform's fields are
refreshed (status, amounts, deadline, risk flag, evidence, return received). The merchant's columns — 人工决定,
备注, their own extra columns, and anything they filled in themselves such as 类目 — are never overwritten;
buyer, category and 签收时间 are only filled where the register's cell is blank.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .engine.columns import BY_KEY, map_headers
from .engine.money import parse_money
from .engine.parse import CellError, clean_id, clean_text, parse_datetime
from .engine.policy import Policy

ID_KEYS = ("case_id", "order_id", "sku")
MONEY_KEYS = ("paid", "requested", "shipping_fee")
TIME_KEYS = ("delivered_at", "requested_at", "platform_deadline", "return_received_at")
PLATFORM_KEYS = (
    "type", "reason", "paid", "requested", "shipping_fee", "shipped", "requested_at", "platform_deadline",
    "evidence", "return_received_at", "status", "platform_risk",
)
FILL_BLANK_KEYS = ("buyer", "category", "delivered_at", "product", "sku", "order_id")
NEVER_KEYS = frozenset({"override", "note"})  # the merchant's, on known cases
IMPORT_KEYS = tuple(k for k in BY_KEY if k in PLATFORM_KEYS + FILL_BLANK_KEYS + ("case_id", "note"))


@dataclass
class MergePlan:
    """What an import will do; ``updates`` are (register row number, key → new value)."""

    appends: list[dict[str, object]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.appends or self.updates)

    def summary(self) -> str:
        lines = [f"新增 {len(self.appends)}，更新 {len(self.updates)}，未变 {len(self.unchanged)}，拒绝 {len(self.rejected)}"]
        lines += [f"  拒绝：{r}" for r in self.rejected[:20]]
        if len(self.rejected) > 20:
            lines.append(f"  …另有 {len(self.rejected) - 20} 行被拒绝")
        if self.ignored_columns:
            lines.append("登记表没有这些列，导出中的值未导入：" + "、".join(self.ignored_columns))
        return "\n".join(lines)


def typed(key: str, value: object, tz: str) -> object:
    """A cell value as the register stores it: IDs as text, money as Decimal, times as datetime, else text.
    A value that does not parse is kept as the text it was (``check`` will point at it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if key in ID_KEYS:
            return clean_id(value)
        if key in MONEY_KEYS:
            return parse_money(value)
        if key in TIME_KEYS:
            return parse_datetime(value, tz)
        return clean_text(value)
    except (CellError, ValueError):
        return clean_text(value) if not isinstance(value, (int, float)) else value


def _record(headers: Sequence[object], values: Sequence[object], keys: Sequence[str], tz: str) -> dict[str, object]:
    found = map_headers(list(headers))
    return {
        key: typed(key, values[found[key]] if found[key] < len(values) else None, tz)
        for key in keys
        if key in found
    }


def plan_merge(
    register_headers: Sequence[object],
    register_rows: Sequence[tuple[int, Sequence[object]]],
    export_headers: Sequence[object],
    export_rows: Sequence[tuple[int, Sequence[object]]],
    policy: Policy,
    orders: dict[str, dict[str, object]] | None = None,
    export_name: str = "导出",
) -> MergePlan:
    """Plan the merge of an export into the register (see the module docstring for what may change)."""
    tz = policy.params.timezone
    plan = MergePlan()
    export_found = map_headers(list(export_headers))
    if "case_id" not in export_found:
        plan.rejected.append(f"{export_name}：没有“售后单号”列，无法导入")
        return plan
    register_found = map_headers(list(register_headers))
    plan.ignored_columns = [
        BY_KEY[k].header for k in IMPORT_KEYS if k in export_found and k not in register_found and k != "note"
    ]
    known: dict[str, tuple[int, dict[str, object]]] = {}
    for number, values in register_rows:
        record = _record(register_headers, values, IMPORT_KEYS + ("override",), tz)
        if record.get("case_id"):
            known[str(record["case_id"])] = (number, record)
    seen: set[str] = set()
    for number, values in export_rows:
        where = f"{export_name} 第 {number} 行"
        raw_id = values[export_found["case_id"]] if export_found["case_id"] < len(values) else None
        try:
            case_id = clean_id(raw_id)
        except CellError as error:
            plan.rejected.append(f"{where}：售后单号 {error}")
            continue
        if not case_id:
            if any(v not in (None, "") for v in values):
                plan.rejected.append(f"{where}：售后单号为空")
            continue
        if case_id in seen:
            plan.rejected.append(f"{where}：售后单号 {case_id} 在导出中重复，只导入第一次出现的一行")
            continue
        seen.add(case_id)
        incoming = _record(export_headers, values, IMPORT_KEYS, tz)
        _complete(incoming, policy, orders)
        incoming = {k: v for k, v in incoming.items() if k in register_found}
        if case_id not in known:
            plan.appends.append(incoming)
            continue
        row_number, current = known[case_id]
        changes = {
            key: value
            for key, value in incoming.items()
            if key not in NEVER_KEYS
            and (
                (key in PLATFORM_KEYS and value is not None and not _same(current.get(key), value))
                or (key in FILL_BLANK_KEYS and current.get(key) in (None, "") and value is not None)
            )
        }
        if changes:
            plan.updates.append((row_number, changes))
        else:
            plan.unchanged.append(case_id)
    return plan


def _same(old: object, new: object) -> bool:
    return old == new or (str(old) == str(new))


def _complete(record: dict[str, object], policy: Policy, orders: dict[str, dict[str, object]] | None) -> None:
    """Fill what the after-sales export lacks: 类目 from the 商品 table, buyer and 签收时间 from the orders."""
    if not record.get("category"):
        category = policy.category_for_product(record.get("sku"), record.get("product"))  # type: ignore[arg-type]
        if category:
            record["category"] = category
    if orders and record.get("order_id") in orders:
        for key, value in orders[str(record["order_id"])].items():
            if value is not None and not record.get(key):
                record[key] = value


def orders_index(headers: Sequence[object], rows: Sequence[tuple[int, Sequence[object]]], tz: str) -> dict[str, dict]:
    """订单号 → {buyer, delivered_at} from an order export (the after-sales export has neither)."""
    index = {}
    for _, values in rows:
        record = _record(headers, values, ("order_id", "buyer", "delivered_at"), tz)
        if record.get("order_id"):
            index[str(record.pop("order_id"))] = record
    return index


def read_csv(path: Path) -> tuple[list[object], list[tuple[int, list[str]]]]:
    """A CSV export in UTF-8 (with or without BOM) or GBK/GB18030, as the Douyin backend writes it."""
    data = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValueError("unknown encoding")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], []
    return rows[0], [(i, r) for i, r in enumerate(rows[1:], start=2)]
