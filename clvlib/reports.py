"""Run the kit's notebooks with papermill into a folder of self-contained HTML reports, atomically.

One run is one as-of date: the data are loaded and checked once (a :class:`~clvlib.DataError` stops the run before
any notebook starts), every notebook is executed with the common parameters injected into its ``parameters``
cell, kept as an executed ``.ipynb`` and converted in-process to HTML, and an ``index.html`` plus ``run.json``
describe the run.

Safety: a run writes into a hidden temporary folder beside its destination and renames it into place only when
every notebook succeeded (the previous folder is moved aside, the new one renamed in, the old one deleted). When a
notebook fails, the previous report is left untouched, the failed notebook is kept as ``<name>.failed.ipynb`` and
``<name>.failed.html`` (error visible, code shown) in the folder ``<destination>.failed/`` beside it, and
:class:`ReportError` names the notebook, the cell and the error. A later successful run removes that folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import NOTEBOOKS_DIR, REPORTS_DIR
from .report_html import _exporter, notebook_to_html
from .report_index import build_run_record, load_run_data, period_ends, write_history_index, write_run_index

__all__ = ["run_report", "run_reports", "find_notebooks", "period_ends", "ReportError", "RunResult", "ProgressEvent",
           "COMMON_PARAMETERS"]

COMMON_PARAMETERS = ("data", "preset", "columns", "as_of", "currency")
_KERNEL = "python3"  # one kernel spec for every notebook, whatever their metadata say
_ENGINE = "clvlib"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run: ``kind`` is "start", "cell" (a code cell starts), "done" or "failed".

    ``cell`` counts code cells from 1 out of ``n_cells``; ``source`` is the cell's first line; ``elapsed`` is the
    notebook's time so far, in seconds.
    """

    notebook: str
    kind: str
    elapsed: float
    cell: int | None = None
    n_cells: int | None = None
    source: str = ""


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to execute: plain values only, so that it can travel to a worker process."""

    name: str
    source: str
    out_dir: str
    parameters: dict
    no_code: bool
    subtitle: str


@dataclass(frozen=True)
class NotebookOutcome:
    """The result of one notebook; on failure, where and why."""

    name: str
    ok: bool
    seconds: float
    cell_index: int | None = None
    cell_source: str = ""
    ename: str = ""
    evalue: str = ""
    heading: str = ""


def notebook_parameters(path: str | Path) -> set[str]:
    """The parameter names assigned in a notebook's cell tagged ``parameters``.

    Read with :mod:`ast` rather than ``papermill.inspect_notebook``, whose pattern skips PEP 604 annotations
    such as ``data: str | None = None``.
    """
    import ast

    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _register_engine() -> None:
    # papermill's nbclient engine with three changes: a hook on each cell start for progress; the kernel's own
    # stderr (start-up chatter, not cell output) discarded; and an immediate kernel shutdown, which saves about
    # two seconds per notebook over the graceful one (the notebook is finished; nothing is left to flush).
    import logging
    import subprocess

    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, progress=None, start_timeout=60,
                                     execution_timeout=None, log_output=False, stdout_file=None, stderr_file=None,
                                     **kwargs):
            if progress is not None:
                code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"]
                original = nb_man.cell_start

                def cell_start(cell, cell_index=None, **kw):
                    if cell.cell_type == "code":
                        progress(code.index(cell_index) + 1, len(code), cell.source)
                    return original(cell, cell_index, **kw)

                nb_man.cell_start = cell_start
            kwargs.pop("input_path", None)
            client = PapermillNotebookClient(
                nb_man, kernel_name=kernel_name, timeout=execution_timeout, startup_timeout=start_timeout,
                log=logging.getLogger("papermill"), log_output=log_output, stdout_file=stdout_file,
                stderr_file=stderr_file, shutdown_kernel="immediate", **kwargs,
            )
            return client.execute(stderr=subprocess.DEVNULL)

    papermill_engines.register(_ENGINE, ProgressEngine)


def _first_line(source: str) -> str:
    lines = [line for line in source.strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _heading(nb: Any, default: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def execute_job(job: NotebookJob, progress: Callable[[ProgressEvent], None] | None = None) -> NotebookOutcome:
    """Execute one notebook with papermill into ``job.out_dir`` and convert it to HTML in-process.

    On success writes ``<name>.ipynb`` and ``<name>.html``; on failure ``<name>.failed.ipynb`` and
    ``<name>.failed.html`` (with code, so the failing cell and its traceback are visible).
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    out = Path(job.out_dir)
    ipynb = out / f"{job.name}.ipynb"
    started = time.perf_counter()

    def emit(kind: str, **kw: Any) -> None:
        if progress is not None:
            progress(ProgressEvent(job.name, kind, round(time.perf_counter() - started, 2), **kw))

    def on_cell(number: int, total: int, source: str) -> None:
        emit("cell", cell=number, n_cells=total, source=_first_line(source))

    emit("start")
    try:
        nb = papermill.execute_notebook(
            job.source, str(ipynb), parameters=job.parameters, engine_name=_ENGINE, kernel_name=_KERNEL,
            progress_bar=False, request_save_on_cell_execute=False, cwd=str(out), progress=on_cell,
        )
    except Exception as error:  # noqa: BLE001 - any failure is reported with the notebook's name
        failure = NotebookOutcome(job.name, False, time.perf_counter() - started, ename=type(error).__name__,
                                  evalue=str(error))
        if isinstance(error, PapermillExecutionError):
            failure = NotebookOutcome(job.name, False, failure.seconds, cell_index=error.cell_index,
                                      cell_source=error.source, ename=error.ename, evalue=error.evalue)
        if ipynb.exists():
            failed_nb = nbformat.read(ipynb, as_version=4)
            ipynb.replace(out / f"{job.name}.failed.ipynb")
            page = notebook_to_html(failed_nb, heading=f"FAILED: {_heading(failed_nb, job.name)}",
                                    subtitle=job.subtitle, no_code=False, index_href=None)
            (out / f"{job.name}.failed.html").write_text(page, encoding="utf-8")
        emit("failed")
        return failure
    heading = _heading(nb, job.name)
    page = notebook_to_html(nb, heading=heading, subtitle=job.subtitle, no_code=job.no_code,
                            title=f"{heading} — {job.subtitle}")
    (out / f"{job.name}.html").write_text(page, encoding="utf-8")
    emit("done")
    return NotebookOutcome(job.name, True, round(time.perf_counter() - started, 3), heading=heading)


