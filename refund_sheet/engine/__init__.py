"""The pure core: cells' values → facts → verdicts. Imports neither openpyxl, xlwings nor jinja2."""

from .decide import judge_all
from .model import CaseType, Decision, Facts, Loc, Payer, Problem, ReasonGroup, Risk, Sla, Verdict
from .policy import Policy, compile_policy, default_policy, now_in

__all__ = [
    "CaseType", "Decision", "Facts", "Loc", "Payer", "Policy", "Problem", "ReasonGroup", "Risk", "Sla",
    "Verdict", "compile_policy", "default_policy", "judge_all", "now_in",
]
