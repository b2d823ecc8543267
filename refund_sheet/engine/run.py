"""One run of the engine over a compiled Policy: what the run remembers and what it finds, kept apart from the policy.

The Policy is immutable and may serve any number of runs (the add-in keeps one while 规则 is unchanged). Each run
makes a ``Run``: the reader (``parse.Reader``) and the judge (``decide.judge_run``) look things up through it, so
the texts a register repeats (reasons, categories, products, stages, the situations the rules see) are looked up
once per run, and its ``calendar`` records the years the official calendar does not cover. ``judge_run`` hands
those back as warnings with the verdicts; nothing is left behind on the policy, so the next run starts clean.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Literal

from .calendar import CalendarRun
from .memo import Memo
from .model import CaseType
from .policy import Category, Hit, Policy, ProductMap, Reason, Situation, Stage, first_match, hit_of
from .vocab import did_you_mean

Words = tuple[Reason | None, Category | None, tuple[str, ...]]
"""A case's reason and category as the policy knows them, and a note for each it does not know."""


class Run:
    """A Policy for one run: its look-ups remembered, its calendar's days too (``calendar``), and the years the
    official calendar lacked recorded for ``warnings``. Make one per run; the policy is never changed."""

    __slots__ = ("_categories", "_matches", "_products", "_reasons", "_stages", "_thresholds", "_words", "calendar", "policy")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.calendar = CalendarRun(policy.calendar)
        self._reasons: Memo[str | None, Reason | None] = Memo(policy.reason)
        self._categories: Memo[str | None, Category | None] = Memo(policy.category)
        self._products: Memo[tuple[str | None, str | None], ProductMap | None] = Memo(lambda k: policy.product_row(*k))
        self._stages: Memo[tuple[str, CaseType | None], Stage | None] = Memo(lambda k: policy.stage(*k))
        self._words: Memo[tuple[str | None, str | None], Words] = Memo(self._look_up_words)
        self._matches: dict[tuple[object, ...], Hit | None] = {}
        self._thresholds = sorted({r.max_amount for r in policy.rules if r.max_amount is not None})

    def reason(self, text: str | None) -> Reason | None:
        """``Policy.reason``, remembered per text."""
        return self._reasons[text]

    def category(self, text: str | None) -> Category | None:
        """``Policy.category``, remembered per text."""
        return self._categories[text]

    def product_row(self, sku: str | None, product: str | None) -> ProductMap | None:
        """``Policy.product_row``, remembered per (sku, name)."""
        return self._products[sku, product]

    def category_for_product(self, sku: str | None, product: str | None) -> str | None:
        """``Policy.category_for_product``, from the remembered 商品 row."""
        row = self._products[sku, product]
        return row.category or None if row is not None else None

    def stage(self, name: str, case_type: CaseType | None) -> Stage | None:
        """``Policy.stage``, remembered per (stage, type)."""
        return self._stages[name, case_type]

    def words(self, reason_text: str | None, category_text: str | None) -> Words:
        """The policy's reason and category for a case's words, with a note for each it does not know; remembered
        per pair of words (a register has few)."""
        return self._words[reason_text, category_text]

    def _look_up_words(self, key: tuple[str | None, str | None]) -> Words:
        reason_text, category_text = key
        policy, notes = self.policy, []
        reason = self._reasons[reason_text]
        if reason is None:
            choices = [r.name for r in policy.reasons]
            notes.append(f"原因“{reason_text}”不在规则!原因 表中，按“其他”处理{did_you_mean(reason_text or '', choices)}")
        category = self._categories[category_text]
        if category is None:
            names = [c.name for c in policy.categories]
            notes.append(f"类目“{category_text}”不在规则!类目 表中，无法判断无理由退货{did_you_mean(category_text or '', names)}")
        return reason, category, tuple(notes)

    def match(self, s: Situation) -> Hit | None:
        """``first_match``, remembered: rules see the paid amount only through 金额不超过, so the situation with the
        amount replaced by its place among the table's thresholds decides the match exactly; a batch has few such
        keys. The words of a held amount condition name the amount, so such a hit is rebuilt for each case."""
        key = (s.type, s.group, s.reason, s.delivered, s.in_window, s.category_ok, s.evidence, s.risk, bisect_left(self._thresholds, s.paid))
        hit: Hit | Literal[False] | None = self._matches.get(key, False)
        if hit is False:
            hit = self._matches[key] = first_match(self.policy, s)
        if hit is not None and hit.rule.max_amount is not None:
            return hit_of(hit.rule, s)
        return hit

    def warnings(self) -> tuple[str, ...]:
        """What the run found that the merchant should know: one line per year computed without the official
        calendar."""
        return self.calendar.warnings()

