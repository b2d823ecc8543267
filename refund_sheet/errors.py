"""The small exception tree. Each carries what the user needs to fix the problem; the CLI prints it in one line."""

from __future__ import annotations


class RefundSheetError(Exception):
    """A problem the user can fix; the message says how."""


class WorkbookError(RefundSheetError):
    """The file cannot be opened, or holds no register."""


class PolicyError(RefundSheetError):
    """The 规则 sheet has mistakes; ``problems`` lists each with its cell."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"规则表有 {len(self.problems)} 处错误，未做任何修改：\n{lines}")


class SaveError(RefundSheetError):
    """The result could not be saved; the original file is unchanged."""


class TemplateError(RefundSheetError):
    """A reply template is broken (syntax, unknown variable); the message names file and line."""
