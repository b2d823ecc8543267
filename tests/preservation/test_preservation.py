"""Nothing the merchant made is lost (issue 12): every feature of FEATURES, injected into a real tracker, survives
``refund-sheet check`` and ``refund-sheet import``.

For each feature × command: parts the tool does not own are byte-identical and keep their order; in the register
only output cells (import: also the platform's cells and appended rows) change; the register Table and styles.xml
change only as allowed; LibreOffice still opens the result and still shows the feature; openxml-audit and Gnumeric
find nothing new. The heavy work (building, running, converting) happens once per module and is shared by the tests.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

import contract
from douyin import CASES, export_row, write_export
from features import FEATURES, REGISTER, Package

from refund_sheet import service
from refund_sheet.cli import main

BUILT_AT = datetime(2026, 11, 20, 12, 0)
CHECK_AT = "2026-11-21 12:00"  # a day later: deadlines, SLA states and 检查时间 change, so check saves
COMMANDS = ("check", "import")
NAMES = [f.name for f in FEATURES]
BY_NAME = {f.name: f for f in FEATURES}


def report(problems: list[str], what: str, limit: int = 12) -> str:
    more = f"\n… and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{what}: {len(problems)} problem(s)\n" + "\n".join(problems[:limit]) + more


# ------------------------------------------------------------------------------------------------ shared work


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("preserve")


@pytest.fixture(scope="module")
def base(folder) -> bytes:
    """A processed tracker holding 8 real cases (the demo sample), as the tool itself saves it."""
    result = service.demo(folder / "base", 8, now=BUILT_AT)
    return result.out.read_bytes()


@pytest.fixture(scope="module")
def export(folder, base) -> Path:
    """The Douyin export to import: the three sample cases (new) and a status change of the register's row 2."""
    (folder / "base.xlsx").write_bytes(base)
    ws = openpyxl.load_workbook(folder / "base.xlsx")[REGISTER]
    case_id, order_id = ws["A2"].value, ws["B2"].value
    update = export_row(str(case_id), str(order_id), 售后状态="待买家退货", 自动处理截止时间="2026/11/25 09:00:00")
    return write_export(folder / "售后列表导出.csv", [update, *CASES])


@pytest.fixture(scope="module")
def fixtures(folder, base) -> dict[str, Path | BaseException]:
    """Feature name → the tracker with that feature (or the exception that building it raised)."""
    out = folder / "fixtures"
    out.mkdir()
    built: dict[str, Path | BaseException] = {}
    for feature in FEATURES:
        try:
            pkg = Package(base)
            feature.build(pkg)
            built[feature.name] = pkg.save(out / f"fixture-{feature.name}{pkg.suffix}")
        except Exception as error:  # reported by the feature's own tests
            built[feature.name] = error
    return built


def run_command(command: str, source: Path, work: Path, export: Path) -> tuple[Path, str]:
    target = work / f"{command}-{source.stem.removeprefix('fixture-')}{source.suffix}"
    shutil.copyfile(source, target)
    if command == "check":
        args = ["check", str(target), "--now", CHECK_AT]
    else:
        args = ["import", str(export), "--into", str(target)]
    result = CliRunner().invoke(main, args)
    detail = f"refund-sheet {' '.join(args[:1])} exit {result.exit_code}: {result.output.strip()[-600:]}"
    if result.exception and not isinstance(result.exception, SystemExit):
        detail += f"\n{type(result.exception).__name__}: {result.exception}"
    assert result.exit_code == 0, detail
    return target, detail


@pytest.fixture(scope="module")
def runs(folder, fixtures, export) -> dict[tuple[str, str], Path | BaseException]:
    """(feature, command) → the file after the command ran on a copy of the fixture, in place."""
    work = folder / "runs"
    work.mkdir()
    done: dict[tuple[str, str], Path | BaseException] = {}
    for name, fixture in fixtures.items():
        for command in COMMANDS:
            if isinstance(fixture, BaseException):
                done[name, command] = fixture
                continue
            try:
                done[name, command] = run_command(command, fixture, work, export)[0]
            except BaseException as error:
                done[name, command] = error
    return done


def fixture_of(fixtures, name) -> Path:
    built = fixtures[name]
    if isinstance(built, BaseException):
        pytest.fail(f"building the {name} fixture failed: {type(built).__name__}: {built}")
    return built


def output_of(runs, name, command) -> Path:
    out = runs[name, command]
    if isinstance(out, BaseException):
        pytest.fail(f"refund-sheet {command} on the {name} fixture failed: {type(out).__name__}: {out}")
    return out


# ------------------------------------------------------------------------------------------------ LibreOffice


def soffice_convert(files: list[Path], outdir: Path, to: str = "ods") -> None:
    """One LibreOffice per half of the files (two cores), each with a private profile."""
    halves = [files[0::2], files[1::2]]

    def one(batch: list[Path]) -> None:
        if not batch:
            return
        with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
            subprocess.run(
                [shutil.which("soffice") or "soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                 "--norestore", "--convert-to", to, "--outdir", str(outdir), *map(str, batch)],
                capture_output=True, timeout=900,
            )

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, halves))


