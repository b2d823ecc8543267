"""Money: Decimal with two places, ROUND_HALF_UP, never float (SPEC §5)."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
MOST = Decimal(100_000_000)
_INFINITE = (float("inf"), float("-inf"))  # more than this in one after-sales case is a typo

# After NFKC (full-width digits, ．，￥ and the ideographic space become ASCII): an optional currency word before
# or after, a sign, digits with "," thousands separators in threes or none, an optional decimal part.
_MONEY = re.compile(
    r"^(?:¥|rmb|cny|人民币)?\s*(?P<sign>[-+]?)\s*(?:¥|rmb|cny)?\s*"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?\s*(?:元|rmb|cny|¥)?$",
    re.IGNORECASE,
)


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
        number = _money_text(value)
    else:
        raise ValueError("不是金额")
    if number < 0:
        raise ValueError(f"{number} 是负数")
    if not number:
        return ZERO  # "-0" and -0.0 as well: never ¥-0.00
    if number > MOST:
        raise ValueError(f"{number} 超出合理范围")
    return cents(number)


_NUMBERS = re.compile(r"\d+(?:[.,]\d+)*")
_EXPONENT = re.compile(r"^[-+]?\d+(?:\.\d+)?[eE][-+]?\d{1,4}$")


def _money_text(value: str) -> Decimal:
    """Money typed as text, the way Chinese merchants type it: ``１２３．５０``, ``￥1,299.00``, ``1，299.00元``,
    ``RMB 45``, with spaces around. An ambiguous text (``1.299,00``, ``12 15``, ``1,29``) is refused, never guessed."""
    text = value.strip().lstrip("'")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).strip()
    match = _MONEY.match(text)
    if match is None and _EXPONENT.match(text):
        return Decimal(text)  # 1.5e3, as a number formatted by a script may come
    if match is None:
        numbers = _NUMBERS.findall(text)
        if len(numbers) > 1:
            raise ValueError(f"“{value}” 含有多个数字，无法确定是哪个金额")
        if numbers and ("," in text or "." in text):
            raise ValueError(f"“{value}” 的千位分隔符或小数点不明确（应写作 1,299.00）")
        raise ValueError(f"“{value}” 不是金额")
    number = Decimal(match["int"].replace(",", "") + (match["frac"] or ""))
    return -number if match["sign"] == "-" else number


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """``amount × percent%``, rounded to cents: 99.99 × 20% = 20.00 (19.998 rounds half up)."""
    return cents(amount * percent / HUNDRED)


@lru_cache(maxsize=1 << 16)  # a 100,000-row register has tens of thousands of distinct amounts
def yuan(amount: Decimal | None) -> str:
    """¥12.50, the way replies and explanations show money (remembered: a batch repeats its amounts)."""
    if amount is None:
        return ""
    return f"¥{cents(amount):,.2f}"
