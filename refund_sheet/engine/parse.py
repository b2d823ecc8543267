"""Cell values → Facts. A bad cell becomes a located Problem on the row; nothing here raises on user data.

Values arrive as the workbook reader gives them: ``str``, ``int``, ``float``, ``datetime``, ``date``, ``bool`` or
``None``. Every date-time becomes a naive datetime in the shop's time zone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from .batching import without_gc_pauses
from .columns import BY_KEY
from .model import CaseType, Decision, Facts, Loc, Problem
from .money import ZERO, parse_money
from .policy import Policy
from .run import Run
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
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)  # full-width digits typed with an input method
    text = _ID_JUNK.sub("", text)
    return text or None


YEARS = range(1954, 2120)  # what an Excel serial date in 20000–80000 covers; outside it, a typo (and no date arithmetic overflows)


def parse_datetime(value: object, tz: str) -> datetime:
    """A date-time cell in the shop's local time: an Excel date, a serial number, or text such as
    ``2026-11-19 10:00``, ``2026/11/19 10:00``, ``2026年11月19日``, ``2026-11-19T02:00:00Z``.
    A year outside 1954–2119 (``9999-12-31``, ``0001-01-01``) is a CellError."""
    if value.__class__ is datetime and value.tzinfo is None and not value.microsecond and value.year in YEARS:
        return value  # a date-time cell, as readers give most of them: nothing to do
    moment = _parse_datetime(value, tz)
    if moment.year not in YEARS:
        raise CellError(f"“{value}” 的年份 {moment.year} 不合理（应在 {YEARS.start}–{YEARS.stop - 1} 之间）")
    return moment


def _parse_datetime(value: object, tz: str) -> datetime:
    if value.__class__ is str:
        text = value.strip()
        if not text.isascii():  # ２０２６－１１－１９　１０：００ typed with an input method: NFKC makes it ASCII
            value = text = unicodedata.normalize("NFKC", text).strip()
        if (
            len(text) in (16, 19) and text[4] == "-" and text[7] == "-" and text[10] in " T" and text[13] == ":"
            and (len(text) == 16 or text[16] == ":")  # fromisoformat also takes 20122200 and 09:00.50: not here
        ):
            try:  # 2026-11-19 10:00[:00], the export's own format: read in C
                moment = datetime.fromisoformat(text)
            except ValueError:
                moment = None  # the pattern below says why
            if moment is not None and moment.tzinfo is None:  # "…10:00+08" has a zone: the pattern below decides
                return moment
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
            utc = datetime.fromtimestamp(float(value), UTC)
            return utc.astimezone(ZoneInfo(tz)).replace(tzinfo=None, microsecond=0)
        raise CellError(f"{value} 不是时间")
    text = clean_text(value) or ""
    if not text:
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


MEMO_LIMIT = 200_000  # distinct values a column remembers; past that it starts afresh
_NUMBERS = frozenset({int, float, bool, Decimal})  # equal across types (1 == 1.0 == True) but not read alike


class _Column:
    """One register column's converter, remembering what each distinct value converted to (failures included):
    a register repeats the same dates, amounts and words on many rows, so each is converted once per run.

    Values of one numeric type are remembered apart from the others' (1, 1.0 and True are equal as keys, but
    ``clean_text`` reads True as “True” and 1 as “1”); a column mixing numeric types is keyed by (type, value).
    """

    __slots__ = ("convert", "failures", "memos", "remember")

    def __init__(self, convert: Callable[[object], object], remember: bool) -> None:
        self.convert, self.remember = convert, remember
        self.memos: dict[object, dict[object, object]] = {}
        # Whether a cell may have failed: any memo holds a _Failed, or there is no memo. Never reset: a memo keeps
        # its failures, and checking a column for them is cheap.
        self.failures = not remember

    def convert_all(self, cells: list[object]) -> list[object]:
        """Each cell converted: the value, ``None`` for blank, or a ``_Failed`` (only if ``failures``)."""
        if not self.remember:
            return [
                value if value.__class__ is str and value.isdigit() and value.isascii() and len(value) < 64  # a usual ID
                else None if value is None else self._one(value)
                for value in cells
            ]
        classes = set(map(type, cells))
        numeric = classes & _NUMBERS
        exact = len(numeric) > 1 or Decimal in numeric  # Decimal 1 == 1.00 but reads as “1” and “1.00”
        kind = "exact" if exact else next(iter(numeric), None)
        memo = self.memos.get(kind)
        if memo is None or len(memo) > MEMO_LIMIT:
            memo = self.memos[kind] = {None: None}
        try:
            if tuple in classes:  # nothing a reader gives, and it would pass for an exact key
                raise TypeError
            if exact:
                keys = [(v.__class__, str(v)) if v.__class__ in _NUMBERS else v for v in cells]
                values = dict(zip(keys, cells))
            else:
                keys = values = cells  # type: ignore[assignment]
            new = [key for key in dict.fromkeys(keys) if key not in memo]  # not keys() - keys(): that walks the memo
        except TypeError:  # an unhashable value (a list, Decimal("sNaN")): no memo for this batch
            self.failures = True
            return [None if value is None else self._one(value) for value in cells]
        for key in new:
            hit = memo[key] = self._one(values[key] if exact else key)
            self.failures = self.failures or hit.__class__ is _Failed
        return list(map(memo.__getitem__, keys))

    def _one(self, value: object) -> object:
        return _convert(self.convert, value)


def _convert(convert: Callable[[object], object], value: object) -> object:
    """One non-empty cell through its column's converter: the value, ``None`` for blank, or a ``_Failed``."""
    if value.__class__ is float and value == 0:
        value = 0.0  # not -0.0: equal as a key, so the memo may hand either's result to the other
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text in EXCEL_ERRORS:
            return _Failed(f"是 Excel 错误值 {text}")
        if convert is clean_text and len(text) <= MAX_TEXT:  # what clean_text would do, done already
            return text
    try:
        return convert(value)
    except (CellError, ValueError) as error:
        return _Failed(str(error))


