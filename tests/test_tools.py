"""Keep it so with tools: the linter and the type checker run as ordinary tests, so `.ci/run` runs them.

Their settings, and why each rule family is on or off, are in pyproject.toml ([tool.ruff], [tool.mypy]).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    done = run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    """Strict on refund_sheet/engine/, checking on the rest (pyproject.toml [tool.mypy])."""
    done = run("mypy", "--no-incremental")
    assert done.returncode == 0, done.stdout + done.stderr
