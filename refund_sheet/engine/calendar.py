"""Working days and the 7-day window, on the official Chinese calendar (SPEC §4).

The official calendar (holidays and 调休 make-up workdays) comes from the maintained ``chinesecalendar``
package. The 规则 sheet's 节假日 table adds or corrects days on top of it; for a year the package does not
know, days fall back to Monday–Friday plus that table, and the run's ``CalendarRun`` records a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import chinese_calendar

from .memo import Memo

WEEKEND = (5, 6)


@dataclass(frozen=True)
class WorkCalendar:
    """The official calendar plus the merchant's 节假日 table (``holidays`` rest, ``workdays`` work).

    Immutable, as part of the compiled Policy; the day arithmetic is done by a ``CalendarRun``, one per run, which
    remembers the answers and records the years the official calendar does not cover.
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def look_up(self, day: date) -> bool | None:
        """True when ``day`` is a working day (调休 Saturdays included, public holidays and weekends excluded) by
        the 节假日 table or the official calendar; ``None`` for a day of a year the official calendar does not cover
        that the table does not name."""
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return None


class CalendarRun:
    """A WorkCalendar for one run: its answers remembered (the package scans its tables on every call, and a batch
    asks about few days), and the years it did not cover recorded for ``warnings``."""

    __slots__ = ("_days", "_windows", "calendar", "unknown_years")

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.unknown_years: set[int] = set()
        self._days: Memo[date, bool] = Memo(self._look_up)
        self._windows: Memo[tuple[date, int], datetime] = Memo(self._window_end)

    def is_workday(self, day: date) -> bool:
        """True when ``day`` is a working day; in a year the official calendar does not cover, Monday to Friday
        plus the 节假日 table, and the year is recorded."""
        return self._days[day]

    def _look_up(self, day: date) -> bool:
        known = self.calendar.look_up(day)
        if known is None:
            self.unknown_years.add(day.year)
            return day.weekday() not in WEEKEND
        return known

    def warnings(self) -> tuple[str, ...]:
        """One line per year that was computed without the official calendar."""
        return tuple(
            f"{year} 年不在内置法定节假日日历中，已按周一至周五加“节假日”表计算，请在规则!节假日 中补充该年的放假和调休安排"
            for year in sorted(self.unknown_years)
        )

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` moved forward by ``days`` working days, keeping the time of day.

        Counting starts the day after ``start``: a return signed for on Friday 10:00 with 3 working days is due
        Wednesday 10:00; one signed for on a holiday counts from the first working day after it.
        """
        day = start.date()
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return datetime.combine(day, start.time())

    def window_end(self, delivered_at: datetime, days: int) -> datetime:
        """The last moment of the no-reason return window (网络购买商品七日无理由退货暂行办法).

        The period starts the day after the buyer signs; its last day is ``delivered + days``. When that day is a
        rest day (法定休假日: public holidays and weekends, 民法典 第203条), the window ends on the first working day
        after it. Returned as 23:59:59 of the last day.
        """
        return self._windows[delivered_at.date(), days]

    def _window_end(self, key: tuple[date, int]) -> datetime:
        last = key[0] + timedelta(days=key[1])
        while not self.is_workday(last):
            last += timedelta(days=1)
        return datetime.combine(last, time(23, 59, 59))
