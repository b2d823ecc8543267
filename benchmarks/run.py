"""Benchmark `refund-sheet check` against the naive openpyxl baseline, measured in the same run.

    .venv/bin/python benchmarks/run.py                     # 1k, 10k, 50k, 100k rows; 3 repetitions
    .venv/bin/python benchmarks/run.py --sizes 1000 10000 --reps 2 --out /tmp/perf.md

For each size it builds a tracker with the sample generator (the demo's mix of cases, 31 columns), then times
whole processes, each on a fresh copy of the file:
  baseline  openpyxl.load_workbook → write the 10 output columns for every row → save   (what a naive tool does)
  check     refund-sheet check FILE --now …                                             (the real command)
Wall time and peak memory (the child's max RSS from wait4) are reported as medians, with the ratio
check / baseline. The machine is shared and noisy: only the ratios measured in one run mean anything.

It also measures, in fresh processes (every cache cold, median of --engine-reps): parsing cells into facts and
judging facts (rows/s, no I/O), reply rendering (rows/s), and REFUND_CHECK (the worksheet function) over 10k rows.

    .venv/bin/python benchmarks/run.py --full-sheet        # 100,000 and 1,048,575 rows → docs/performance-full-sheet.md

--full-sheet builds each tracker with benchmarks/bigsheet.py (the package `refund-sheet new` builds, the sample
cases streamed into its sheet XML; ~1 minute for a full sheet) and times, per repetition, the baseline (only up to
--baseline-up-to rows: openpyxl needs tens of minutes and gigabytes for a full sheet, where the target is absolute),
`refund-sheet check`, and a driver that calls ``service.check_file`` and stamps its progress stages, which splits
check's time into read / judge / write. It also reports the register part's size and compression ratio before and
after the check (the figures the zip-bomb guard is set by).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 26, 18, 0)
NOW_TEXT = "2026-11-26 18:00"

BASELINE = r"""
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["退款登记"]
first = ws.max_column - 9  # the 10 output columns are the last ones of a new tracker
for row in range(2, ws.max_row + 1):
    for col in range(first, first + 10):
        ws.cell(row, col).value = "x"
wb.save(sys.argv[1])
"""


DRIVER = r"""
import json, sys, time
start = time.perf_counter()
from datetime import datetime
from refund_sheet import service
marks = {}
def progress(stage, done, total):
    now = time.perf_counter()
    marks[stage] = (marks.get(stage, (now,))[0], now)  # first and last time each stage reported
imported = time.perf_counter()
result = service.check_file(sys.argv[1], now=datetime.fromisoformat(sys.argv[2]), source="benchmark", progress=progress)
end = time.perf_counter()
print(json.dumps({"imported": imported - start, "end": end - start, "saved": result.saved, "changed": result.changed,
                  "marks": {k: (a - start, b - start) for k, (a, b) in marks.items()}}))