@pytest.fixture(scope="module")
def converted_fixtures(folder, fixtures) -> Path:
    """Every fixture converted to .ods by LibreOffice headless, in one go."""
    outdir = folder / "ods-fixtures"
    outdir.mkdir()
    soffice_convert([p for p in fixtures.values() if isinstance(p, Path)], outdir)
    return outdir


@pytest.fixture(scope="module")
def converted(folder, runs) -> Path:
    """Every output converted to .ods by LibreOffice headless, in one go."""
    outdir = folder / "ods-runs"
    outdir.mkdir()
    soffice_convert([p for p in runs.values() if isinstance(p, Path)], outdir)
    return outdir


def ods_of(converted: Path, source: Path) -> dict[str, bytes]:
    ods = converted / f"{source.stem}.ods"
    assert ods.exists() and zipfile.is_zipfile(ods), f"LibreOffice could not open {source.name} (no .ods produced)"
    with zipfile.ZipFile(ods) as z:
        files = {n: z.read(n) for n in z.namelist()}
    assert b"<table:table " in files.get("content.xml", b""), f"LibreOffice opened {source.name} but found no sheet"
    return files


# ------------------------------------------------------------------------------------------------ auditors


def audit_findings(paths: list[Path], folder: Path) -> dict[str, list[dict]]:
    """openxml-audit over a folder of copies in one process: file name → findings."""
    where = Path(tempfile.mkdtemp(dir=folder, prefix="audit-"))
    for p in paths:
        shutil.copyfile(p, where / p.name)
    exe = Path(sys.executable).parent / "openxml-audit"
    done = subprocess.run([str(exe), "-r", "-o", "json", "-m", "0", str(where)], capture_output=True, text=True,
                          timeout=900)
    results = json.loads(done.stdout)
    return {Path(r["file"]).name: r.get("errors", []) for r in results}


@pytest.fixture(scope="module")
def audited(folder, fixtures, runs) -> dict[str, list[dict]]:
    files = [p for p in fixtures.values() if isinstance(p, Path)] + [p for p in runs.values() if isinstance(p, Path)]
    return audit_findings(files, folder)


def finding_key(f: dict) -> tuple:
    """A finding's kind: counts ("has 160 inline-string cells") and part numbers (sheet3.xml → sheetN.xml) change
    with the rows and sheets a run writes, so they are compared without digits."""
    digits = re.compile(r"\d+")
    return (
        f.get("severity"), digits.sub("N", f.get("part_uri") or ""), f.get("node"),
        digits.sub("N", f.get("path") or ""), digits.sub("N", f.get("description", "")),
    )


GNUMERIC: dict[Path, tuple[int, list[str]]] = {}


def gnumeric(path: Path) -> tuple[int, list[str]]:
    """Gnumeric's ssconvert reading ``path``: exit code and the messages it printed (once per file)."""
    if path not in GNUMERIC:
        GNUMERIC[path] = _gnumeric(path)
    return GNUMERIC[path]


def _gnumeric(path: Path) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(["ssconvert", str(path), f"{folder}/out.csv"], capture_output=True, text=True,
                              timeout=300)
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    return done.returncode, lines


# ------------------------------------------------------------------------------------------------ tests


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", NAMES)
def test_each_fixture_opens_in_libreoffice_and_shows_its_feature(name, fixtures, converted_fixtures):
    fixture = fixture_of(fixtures, name)
    ods = ods_of(converted_fixtures, fixture)
    feature = BY_NAME[name]
    if feature.lo_sees is not None:
        assert feature.lo_sees(ods), f"LibreOffice does not show {name} in the fixture: none of {feature.lo_sees.needles}"


def before_and_after(name, command, fixtures, runs) -> tuple[bytes, bytes]:
    """The fixture's bytes and the bytes of the file the command left."""
    return fixture_of(fixtures, name).read_bytes(), output_of(runs, name, command).read_bytes()


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
def test_parts_the_tool_does_not_own_are_byte_identical(name, command, fixtures, runs):
    before, after = before_and_after(name, command, fixtures, runs)
    problems = contract.package_problems(before, after, command)
    assert not problems, report(problems, f"{name} after {command}: zip entries")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
def test_only_output_cells_change_in_the_register(name, command, fixtures, runs):
    before, after = before_and_after(name, command, fixtures, runs)
    problems = contract.register_problems(before, after, command)
    assert not problems, report(problems, f"{name} after {command}: register sheet")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
def test_the_register_table_and_styles_change_only_as_allowed(name, command, fixtures, runs):
    before, after = before_and_after(name, command, fixtures, runs)
    problems = contract.table_problems(before, after, command) + contract.styles_problems(before, after)
    assert not problems, report(problems, f"{name} after {command}: Table part and styles.xml")


@pytest.mark.libreoffice
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
def test_the_result_opens_in_libreoffice_with_the_feature(name, command, fixtures, runs, converted, converted_fixtures):
    fixture = fixture_of(fixtures, name)
    out = output_of(runs, name, command)
    ods = ods_of(converted, out)
    feature = BY_NAME[name]
    if feature.lo_sees is not None and feature.lo_sees(ods_of(converted_fixtures, fixture)):
        assert feature.lo_sees(ods), f"LibreOffice no longer shows {name} after {command}: {feature.lo_sees.needles}"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
