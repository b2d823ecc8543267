"""Register columns: canonical keys, default headers and aliases (SPEC §2), matched by header text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .vocab import did_you_mean, norm


def column_letter(index: int) -> str:
    """1 → A, 27 → AA: the engine's own, for problem locations (openpyxl stays out of the engine)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


INPUT_COLUMNS = (
    Column("case_id", "售后单号", ("after_sale_id", "售后编号", "售后ID"), True),
    Column("order_id", "订单号", ("主订单号", "主订单编号", "订单编号", "子订单号", "order_id"), True),
    Column("buyer", "买家", ("买家昵称", "用户昵称", "买家ID", "用户ID")),
    Column("product", "商品名称", ("商品", "商品标题"), True),
    Column("sku", "商家编码", ("商品ID", "SKU", "商品编码")),
    Column("category", "商品类目", ("类目",)),  # needed only where a rule asks; filled from 规则!商品
    Column("type", "售后类型", (), True),
    Column("reason", "售后原因", ("退款原因",), True),
    Column("paid", "实付金额", ("应付金额（元）", "实付金额（元）", "支付金额"), True),
    Column("requested", "申请金额", ("退商品金额（元）", "申请退款金额", "退款金额（元）"), True),
    Column("shipping_fee", "运费", ("商品运费（元）", "退运费金额（元）", "运费（元）")),
    Column("shipped", "发货状态", ("商品发货状态",)),
    Column("delivered_at", "签收时间", ("买家签收时间", "快递签收时间")),
    Column("requested_at", "申请时间", ("售后申请时间",), True),
    Column("platform_deadline", "平台截止时间", ("自动处理截止时间", "超时时间")),
    Column("evidence", "凭证", ("是否已上传退款凭证", "有无凭证")),
    Column("return_received_at", "退货签收时间", ("退货物流签收时间",)),
    Column("status", "处理状态", ("售后状态",)),
    Column("platform_risk", "退货异常", ()),
    Column("override", "人工决定", ()),
    Column("note", "备注", ("售后备注", "商家备注")),
)

OUTPUT_COLUMNS = (
    Column("decision", "处理建议"),
    Column("amount", "退款金额"),
    Column("payer", "退货运费"),
    Column("deadline", "处理时限"),
    Column("sla", "时效状态"),
    Column("risks", "风险提示"),
    Column("rule_id", "命中规则"),
    Column("explanation", "判定依据"),
    Column("reply", "回复话术"),
    Column("checked_at", "检查时间"),
)

BY_KEY = {c.key: c for c in INPUT_COLUMNS + OUTPUT_COLUMNS}
REQUIRED = tuple(c.key for c in INPUT_COLUMNS if c.required)


def _names(column: Column) -> list[str]:
    return [norm(column.header)] + [norm(a) for a in column.aliases]


def map_headers(headers: Sequence[object]) -> dict[str, int]:
    """Canonical key → 0-based position, for every column whose header (or an alias) appears.

    The default header wins over an alias, and an earlier alias over a later one: the Douyin export has both
    退商品金额（元） and 退运费金额（元）, and both 商品运费（元） and 退运费金额（元）, so order matters.
    A header used by one key is not reused by another (商品ID is 商家编码's alias only when 商家编码 is absent).
    """
    texts = [norm(str(h)) if h is not None else "" for h in headers]
    found: dict[str, int] = {}
    taken: set[int] = set()
    for rank in range(1 + max(len(c.aliases) for c in INPUT_COLUMNS + OUTPUT_COLUMNS)):
        for column in INPUT_COLUMNS + OUTPUT_COLUMNS:
            if column.key in found:
                continue
            names = _names(column)
            if rank >= len(names):
                continue
            for position, text in enumerate(texts):
                if text == names[rank] and position not in taken:
                    found[column.key] = position
                    taken.add(position)
                    break
    return found


def missing_required(found: dict[str, int], headers: Sequence[object]) -> list[str]:
    """One message per required column not found, with the closest unclaimed header as a suggestion."""
    taken = set(found.values())
    present = [str(h) for i, h in enumerate(headers) if h not in (None, "") and i not in taken]
    messages = []
    for key in REQUIRED:
        if key not in found:
            column = BY_KEY[key]
            hint = did_you_mean(column.header, present, cutoff=0.3)
            messages.append(f"缺少必填列“{column.header}”{hint}")
    return messages


def locate_header(grid: Iterable[Iterable[object]], scan: int = 20) -> tuple[int, list[object], dict[str, int]]:
    """The register's header row in a sheet's values: (0-based row index, header cells, key → position).

    The first of the top ``scan`` rows that holds every required column wins. Raises LookupError whose message
    names the missing columns of the closest row, with a "did you mean".
    """
    best: tuple[int, list[object], dict[str, int]] | None = None
    for index, values in enumerate(grid):
        if index >= scan:
            break
        headers = list(values)
        while headers and headers[-1] in (None, ""):
            headers.pop()
        found = map_headers(headers)
        if not missing_required(found, headers):
            return index, headers, found
        if best is None or len(found) > len(best[2]):
            best = (index, headers, found)
    if best is None:
        raise LookupError("工作表是空的")
    index, headers, found = best
    raise LookupError(f"第 {index + 1} 行" + "；".join(missing_required(found, headers)))


def blank(value: object) -> bool:
    """An empty cell: None, or text of nothing but spaces (calamine gives "" where openpyxl gives None)."""
    return value is None or (isinstance(value, str) and not value.strip())


def used_width(values: Sequence[object]) -> int:
    """1 + the position of the last non-blank value in a row (0 for a blank row)."""
    for position in range(len(values) - 1, -1, -1):
        if not blank(values[position]):
            return position + 1
    return 0


EXCEL_MAX_TEXT = 32767
_NOT_IN_A_CELL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_text(text: str) -> str:
    """Text a cell can hold: control characters other than tab and newlines dropped (openpyxl refuses them, Excel
    cannot show them), cut to Excel's 32,767 characters (Excel repairs a file with a longer cell). Excel counts
    UTF-16 units: an emoji is two."""
    text = _NOT_IN_A_CELL.sub("", text)
    if len(text) <= EXCEL_MAX_TEXT // 2 or _units(text) <= EXCEL_MAX_TEXT:
        return text
    cut = EXCEL_MAX_TEXT - 1
    while _units(text[:cut]) > EXCEL_MAX_TEXT - 1:  # characters beyond the BMP take two units
        cut -= (_units(text[:cut]) - (EXCEL_MAX_TEXT - 1) + 1) // 2 or 1
    return text[:cut] + "…"


def _units(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