"""
FULL_SHEET = 1_048_575
FULL_SHEET_TARGET = (90.0, 2048.0)  # issue 12: a full sheet in ≤ 90 s and ≤ 2 GiB
STAGES = ("打开", "读取", "核对风险", "生成回复", "写入", "保存")  # what service.check_file reports to its progress callback


def child_env() -> dict[str, str]:
    """The children import refund_sheet from this checkout (benchmarks/..), whichever one the venv installed."""
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_process(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env())
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def build(folder: Path, rows: int) -> Path:
    """Build the tracker in a child process. A child's peak RSS (wait4) counts the pages it shared with this
    process when it was forked, so this process must stay small: it never imports openpyxl or the package."""
    path = folder / f"tracker-{rows}.xlsx"
    subprocess.run([sys.executable, __file__, "--build", str(rows), str(path)], check=True, env=child_env())
    return path


def build_here(rows: int, path: Path) -> None:
    from refund_sheet.samples import sample_rows
    from refund_sheet.workbook.build import write_new

    write_new(path, sample_rows(NOW, rows), overwrite=True)


def measure(source: Path, reps: int) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {"baseline": [], "check": []}
    cli = str(Path(sys.executable).with_name("refund-sheet"))
    for _ in range(reps):
        for name in ("baseline", "check"):  # interleaved, so drift in machine load hits both alike
            with tempfile.TemporaryDirectory(dir=source.parent) as tmp:
                copy = Path(tmp) / source.name
                shutil.copy(source, copy)
                if name == "baseline":
                    command = [sys.executable, "-c", BASELINE, str(copy)]
                else:
                    command = [cli, "check", str(copy), "--now", NOW_TEXT, "--quiet"]
                results[name].append(run_process(command))
    return results


SHAPES = ("tracker cells", "export text")


def in_process(shape: str, rows: int = 20000) -> dict[str, float]:
    """One cold measurement of the engine on cells of one shape, in a fresh process (run with --engine SHAPE):
    every memo and cache starts empty, as in a real run. The export-text process then also times reply rendering
    and REFUND_CHECK over 10k rows (the latter as a recalculation in Excel's long-running Python process)."""
    from refund_sheet import excel, replies
    from refund_sheet.engine import default_policy, judge_all
    from refund_sheet.engine.columns import INPUT_COLUMNS, map_headers
    from refund_sheet.engine.parse import Reader
    from refund_sheet.samples import sample_rows

    data = sample_rows(NOW, rows)
    headers = [c.header for c in INPUT_COLUMNS]
    found = map_headers(headers)
    # Cells as a file gives them: a tracker's date cells and numbers (what calamine reads for `check`), or the
    # Douyin export's text date-times (the harder case: every distinct text is parsed)
    cells = [[float(v) if hasattr(v, "as_tuple") else v for v in (r.get(c.key) for c in INPUT_COLUMNS)] for r in data]
    texts = [[v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in row] for row in cells]
    values = cells if shape == SHAPES[0] else texts
    policy = default_policy()
    numbered = list(enumerate(values, start=2))
    start = time.perf_counter()
    facts = Reader(found, {}, "退款登记", policy).read_all(numbered)
    parse = time.perf_counter() - start
    start = time.perf_counter()
    verdicts = judge_all(facts, policy, NOW)
    judge = time.perf_counter() - start
    figures = {
        f"parse rows/s ({shape})": rows / parse,
        f"judge rows/s ({shape})": rows / judge,
        f"engine rows/s, parse + judge ({shape})": rows / (parse + judge),
    }
    if shape == SHAPES[0]:
        return figures
    render = replies.make_renderer(policy)
    start = time.perf_counter()
    for f, v in zip(facts, verdicts):
        render(f, v)
    reply = time.perf_counter() - start
    grid = [headers] + texts[:10000]
    start = time.perf_counter()
    table = excel.REFUND_CHECK(grid, None, NOW)  # as a cell calls it: no replies unless asked
    udf = time.perf_counter() - start
    assert len(table) == 10001
    return figures | {"replies rows/s": rows / reply, "REFUND_CHECK 10k rows (s)": udf}


def engine_figures(reps: int) -> dict[str, float]:
    """Medians of ``reps`` cold measurements, each in its own process."""
    runs = [
        json.loads(subprocess.run([sys.executable, __file__, "--engine", shape], check=True, capture_output=True,
                                  env=child_env()).stdout)
        for _ in range(reps)
        for shape in SHAPES
    ]
    names = dict.fromkeys(name for run in runs for name in run)
    return {name: statistics.median(run[name] for run in runs if name in run) for name in names}


def tree_memory(pid: int) -> int:
    """Bytes of memory ``pid`` and all its descendants hold now: the sum of their proportional set sizes (Linux
    /proc/PID/smaps_rollup; a page two processes share counts half in each, so a forked copy of a process, which
    shares its pages until one of them writes there, is not counted twice), their RSS where that is missing, 0
    elsewhere."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for member in tree:
        try:
            pss = [line for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines() if line.startswith("Pss:")]
            total += int(pss[0].split()[1]) * 1024
            continue
        except (OSError, IndexError, ValueError):
            pass
        try:
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return total


def run_child(command: list[str], timeout: float) -> dict[str, object]:
    """Wall seconds, peak memory in MiB, stdout, and the last line of stderr when it failed or ``timeout`` seconds
    passed (then the child is stopped). Peak memory is the larger of wait4's maximum RSS (the child, or the largest
    process it waited for) and the memory of the child and its descendants sampled every 0.2 s (``tree_memory``:
    processes running side by side, which wait4 does not add up; a forked copy's pages shared with its parent
    counted once)."""
    start = time.perf_counter()
    sampled = [0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=child_env())
        timer = threading.Timer(timeout, process.kill)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                sampled[0] = max(sampled[0], tree_memory(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        timer.start()
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    failed = None
    if process.returncode != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        failed = f"stopped after {timeout:.0f} s" if wall >= timeout else (lines[-1] if lines else f"exit {process.returncode}")
    return {"wall": wall, "mib": max(usage.ru_maxrss * 1024, sampled[0]) / 2**20, "stdout": stdout, "failed": failed}


def register_part(path: Path) -> str:
    """The register sheet's part: uncompressed MiB, compressed MiB, ratio, and the whole package's."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    sheet = max(infos, key=lambda i: i.file_size)
    total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
    return (f"{sheet.filename} {sheet.file_size / 2**20:,.0f} MiB → {sheet.compress_size / 2**20:,.1f} MiB "
            f"({sheet.file_size / sheet.compress_size:.1f}:1); package {total / 2**20:,.0f} MiB → "
            f"{packed / 2**20:,.1f} MiB ({total / packed:.1f}:1)")


