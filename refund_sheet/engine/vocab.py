"""Normalising the words merchants and the Douyin export use into the vocabulary of SPEC §1."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from .model import CaseType, Decision, ReasonGroup


def fold(text: str) -> str:
    """Fold full-width characters to half-width (（）→()), drop all spaces, lower-case ASCII.

    ``应付金额（元）``, ``应付金额(元)`` and ``应付金额 ( 元 )`` all become ``应付金额(元)``.
    """
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()  # split(): the whitespace \s matches


@lru_cache(maxsize=1 << 16)
def norm(text: str) -> str:
    """``fold``, remembered: for words that repeat (headers, reasons, statuses). A batch's many buyer names are
    folded once each by the caller instead, so they do not push the words out."""
    return fold(text)


def did_you_mean(value: str, choices: Iterable[str], cutoff: float = 0.5) -> str:
    """``（是否是“服装”？）`` — "did you mean" — or "" when nothing is close."""
    return _did_you_mean(value, tuple(choices), cutoff)


@lru_cache(maxsize=4096)
def _did_you_mean(value: str, choices: tuple[str, ...], cutoff: float) -> str:
    """Remembered: a register repeats its unknown words on many rows, and difflib is slow."""
    by_norm = {norm(c): c for c in choices}
    close = difflib.get_close_matches(norm(value), list(by_norm), n=1, cutoff=cutoff)
    if not close:
        # Containment catches short Chinese words difflib scores low: 服饰 → 服装 is close, 女装T恤 contains 服装.
        for key, original in by_norm.items():
            if key and (key in norm(value) or norm(value) in key):
                return f"（是否是“{original}”？）"
        return ""
    return f"（是否是“{by_norm[close[0]]}”？）"


_TYPE_WORDS = {
    norm(t.value): t for t in CaseType
} | {
    norm("未发货仅退款"): CaseType.REFUND_UNSHIPPED,
    norm("仅退款未发货"): CaseType.REFUND_UNSHIPPED,
    norm("已发货仅退款"): CaseType.REFUND_SHIPPED,
    norm("仅退款已发货"): CaseType.REFUND_SHIPPED,
    norm("退货"): CaseType.RETURN_REFUND,
    norm("退款退货"): CaseType.RETURN_REFUND,
    norm("换新"): CaseType.EXCHANGE,
    norm("补发"): CaseType.RESEND,
    norm("补寄商品"): CaseType.RESEND,
}


@lru_cache(maxsize=4096)  # called for every row with a few distinct words
def parse_type(text: str, shipped: bool | None) -> CaseType | None:
    """售后类型 from its Chinese or Douyin spelling; plain 仅退款 uses the shipping state when known."""
    key = norm(text)
    if key in _TYPE_WORDS:
        return _TYPE_WORDS[key]
    if key == norm("仅退款"):
        if shipped is None:
            return None
        return CaseType.REFUND_SHIPPED if shipped else CaseType.REFUND_UNSHIPPED
    return None


TYPE_CHOICES = tuple(t.value for t in CaseType) + ("未发货仅退款", "已发货仅退款")

_YES = {norm(w) for w in ("是", "有", "y", "yes", "true", "1", "已上传", "异常", "√", "✓")}
_NO = {norm(w) for w in ("否", "无", "没有", "n", "no", "false", "0", "未上传", "正常", "")}


def parse_yes_no(value: object) -> bool | None:
    """是/否 in the ways a sheet writes it; ``None`` when it is neither (the caller reports it)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    key = norm(str(value))
    if key in _YES:
        return True
    if key in _NO:
        return False
    return None


_SHIPPED = {norm(w): True for w in ("已发货", "已签收", "运输中", "已揽收", "已出库", "是")} | {
    norm(w): False for w in ("未发货", "待发货", "否")
}


@lru_cache(maxsize=4096)  # called for every row with a few distinct words
def parse_shipped(text: str) -> bool | None:
    """商品发货状态 → True/False, ``None`` when blank or unknown."""
    return _SHIPPED.get(norm(text))


CLOSED_WORDS = frozenset(norm(w) for w in ("已完结", "已关闭", "完结", "售后失败", "用户取消", "系统取消", "买家取消", "已取消"))


@lru_cache(maxsize=4096)  # called for every row with a few distinct words
def is_closed(status: str | None) -> bool:
    """SPEC §2: closed when the status says 已完结, 已关闭, 售后失败, 用户取消, 系统取消 (or 买家取消, 已取消), or
    contains 成功/关闭 (退款成功, 售后关闭, 换货成功). 退款失败 is not closed: the money did not reach the buyer."""
    if not status:
        return False
    key = norm(status)
    if "退款失败" in key:
        return False
    return key in CLOSED_WORDS or "成功" in key or "关闭" in key


@lru_cache(maxsize=1024)
def refund_failed(status: str | None) -> bool:
    """The platform says the refund failed (退款失败): the case stays open and the merchant must pay again."""
    return bool(status) and "退款失败" in norm(status)


_DECISION_WORDS = {norm(d.value): d for d in Decision} | {norm(d.name): d for d in Decision}


@lru_cache(maxsize=4096)  # called for every row with a few distinct words
def parse_decision(text: str) -> Decision | None:
    """A decision written as its 中文 label (全额退款) or its code (REFUND_FULL)."""
    return _DECISION_WORDS.get(norm(text))


DECISION_CHOICES = tuple(d.value for d in Decision)

_GROUP_WORDS = {norm(g.value): g for g in ReasonGroup} | {norm(g.name): g for g in ReasonGroup}


def parse_group(text: str) -> ReasonGroup | None:
    """A reason group as 中文 (质量问题) or code (QUALITY)."""
    return _GROUP_WORDS.get(norm(text))


GROUP_CHOICES = tuple(g.value for g in ReasonGroup)

_LIST_SPLIT = re.compile(r"[、,，;；]+")


def split_list(text: str) -> list[str]:
    """A cell that lists several values: ``质量问题、错发漏发`` or ``质量问题, 错发漏发`` (``/`` stays: 拍错/多拍)."""
    return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]


@lru_cache(maxsize=1024)  # called for every open case with a few distinct statuses
def waiting_for_buyer(status: str | None) -> bool:
    """The merchant has answered and the case waits for the buyer (待买家退货, 待买家处理…): no merchant deadline."""
    return bool(status) and "待买家" in norm(status)
