"""Cell values → Facts. A bad cell becomes a located Problem on the row; nothing here raises on user data.

Values arrive as the workbook reader gives them: ``str``, ``int``, ``float``, ``datetime``, ``date``, ``bool`` or
``None``. Every date-time becomes a naive datetime in the shop's time zone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .columns import BY_KEY
from .model import CaseType, Facts, Loc, Problem
from .money import ZERO, parse_money
from .policy import Policy
from .vocab import (
    DECISION_CHOICES,
    TYPE_CHOICES,
    did_you_mean,
    is_closed,
    parse_decision,
    parse_shipped,
    parse_type,
    parse_yes_no,
)

EXCEL_ERRORS = frozenset({"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!"})
EXCEL_EPOCH = datetime(1899, 12, 30)

_DATETIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?(?:\.\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_ID_JUNK = re.compile(r"^[\s'‘’`=\"]+|[\s\"]+$")
MAX_TEXT = 32767  # an Excel cell's limit; longer text is cut by Excel anyway


class CellError(ValueError):
    """A cell value that cannot be read as what its column needs; the message says why."""


def clean_text(value: object) -> str | None:
    """Text as the merchant sees it, stripped; ``None`` for blank. Numbers become their plain digits."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text in EXCEL_ERRORS:
        raise CellError(f"是 Excel 错误值 {text}")
    if len(text) > MAX_TEXT:
        raise CellError(f"过长（{len(text)} 个字符）")
    return text or None


def clean_id(value: object) -> str | None:
    """An ID kept as text: tabs, spaces, a leading apostrophe and Excel's ="…" wrapper removed.

    A number with more than 15 significant digits has already lost its last digits in Excel (a 19-digit Douyin
    order number stored as a number): that is reported, never guessed.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError("不是单号")
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 1e15:
            raise CellError(f"以数字 {value:.15g} 保存，长单号的末几位已丢失；请把该列设为文本后重新导入")
        value = int(value)
    if isinstance(value, int):
        if abs(value) >= 10**15:
            raise CellError(f"以数字 {value} 保存，超过 15 位的单号在 Excel 中会丢失末几位；请把该列设为文本后重新导入")
        return str(value)
    text = clean_text(value)
    if text is None:
        return None
    text = _ID_JUNK.sub("", text)
    return text or None


YEARS = range(1954, 2120)  # what an Excel serial date in 20000–80000 covers; outside it, a typo (and no date arithmetic overflows)


def parse_datetime(value: object, tz: str) -> datetime:
    """A date-time cell in the shop's local time: an Excel date, a serial number, or text such as
    ``2026-11-19 10:00``, ``2026/11/19 10:00``, ``2026年11月19日``, ``2026-11-19T02:00:00Z``.
    A year outside 1954–2119 (``9999-12-31``, ``0001-01-01``) is a CellError."""
    moment = _parse_datetime(value, tz)
    if moment.year not in YEARS:
        raise CellError(f"“{value}” 的年份 {moment.year} 不合理（应在 {YEARS.start}–{YEARS.stop - 1} 之间）")
    return moment


def _parse_datetime(value: object, tz: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise CellError("不是时间")
    if isinstance(value, (int, float)):
        if 20000 <= value <= 80000:  # an Excel serial date between 1954 and 2119
            return (EXCEL_EPOCH + timedelta(days=float(value))).replace(microsecond=0)
        if 1_000_000_000 <= value <= 4_000_000_000:  # Unix seconds, as some exports give
            utc = datetime.fromtimestamp(float(value), timezone.utc)
            return utc.astimezone(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
        raise CellError(f"{value} 不是时间")
    text = clean_text(value)
    if text is None:
        raise CellError("为空")
    match = _DATETIME.match(text)
    if not match:
        raise CellError(f"“{text}” 不是时间（例如 2026-11-19 10:00）")
    y, mo, d, h, mi, s, offset = match.groups()
    try:
        moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        raise CellError(f"“{text}” 不是有效日期") from None
    if offset:
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "") if offset != "Z" else "0000"
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:])) * (sign if offset != "Z" else 1)
        try:
            moment = (moment.replace(tzinfo=timezone(delta))).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        except (OverflowError, ValueError):
            raise CellError(f"“{text}” 不是有效时间") from None
    return moment


class _Failed:
    """A conversion that failed, remembered with its message."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


_CONVERTED: dict = {}
_CONVERTED_LIMIT = 500_000


