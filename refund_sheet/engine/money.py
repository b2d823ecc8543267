"""Money: Decimal with two places, ROUND_HALF_UP, never float (SPEC §5)."""

from __future__ import annotations

import re
from functools import lru_cache
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
MOST = Decimal(100_000_000)
_INFINITE = (float("inf"), float("-inf"))  # more than this in one after-sales case is a typo

_MONEY_JUNK = re.compile(r"[\s¥￥,，元]|^RMB|^CNY", re.IGNORECASE)


def cents(value: Decimal) -> Decimal:
    """Round to two places, half up: 20.0 → 20.00, 19.998 → 20.00, 0.005 → 0.01."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(value: object) -> Decimal:
    """A cell value as money. Accepts numbers and text like ``¥1,299.00`` or ``12.5元``.

    Raises ValueError with a short reason for anything else (the caller turns it into a row problem).
    Floats go through ``repr`` so 0.1 stays 0.10, not 0.1000000000000000055….
    """
    if value.__class__ is float and value == value and value not in _INFINITE:  # what a reader gives for a number
        number = Decimal(repr(value))
    elif isinstance(value, bool):
        raise ValueError("不是金额")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("不是金额")
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("不是金额")
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = _MONEY_JUNK.sub("", value.strip().lstrip("'"))
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"“{value}” 不是金额") from None
        if not number.is_finite():
            raise ValueError(f"“{value}” 不是金额")
    else:
        raise ValueError("不是金额")
    if number < 0:
        raise ValueError(f"{number} 是负数")
    if not number:
        return ZERO  # "-0" and -0.0 as well: never ¥-0.00
    if number > MOST:
        raise ValueError(f"{number} 超出合理范围")
    return cents(number)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """``amount × percent%``, rounded to cents: 99.99 × 20% = 20.00 (19.998 rounds half up)."""
    return cents(amount * percent / HUNDRED)


@lru_cache(maxsize=1 << 16)  # a 100,000-row register has tens of thousands of distinct amounts
def yuan(amount: Decimal | None) -> str:
    """¥12.50, the way replies and explanations show money (remembered: a batch repeats its amounts)."""
    if amount is None:
        return ""
    return f"¥{cents(amount):,.2f}"
