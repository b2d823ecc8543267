"""The number formats the tool writes, shared by the builder and the package writer."""

MONEY_FORMAT = '"¥"#,##0.00'
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
LOG_TIME_FORMAT = DATETIME_FORMAT + ":ss"

OUTPUT_FORMATS = {"amount": MONEY_FORMAT, "deadline": DATETIME_FORMAT, "checked_at": DATETIME_FORMAT}
TYPED_FORMATS = {
    **dict.fromkeys(("paid", "requested", "shipping_fee"), MONEY_FORMAT),
    **dict.fromkeys(("delivered_at", "requested_at", "platform_deadline", "return_received_at"), DATETIME_FORMAT),
    **dict.fromkeys(("case_id", "order_id", "sku"), "@"),
}
