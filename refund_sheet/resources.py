"""Where the package's data folders are: the reply templates and the add-in's ribbon and VBA sources.

A wheel, an sdist and ``pip install .`` put them inside the package (``refund_sheet/_templates``,
``refund_sheet/_addin``: pyproject.toml maps the top-level ``templates/`` and ``addin/`` there). A checkout and an
editable install have them beside the package instead. No symlink joins the two: Git for Windows and a zip download
turn symlinks into small text files, which is why a real folder is looked for, not just a name.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def data_folder(installed: str, checkout: str, package: Path = PACKAGE) -> Path:
    """The folder inside the installed package if it is there, else the checkout's; the installed path when
    neither exists (its absence is then reported by whoever reads it, naming this path)."""
    for folder in (package / installed, package.parent / checkout):
        if folder.is_dir():
            return folder
    return package / installed


TEMPLATES = data_folder("_templates", "templates")
ADDIN_SOURCES = data_folder("_addin", "addin")
