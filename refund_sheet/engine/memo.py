"""A look-up remembered for one run: the per-run evaluator (``run.Run``) keeps its answers in these.

A register repeats the same words, products, stages and days on many rows, so each is looked up once per run. The
memo lives with the run, never on the compiled Policy: the policy stays immutable and a later run starts clean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict that fills itself: ``memo[key]`` is ``look_up(key)``, worked out the first time ``key`` is asked for
    (a hit costs one dict subscript in C, less than a method call)."""

    __slots__ = ("look_up",)

    def __init__(self, look_up: Callable[[K], V]) -> None:
        super().__init__()
        self.look_up = look_up

    def __missing__(self, key: K) -> V:
        found = self[key] = self.look_up(key)
        return found