def test_openxml_audit_finds_nothing_new(name, command, fixtures, runs, audited):
    fixture = fixture_of(fixtures, name)
    out = output_of(runs, name, command)
    old = {finding_key(f) for f in audited[fixture.name]}
    new = [f for f in audited[out.name] if finding_key(f) not in old]
    lines = [f"{f.get('severity')} {f.get('part_uri')} {f.get('path', '')}: {contract.short(f.get('description', ''), 300)}" for f in new]
    assert not new, report(lines, f"{name} after {command}: openxml-audit findings the input did not have")


@pytest.mark.gnumeric
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
def test_gnumeric_reports_nothing_new(name, command, fixtures, runs):
    fixture = fixture_of(fixtures, name)
    out = output_of(runs, name, command)
    code_before, before = gnumeric(fixture)
    code_after, after = gnumeric(out)
    assert code_after == 0 or code_before != 0, f"ssconvert failed on {name} after {command}: {after[-5:]}"
    # the same message at another cell is no new message (Gnumeric names the cell it was reading at the time)
    seen = {re.sub(r"\b[A-Z]{1,3}\d+\b|\d+", "N", line) for line in before}
    new = [line for line in after if re.sub(r"\b[A-Z]{1,3}\d+\b|\d+", "N", line) not in seen]
    assert not new, report(new, f"{name} after {command}: Gnumeric messages the input did not provoke")


@pytest.mark.gnumeric
def test_gnumeric_reads_the_tracker_the_tool_built_without_a_message(fixtures):
    """The tracker as refund-sheet builds and saves it (the plain fixture) gives Gnumeric nothing to complain about:
    list validations in the file format's form (no leading "="), charts it can read, print titles it accepts."""
    code, messages = gnumeric(fixture_of(fixtures, "plain"))
    # What Gnumeric cannot read in any Excel file, which the tracker needs: the register's Excel Table
    # (tableParts) and print titles repeating both the header row and the ID columns (two areas, as Excel writes).
    limits = ("Unexpected element 'tableParts'", "Multiple expressions are not supported")
    messages = [m for i, m in enumerate(messages) if not any(k in m for k in limits)
                and not (i and any(k in messages[i - 1] for k in limits))]  # a limit's "in state" line goes with it
    assert code == 0 and not messages, report(messages, "Gnumeric reading the tracker refund-sheet built")


# ------------------------------------------------------------------------------------------------ the checks themselves


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", NAMES)
def test_the_contract_accepts_a_file_nobody_touched(name, command, fixtures):
    """Control: the checks find nothing when a fixture is compared with itself (no false alarms from parsing)."""
    data = fixture_of(fixtures, name).read_bytes()
    problems = (
        contract.package_problems(data, data, command) + contract.register_problems(data, data, command)
        + contract.table_problems(data, data, command) + contract.styles_problems(data, data)
    )
    assert not problems, report(problems, f"{name} compared with itself")


def mutated(data: bytes, part: str, old: str, new: str) -> bytes:
    pkg = Package(data)
    text = pkg.text(part)
    assert old in text, f"{old!r} not in {part}"
    pkg.put(part, text.replace(old, new, 1))
    return pkg.bytes()


def test_the_contract_catches_what_a_bad_writer_does(fixtures):
    """Control: each kind of damage is reported, and an output cell may change freely."""
    data = fixture_of(fixtures, "merchant_columns").read_bytes()
    sheet = "xl/worksheets/sheet1.xml"
    assert contract.register_problems(data, mutated(data, sheet, "<t>小李</t>", "<t>小张</t>"), "check")
    assert contract.register_problems(data, mutated(data, sheet, "<t>已电话</t>", "<t>已电话 </t>"), "import")
    assert contract.register_problems(data, mutated(data, sheet, '<c r="AI1" s="1"/>', '<c r="AI1" s="1" t="inlineStr"><is><t>列35</t></is></c>'), "check")
    assert contract.register_problems(data, mutated(data, sheet, '<row r="3">', '<row r="3" ht="20" customHeight="1">'), "check")
    assert contract.register_problems(data, mutated(data, sheet, "<pageMargins ", '<pageMargins foo="1" '), "check")
    decision = re.search(r'<c r="V2"[^>]*>.*?</c>', Package(data).text(sheet)).group(0)
    assert not contract.register_problems(data, mutated(data, sheet, decision, '<c r="V2" t="inlineStr"><is><t>拒绝</t></is></c>'), "check")
    assert contract.package_problems(data, mutated(data, "docProps/app.xml", "<", "< "), "check")
    assert contract.styles_problems(data, mutated(data, "xl/styles.xml", 'numFmtId="164"', 'numFmtId="170"'))
    assert contract.table_problems(data, mutated(data, "xl/tables/table1.xml", 'name="备注"', 'name="备注1"'), "import")
    pkg = Package(data)
    del pkg.entries["xl/theme/theme1.xml"]
    assert any("disappeared" in p for p in contract.package_problems(data, pkg.bytes(), "check"))
