"""The number formats the tool writes, shared by the builder, the package writer and the Excel buttons."""

from .. import stats

MONEY_FORMAT = '"¥"#,##0.00'
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
LOG_TIME_FORMAT = DATETIME_FORMAT + ":ss"

OUTPUT_FORMATS = {"amount": MONEY_FORMAT, "deadline": DATETIME_FORMAT, "checked_at": DATETIME_FORMAT}
TYPED_FORMATS = {
    **dict.fromkeys(("paid", "requested", "shipping_fee"), MONEY_FORMAT),
    **dict.fromkeys(("delivered_at", "requested_at", "platform_deadline", "return_received_at"), DATETIME_FORMAT),
    **dict.fromkeys(("case_id", "order_id", "sku"), "@"),
}

STATS_FORMATS = {  # 统计's cells by their style in ``stats.plan``
    stats.MONEY: MONEY_FORMAT,
    stats.PERCENT: "0.0%",
    stats.HOURS: "0.0",
    stats.INT: "0",
    stats.KPI: "0",
    stats.KPI_STYLE[stats.MONEY]: MONEY_FORMAT,
    stats.KPI_STYLE[stats.PERCENT]: "0.0%",
    stats.KPI_STYLE[stats.HOURS]: "0.0",
}
