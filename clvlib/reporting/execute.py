"""Executing the report notebooks: papermill with a progress hook, HTML in-process, one after another or in processes.

The run's bookkeeping (folders, atomic replace, index pages) lives in :mod:`clvlib.reports`; this module only
turns :class:`NotebookJob` values into executed notebooks and HTML files, and reports progress as it goes.

Each notebook runs through papermill in an ordinary kernel of its own, reads its own data and shows its own
warnings, so a report is the same on every platform. With ``n_jobs > 1`` the notebooks run in worker processes
(each executes and converts its notebook); the run's other work (the index's headline figures) runs in a helper
thread of the calling process meanwhile.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .html import notebook_to_html

__all__ = ["ProgressEvent", "NotebookJob", "NotebookOutcome", "notebook_parameters", "execute_job", "run_jobs",
           "stop_descendants"]

_KERNEL = "python3"  # one kernel spec for every notebook, whatever their metadata say
_ENGINE = "clvlib"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run: ``kind`` is "start", "cell" (a code cell starts), "done" or "failed".

    ``cell`` counts code cells from 1 out of ``n_cells``; ``source`` is the cell's first line; ``elapsed`` is the
    notebook's time so far, in seconds; ``as_of`` the run's date.
    """

    notebook: str
    kind: str
    elapsed: float
    cell: int | None = None
    n_cells: int | None = None
    source: str = ""
    as_of: str = ""


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to execute: plain values only, so that it can travel to a worker process."""

    name: str
    source: str
    out_dir: str
    parameters: dict
    no_code: bool
    subtitle: str
    as_of: str = ""


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
    environment: bool = False  # failed for the machine's reasons (disk full, unwritable folder), not the notebook's


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


def _kernel_env() -> dict[str, str]:
    # Reports need figures inline whatever the caller's MPLBACKEND (CI and test suites often set Agg).
    return {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def _register_engine() -> None:
    # papermill's nbclient engine (its documented extension point) with three changes: a hook on each cell start
    # for progress; the kernel's own stderr (start-up chatter, not cell output) discarded; and an immediate kernel
    # shutdown, which saves about two seconds per notebook over the graceful one (the notebook is finished).
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
            return client.execute(stderr=subprocess.DEVNULL, env=_kernel_env())

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


def _execute(job: NotebookJob, progress: Callable[[ProgressEvent], None] | None) -> tuple[NotebookOutcome, Any]:
    # papermill into job.out_dir; on failure the notebook is kept as <name>.failed.ipynb with its HTML.
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    out = Path(job.out_dir)
    ipynb = out / f"{job.name}.ipynb"
    started = time.perf_counter()

    def emit(kind: str, **kw: Any) -> None:
        if progress is not None:
            progress(ProgressEvent(job.name, kind, round(time.perf_counter() - started, 2), as_of=job.as_of, **kw))

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
                                  evalue=str(error), environment=isinstance(error, OSError))
        if isinstance(error, PapermillExecutionError):
            failure = NotebookOutcome(job.name, False, failure.seconds, cell_index=error.cell_index,
                                      cell_source=error.source, ename=error.ename, evalue=error.evalue)
        if ipynb.exists():
            failed_nb = nbformat.read(ipynb, as_version=4)
            failure = replace(failure, heading=_heading(failed_nb, job.name))  # the index names it by its title
            ipynb.replace(out / f"{job.name}.failed.ipynb")
            page = notebook_to_html(failed_nb, heading=f"FAILED: {_heading(failed_nb, job.name)}",
                                    subtitle=f"{failure.ename}: {failure.evalue} · {job.subtitle}",
                                    no_code=False, index_href=None)
            (out / f"{job.name}.failed.html").write_text(page, encoding="utf-8")
        emit("failed")
        return failure, None
    emit("done")
    seconds = round(time.perf_counter() - started, 3)
    return NotebookOutcome(job.name, True, seconds, heading=_heading(nb, job.name)), nb


def _convert(job: NotebookJob, nb: Any, outcome: NotebookOutcome) -> None:
    page = notebook_to_html(nb, heading=None, subtitle=job.subtitle, no_code=job.no_code,
                            title=f"{outcome.heading} — {job.subtitle}")
    (Path(job.out_dir) / f"{job.name}.html").write_text(page, encoding="utf-8")


def execute_job(job: NotebookJob, progress: Callable[[ProgressEvent], None] | None = None) -> NotebookOutcome:
    """Execute one notebook with papermill into ``job.out_dir`` and convert it to HTML in-process.

    On success writes ``<name>.ipynb`` and ``<name>.html``; on failure ``<name>.failed.ipynb`` and
    ``<name>.failed.html`` (with code, so the failing cell and its traceback are visible).
    """
    outcome, nb = _execute(job, progress)
    if outcome.ok:
        _convert(job, nb, outcome)
    return outcome


def stop_descendants(timeout: float = 3.0) -> None:
    """Terminate every process this one started (kernels, pool workers and their kernels), then kill stragglers."""
    import psutil

    # multiprocessing's resource tracker is a child too, but it is not the run's: stopping it makes every later
    # use of shared memory in this process complain; it exits on its own with the process.
    children = [c for c in psutil.Process().children(recursive=True) if not _is_resource_tracker(c)]
    for child in children:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def _is_resource_tracker(process) -> bool:
    import psutil

    try:
        return any("resource_tracker" in part for part in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


# A worker process's queue back to the parent's progress callback (None without one).
_WORKER: dict[str, Any] = {}


def _watch_parent(parent: int) -> None:
    # A worker whose runner died (SIGKILL leaves no chance to clean up) stops its kernel and itself, instead of
    # running the remaining notebooks as an orphan.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            stop_descendants(timeout=1.0)
            os._exit(1)


def _init_worker(queue: Any, runtime_dir: str | None) -> None:
    import signal
    import threading

    # Ctrl-C reaches every process of the terminal's foreground group: the runner stops the workers itself, so a
    # worker ignores it rather than print its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # Notebooks already run side by side: one math-library thread per kernel avoids oversubscribing the cores
    # (unless the user chose otherwise).
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    if runtime_dir:
        os.environ["JUPYTER_RUNTIME_DIR"] = runtime_dir
    _WORKER["queue"] = queue
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="clv-watch-parent").start()


def _worker(job: NotebookJob) -> NotebookOutcome:
    queue = _WORKER.get("queue")
    return execute_job(job, queue.put if queue is not None else None)


def _run_sequential(jobs: list[NotebookJob], progress: Callable[[ProgressEvent], None] | None,
                    background: Callable[[], Any] | None, runtime_dir: str | None) -> tuple[list[NotebookOutcome], Any]:
    # The background work runs in a helper thread while the kernels run; the first failure stops the loop.
    outcomes = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clv-report") as helper:
        extra = helper.submit(background) if background is not None else None
        previous = os.environ.get("JUPYTER_RUNTIME_DIR")
        if runtime_dir:
            os.environ["JUPYTER_RUNTIME_DIR"] = runtime_dir
        try:
            for job in jobs:
                outcomes.append(execute_job(job, progress))
                if not outcomes[-1].ok:
                    break
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): the kernel must not outlive the run
            stop_descendants()
            raise
        finally:
            if runtime_dir:
                if previous is None:
                    os.environ.pop("JUPYTER_RUNTIME_DIR", None)
                else:
                    os.environ["JUPYTER_RUNTIME_DIR"] = previous
        result = extra.result() if extra is not None and all(o.ok for o in outcomes) else None
    return outcomes, result


def _run_parallel(jobs: list[NotebookJob], n_jobs: int, progress: Callable[[ProgressEvent], None] | None,
                  background: Callable[[], Any] | None, runtime_dir: str | None
                  ) -> tuple[list[NotebookOutcome], Any]:
    import multiprocessing
    import threading

    # "spawn": a worker starts as a fresh interpreter on every platform, and never copies this process's threads.
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue() if progress is not None else None
    relay = None
    if queue is not None:
        relay = threading.Thread(target=lambda: [progress(event) for event in iter(queue.get, None)], daemon=True)
        relay.start()
    outcomes: dict[str, NotebookOutcome] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clv-report") as helper, \
            ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs)), mp_context=ctx, initializer=_init_worker,
                                initargs=(queue, runtime_dir)) as pool:
        extra = helper.submit(background) if background is not None else None
        pending = {pool.submit(_worker, job) for job in jobs}
        try:
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
        except BaseException:  # interrupted: stop the workers and their kernels before the pool waits for them
            # (The pool marks the futures of the workers it loses by itself; cancelling them here as well races
            # with its management thread.)
            stop_descendants()
            raise
        ordered = [outcomes[job.name] for job in jobs if job.name in outcomes]
        result = extra.result() if extra is not None and all(o.ok for o in ordered) else None
    if relay is not None:
        queue.put(None)
        relay.join()
    return ordered, result


def run_jobs(jobs: list[NotebookJob], n_jobs: int = 1, progress: Callable[[ProgressEvent], None] | None = None,
             background: Callable[[], Any] | None = None, runtime_dir: str | None = None
             ) -> tuple[list[NotebookOutcome], Any]:
    """Execute the notebooks, one after another or in ``n_jobs`` processes, stopping at the first failure.

    Parameters
    ----------
    jobs : list of NotebookJob
    n_jobs : int, default 1
    progress : callable, optional
        Receives every :class:`ProgressEvent`, in the calling process.
    background : callable, optional
        Other work of the run, done in a helper thread of this process while notebooks execute.
    runtime_dir : str, optional
        Where the kernels' connection files go (``JUPYTER_RUNTIME_DIR``): a folder of the run's own, removed with it.

    Interrupted (KeyboardInterrupt, or SIGTERM turned into one by the command), every process the run started is
    stopped before the exception goes on.

    Returns
    -------
    (list of NotebookOutcome, object)
        Outcomes in job order (up to the first failure when sequential), and ``background()``'s result (None when
        a notebook failed).
    """
    if n_jobs <= 1 or len(jobs) == 1:
        return _run_sequential(jobs, progress, background, runtime_dir)
    return _run_parallel(jobs, n_jobs, progress, background, runtime_dir)