_EVENTS: Any = None  # a worker process's queue back to the parent's progress callback


def _init_worker(queue: Any) -> None:
    global _EVENTS
    _EVENTS = queue


def _worker(job: NotebookJob) -> NotebookOutcome:
    return execute_job(job, _EVENTS.put if _EVENTS is not None else None)


def _run_parallel(jobs: list[NotebookJob], n_jobs: int, progress: Callable[[ProgressEvent], None] | None
                  ) -> list[NotebookOutcome]:
    import multiprocessing
    import threading

    # fork: workers inherit the imported papermill/nbconvert and the compiled HTML templates (warmed here)
    # instead of loading them again, a few seconds each.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    if ctx.get_start_method() == "fork":
        _register_engine()
        _exporter(jobs[0].no_code)
    queue = ctx.Queue() if progress is not None else None

    def relay() -> None:
        for event in iter(queue.get, None):
            progress(event)

    outcomes: dict[str, NotebookOutcome] = {}
    relay_thread = None
    with ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs)), mp_context=ctx, initializer=_init_worker,
                             initargs=(queue,)) as pool:
        futures = [pool.submit(_worker, job) for job in jobs]  # the pool forks its workers here, before any thread
        if queue is not None:
            relay_thread = threading.Thread(target=relay, daemon=True)
            relay_thread.start()
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future.cancelled():
                    continue
                outcome = future.result()
                outcomes[outcome.name] = outcome
                if not outcome.ok:  # fail fast: drop the notebooks not yet started
                    for other in pending:
                        other.cancel()
    if relay_thread is not None:
        queue.put(None)
        relay_thread.join()
    return [outcomes[job.name] for job in jobs if job.name in outcomes]


class ReportError(RuntimeError):
    """A notebook failed: names the notebook, the cell (index and first line) and the error.

    Attributes ``notebook``, ``cell_index``, ``cell_source``, ``ename``, ``evalue`` and ``failed_dir`` (where the
    failed notebook and its HTML were kept).
    """

    def __init__(self, outcome: NotebookOutcome, failed_dir: Path):
        self.notebook, self.cell_index, self.cell_source = outcome.name, outcome.cell_index, outcome.cell_source
        self.ename, self.evalue, self.failed_dir = outcome.ename, outcome.evalue, failed_dir
        where = f"cell {outcome.cell_index}" if outcome.cell_index is not None else "before the first cell"
        first_line = outcome.cell_source.strip().splitlines()[0] if outcome.cell_source.strip() else ""
        super().__init__(
            f"notebook {outcome.name!r} failed at {where}" + (f" ({first_line!r})" if first_line else "")
            + f": {outcome.ename}: {outcome.evalue}\n"
            f"The failed notebook is kept in {failed_dir}/{outcome.name}.failed.html (and .ipynb); "
            "the previous report, if any, is untouched."
        )