def _flag(value: object) -> bool:
    result = parse_yes_no(value)
    return True if result is None else result  # any other non-blank text (a link, 3张图) means "yes"


# The cells a row is read from, in the order their problems are listed: (key, converter, remembered?).
# IDs are not remembered: every row has its own. _WHEN (None) stands for parse_datetime in the policy's time zone.
_TEXT, _MONEY, _WHEN, _FLAG = clean_text, parse_money, None, _flag
FIELDS = (
    ("case_id", clean_id, False),
    ("order_id", clean_id, False),
    ("buyer", _TEXT, True),
    ("product", _TEXT, True),
    ("sku", clean_id, True),
    ("shipped", _TEXT, True),
    ("delivered_at", _WHEN, True),
    ("status", _TEXT, True),
    ("type", _TEXT, True),
    ("category", _TEXT, True),
    ("reason", _TEXT, True),
    ("paid", _MONEY, True),
    ("requested", _MONEY, True),
    ("shipping_fee", _MONEY, True),
    ("requested_at", _WHEN, True),
    ("override", _TEXT, True),
    ("platform_deadline", _WHEN, True),
    ("evidence", _FLAG, True),
    ("return_received_at", _WHEN, True),
    ("platform_risk", _FLAG, True),
    ("note", _TEXT, True),
)
_NOWHERE = 1 << 30  # the position of an absent column: past the end of any row
_KEYS = [key for key, _, _ in FIELDS]
_REQUESTED = _KEYS.index("requested")
_CATEGORY, _DELIVERED = _KEYS.index("category"), _KEYS.index("delivered_at")
# Cells the engine needs only where a rule asks for them (SPEC §2): a bad one is a missing fact (``Facts.gaps``),
# named only when a rule needs it, never a reason on its own to leave the row undecided.
SOFT = frozenset({_CATEGORY, _DELIVERED})
# Cells the engine does not judge by: a bad one (an Excel 365 picture in 备注 reads as #VALUE!) is read as blank.
IGNORED = frozenset({_KEYS.index("note")})
NO_MONEY = frozenset({CaseType.EXCHANGE, CaseType.RESEND})  # no 申请金额 needed: a blank one is 0


