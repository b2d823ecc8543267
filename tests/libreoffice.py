"""Running LibreOffice headless from tests: a private profile per call, so parallel runs don't collide."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice is not installed: .ci/run installs it (apt-get install libreoffice-calc-nogui)"
    return found


def convert(source: Path, to: str, outdir: Path, infilter: str | None = None, timeout: int = 180) -> Path:
    """``soffice --headless --convert-to TO SOURCE``; returns the produced file (asserting it exists)."""
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        command = [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore"]
        if infilter:
            command.append(f"--infilter={infilter}")
        command += ["--convert-to", to, "--outdir", str(outdir), str(source)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    produced = outdir / f"{source.stem}.{to.split(':')[0]}"
    assert done.returncode == 0 and produced.exists(), (done.stdout, done.stderr)
    return produced
