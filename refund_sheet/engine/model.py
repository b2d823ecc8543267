"""Dumb data: the vocabulary of SPEC §1, facts read from a row, and the verdict written back.

Facts and Verdict are built once per case and never changed afterwards: code that needs a different one makes a
new one (``dataclasses.replace``); tests check the engine leaves them as they were. They are not ``frozen``
dataclasses because a frozen one costs a further microsecond or more per case to build (every field set through
``object.__setattr__``), which is a tenth of the engine's budget per row on a 100,000-row register.

Nothing here imports openpyxl, xlwings or jinja2. Values are plain Python: ``str``, ``Decimal``,
naive ``datetime`` in the shop's local time (Asia/Shanghai unless 规则 says otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import NamedTuple


class Decision(str, Enum):
    """The only values the engine writes in the 处理建议 column (SPEC §1)."""

    REFUND_FULL = "全额退款"
    REFUND_PARTIAL = "部分退款"
    RETURN_REFUND = "退货退款"
    EXCHANGE = "换货"
    RESEND = "补寄"
    REJECT = "拒绝"
    NEED_EVIDENCE = "补充凭证"
    MANUAL_REVIEW = "人工审核"
    INCOMPLETE = "信息不全"
    DONE = "已完结"

    @property
    def refunds(self) -> bool:
        """True for decisions that pay money back."""
        return self in REFUNDING


REFUNDING = frozenset({Decision.REFUND_FULL, Decision.REFUND_PARTIAL, Decision.RETURN_REFUND})

ENGLISH_DECISION = {
    Decision.REFUND_FULL: "Full refund",
    Decision.REFUND_PARTIAL: "Partial refund",
    Decision.RETURN_REFUND: "Return and refund",
    Decision.EXCHANGE: "Exchange",
    Decision.RESEND: "Resend",
    Decision.REJECT: "Reject",
    Decision.NEED_EVIDENCE: "Need evidence",
    Decision.MANUAL_REVIEW: "Manual review",
    Decision.INCOMPLETE: "Incomplete",
    Decision.DONE: "Done",
}


class CaseType(str, Enum):
    """售后类型, after the Douyin spellings are normalised."""

    REFUND_UNSHIPPED = "仅退款(未发货)"
    REFUND_SHIPPED = "仅退款(已发货)"
    RETURN_REFUND = "退货退款"
    EXCHANGE = "换货"
    RESEND = "补寄"


class ReasonGroup(str, Enum):
    """原因分组: every reason in the policy belongs to one."""

    QUALITY = "质量问题"
    WRONG_ITEM = "错发漏发"
    NOT_RECEIVED = "未收到货"
    PREFERENCE = "买家原因"
    OTHER = "其他"


class Sla(str, Enum):
    """时效状态 at the time of the check."""

    OK = "正常"
    DUE_SOON = "即将超时"
    OVERDUE = "已超时"
    WAITING = "等待买家"  # the case waits on the buyer (待买家退货…): no merchant deadline runs
    CLOSED = "已完结"


class Risk(str, Enum):
    """风险提示 flags (SPEC §1)."""

    REPEAT_BUYER = "重复申请"
    HIGH_VALUE = "高金额"
    OVER_REQUEST = "超额申请"
    DUPLICATE = "重复售后单"
    PLATFORM_FLAG = "退货异常"


class Payer(str, Enum):
    """Who pays the return shipping (退货运费)."""

    MERCHANT = "商家"
    BUYER = "买家"
    NONE = "无"


class Loc(NamedTuple):
    """Where a value came from: ``退款登记!H14``. A named tuple: one per row, and the cheapest immutable record."""

    sheet: str
    row: int
    column: str = ""  # column letter, blank for the whole row

    def __str__(self) -> str:
        return f"{self.sheet}!{self.column}{self.row}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad or missing value, located; bad user data is a value, not an exception."""

    loc: Loc
    field: str  # the header the merchant sees, e.g. 实付金额
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.field} {self.message}"


@dataclass(slots=True)
class Facts:
    """One after-sales case as read from one register row; every field already parsed.

    Fields that could not be parsed are ``None`` and the reason is in ``problems``.
    """

    loc: Loc
    case_id: str | None = None
    order_id: str | None = None
    buyer: str | None = None
    product: str | None = None
    sku: str | None = None
    category: str | None = None
    type: CaseType | None = None
    reason: str | None = None
    paid: Decimal | None = None
    requested: Decimal | None = None
    shipping_fee: Decimal = Decimal("0.00")
    shipped: bool | None = None
    delivered_at: datetime | None = None
    requested_at: datetime | None = None
    platform_deadline: datetime | None = None
    evidence: bool = False
    return_received_at: datetime | None = None
    status: str | None = None
    closed: bool = False
    platform_risk: bool = False
    override: Decision | None = None
    note: str | None = None
    problems: tuple[Problem, ...] = ()
    # Facts needed only where a rule asks for them (SPEC §2: 类目, 签收时间) that this row lacks, by kind:
    # "category" (no 类目, or one the 类目 table does not know), "delivered" (whether the buyer signed is unknown:
    # no 签收时间 column, or a bad cell), "signed_at" (not signed per the blank cell, but the date a no-reason
    # window needs is missing). ``None`` when nothing is missing: the usual row.
    gaps: dict[str, Problem] | None = None


@dataclass(slots=True)
class Verdict:
    """What the engine says about one case: the record the explanation and the reply are built from."""

    loc: Loc
    decision: Decision
    amount: Decimal | None = None
    payer: Payer | None = None
    deadline: datetime | None = None
    sla: Sla | None = None
    risks: tuple[str, ...] = ()  # human-readable risk texts, e.g. "高金额 ¥680.00 ≥ ¥500.00"
    rule_id: str = ""
    held: tuple[str, ...] = ()  # the conditions of the winning rule that held, as words
    explanation: str = ""
    template: str | None = None  # a rule may name its own reply template
    percent: Decimal | None = None
    group: ReasonGroup | None = None
    reason: str | None = None  # the policy's name for the reason (after alias matching)
    unopened_only: bool = False  # category accepts no-reason returns only when unopened
    window_end: datetime | None = None
    problems: tuple[Problem, ...] = ()
