"""Docs are tested: every command documented and with help, the README's two commands are the real ones."""

from pathlib import Path

import click
from click.testing import CliRunner

from refund_sheet.cli import main

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command  # groups too: their help shows an example as well
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    for path, _command in commands(main):
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "refund-sheet " + " ".join(path) in result.output, f"{path}: --help has no example"
        assert "refund-sheet " + " ".join(path) in README, f"{path} is not in the README"


def test_the_readme_commands_are_the_ones_ci_runs():
    assert "bash .ci/setup && .venv/bin/refund-sheet demo" in README
    assert "bash .ci/run" in README
    run = (ROOT / ".ci" / "run").read_text()
    assert "bash .ci/setup" in run and "-m pytest" in run


def test_linked_docs_exist():
    import re

    for link in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (ROOT / link).exists(), link
