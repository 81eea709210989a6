"""The benchmark suite in one command: every step of the kit against its baseline, as one markdown table.

    python bench/run.py                       # 100k, 1M and 10M rows, 5 runs each -> bench/RESULTS.md
    python bench/run.py --quick               # smoke run: 100k rows, 1 run, no reports -> bench/out/RESULTS-quick.md
    python bench/run.py --steps summary,fit   # only the steps whose name contains one of these words

Each (step, size) runs in a fresh Python process, so imports, caches and memory of one step never leak into
another. Inside it, the inputs are loaded untimed, then the variants (clvlib first, then its baselines) run
interleaved — clvlib, baseline, clvlib, baseline, … — so that load on a shared machine hits them alike. Times are
wall-clock medians; peak memory is the growth of the process's resident set during the call (the kernel's
high-water mark ``VmHWM``, reset before each call through ``/proc/self/clear_refs``, after freed heap pages are
handed back with ``malloc_trim``), so it counts every temporary array and the result, but not the inputs. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

MB = 2**20


# -- measuring (worker process) --------------------------------------------------------------------------------
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current resident set


def _release_free_memory() -> None:
    """Hand freed heap pages back to the kernel, so that a call reusing them shows up in its peak."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the peak may then undercount reused memory
        pass
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def _children_peak() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB, largest finished child


def measure(index: int, size: int | None, repeat: int, largest: int) -> dict:
    """Run one step at one size: medians and peaks of each variant, plus the step's check."""
    import steps

    step = steps.steps(largest)[index]
    inputs = step.setup(size)
    stats = {label: {"times": [], "peaks": []} for label, _ in step.variants}
    outputs = {}
    for run in range(repeat):
        for label, function in step.variants:
            if run and label in step.once:
                continue
            gc.collect()
            _release_free_memory()
            before, children = _status_kb("VmRSS"), _children_peak()
            _reset_peak()
            started = time.perf_counter()
            result = function(inputs)
            seconds = time.perf_counter() - started
            peak_kb = _status_kb("VmHWM") - before
            if _children_peak() > children:  # the work ran in a child process (reports)
                peak_kb = max(peak_kb, _children_peak())
            stats[label]["times"].append(seconds)
            stats[label]["peaks"].append(peak_kb / 1024)
            if step.check is not None and label not in outputs:
                outputs[label] = result
            del result
    variants = {
        label: {"median": statistics.median(s["times"]), "runs": len(s["times"]), "peak_mb": max(s["peaks"]),
                "times": s["times"]}
        for label, s in stats.items()
    }
    return {
        "variants": variants,
        "input_mb": inputs["input_bytes"] / MB if "input_bytes" in inputs else None,
        "customers": inputs.get("n_customers"),
        "check": step.check(outputs) if step.check else {},
    }


# -- orchestrating ----------------------------------------------------------------------------------------------
def _sizes_for(sizes_kind: str, sizes: list[int]) -> list[int | None]:
    return {"all": sizes, "largest": [max(sizes)], "fixed": [None]}[sizes_kind]