def shares(run: dict[str, object]) -> dict[str, float | None]:
    """check_file's time split by its progress stages (seconds; None where a stage did not report):
    read = opening the file up to the first row parsed; judge = parsing, the cross-row risks, then the one pass
    that judges each case, renders its reply, compares its outputs with the cells and counts it for 统计;
    write = 统计's layout, the write plan, 记录, and the atomic save."""
    marks = run["marks"]
    first = {k: v[0] for k, v in marks.items()}
    last = {k: v[1] for k, v in marks.items()}
    def span(a, b):
        return None if a is None or b is None else b - a
    parsed, replied = last.get("读取"), last.get("生成回复")
    return {
        "imports": run["imported"],
        "read": span(run["imported"], first.get("读取")),
        "parse": span(first.get("读取"), parsed),
        "judge": span(parsed, first.get("生成回复")),
        "replies": span(first.get("生成回复"), replied),
        "before save": span(replied, first.get("保存")),
        "save": span(first.get("保存"), run["end"]),
        "total": run["end"],
    }


def full_sheet(args) -> None:
    """The --full-sheet mode: see the module's docstring."""
    cli = str(Path(sys.executable).with_name("refund-sheet"))
    def fmt(x, spec=".1f"):
        return "—" if x is None else format(x, spec)
    lines = [
        f"Run on {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"{args.reps} repetition(s), medians; command: `.venv/bin/python benchmarks/run.py --full-sheet --sizes "
        f"{' '.join(map(str, args.sizes))} --reps {args.reps} --baseline-up-to {args.baseline_up_to}`",
        "",
    ]
    table = [
        "| rows | file MiB | built s | baseline s | check s | time ratio | baseline MiB | check MiB | memory ratio | target |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    stage_table = [
        "| rows | driver s | imports | read (open) | parse | cross-row risks | judge, replies, compare, count | 统计 layout, 记录, write plan | save | read % | judge % | write % |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="refund-full-") as folder:
        for size in args.sizes:
            source = Path(folder) / f"tracker-{size}.xlsx"
            built = run_child([sys.executable, str(Path(__file__).with_name("bigsheet.py")), str(size), str(source)],
                              args.timeout)
            if built["failed"]:
                raise SystemExit(f"building {size:,} rows failed: {built['failed']}")
            notes.append(f"- {size:,} rows, as built: {register_part(source)}")
            runs: dict[str, list[dict[str, object]]] = {"baseline": [], "check": [], "driver": []}
            for rep in range(args.reps):
                names = (["baseline"] if size <= args.baseline_up_to else []) + ["check", "driver"]
                for name in names:  # interleaved, so drift in machine load hits all alike
                    with tempfile.TemporaryDirectory(dir=folder) as tmp:
                        copy = Path(tmp) / source.name
                        shutil.copy(source, copy)
                        command = {
                            "baseline": [sys.executable, "-c", BASELINE, str(copy)],
                            "check": [cli, "check", str(copy), "--now", NOW_TEXT, "--quiet"],
                            "driver": [sys.executable, "-c", DRIVER, str(copy), NOW.isoformat()],
                        }[name]
                        run = run_child(command, args.timeout)
                        print(f"{size:,} rows, {name} #{rep + 1}: {run['wall']:.1f} s, {run['mib']:.0f} MiB"
                              + (f" — failed: {run['failed']}" if run["failed"] else ""), flush=True)
                        if name == "check" and not run["failed"]:
                            notes.append(f"- {size:,} rows, after check: {register_part(copy)}")
                            if args.keep and rep == args.reps - 1:
                                shutil.copy(copy, args.keep / f"checked-{size}.xlsx")
                        runs[name].append(run)
            def median(name, key, runs=runs):
                good = [r[key] for r in runs[name] if not r["failed"]]
                return statistics.median(good) if good else None
            bw, bm, cw, cm = median("baseline", "wall"), median("baseline", "mib"), median("check", "wall"), median("check", "mib")
            failures = sorted({f"{name}: {r['failed']}" for name, rs in runs.items() for r in rs if r["failed"]})
            notes += [f"- {size:,} rows, {failure}" for failure in failures]
            def verdict(holds: bool, what: str) -> str:
                return f"{what} {'met' if holds else 'not met'}"
            if size >= FULL_SHEET:
                target = "—" if cw is None else (verdict(cw <= FULL_SHEET_TARGET[0], "≤ 90 s") + "; "
                                                  + verdict(cm <= FULL_SHEET_TARGET[1], "≤ 2 GiB"))
            else:
                target = "—" if None in (bw, cw) else (verdict(cw <= 0.15 * bw, "≤ 0.15× time") + "; "
                                                        + verdict(cm <= 0.25 * bm, "≤ 0.25× memory"))
            table.append(
                f"| {size:,} | {source.stat().st_size / 2**20:,.0f} | {built['wall']:.1f} | {fmt(bw, '.2f')} | "
                f"{fmt(cw, '.2f')} | {fmt(None if None in (bw, cw) else cw / bw, '.2f')} | {fmt(bm, '.0f')} | "
                f"{fmt(cm, '.0f')} | {fmt(None if None in (bm, cm) else cm / bm, '.2f')} | {target} |"
            )
            drivers = [shares(json.loads(r["stdout"])) for r in runs["driver"] if not r["failed"]]
            if drivers:
                split = {k: statistics.median(d[k] for d in drivers) if all(d[k] is not None for d in drivers) else None
                         for k in drivers[0]}
                missing = [s for s in STAGES if s not in json.loads(runs["driver"][0]["stdout"])["marks"]]
                if missing:
                    notes.append(f"- {size:,} rows: check_file did not report the stage(s) {', '.join(missing)}")
                groups = {"read": ("read",), "judge": ("parse", "judge", "replies"), "write": ("before save", "save")}
                pct = {name: None if any(split[k] is None for k in keys) else 100 * sum(split[k] for k in keys) / split["total"]
                       for name, keys in groups.items()}
                stage_table.append(
                    f"| {size:,} | {split['total']:.1f} | " + " | ".join(fmt(split[k]) for k in (
                        "imports", "read", "parse", "judge", "replies", "before save", "save"))
                    + " | " + " | ".join(fmt(pct[k], ".0f") for k in ("read", "judge", "write")) + " |"
                )
            print(table[-1], flush=True)
    lines += table + ["", "check's time by stage (seconds; the driver, median):", ""] + stage_table + ["", *notes]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[2:]))
    print(f"written: {args.out}")


