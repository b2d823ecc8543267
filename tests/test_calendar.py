"""Working days on the official calendar (2026 Mid-Autumn 9/25–27, National Day 10/1–7, make-up days 9/20
and Saturday 10/10) and the 7-day window rule of the law."""

from datetime import date, datetime

import pytest
from conftest import judge_row

from refund_sheet.engine import Decision, compile_policy
from refund_sheet.engine.calendar import CalendarRun, WorkCalendar
from refund_sheet.engine.model import Loc
from refund_sheet.engine.policy import PolicyCell, default_tables

CAL = CalendarRun(WorkCalendar())


@pytest.mark.parametrize(
    "day, workday",
    [
        ("2026-09-25", False),  # Mid-Autumn Festival, a Friday
        ("2026-09-20", True),  # Sunday make-up workday
        ("2026-10-01", False),
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),  # Saturday make-up workday
        ("2026-10-11", False),
        ("2026-11-21", False),  # an ordinary Saturday
    ],
)
def test_official_2026_days(day, workday):
    assert CAL.is_workday(date.fromisoformat(day)) is workday


@pytest.mark.parametrize(
    "delivered, last_day",
    [
        ("2026-11-16 10:00", "2026-11-23"),  # plain: the 7 days start the next day
        ("2026-11-14 10:00", "2026-11-23"),  # ends on Saturday 11-21 → Monday
        ("2026-09-24 18:00", "2026-10-08"),  # ends 10-01 National Day → first working day after
        ("2026-09-30 09:00", "2026-10-08"),  # ends 10-07, last day of the holiday
        ("2026-10-03 12:00", "2026-10-10"),  # ends on the make-up Saturday: a working day, no extension
        ("2026-09-18 12:00", "2026-09-28"),  # ends 9-25 Mid-Autumn, 26/27 rest → Monday 9-28
    ],
)
def test_seven_day_window(delivered, last_day):
    end = CAL.window_end(datetime.fromisoformat(delivered), 7)
    assert end == datetime.fromisoformat(last_day + " 23:59:59")


@pytest.mark.parametrize(
    "start, days, due",
    [
        ("2026-09-30 10:00", 3, "2026-10-10 10:00"),  # 10-08, 10-09, make-up Saturday 10-10
        ("2026-09-24 15:30", 1, "2026-09-28 15:30"),  # over Mid-Autumn and its weekend
        ("2026-09-18 09:00", 1, "2026-09-20 09:00"),  # Saturday rests, Sunday 9-20 works
        ("2026-11-20 10:00", 3, "2026-11-25 10:00"),  # Friday → Mon, Tue, Wed
        ("2026-11-21 10:00", 1, "2026-11-23 10:00"),  # received on a Saturday
    ],
)
def test_add_working_days(start, days, due):
    assert CAL.add_working_days(datetime.fromisoformat(start), days) == datetime.fromisoformat(due)


def test_a_year_the_calendar_does_not_know_falls_back_with_a_warning():
    cal = CalendarRun(WorkCalendar())
    assert cal.add_working_days(datetime(2031, 1, 3, 9), 1) == datetime(2031, 1, 6, 9)  # Fri → Mon
    assert cal.warnings() and "2031" in cal.warnings()[0]


def test_the_holiday_table_adds_rest_days_and_make_up_days():
    cal = CalendarRun(WorkCalendar(holidays=frozenset({date(2031, 1, 6)}), workdays=frozenset({date(2031, 1, 4)})))
    assert cal.add_working_days(datetime(2031, 1, 3, 9), 1) == datetime(2031, 1, 4, 9)  # Saturday works
    assert cal.add_working_days(datetime(2031, 1, 4, 9), 1) == datetime(2031, 1, 7, 9)  # Monday rests


def test_holiday_rows_on_the_policy_reach_the_calendar():
    tables = default_tables()
    cell = lambda text, col: PolicyCell(text, Loc("规则", 90, col))  # noqa: E731
    tables["节假日"] = [{"日期": cell("2031-01-06", "A"), "类型": cell("休息日", "B")}]
    policy, problems = compile_policy(tables)
    assert problems == []
    assert policy.calendar.look_up(date(2031, 1, 6)) is False


def test_refund_deadline_after_a_return_counts_working_days():
    v = judge_row(售后原因="商品破损", 凭证="是", 退货签收时间="2026-09-30 10:00", 申请时间="2026-09-26 10:00",
                  签收时间="2026-09-24 10:00", now=datetime(2026, 10, 9, 12))
    assert v.deadline == datetime(2026, 10, 10, 10, 0)
    assert v.sla.value == "即将超时"


@pytest.mark.parametrize(
    "requested_at, decision",
    [
        ("2026-10-08 20:00", Decision.RETURN_REFUND),  # window extended over National Day
        ("2026-10-09 08:00", Decision.REJECT),
    ],
)
def test_window_extension_decides_preference_returns(requested_at, decision):
    v = judge_row(签收时间="2026-09-24 10:00", 申请时间=requested_at, now=datetime(2026, 10, 9, 12))
    assert v.decision is decision