@dataclass
class RunResult:
    """What a successful run produced: the folder, the as-of date, and per-notebook timings in seconds."""

    out_dir: Path
    as_of: str
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)


def find_notebooks(notebooks_dir: str | Path | None = None, names: Sequence[str] | None = None) -> list[Path]:
    """The report notebooks ``NN_*.ipynb`` in ``notebooks_dir``, sorted, optionally only those named in ``names``.

    Parameters
    ----------
    notebooks_dir : path, optional
        Defaults to ``clvlib.config.NOTEBOOKS_DIR``.
    names : sequence of str, optional
        Subset, by stem (``"04_rfm"``), by number (``"04"``) or by the part after the number (``"rfm"``).

    Returns
    -------
    list of Path

    Raises
    ------
    ValueError
        When a name matches no notebook (the message lists the available ones), or the folder holds none.
    """
    folder = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if not p.name.endswith(".failed.ipynb"))
    if not found:
        raise ValueError(f"No report notebooks (NN_name.ipynb) in {folder}.")
    if not names:
        return found
    chosen = []
    for name in names:
        hits = [p for p in found if name in (p.stem, p.stem[:2], p.stem[3:])]
        if not hits:
            raise ValueError(
                f"The value for `notebooks` must be one of {[p.stem for p in found]}, but {name!r} was passed."
            )
        chosen.extend(h for h in hits if h not in chosen)
    return sorted(chosen)


