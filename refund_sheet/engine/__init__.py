"""The pure core: cells' values → facts → verdicts. Imports neither openpyxl, xlwings nor jinja2."""

from .decide import Judged, judge_all, judge_run
from .model import CaseType, Decision, Facts, Loc, Payer, Problem, ReasonGroup, Risk, Sla, Verdict
from .policy import Policy, compile_policy, default_policy, now_in
from .run import Run

__all__ = [
    "CaseType", "Decision", "Facts", "Judged", "Loc", "Payer", "Policy", "Problem", "ReasonGroup", "Risk", "Run", "Sla",
    "Verdict", "compile_policy", "default_policy", "judge_all", "judge_run", "now_in",
]
