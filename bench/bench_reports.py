"""Report benchmark: the full report on the bundled demo store, sequential and in parallel, against its floor.

The floor is the fixed cost of one papermill + nbconvert run of an empty notebook in a fresh Python process
(import papermill and nbconvert, start a kernel, execute, export HTML): what any one-notebook report must pay.
The suite's target (issue 7) is a wall time within 1.3 × (floor × notebooks ÷ jobs). To separate the runner's own
cost from the notebooks' work, the runner is also timed on as many empty notebooks (parameters cell only).

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


def _empty_notebooks(folder: Path, names: list[str]) -> Path:
    # Same names and parameters cell as the real notebooks, nothing else: the runner's own cost.
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    target = folder / "empty_notebooks"
    target.mkdir()
    for name in names:
        parameters = new_code_cell('data = None\npreset = None\ncolumns = None\nas_of = None\ncurrency = "USD"')
        parameters.metadata["tags"] = ["parameters"]
        nb = new_notebook(cells=[new_markdown_cell(f"# {name}"), parameters, new_code_cell("")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, target / f"{name}.ipynb")
    return target


def _wall(command: list[str], cwd: str | None = None) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    return seconds


def _pair_wall(folder: str) -> float:
    # Two floors at once, in two fresh processes: how much of a second core two notebooks really get here.
    started = time.perf_counter()
    runs = []
    for i in (1, 2):
        Path(folder, f"pair{i}").mkdir(exist_ok=True)
        runs.append(subprocess.Popen([sys.executable, "-c", _FLOOR_SCRIPT, str(Path(folder, f"pair{i}"))],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for run in runs:
        _, err = run.communicate()
        if run.returncode != 0:
            raise RuntimeError(f"floor failed:\n{err[-2000:]}")
    return time.perf_counter() - started


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
        ``floor`` (s), ``floor_pair`` (s, two floors run at once: what a second core gives here),
        ``notebooks`` (count), and per jobs value N: ``report_jobs{N}`` (s, the real notebooks),
        ``runner_jobs{N}`` (s, as many empty notebooks), their ``*_ratio_jobs{N}`` (wall time ÷ (floor ×
        notebooks ÷ N)) and ``*_timings_jobs{N}`` (seconds per notebook in the last run's run.json).
    """
    import json

    from clvlib.reporting.run import find_notebooks

    stems = [p.stem for p in find_notebooks(names=notebooks)]
    count = len(stems)
    results: dict = {"notebooks": count, "repeats": repeats}
    with tempfile.TemporaryDirectory(prefix="clv-bench-") as folder:
        empty = _empty_notebooks(Path(folder), stems)
        variants = [(kind, n_jobs, extra) for kind, extra in (("report", ["--notebooks", ",".join(stems)]),
                                                               ("runner", ["--notebooks-dir", str(empty)]))
                    for n_jobs in jobs]
        floors: list[float] = []
        pairs: list[float] = []
        walls: dict[tuple[str, int], list[float]] = {(kind, n_jobs): [] for kind, n_jobs, _ in variants}
        # Interleaved (floor, then every variant, repeat): a slow spell on the shared machine slows a whole round,
        # not one variant's every run.
        for i in range(repeats):
            floors.append(_wall([sys.executable, "-c", _FLOOR_SCRIPT, folder]))
            pairs.append(_pair_wall(folder))
            for kind, n_jobs, extra in variants:
                out = Path(folder) / kind / f"jobs{n_jobs}-{i}"
                walls[kind, n_jobs].append(_wall([sys.executable, "-m", "clvlib", "report", "--out", str(out),
                                                  "--jobs", str(n_jobs), "-q", *extra]))
                results[f"{kind}_timings_jobs{n_jobs}"] = json.loads((out / "run.json").read_text())["timings"]
        results["floor"] = statistics.median(floors)
        results["floor_pair"] = statistics.median(pairs)
        for (kind, n_jobs), measured in walls.items():
            results[f"{kind}_jobs{n_jobs}"] = statistics.median(measured)
            # The median of the rounds' own ratios: a round's floor and runs share its spell of machine load.
            share = count / min(n_jobs, count)
            results[f"{kind}_ratio_jobs{n_jobs}"] = statistics.median(
                wall / (floor * share) for wall, floor in zip(measured, floors))
    return results


def as_markdown(results: dict) -> str:
    """The results as a markdown table."""
    lines = ["| measurement | seconds | ratio to floor × notebooks ÷ jobs (target ≤ 1.3) |", "|---|---:|---:|",
             f"| floor: papermill + nbconvert, empty notebook, fresh process | {results['floor']:.2f} | |",
             f"| context: two floors at once (ideal: one floor) | {results['floor_pair']:.2f} | |"]
    labels = {"report": f"full report, {results['notebooks']} notebooks, bundled data",
              "runner": f"runner alone: {results['notebooks']} empty notebooks, bundled data"}
    for kind, label in labels.items():
        for key in sorted(k for k in results if k.startswith(f"{kind}_jobs")):
            n = key.removeprefix(f"{kind}_jobs")
            lines.append(f"| {label}, --jobs {n} | {results[key]:.2f} | {results[f'{kind}_ratio_jobs{n}']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--notebooks", default=None, help="comma list of a subset")
    args = parser.parse_args()
    measured = bench_reports(args.repeats, notebooks=args.notebooks.split(",") if args.notebooks else None)
    print(as_markdown(measured))
    for key in sorted(k for k in measured if "_timings_" in k):
        print(f"{key}: {measured[key]}")