def _run_worker(index: int, size: int | None, repeat: int, largest: int) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(index), "--repeat", str(repeat),
               "--largest", str(largest)] + (["--size", str(size)] if size else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last[:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(clv: dict, base: dict) -> float:
    """clvlib ÷ baseline: the median of the rounds' own ratios when both ran every round, else of the medians.

    Each round runs the variants back to back, so a round's ratio cancels a slow spell of the shared machine that
    the medians of separate runs do not (identical runs here differ by up to a third).
    """
    ours, theirs = clv.get("times", []), base.get("times", [])
    if len(ours) == len(theirs) > 1:
        return statistics.median(a / b for a, b in zip(ours, theirs))
    return clv["median"] / base["median"]


def _target(kind: str, bound: float, clv: dict, base: dict | None, result: dict) -> tuple[str, bool | None]:
    """The target's text and whether it is met."""
    if kind == "ratio":
        return f"≤ {bound:g}×", _ratio(clv, base) <= bound
    if kind == "speedup":
        return f"≥ {bound:g}× faster", 1 / _ratio(clv, base) >= bound
    if kind == "seconds":
        return f"< {bound:g} s", clv["median"] < bound
    if kind == "peak":
        ratio = clv["peak_mb"] / max(base["peak_mb"], 1)
        return f"peak ≤ {bound:g}× baseline's ({ratio:.2f}×)", ratio <= bound
    if kind == "memory":
        ratio = clv["peak_mb"] / result["input_mb"]
        return f"peak ≤ {bound:g}× input ({ratio:.2f}×)", ratio <= bound
    if kind == "params":
        value = result["check"]["max relative parameter difference"]
        return f"same parameters to {bound:g} ({value:.1e})", value <= bound
    raise ValueError(kind)


def _rows(step, size: int | None, result: dict, largest: int) -> list[list[str]]:
    data = generate.size_label(size) + " rows" if size else "—"
    if result.get("customers"):
        data = f"{result['customers']:,} customers" + (f" ({data})" if size else "")
    if "error" in result:
        return [[step.name, data, "skipped", "", "", "", "", "", "", result["error"]]]
    variants = result["variants"]
    clv_label, *base_labels = list(variants)
    clv = variants[clv_label]
    judged = size in (None, largest)
    rows = []
    for label in base_labels or [None]:
        base = variants[label] if label else None
        texts, met = [], []
        for key, (kind, bound) in step.targets.items():
            own = key in ("clvlib", "input columns", "parameters", "peak")
            if judged and ((own and label == base_labels[0]) or key == label):
                text, ok = _target(kind, bound, clv, base, result)
                texts.append(text)
                met.append(ok)
        rows.append([
            step.name if label in (None, base_labels[0]) else "",
            data,
            f"{clv['median']:.3g}" + ("" if clv["runs"] > 1 else "¹"),
            f"{clv['peak_mb']:.0f}",
            label or "",
            f"{base['median']:.3g}" + ("" if base["runs"] > 1 else "¹") if base else "",
            f"{base['peak_mb']:.0f}" if base else "",
            f"{_ratio(clv, base):.2f}" if base else "",
            "; ".join(texts),
            ("✅ met" if all(met) else "❌ missed") if met else "",
        ])
    return rows


def _machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import numpy
    import pandas
    import pyarrow
    import scipy

    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory:.0f} GiB; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; numpy {numpy.__version__}, pandas {pandas.__version__}, "
        f"pyarrow {pyarrow.__version__}, scipy {scipy.__version__}, duckdb {duckdb.__version__}",
    ]


