"""Working days and the 7-day window, on the official Chinese calendar (SPEC §4).

The official calendar (holidays and 调休 make-up workdays) comes from the maintained ``chinesecalendar``
package. The 规则 sheet's 节假日 table adds or corrects days on top of it; for a year the package does not
know, days fall back to Monday–Friday plus that table, and the calendar records a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import chinese_calendar

WEEKEND = (5, 6)


@dataclass(frozen=True)
class WorkCalendar:
    """The official calendar plus the merchant's 节假日 table (``holidays`` rest, ``workdays`` work)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    # Years seen that the official calendar does not cover; filled as a side record, never affects equality.
    unknown_years: set[int] = field(default_factory=set, compare=False, hash=False, repr=False)
    # Answers already looked up: the package scans its tables on every call, and a batch asks about few days.
    _known: dict[date, bool] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _windows: dict[tuple[date, int], datetime] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def is_workday(self, day: date) -> bool:
        """True when ``day`` is a working day (调休 Saturdays included, public holidays and weekends excluded)."""
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self.unknown_years.add(day.year)
            return day.weekday() not in WEEKEND

    def warnings(self) -> list[str]:
        """One line per year that was computed without the official calendar."""
        return [
            f"{year} 年不在内置法定节假日日历中，已按周一至周五加“节假日”表计算，请在规则!节假日 中补充该年的放假和调休安排"
            for year in sorted(self.unknown_years)
        ]

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
        key = (delivered_at.date(), days)
        end = self._windows.get(key)
        if end is None:
            last = key[0] + timedelta(days=days)
            while not self.is_workday(last):
                last += timedelta(days=1)
            end = self._windows[key] = datetime.combine(last, time(23, 59, 59))
        return end
