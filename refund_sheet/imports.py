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
from .engine.run import Run
from .engine.vocab import parse_shipped

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


@dataclass(frozen=True)
class NewProduct:
    """A product of the export the 商品 table on 规则 does not know yet: ``import`` adds it with a blank 类目,
    for the merchant to fill in once (``check`` then reads every case's 类目 from there)."""

    sku: str  # 商家编码 (or "")
    product_id: str  # 商品ID (or "")
    name: str  # 商品名称, written as the row's 商品名称关键词


@dataclass
class MergePlan:
    """What an import will do; ``updates`` are (register row number, key → new value).

    ``products`` are the rows to add to the 商品 table (``workbook.add_products`` writes them and returns where);
    ``products_at`` is that place once written, e.g. ``规则!A47:A52``. ``without_orders`` counts the cases the import
    leaves without 签收时间 because no order export (``--orders``) was given (``None`` when one was).
    """

    appends: list[dict[str, object]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    products: list[NewProduct] = field(default_factory=list)
    products_at: str = ""
    without_orders: int | None = None

    @property
    def changes(self) -> bool:
        return bool(self.appends or self.updates or self.products)

    def summary(self) -> str:
        lines = [f"新增 {len(self.appends)}，更新 {len(self.updates)}，未变 {len(self.unchanged)}，拒绝 {len(self.rejected)}"]
        lines += [f"  拒绝：{r}" for r in self.rejected[:20]]
        if len(self.rejected) > 20:
            lines.append(f"  …另有 {len(self.rejected) - 20} 行被拒绝")
        if self.ignored_columns:
            lines.append("登记表没有这些列，导出中的值未导入：" + "、".join(self.ignored_columns))
        if self.products and self.products_at:
            lines.append(f"{len(self.products)} 个商品待填写类目：{self.products_at}（在“类目”列填写一次，之后的售后单自动沿用）")
        elif self.products:  # no 规则 sheet, or no room under the 商品 table
            names = "、".join(p.name or p.sku for p in self.products[:5]) + ("…" if len(self.products) > 5 else "")
            lines.append(f"{len(self.products)} 个商品不在 规则!商品 表中，未能自动添加：请在该表添加并填写类目（{names}）")
        if self.without_orders:
            lines.append(
                f"未提供订单导出：{self.without_orders} 个售后单没有签收时间，七天无理由退货要等签收时间才能判断"
                "（在“签收时间”列填写，或导入时加 --orders 订单导出.xlsx）"
            )
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
        if isinstance(value, (int, float)):
            return value
        try:
            return clean_text(value)
        except CellError:  # an Excel error value (#VALUE! is how a picture in a cell reads): kept as it reads
            return value


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
    run = Run(policy)  # the 商品 look-ups, remembered for this merge
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
            known.setdefault(str(record["case_id"]), (number, record))  # a number on two rows: the first is the case
    seen: dict[str, tuple[int, dict[str, object]]] = {}  # 售后单号 → the export line first holding it, its record
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
        incoming = _record(export_headers, values, IMPORT_KEYS, tz)
        if case_id in seen:
            first, record = seen[case_id]
            differs = [BY_KEY[k].header for k in dict.fromkeys([*record, *incoming]) if not _same(record.get(k), incoming.get(k))]
            if differs:  # one number, two cases: keep the first, never let the second pay under its number
                plan.rejected.append(
                    f"{where}：售后单号 {case_id} 与第 {first} 行重复但内容不同（{'、'.join(differs)}），只导入第 {first} 行"
                )
            continue  # an exact copy of the first line is the same case: merged into it
        seen[case_id] = (number, incoming)
        incoming = dict(incoming)
        _complete(incoming, run, orders)
        if not known.get(case_id, (0, {}))[1].get("category"):  # a 类目 the merchant typed on the case is enough
            _new_product(plan, incoming, export_headers, values, run)
        incoming = {k: v for k, v in incoming.items() if k in register_found}
        if orders is None and "delivered_at" in register_found and not incoming.get("delivered_at"):
            current = known.get(case_id, (0, {}))[1]
            shipped = incoming.get("shipped") or current.get("shipped")
            if not current.get("delivered_at") and not _closed(incoming, current) and parse_shipped(str(shipped or "")) is not False:
                plan.without_orders = (plan.without_orders or 0) + 1
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


def _closed(incoming: dict[str, object], current: dict[str, object]) -> bool:
    from .engine.vocab import is_closed

    status = incoming.get("status") or current.get("status")
    return is_closed(str(status)) if status else False


def _new_product(
    plan: MergePlan, record: dict[str, object], headers: Sequence[object], values: Sequence[object], run: Run
) -> None:
    """Add the record's product to ``plan.products`` when neither the record nor the 商品 table gives it a 类目
    and no row of the table (not even one still waiting for its 类目) names it."""
    sku, name = record.get("sku"), record.get("product")
    if record.get("category") or not (sku or name):
        return
    if run.product_row(sku, name) is not None:  # type: ignore[arg-type]
        return
    key = str(sku or name)
    if any((p.sku or p.name) == key for p in plan.products):
        return
    product_id = ""
    for position, header in enumerate(headers):
        if header is not None and str(header).strip() == "商品ID" and position < len(values):
            try:
                product_id = clean_id(values[position]) or ""
            except CellError:
                product_id = ""
            break
    if product_id == sku:
        product_id = ""
    plan.products.append(NewProduct(str(sku or ""), product_id, str(name or "")))


def _complete(record: dict[str, object], run: Run, orders: dict[str, dict[str, object]] | None) -> None:
    """Fill what the after-sales export lacks: 类目 from the 商品 table, buyer and 签收时间 from the orders."""
    if not record.get("category"):
        category = run.category_for_product(record.get("sku"), record.get("product"))  # type: ignore[arg-type]
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
    header: list[object] = list(rows[0])
    return header, [(i, r) for i, r in enumerate(rows[1:], start=2)]


PRODUCT_TABLE = "商品"


def product_cells(
    policy_grid: Sequence[Sequence[object]], products: Sequence[NewProduct]
) -> tuple[list[tuple[int, int, str]], str]:
    """Where ``products`` go on 规则 (the sheet's values, row 0 = sheet row 1): the cells to write as (sheet row,
    sheet column, text), and the rows they fill as ``规则!A47:A52`` — both empty when there is nothing to add or no
    room. Pure, so the file path and the Excel button write the same cells.

    The new rows go right under the last filled row of the 商品 table (its title alone in column A, then its
    header row); they never run into the next table's title: a table the merchant moved above another one and
    filled to its last spare row gets no rows (the summary then says to add them by hand).
    """
    from .engine.defaults import TABLES
    from .engine.vocab import norm

    titles = {norm(name) for name in TABLES}

    def text(row: Sequence[object], col: int) -> str:
        value = row[col] if col < len(row) else None
        return "" if value is None else str(value).strip()

    if not products:
        return [], ""
    start = next((i for i, row in enumerate(policy_grid) if norm(text(row, 0)) == norm(PRODUCT_TABLE) and not text(row, 1)), None)
    if start is None or start + 1 >= len(policy_grid):
        return [], ""
    header = policy_grid[start + 1]
    columns = {norm(text(header, c)): c for c in range(len(header)) if text(header, c)}
    wanted = {key: columns.get(norm(name)) for key, name in (("sku", "商家编码"), ("product_id", "商品ID"), ("name", "商品名称关键词"))}
    if wanted["name"] is None and wanted["sku"] is None:
        return [], ""
    width = max(columns.values()) + 1
    end = len(policy_grid)  # the row after the table: the next title, or the sheet's end
    for i in range(start + 2, len(policy_grid)):
        if norm(text(policy_grid[i], 0)) in titles and not text(policy_grid[i], 1):
            end = i
            break
    last = max((i for i in range(start + 2, end) if any(text(policy_grid[i], c) for c in range(width))), default=start + 1)
    first = last + 1
    if end < len(policy_grid) and first + len(products) > end - 1:  # keep the blank row before the next title
        return [], ""
    cells = []
    for offset, product in enumerate(products):
        for key, col in wanted.items():
            value = getattr(product, key)
            if col is not None and value:
                cells.append((first + offset + 1, col + 1, value))
    last = first + len(products)
    return cells, f"规则!A{first + 1}" + (f":A{last}" if last > first + 1 else "")


def write_csv(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """Rows of text as a CSV the way the Douyin backend writes one (UTF-8 with BOM, so Excel shows the Chinese)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return Path(path)