class Reader:
    """A register's column layout compiled once per run: ``reader.read_all(rows)`` → Facts, row by row.

    ``found`` maps canonical keys to positions in a row's values; ``letters`` maps them to column letters for the
    problem locations. Cells are converted column by column, and each column remembers what its distinct values
    converted to (a register repeats the same dates, amounts and words on many rows), failures included, so a
    value is converted once per run. The policy's look-ups go through the run's ``Run`` (give the one that will
    judge the rows; given a Policy, the reader makes its own).
    """

    def __init__(self, found: dict[str, int], letters: dict[str, str], sheet: str, policy: Policy | Run) -> None:
        self.run = policy if isinstance(policy, Run) else Run(policy)
        self.found, self.letters, self.sheet, self.policy = found, letters, sheet, self.run.policy
        self._known: dict[str, bool] = {}  # 类目 text → whether the 类目 table knows it (a look-up per row, not a call)
        when = _when_in(self.policy.params.timezone)
        self._columns = tuple(
            (found.get(key, _NOWHERE), _Column(when if convert is None else convert, remember))
            for key, convert, remember in FIELDS
        )

    def __call__(self, values: Sequence[object], row: int) -> Facts:
        return self.read_all([(row, values)])[0]

    @without_gc_pauses
    def read_all(self, rows: Sequence[tuple[int, Sequence[object]]]) -> list[Facts]:
        """(row number, values) pairs → Facts in the same order."""
        numbers = [number for number, _ in rows]
        width = max((p for p, _ in self._columns if p != _NOWHERE), default=-1) + 1
        grid = [values if len(values) >= width else [*values, *[None] * (width - len(values))] for _, values in rows]
        failed: dict[int, dict[int, str]] = {}  # row index → field index → why
        soft: dict[int, dict[int, str]] = {}  # the same for the SOFT fields
        columns: list[list[object]] = []
        for field, (position, column) in enumerate(self._columns):
            if position == _NOWHERE:
                columns.append([None] * len(grid))
                continue
            converted = column.convert_all(list(map(itemgetter(position), grid)))
            if column.failures:
                into = soft if field in SOFT else failed
                for index, failure in [(i, hit) for i, hit in enumerate(converted) if isinstance(hit, _Failed)]:
                    if field not in IGNORED:
                        into.setdefault(index, {})[field] = failure.message
                    converted[index] = None
            columns.append(converted)
        facts = self._facts
        if not failed and not soft:  # the usual register
            return [facts(cells, None, number) for number, cells in zip(numbers, zip(*columns))]
        return [
            facts(cells, failed.get(index), numbers[index], soft.get(index)) for index, cells in enumerate(zip(*columns))
        ]

    def _facts(self, cells: Sequence[Any], failed: dict[int, str] | None, row: int, soft: dict[int, str] | None = None) -> Facts:
        (case_id, order_id, buyer, product, sku, shipped_text, delivered_at, status, type_text, category, reason,
         paid, requested, shipping_fee, requested_at, override_text, platform_deadline, evidence,
         return_received_at, platform_risk, note) = cells
        shipped = parse_shipped(shipped_text) if shipped_text else None
        if shipped is None and delivered_at is not None:
            shipped = True
        closed = is_closed(status)
        case_type = parse_type(type_text, shipped) if type_text else None
        if category is None:
            category = self.run.category_for_product(sku, product)
        known = self._known.get(category) if category is not None else False
        if known is None:
            known = self._known[category] = self.run.category(category) is not None
        gaps = None
        if not closed and (soft or not known or (delivered_at is None and shipped is not False)):
            gaps = self._gaps(row, soft or {}, category, product, sku, delivered_at, shipped)
        if requested is None and case_type in NO_MONEY and not (failed and _REQUESTED in failed):
            requested = ZERO
        override = parse_decision(override_text) if override_text else None
        problems: tuple[Problem, ...] = ()
        if (  # a quick test that nothing is wrong; it must catch everything _problems reports
            failed
            or case_id is None
            or order_id is None
            or product is None
            or (type_text and case_type is None)
            or (override_text and override is None)
            or (not closed
                and (type_text is None or reason is None or paid is None or requested is None or requested_at is None))
        ):
            problems = self._problems(cells, failed, row, closed, case_type, requested, override)
        return Facts(  # by position, in the order of Facts' fields: keywords cost almost a microsecond per row
            Loc(self.sheet, row), case_id, order_id, buyer, product, sku, category, case_type, reason, paid, requested,
            shipping_fee or ZERO, shipped, delivered_at, requested_at, platform_deadline, bool(evidence),
            return_received_at, status, closed, bool(platform_risk), override, note, problems, gaps,
        )

    def _gaps(
        self, row: int, soft: dict[int, str], category: str | None, product: str | None, sku: str | None,
        delivered_at: datetime | None, shipped: bool | None,
    ) -> dict[str, Problem] | None:
        """The facts needed only where a rule asks for them that this row lacks (``Facts.gaps``), each saying
        where to fill it in; ``None`` when it lacks none."""
        gaps: dict[str, Problem] = {}

        def here(key: str) -> Loc:
            return Loc(self.sheet, row, self.letters.get(key, ""))

        if _CATEGORY in soft:
            gaps["category"] = Problem(here("category"), "商品类目", soft[_CATEGORY])
        elif category is None:
            entry = self.run.product_row(sku, product)
            name = f"「{product or sku or ''}」"
            if entry is not None:
                gaps["category"] = Problem(entry.loc, "商品类目", f"{name}在 规则!商品 表中没有类目")
            elif "category" in self.found:
                gaps["category"] = Problem(here("category"), "商品类目", f"为空，{name}也不在 规则!商品 表中")
            else:
                gaps["category"] = Problem(here("category"), "商品类目", f"登记表没有类目列，{name}也不在 规则!商品 表中")
        elif self.run.category(category) is None:
            names = [c.name for c in self.policy.categories]
            gaps["category"] = Problem(
                here("category"), "商品类目", f"“{category}”不在 规则!类目 表中{did_you_mean(category, names)}"
            )
        if _DELIVERED in soft:
            gaps["delivered"] = Problem(here("delivered_at"), "签收时间", soft[_DELIVERED])
        elif delivered_at is None and shipped is not False:
            if "delivered_at" in self.found:
                gaps["signed_at"] = Problem(here("delivered_at"), "签收时间", "为空，无法计算无理由退货期限")
            else:
                gaps["delivered"] = Problem(here("delivered_at"), "签收时间", "登记表没有签收时间列")
        return gaps or None

    def _problems(
        self, cells: Sequence[Any], failed: dict[int, str] | None, row: int, closed: bool, case_type: CaseType | None,
        requested: Decimal | None, override: Decision | None,
    ) -> tuple[Problem, ...]:
        """The row's problems, in column order: cells that failed to convert, required cells left empty, words
        that are not in the vocabulary."""
        required = {"case_id", "order_id", "product"}
        if not closed:
            required |= {"type", "reason", "paid", "requested_at"}
            if requested is None:
                required.add("requested")
        failed = failed or {}
        problems: list[Problem] = []

        def problem(key: str, message: str) -> None:
            problems.append(Problem(Loc(self.sheet, row, self.letters.get(key, "")), BY_KEY[key].header, message))

        for index, (key, _, _) in enumerate(FIELDS):
            value = cells[index]
            if index in failed:
                problem(key, failed[index])
            elif value is None and key in required:
                problem(key, "为空" if key in self.found else "列不存在")
            if key == "type" and value and case_type is None:
                if value.strip() == "仅退款":
                    problem(key, "为“仅退款”，但发货状态和签收时间都为空，无法区分未发货/已发货")
                else:
                    problem(key, f"无法识别“{value}”{did_you_mean(value, TYPE_CHOICES)}")
            elif key == "override" and value and override is None:
                problem(key, f"无法识别“{value}”{did_you_mean(value, DECISION_CHOICES)}")
        return tuple(problems)


@cache
def _when_in(tz: str) -> Callable[[object], datetime]:
    """The date-time converter for one time zone (one function per zone, so its results can be remembered)."""

    def when(value: object) -> datetime:
        return parse_datetime(value, tz)

    return when


def read_facts(
    values: Sequence[object],
    found: dict[str, int],
    letters: dict[str, str],
    sheet: str,
    row: int,
    policy: Policy,
) -> Facts:
    """One register row → Facts; for many rows, make one ``Reader`` and call it per row."""
    return Reader(found, letters, sheet, policy)(values, row)