def _replace_dir(new: Path, dest: Path) -> None:
    # Two renames on the same file system: readers see the old folder or the new one, never a mixture.
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(dest, old)
    os.replace(new, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _run_jobs(jobs: list[NotebookJob], n_jobs: int, progress: Callable[[ProgressEvent], None] | None
              ) -> list[NotebookOutcome]:
    if n_jobs <= 1 or len(jobs) == 1:
        outcomes = []
        for job in jobs:
            outcomes.append(execute_job(job, progress))
            if not outcomes[-1].ok:
                break  # fail fast: the run is lost anyway; report this error now
        return outcomes
    return _run_parallel(jobs, n_jobs, progress)


def run_report(
    data: str | os.PathLike | None = None,
    *,
    preset: str | None = None,
    columns: dict[str, str] | None = None,
    as_of: str | None = None,
    currency: str = "USD",
    params: dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    notebooks: Sequence[str] | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    no_code: bool = False,
    jobs: int = 1,
    progress: Callable[[ProgressEvent], None] | None = None,
    orders: Any = None,
    history: bool | None = None,
) -> RunResult:
    """Run every report notebook for one as-of date into ``out`` (default ``reports/<as-of>/``), atomically.

    Parameters
    ----------
    data : path, optional
        The order export; None for the bundled demo store.
    preset, columns, as_of, currency
        The common notebook parameters (see :func:`clvlib.load_orders`); ``as_of`` defaults to the last order date.
    params : dict, optional
        Further notebook parameters; each notebook receives only those it declares (unknown names warn).
    out : path, optional
        The run's folder.
    notebooks : sequence of str, optional
        A subset (see :func:`find_notebooks`).
    notebooks_dir : path, optional
        Where the notebooks are (developers and tests).
    no_code : bool, default False
        HTML without code cells, for business readers.
    jobs : int, default 1
        Notebooks executed in parallel processes.
    progress : callable, optional
        Receives a :class:`ProgressEvent` per notebook start, cell start, and notebook end.
    orders : DataFrame, optional
        The already loaded orders for this date (skips loading; used by :func:`run_reports`).
    history : bool, optional
        Whether the run folder belongs to a history of dated folders (its index then links to ``../index.html``).
        By default True when ``out`` is not given; the history page ``reports/index.html`` is then rebuilt.

    Returns
    -------
    RunResult

    Raises
    ------
    DataError
        Before any notebook starts, when the data cannot be used.
    ReportError
        When a notebook fails (see the module docstring for what is kept where).
    """
    started = time.perf_counter()
    sources = find_notebooks(notebooks_dir, notebooks)
    if orders is None:
        orders = load_run_data(data, preset=preset, columns=columns, as_of=as_of)
    as_of = as_of or orders["order_date"].max().date().isoformat()
    dest = Path(out) if out is not None else REPORTS_DIR / as_of
    dest.parent.mkdir(parents=True, exist_ok=True)
    data_path = str(Path(data).resolve()) if data is not None else None
    common = {"data": data_path, "preset": preset, "columns": columns or None, "as_of": as_of, "currency": currency}
    declared = {p: notebook_parameters(p) for p in sources}
    unknown = sorted(set(params or {}) - set().union(*declared.values()))
    if unknown:
        warnings.warn(f"No notebook declares the parameter(s) {unknown}; they are ignored.", UserWarning,
                      stacklevel=2)
    data_label = Path(data).name if data is not None else "the bundled demo store"
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        jobs_list = []
        for source in sources:
            names = declared[source]
            values = {**common, **(params or {})}
            if "export_dir" in names:
                values["export_dir"] = f"exports/{source.stem}"  # relative to the run folder (the kernel's cwd)
            jobs_list.append(NotebookJob(
                name=source.stem, source=str(source), out_dir=str(tmp),
                parameters={k: v for k, v in values.items() if k in names},
                no_code=no_code, subtitle=f"Data: {data_label} · as of {as_of} · currency {currency}",
            ))
        outcomes = _run_jobs(jobs_list, jobs, progress)
        failed = [o for o in outcomes if not o.ok]
        if failed:
            failed_dir = dest.with_name(f"{dest.name}.failed")
            _keep_failed(tmp, failed, failed_dir)
            raise ReportError(failed[0], failed_dir)
        timings = {o.name: o.seconds for o in outcomes}
        reports = [{"name": o.name, "title": o.heading, "html": f"{o.name}.html", "ipynb": f"{o.name}.ipynb"}
                   for o in outcomes]
        record = build_run_record(orders, data=data, preset=preset, columns=columns, as_of=as_of, currency=currency,
                                  params=params, no_code=no_code, timings=timings, jobs=jobs, reports=reports)
        record["timings"]["total"] = round(time.perf_counter() - started, 3)
        history = history if history is not None else out is None
        write_run_index(tmp, record, back_href="../index.html" if history else None)
        (tmp / "run.json").write_text(_json(record), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a report folder is meant to be shared
        _replace_dir(tmp, dest)
        shutil.rmtree(dest.with_name(f"{dest.name}.failed"), ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if history:
        write_history_index(dest.parent)
    return RunResult(out_dir=dest, as_of=as_of, timings=timings, seconds=time.perf_counter() - started,
                     record=record)


def _keep_failed(tmp: Path, failed: list[NotebookOutcome], failed_dir: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{failed_dir.name}.tmp-", dir=failed_dir.parent))
    for outcome in failed:
        for suffix in (".ipynb", ".html"):
            produced = tmp / f"{outcome.name}.failed{suffix}"
            if produced.exists():
                shutil.move(produced, staging / produced.name)
    os.chmod(staging, 0o755)
    _replace_dir(staging, failed_dir)


def _json(record: dict) -> str:
    import json

    return json.dumps(record, indent=2, default=str, ensure_ascii=False) + "\n"


def run_reports(
    data: str | os.PathLike | None = None,
    *,
    as_of: Sequence[str] | None = None,
    every: str | None = None,
    start: str | None = None,
    end: str | None = None,
    out: str | os.PathLike | None = None,
    **kwargs: Any,
) -> list[RunResult]:
    """Run the reports for several as-of dates, one folder per date, and rebuild the history index.

    Parameters
    ----------
    data : path, optional
        As in :func:`run_report`.
    as_of : sequence of str, optional
        Explicit dates (ISO).
    every : {"month", "quarter"}, optional
        With ``start``/``end``: every month or quarter end between them (:func:`period_ends`).
    out : path, optional
        The parent folder of the dated folders and of the history ``index.html``; ``reports/`` by default.
    **kwargs
        Passed to :func:`run_report` (``preset``, ``columns``, ``currency``, ``params``, ``jobs``, ...).

    Returns
    -------
    list of RunResult, one per date, in date order. The first failure raises (earlier dates stay written).
    """
    dates = sorted(set(as_of or ()) | set(period_ends(every, start, end) if every else ()))
    if not dates:
        raise ValueError("Give `as_of` dates or `every` with `start` and `end`.")
    root = Path(out) if out is not None else REPORTS_DIR
    # Load and check every date before the first notebook runs, so bad data or a bad date fails fast.
    loaded = {d: load_run_data(data, preset=kwargs.get("preset"), columns=kwargs.get("columns"), as_of=d)
              for d in dates}
    # Each date rebuilds the history page, so it is current even if a later date fails.
    return [run_report(data, as_of=d, out=root / d, orders=loaded[d], history=True, **kwargs) for d in dates]
