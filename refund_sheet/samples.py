"""A realistic sample of after-sales cases for the demo, the template check and the benchmarks.

Pure and deterministic for a given "now" and seed: every decision, reason group, category and risk flag occurs,
some cases are overdue or due soon, a few are closed, overridden or incomplete.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

# category → (product, 商家编码, price range)
PRODUCTS: dict[str, list[tuple[str, str, tuple[float, float]]]] = {
    "服装": [("纯棉圆领T恤", "TS-001", (39, 129)), ("碎花连衣裙", "DR-014", (89, 259)), ("加绒牛仔裤", "JN-203", (79, 199)),
             ("轻薄羽绒服", "DW-880", (399, 899))],
    "鞋靴": [("透气跑步鞋", "SH-310", (159, 459)), ("加厚雪地靴", "BT-022", (129, 299))],
    "数码": [("蓝牙降噪耳机", "EP-700", (129, 699)), ("20000mAh充电宝", "PB-200", (79, 159)), ("Type-C数据线", "CB-001", (9.9, 29.9))],
    "家居": [("陶瓷马克杯", "MG-050", (19.9, 49)), ("全棉四件套", "BD-400", (169, 459)), ("桌面收纳盒", "BX-012", (12.9, 39))],
    "美妆": [("玻尿酸保湿面霜", "CR-330", (89, 329)), ("丝绒哑光口红", "LP-018", (59, 199))],
    "食品": [("每日坚果礼盒", "NT-750", (59, 139)), ("风干牛肉干", "BJ-250", (39, 89))],
    "生鲜": [("智利车厘子2斤", "CH-2J", (89, 199)), ("阳澄湖大闸蟹", "CR-8Z", (199, 599))],
    "定制": [("定制刻字保温杯", "CU-LOGO", (69, 159))],
    "图书报刊": [("儿童睡前绘本套装", "BK-010", (39, 129))],
    "虚拟商品": [("视频会员月卡", "VIP-1M", (15, 30))],
}
BUYERS = ["小王", "晴天", "李女士", "阿杰", "momo", "陈先生", "甜甜圈", "老周", "Lily", "张三丰", "一只猫", "夏天的风",
          "王阿姨", "小鱼儿", "Kevin", "糖糖", "大刘", "桃子", "阿May", "Jason"]
REPEATERS = ["甜甜圈", "老周"]  # these buyers file many cases: REPEAT_BUYER

# (weight, type, reasons, delivered?, evidence?, extra) — a mix close to a clothing-and-gadgets shop's month
SCENARIOS: list[tuple[int, str, list[str], bool, bool, dict[str, bool]]] = [
    (8, "未发货仅退款", ["不想要了", "拍错/多拍"], False, False, {}),
    (5, "已发货仅退款", ["物流停滞", "快递丢件", "未收到货"], False, False, {}),
    (2, "已发货仅退款", ["未收到货"], True, False, {}),
    (8, "退货退款", ["商品破损", "质量问题", "与描述不符", "功能故障"], True, False, {}),
    (4, "补寄", ["发错货"], True, True, {}),
    (4, "已发货仅退款", ["少件漏发"], True, True, {}),
    (5, "换货", ["质量问题", "商品破损"], True, True, {}),
    (5, "已发货仅退款", ["商品破损", "质量问题"], True, True, {"cheap": True}),
    (10, "退货退款", ["商品破损", "与描述不符", "发错货"], True, True, {}),
    (5, "退货退款", ["七天无理由", "不想要了"], True, False, {"excluded": True}),
    (8, "换货", ["尺码不合适", "颜色不喜欢"], True, False, {}),
    (14, "退货退款", ["七天无理由", "尺码不合适", "颜色不喜欢", "不想要了"], True, False, {}),
    (8, "已发货仅退款", ["颜色不喜欢", "不想要了", "尺码不合适"], True, False, {}),
    (5, "退货退款", ["七天无理由", "不想要了"], True, False, {"late": True}),
    (3, "退货退款", ["其他", "买家未说明原因"], True, False, {}),
]
EXCLUDED = ["食品", "生鲜", "定制", "虚拟商品"]
ORDINARY = ["服装", "服装", "服装", "鞋靴", "数码", "家居", "家居", "美妆", "图书报刊"]


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 1))) + Decimal("0.00")


def sample_rows(now: datetime, count: int = 300, seed: int = 2026) -> list[dict[str, object]]:
    """``count`` cases as register rows keyed by canonical key, dated relative to ``now``."""
    rng = random.Random(seed)
    weights = [s[0] for s in SCENARIOS]
    rows: list[dict[str, object]] = []
    for i in range(count):
        _, case_type, reasons, delivered, evidence, extra = rng.choices(SCENARIOS, weights)[0]
        category = rng.choice(EXCLUDED if extra.get("excluded") else ORDINARY)
        product, sku, (low, high) = rng.choice(PRODUCTS[category])
        if extra.get("cheap"):
            product, sku, (low, high) = rng.choice([p for c in ("数码", "家居") for p in PRODUCTS[c] if p[2][1] < 50])
            category = next(c for c, items in PRODUCTS.items() if any(p[1] == sku for p in items))
        paid = _money(rng, low, high)
        shipping = Decimal(rng.choice([0, 0, 0, 6, 8, 10])) + Decimal("0.00")
        requested_at = now - timedelta(hours=rng.uniform(0.5, 70))
        delivered_at = None
        if delivered:
            days_before = rng.uniform(8.5, 20) if extra.get("late") else rng.uniform(0.2, 5.5)
            delivered_at = (requested_at - timedelta(days=days_before)).replace(microsecond=0)
        row: dict[str, object] = {
            "case_id": f"70{rng.randrange(10**16, 10**17)}",
            "order_id": f"69{rng.randrange(10**16, 10**17)}",
            "buyer": rng.choice(REPEATERS) if i % 17 == 0 else f"{rng.choice(BUYERS)}{rng.randrange(100, 10000)}",
            "product": product,
            "sku": sku,
            "category": category,
            "type": case_type,
            "reason": rng.choice(reasons),
            "paid": paid,
            "requested": paid + (shipping if case_type == "未发货仅退款" else Decimal("0.00")),
            "shipping_fee": shipping,
            "shipped": "未发货" if case_type == "未发货仅退款" else "已发货",
            "delivered_at": delivered_at,
            "requested_at": requested_at.replace(microsecond=0, second=0),
            "evidence": "是" if evidence else "否",
            "status": "待商家处理",
        }
        if case_type in ("换货", "补寄"):
            row["requested"] = Decimal("0.00")
        _vary(rng, i, row, now)
        if i % 71 == 20 and rows:  # a second open case for the same order and product: DUPLICATE
            previous = rows[-1]
            row.update({k: previous[k] for k in ("order_id", "buyer", "product", "sku", "category", "status")})
        rows.append(row)
    return rows


def _vary(rng: random.Random, i: int, row: dict[str, object], now: datetime) -> None:
    """Sprinkle the things a real month has: closed cases, platform deadlines, returns awaiting refund, risks."""
    roll = rng.random()
    if roll < 0.10:
        row["status"] = rng.choice(["同意退款，退款成功", "售后关闭", "换货成功"])
    elif roll < 0.25:
        requested_at = row["requested_at"]
        assert isinstance(requested_at, datetime)  # set by sample_rows
        row["platform_deadline"] = (requested_at + timedelta(hours=rng.choice([24, 48, 72]))).replace(second=0)
    elif roll < 0.32 and row["type"] == "退货退款" and row["delivered_at"]:
        row["return_received_at"] = (now - timedelta(hours=rng.uniform(2, 100))).replace(microsecond=0, second=0)
        row["status"] = "待商家收货"
    if i % 41 == 5:
        row["platform_risk"] = "是"
    if i % 53 == 7:
        paid = row["paid"]
        assert isinstance(paid, Decimal)  # set by sample_rows
        row["requested"] = paid + Decimal("50.00")  # asks for more than was paid
    if i % 37 == 11:
        row["override"] = rng.choice(["全额退款", "拒绝", "人工审核"])
        row["note"] = "老客户，已电话沟通"
    if i % 97 == 13:
        row["paid"] = "待确认"  # a cell the merchant has not filled properly: INCOMPLETE
    if i % 89 == 3:
        row["category"] = None
    if i % 61 == 9:
        row["buyer"] = "=HYPERLINK(\"http://example.com\",\"点我领券\")"  # customer text that looks like a formula


# One crafted case per decision, for `refund-sheet templates check` and the reply tests.
_BASE = {
    "售后单号": "7012345678901234567", "订单号": "6923456789012345678", "买家": "小王", "商品名称": "纯棉圆领T恤",
    "商家编码": "TS-001", "商品类目": "服装", "售后类型": "退货退款", "售后原因": "尺码不合适", "实付金额": "99.90",
    "申请金额": "99.90", "运费": "8", "签收时间": "2026-11-16 10:00", "申请时间": "2026-11-18 09:00", "凭证": "否",
}
DECISION_CASES = {
    "REFUND_FULL": {"售后原因": "商品破损", "凭证": "是", "售后类型": "已发货仅退款", "实付金额": "25.00", "申请金额": "25.00"},
    "REFUND_PARTIAL": {"售后类型": "已发货仅退款", "售后原因": "颜色不喜欢"},
    "RETURN_REFUND": {"售后原因": "七天无理由", "商品类目": "美妆", "商品名称": "保湿面霜"},
    "EXCHANGE": {"售后类型": "换货", "申请金额": "0"},
    "RESEND": {"售后原因": "少件漏发", "凭证": "是", "售后类型": "补寄", "申请金额": "0"},
    "REJECT": {"售后原因": "不想要了", "商品类目": "定制", "商品名称": "定制刻字保温杯"},
    "NEED_EVIDENCE": {"售后原因": "商品破损"},
    "MANUAL_REVIEW": {"售后原因": "物流停滞", "售后类型": "已发货仅退款"},
    "INCOMPLETE": {"实付金额": "待确认"},
}


def decision_samples(policy, now: datetime | None = None) -> dict:
    """Decision name → (facts, verdict) for a crafted case that the default policy gives that decision."""
    from .engine import judge_all
    from .engine.columns import map_headers
    from .engine.parse import read_facts

    now = now or datetime(2026, 11, 18, 12, 0)
    headers = list(_BASE)
    found = map_headers(headers)
    facts = [
        read_facts([dict(_BASE, **changes).get(h) for h in headers], found, {}, "退款登记", i, policy)
        for i, changes in enumerate(DECISION_CASES.values(), start=2)
    ]
    verdicts = [judge_all([f], policy, now)[0] for f in facts]  # each alone: no repeat-buyer or duplicate flags
    return {name: (f, v) for name, f, v in zip(DECISION_CASES, facts, verdicts)}


# The Douyin after-sales export (售后列表导出) as the demo writes it: no 类目, no 签收时间, no buyer (the order export
# has those), as the real one.
EXPORT_COLUMNS = (
    ("售后单号", "case_id"), ("订单号", "order_id"), ("商品名称", "product"), ("商家编码", "sku"), ("应付金额（元）", "paid"),
    ("商品运费（元）", "shipping_fee"), ("商品发货状态", "shipped"), ("售后类型", "type"), ("退商品金额（元）", "requested"),
    ("售后状态", "status"), ("售后申请时间", "requested_at"), ("是否已上传退款凭证", "evidence"), ("售后原因", "reason"),
    ("退货异常", "platform_risk"), ("自动处理截止时间", "platform_deadline"), ("售后备注", "note"),
)
ORDER_COLUMNS = (("订单号", "order_id"), ("买家昵称", "buyer"), ("签收时间", "delivered_at"))


def _export_text(value: object) -> str:
    """A value as the backend's CSV writes it: IDs with a leading tab, times as 2026/11/18 09:00:00, blanks empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y/%m/%d %H:%M:%S}"
    return str(value)


def sample_exports(now: datetime, count: int = 30, seed: int = 7) -> tuple[list[list[str]], list[list[str]]]:
    """A small after-sales export and the matching order export (header row first, cells as text), for the demo's
    import loop: ``import`` the first with ``--orders`` the second, fill each new product's 类目 once on
    规则!商品, ``check``."""
    rows = [r for r in sample_rows(now, count, seed) if r["paid"] != "待确认" and r.get("override") is None]
    ids = {"case_id", "order_id"}
    export = [[h for h, _ in EXPORT_COLUMNS]] + [
        [("\t" if key in ids else "") + _export_text(r.get(key)) for _, key in EXPORT_COLUMNS] for r in rows
    ]
    orders = [[h for h, _ in ORDER_COLUMNS]] + [
        [("\t" if key in ids else "") + _export_text(r.get(key)) for _, key in ORDER_COLUMNS] for r in rows
    ]
    return export, orders