def converted(convert, value: object):
    """``convert(value)``, remembered: a register repeats the same dates, amounts and words on many rows, and
    every converter here is a pure function of its value (the key holds the type, so 1, 1.0 and True differ)."""
    try:
        key = (convert, type(value), value)
        hit = _CONVERTED.get(key)
    except TypeError:  # an unhashable value: convert it every time
        return convert(value)
    if hit is None:
        try:
            hit = convert(value)
        except (CellError, ValueError) as error:
            hit = _Failed(str(error))
        if len(_CONVERTED) >= _CONVERTED_LIMIT:
            _CONVERTED.clear()
        _CONVERTED[key] = hit
    if isinstance(hit, _Failed):
        raise CellError(hit.message)
    return hit


@lru_cache(maxsize=None)
def _when_in(tz: str):
    """The date-time converter for one time zone (one function per zone, so its results can be remembered)."""

    def when(value: object) -> datetime:
        return parse_datetime(value, tz)

    return when


def _flag(value: object) -> bool:
    result = parse_yes_no(value)
    return True if result is None else result  # any other non-blank text (a link, 3张图) means "yes"


def read_facts(
    values: Sequence[object],
    found: dict[str, int],
    letters: dict[str, str],
    sheet: str,
    row: int,
    policy: Policy,
) -> Facts:
    """One register row → Facts. ``found`` maps canonical keys to positions in ``values``; ``letters`` maps
    them to column letters for the problem locations."""
    problems: list[Problem] = []
    tz = policy.params.timezone

    def raw(key: str) -> object:
        position = found.get(key)
        if position is None or position >= len(values):
            return None
        value = values[position]
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def problem(key: str, message: str) -> None:
        problems.append(Problem(Loc(sheet, row, letters.get(key, "")), BY_KEY[key].header, message))

    def get(key: str, convert, required: bool = False):
        value = raw(key)
        if value is None:
            if required:
                problem(key, "为空" if key in found else "列不存在")
            return None
        if isinstance(value, str) and value.strip() in EXCEL_ERRORS:
            problem(key, f"是 Excel 错误值 {value.strip()}")
            return None
        try:
            return converted(convert, value)
        except (CellError, ValueError) as error:
            problem(key, str(error))
            return None

    when = _when_in(tz)
    flag = _flag
    text = clean_text
    case_id = get("case_id", clean_id, required=True)
    order_id = get("order_id", clean_id, required=True)
    buyer = get("buyer", text)
    product = get("product", text, required=True)
    sku = get("sku", clean_id)
    shipped_text = get("shipped", text)
    delivered_at = get("delivered_at", when)
    shipped = parse_shipped(shipped_text) if shipped_text else None
    if shipped is None and delivered_at is not None:
        shipped = True

    status = get("status", text)
    closed = is_closed(status)

    case_type = None
    type_text = get("type", text, required=not closed)
    if type_text:
        case_type = parse_type(type_text, shipped)
        if case_type is None:
            if type_text.strip() == "仅退款":
                problem("type", "为“仅退款”，但发货状态和签收时间都为空，无法区分未发货/已发货")
            else:
                problem("type", f"无法识别“{type_text}”{did_you_mean(type_text, TYPE_CHOICES)}")

    category = get("category", text)
    if category is None:
        category = policy.category_for_product(sku, product)
    if category is None and not closed:
        problem("category", "为空" if "category" in found else "列不存在（可在规则!商品 中按商家编码或商品名设置类目）")

    reason = get("reason", text, required=not closed)
    paid = get("paid", parse_money, required=not closed)
    no_money = case_type in (CaseType.EXCHANGE, CaseType.RESEND)
    requested = get("requested", parse_money, required=not (closed or no_money))
    if requested is None and no_money and raw("requested") is None:
        requested = ZERO
    shipping_fee = get("shipping_fee", parse_money) or ZERO
    requested_at = get("requested_at", when, required=not closed)

    override = None
    override_text = get("override", text)
    if override_text:
        override = parse_decision(override_text)
        if override is None:
            problem("override", f"无法识别“{override_text}”{did_you_mean(override_text, DECISION_CHOICES)}")

    return Facts(
        loc=Loc(sheet, row),
        case_id=case_id,
        order_id=order_id,
        buyer=buyer,
        product=product,
        sku=sku,
        category=category,
        type=case_type,
        reason=reason,
        paid=paid,
        requested=requested,
        shipping_fee=shipping_fee,
        shipped=shipped,
        delivered_at=delivered_at,
        requested_at=requested_at,
        platform_deadline=get("platform_deadline", when),
        evidence=bool(get("evidence", flag)),
        return_received_at=get("return_received_at", when),
        status=status,
        closed=closed,
        platform_risk=bool(get("platform_risk", flag)),
        override=override,
        note=get("note", text),
        problems=tuple(problems),
    )

