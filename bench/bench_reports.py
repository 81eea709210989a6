"""Report benchmark: the full report on the bundled demo store, sequential and in parallel, against its floor.

The floor is the fixed cost of one papermill + nbconvert run of an empty notebook in a fresh Python process
(import papermill and nbconvert, start a kernel, execute, export HTML): what any one-notebook report must pay.
The suite's target (issue 7) is a wall time within 1.3 × (floor × notebooks ÷ jobs).

Run: ``python bench/bench_reports.py [--repeats N]`` (prints a markdown table); the bench runner calls
:func:`bench_reports`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_FLOOR_SCRIPT = r"""
import sys, nbformat, papermill
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook
folder = sys.argv[1]
nb = new_notebook(cells=[new_code_cell("")])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(nb, f"{folder}/empty.ipynb")
done = papermill.execute_notebook(f"{folder}/empty.ipynb", f"{folder}/empty.out.ipynb", progress_bar=False)
body, _ = HTMLExporter(template_name="lab").from_notebook_node(done)
open(f"{folder}/empty.html", "w").write(body)
"""


def _wall(command: list[str], cwd: str | None = None) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    return seconds


def bench_reports(repeats: int = 1, jobs: tuple[int, ...] = (1, 2), notebooks: list[str] | None = None) -> dict:
    """Time the report suite and its floor; returns medians in seconds and the ratio to the target's bound.

    Parameters
    ----------
    repeats : int, default 1
        Runs of each measurement (the median is reported); one full run takes a minute or so.
    jobs : tuple of int, default (1, 2)
        ``--jobs`` values to time.
    notebooks : list of str, optional
        A subset of the notebooks (all by default).

    Returns
    -------
    dict
        ``floor`` (s), ``notebooks`` (count), and per jobs value ``report_jobs{N}`` (s) and ``ratio_jobs{N}``
        (wall time ÷ (floor × notebooks ÷ N)); ``runs`` holds the per-notebook timings of the last run.
    """
    import json

    from clvlib.reports import find_notebooks

    count = len(find_notebooks(names=notebooks))
    results: dict = {"notebooks": count, "repeats": repeats}
    with tempfile.TemporaryDirectory(prefix="clv-bench-") as folder:
        floors = [_wall([sys.executable, "-c", _FLOOR_SCRIPT, folder]) for _ in range(repeats)]
        results["floor"] = statistics.median(floors)
        for n_jobs in jobs:
            walls = []
            for i in range(repeats):
                out = Path(folder) / f"report-{n_jobs}-{i}"
                command = [sys.executable, "-m", "clvlib", "report", "--out", str(out), "--jobs", str(n_jobs), "-q"]
                if notebooks:
                    command += ["--notebooks", ",".join(notebooks)]
                walls.append(_wall(command))
                results[f"runs_jobs{n_jobs}"] = json.loads((out / "run.json").read_text())["timings"]
            results[f"report_jobs{n_jobs}"] = statistics.median(walls)
            bound = results["floor"] * count / min(n_jobs, count)
            results[f"ratio_jobs{n_jobs}"] = results[f"report_jobs{n_jobs}"] / bound
    return results


def as_markdown(results: dict) -> str:
    """The results as a markdown table."""
    lines = ["| measurement | seconds | ratio to floor × notebooks ÷ jobs (target ≤ 1.3) |", "|---|---:|---:|",
             f"| floor: papermill + nbconvert, empty notebook, fresh process | {results['floor']:.2f} | |"]
    for key in sorted(k for k in results if k.startswith("report_jobs")):
        n = key.removeprefix("report_jobs")
        lines.append(f"| full report, {results['notebooks']} notebooks, --jobs {n} | {results[key]:.2f} "
                     f"| {results[f'ratio_jobs{n}']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--notebooks", default=None, help="comma list of a subset")
    args = parser.parse_args()
    measured = bench_reports(args.repeats, notebooks=args.notebooks.split(",") if args.notebooks else None)
    print(as_markdown(measured))
    for key in sorted(k for k in measured if k.startswith("runs_jobs")):
        print(f"{key}: {measured[key]}")
