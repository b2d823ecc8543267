"""A Douyin (抖店) after-sales export as the backend writes it: ~50 columns, full-width brackets, IDs as text."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from policy_edit import add_row

from refund_sheet.workbook.build import build_tracker, deterministic_bytes

HEADERS = [
    "售后单号", "订单号", "商品单号", "商品名称", "商品ID", "商家编码", "商品规格", "商品数量", "应付金额（元）",
    "商品运费（元）", "商品发货状态", "售后类型", "退商品金额（元）", "退运费金额（元）", "售后状态", "售后申请时间",
    "是否已上传退款凭证", "售后原因", "退货物流单号", "退货物流公司", "退货异常", "自动处理截止时间", "用户售后说明",
    "售后备注", "达人昵称", "达人ID", "订单创建时间", "支付时间", "发货时间", "物流单号", "物流公司", "收件人",
    "收件人电话", "省", "市", "区", "详细地址", "店铺名称", "店铺ID", "售后来源", "仲裁状态", "仲裁结果", "退款方式",
    "退款时间", "客服备注", "优惠金额（元）", "平台补贴（元）", "支付方式", "是否极速退款", "售后完结时间",
]


def tracker_for_export(path: Path) -> Path:
    """A new tracker whose 商品 table gives the export's products a 类目 (by 商家编码 TS-001, by 马克杯 in the name)."""
    path.write_bytes(deterministic_bytes(build_tracker()))
    add_row(path, "商品", {"商家编码": "TS-001", "类目": "服装"})
    add_row(path, "商品", {"商品名称关键词": "马克杯", "类目": "家居"})
    return path


def export_row(case_id: str, order_id: str, **fields) -> dict:
    """One export row; the IDs come as text with a leading tab, like the backend's CSV."""
    row = dict.fromkeys(HEADERS, "")
    row.update({
        "售后单号": f"\t{case_id}", "订单号": f"\t{order_id}", "商品单号": f"\t{order_id}1", "商品名称": "纯棉圆领T恤 白色 L",
        "商品ID": "\t3612345678901", "商家编码": "TS-001", "商品数量": "1", "应付金额（元）": "99.00", "商品运费（元）": "0.00",
        "商品发货状态": "已发货", "售后类型": "退货退款", "退商品金额（元）": "99.00", "退运费金额（元）": "0.00",
        "售后状态": "待商家处理", "售后申请时间": "2026/11/18 09:00:00", "是否已上传退款凭证": "否", "售后原因": "尺码拍错/不喜欢/效果不好",
        "退货异常": "否", "自动处理截止时间": "2026/11/20 09:00:00", "店铺名称": "好物小店", "售后来源": "用户申请",
    })
    row.update(fields)
    return row


def write_export(path: Path, rows: list[dict], encoding: str = "gb18030") -> Path:
    if path.suffix == ".csv":
        with open(path, "w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows([[r[h] for h in HEADERS] for r in rows])
        return path
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "售后单"
    ws.append(HEADERS)
    for r in rows:
        ws.append([r[h] for h in HEADERS])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            cell.data_type = "s"  # the backend writes every cell as text
    wb.save(path)
    return path


# Three cases of the export: one by 商家编码 (TS-001 → 服装 when 规则!商品 says so), one by a name keyword
# (马克杯 → 家居), one whose product no table knows.
CASES = [
    export_row("7012345678901234501", "6912345678901234501"),
    export_row("7012345678901234502", "6912345678901234502", 售后原因="商品破损/包装破损", 是否已上传退款凭证="是",
               商家编码="MG-050", 商品名称="陶瓷马克杯"),
    export_row("7012345678901234503", "6912345678901234503", 售后类型="未发货仅退款", 商品发货状态="未发货",
               商家编码="XX-999", 商品名称="神秘商品"),
]