def _report_rows(repeats: int) -> list[list[str]]:
    """The report suite on the bundled data against its floor (bench/bench_reports.py, the report engineer's)."""
    try:
        import bench_reports

        result = bench_reports.bench_reports(repeats=repeats)
    except Exception as exc:  # reported as a skipped row, the rest of the table stands
        return [["report suite, bundled demo store", "—", "skipped", "", "", "", "", "", "", str(exc)[:200]]]
    rows = []
    once = "¹" if repeats == 1 else ""
    labels = {"report": "report suite, bundled demo store", "runner": "runner alone, as many empty notebooks"}
    for kind, label in labels.items():
        for key in sorted(k for k in result if k.startswith(f"{kind}_jobs")):
            jobs = int(key.removeprefix(f"{kind}_jobs"))
            value = result[key]
            # bench_reports' own ratio (its definition of the bound), else floor × notebooks ÷ jobs.
            ratio = result.get(f"{kind}_ratio_jobs{jobs}",
                               result.get(f"ratio_jobs{jobs}", value / (result["floor"] * result["notebooks"] / jobs)))
            rows.append([
                f"{label}, --jobs {jobs}", f"{result['notebooks']} notebooks", f"{value:.3g}{once}", "",
                f"floor ({result['floor']:.2f} s) × notebooks ÷ jobs",
                f"{result['floor'] * result['notebooks'] / min(jobs, result['notebooks']):.3g}", "",
                f"{ratio:.2f}", "≤ 1.3×" if kind == "report" else "",
                ("✅ met" if ratio <= 1.3 else "❌ missed") if kind == "report" else "",
            ])
    rows.append(["context: two floors at once, in two processes", "—", f"{result['floor_pair']:.3g}{once}", "",
                 "one floor", f"{result['floor']:.3g}", "", f"{result['floor_pair'] / result['floor']:.2f}", "", ""])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M,10M", help="transaction counts (default 100k,1M,10M)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--steps", default="", help="comma-separated words; only steps whose name contains one")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100k rows, 1 run, no reports")
    parser.add_argument("--no-reports", action="store_true", help="skip the report steps (they take minutes)")
    parser.add_argument("--out", type=Path, default=None, help="markdown file (default bench/RESULTS.md)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--largest", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(measure(args.worker, args.size, args.repeat, args.largest)))
        return

    if args.quick:
        args.sizes, args.repeat, args.no_reports = "100k", 1, True
    out = args.out or (HERE / "out" / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md")
    sizes = [generate.parse_size(s) for s in args.sizes.split(",")]
    largest = max(sizes)
    for size in sizes:
        generate.ensure(size)
    import steps

    run = {"args": args, "started": time.perf_counter(), "loads": [os.getloadavg()], "rows": [], "notes": []}
    words = [w.strip().lower() for w in args.steps.split(",") if w.strip()]
    for index, step in enumerate(steps.steps(largest)):
        if words and not any(w in step.name.lower() for w in words):
            continue
        if args.no_reports and "report" in step.name:
            continue
        if step.note:
            run["notes"].append(f"- {step.name}: {step.note}.")
        for size in _sizes_for(step.sizes, sizes):
            if size and step.max_size and size > step.max_size:
                run["rows"].append([step.name, generate.size_label(size) + " rows", "not run", "", "", "", "", "",
                                    "", f"above {generate.size_label(step.max_size)} rows: too slow for one run"])
                continue
            print(f"… {step.name} {generate.size_label(size) if size else ''}", file=sys.stderr, flush=True)
            run["rows"] += _rows(step, size, _run_worker(index, size, args.repeat, largest), largest)
            run["loads"].append(os.getloadavg())
            _write(out, _render(run, done=False))  # a partial table survives an interrupted run
    if not args.no_reports and (not words or "report" in words):
        print("… report suite", file=sys.stderr, flush=True)
        run["rows"] += _report_rows(repeats=args.repeat)
        run["loads"].append(os.getloadavg())
    text = _render(run, done=True)
    print(text)
    _write(out, text)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _render(run: dict, done: bool) -> str:
    """The results page: the table, the step notes, the machine and its load during the run."""
    args, loads = run["args"], run["loads"]
    header = ["Step", "Data", "clvlib (s)", "clvlib peak (MB)", "Baseline", "baseline (s)", "baseline peak (MB)",
              "ratio clvlib ÷ baseline", "Target", "Met"]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(row) + " |" for row in run["rows"]]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    minutes = (time.perf_counter() - run["started"]) / 60
    one_minute = [load[0] for load in loads]
    return "\n".join([
        "# Benchmark results" + ("" if done else " (run in progress)"),
        "",
        f"`python bench/run.py --sizes {args.sizes} --repeat {args.repeat}"
        + (f" --steps {args.steps}" if args.steps else "") + f"` — {stamp}, {minutes:.1f} min.",
        "Medians of the runs (¹: measured once, too slow to repeat); ratios are the medians of each round's own "
        "ratio; peak = growth of the resident set during the call; ratio below 1 means clvlib is faster. Targets "
        "are judged on the largest size. Method: [README](README.md).",
        "",
        *table,
        "",
        *run["notes"],
        "",
        "## Machine",
        "",
        *_machine(),
        f"- Load average during the run (1-minute, sampled after each step): {min(one_minute):.2f} to "
        f"{max(one_minute):.2f}, median {statistics.median(one_minute):.2f}, on {os.cpu_count()} cores; "
        f"15-minute average at the start {loads[0][2]:.2f}, at the end {loads[-1][2]:.2f}. Other work on the "
        "machine slows both sides of a ratio alike, as the variants run interleaved.",
        "",
    ])


if __name__ == "__main__":
    main()