def main() -> None:
    if sys.argv[1:2] == ["--build"]:
        build_here(int(sys.argv[2]), Path(sys.argv[3]))
        return
    if sys.argv[1:2] == ["--engine"]:
        print(json.dumps(in_process(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="rows (default 1k 10k 50k 100k; --full-sheet: 100k 1,048,575)")
    parser.add_argument("--reps", type=int, help="repetitions (default 3; --full-sheet: 1)")
    parser.add_argument("--engine-reps", type=int, default=5, help="cold in-process measurements (median)")
    parser.add_argument("--out", type=Path, help="results (default docs/performance-results.md; --full-sheet: "
                        "docs/performance-full-sheet.md)")
    parser.add_argument("--full-sheet", action="store_true", help="trackers up to a full sheet, built fast; stage split")
    parser.add_argument("--baseline-up-to", type=int, default=200_000, help="--full-sheet: largest size for the baseline")
    parser.add_argument("--timeout", type=float, default=1200, help="--full-sheet: seconds before a child is stopped")
    parser.add_argument("--keep", type=Path, help="--full-sheet: keep each checked tracker in this folder")
    args = parser.parse_args()
    if args.full_sheet:
        args.sizes = args.sizes or [100_000, FULL_SHEET]
        args.reps = args.reps or 1
        args.out = args.out or ROOT / "docs" / "performance-full-sheet.md"
        full_sheet(args)
        return
    args.sizes = args.sizes or [1000, 10000, 50000, 100000]
    args.reps = args.reps or 3
    args.out = args.out or ROOT / "docs" / "performance-results.md"
    lines = [
        f"Run on {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"medians of {args.reps} repetitions; command: `.venv/bin/python benchmarks/run.py "
        f"--sizes {' '.join(map(str, args.sizes))} --reps {args.reps} --engine-reps {args.engine_reps}`",
        "",
        "| rows | baseline s | check s | time ratio | baseline MiB | check MiB | memory ratio | check s / 1k rows | check MiB / 1k rows |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="refund-bench-") as folder:
        for size in args.sizes:
            source = build(Path(folder), size)
            results = measure(source, args.reps)
            bw, bm = (statistics.median(x) for x in zip(*results["baseline"]))
            cw, cm = (statistics.median(x) for x in zip(*results["check"]))
            line = (
                f"| {size:,} | {bw:.2f} | {cw:.2f} | {cw / bw:.2f} | {bm:.0f} | {cm:.0f} | {cm / bm:.2f} "
                f"| {cw / size * 1000:.3f} | {cm / size * 1000:.2f} |"
            )
            print(line, flush=True)
            lines.append(line)
    lines += ["", f"| in process (20k sample rows, median of {args.engine_reps} fresh processes) | value |", "|---|---:|"]
    for name, value in engine_figures(args.engine_reps).items():
        line = f"| {name} | {value:,.0f} |" if value > 100 else f"| {name} | {value:.3f} |"
        print(line)
        lines.append(line)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
