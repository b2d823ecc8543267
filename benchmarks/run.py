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
import time
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


def run_process(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def build(folder: Path, rows: int) -> Path:
    """Build the tracker in a child process. A child's peak RSS (wait4) counts the pages it shared with this
    process when it was forked, so this process must stay small: it never imports openpyxl or the package."""
    path = folder / f"tracker-{rows}.xlsx"
    subprocess.run([sys.executable, __file__, "--build", str(rows), str(path)], check=True)
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
        json.loads(subprocess.run([sys.executable, __file__, "--engine", shape], check=True, capture_output=True).stdout)
        for _ in range(reps)
        for shape in SHAPES
    ]
    names = dict.fromkeys(name for run in runs for name in run)
    return {name: statistics.median(run[name] for run in runs if name in run) for name in names}


def main() -> None:
    if sys.argv[1:2] == ["--build"]:
        build_here(int(sys.argv[2]), Path(sys.argv[3]))
        return
    if sys.argv[1:2] == ["--engine"]:
        print(json.dumps(in_process(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000, 100000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--engine-reps", type=int, default=5, help="cold in-process measurements (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance-results.md")
    args = parser.parse_args()
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
