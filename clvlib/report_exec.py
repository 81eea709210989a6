"""Executing the report notebooks: papermill with a progress hook, in-process HTML, sequential or in processes.

The run's bookkeeping (folders, atomic replace, index pages) lives in :mod:`clvlib.reports`; this module only
turns :class:`NotebookJob` values into executed notebooks and HTML files, and reports progress as it goes.

Where the time goes, and what is overlapped: each notebook pays a kernel start, its own imports and cells, and an
HTML conversion. Kernels are forked from a template process that has already imported the notebooks' modules and
read the run's data (:mod:`clvlib._kernel_fork`, on Linux), so a kernel is ready in milliseconds and its first
cells find pandas, matplotlib, clvlib and the orders loaded; elsewhere each kernel is started ahead of time (the
next notebook's, or a spare for a worker's next one) and imports the notebooks' modules while the current notebook
runs. Run sequentially, the conversion of one notebook and the run's other work (the headline figures) happen in
a helper thread while the next notebook executes in its kernel, on the other core. In parallel, worker processes
only drive their kernels and this process converts each finished notebook in its helper thread, so a worker takes
its next notebook at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._kernel_fork import KernelTemplate, fork_available, forked_kernel_manager
from .report_html import notebook_to_html, warm_up

__all__ = ["ProgressEvent", "NotebookJob", "NotebookOutcome", "notebook_parameters", "execute_job", "run_jobs",
           "start_template"]

# Modules clvlib imports only when a function needs them (to keep `import clvlib` quick), imported by the kernel
# template all the same: there it costs nothing on the notebooks' time.
_WARM = ("matplotlib.dates", "pandas.io.formats.style")  # the latter: `DataFrame.style` in the notebooks
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


def _notebook_imports(path: str) -> list[str]:
    """Modules a notebook imports at the top level of its code cells (cells that are not plain Python skipped)."""
    import ast
    import json

    modules: list[str] = []
    # Plain JSON, not nbformat.read: its schema validation would cost more than the rest of this, and this runs
    # before the kernel template can start.
    with open(path, encoding="utf-8") as handle:
        cells = json.load(handle).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse(source if isinstance(source, str) else "".join(source))
        except SyntaxError:  # magics, shell escapes
            continue
        for node in tree.body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            modules += [n for n in names if n not in modules]
    return modules


def start_template(sources: list[str]) -> KernelTemplate | None:
    """Start the kernel template (see :mod:`clvlib._kernel_fork`) for these notebooks, where forking is available.

    ``CLVLIB_FORK_KERNELS=0`` in the environment turns it off (every kernel then starts on its own).
    """
    if not fork_available() or os.environ.get("CLVLIB_FORK_KERNELS", "1") == "0":
        return None
    modules = list(dict.fromkeys([*(m for source in sources for m in _notebook_imports(source)), *_WARM]))
    return KernelTemplate(modules, _kernel_env())


def _start_kernel(cwd: str, modules: list[str], template: str | None = None) -> Any:
    """Start a kernel in ``cwd`` now and let it import ``modules`` (a notebook's own imports) while it boots.

    The imports run through ``__import__`` at kernel start-up (``exec_lines``, not in the history, no execution
    count, no name bound), so the notebook sees the same fresh namespace, only with its modules already loaded.
    With a ``template`` (the socket of a :class:`~clvlib._kernel_fork.KernelTemplate`) the kernel is forked from
    it and the modules are already there.
    """
    import subprocess

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    warm = "; ".join(f"__import__({m!r})" for m in modules)
    arguments = ["--HistoryManager.hist_file=:memory:"] + ([f"--IPKernelApp.exec_lines={warm}"] if warm else [])
    km = forked_kernel_manager(template, _KERNEL) if template else AsyncKernelManager(kernel_name=_KERNEL)
    run_sync(km.start_kernel)(extra_arguments=arguments, cwd=cwd, env=_kernel_env(),
                              stderr=subprocess.DEVNULL)
    return km


def _stop_kernel(km: Any) -> None:
    from jupyter_core.utils import run_sync

    if km is not None and km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)


def _register_engine() -> None:
    # papermill's nbclient engine with four changes: a hook on each cell start for progress; a kernel started
    # beforehand may be passed in (`km`); the kernel's own stderr (start-up chatter, not cell output) discarded;
    # and an immediate kernel shutdown, which saves about two seconds per notebook over the graceful one (the
    # notebook is finished; nothing is left to flush).
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
            km = kwargs.pop("km", None)
            client = PapermillNotebookClient(
                nb_man, km=km, kernel_name=kernel_name, timeout=execution_timeout, startup_timeout=start_timeout,
                log=logging.getLogger("papermill"), log_output=log_output, stdout_file=stdout_file,
                stderr_file=stderr_file, shutdown_kernel="immediate", **kwargs,
            )
            try:
                return client.execute(stderr=subprocess.DEVNULL, env=_kernel_env())
            finally:
                if km is not None:  # a kernel we started: nbclient leaves it to us
                    if client.kc is not None:
                        client.kc.stop_channels()
                    _stop_kernel(km)

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


def _execute(job: NotebookJob, progress: Callable[[ProgressEvent], None] | None, km: Any = None
             ) -> tuple[NotebookOutcome, Any]:
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
            **({"km": km} if km is not None else {}),
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


# A worker process's state: the queue back to the parent's progress callback, the shared count of notebooks not
# yet started, the pool's size, the modules the notebooks import, and a kernel started ahead for the next notebook.
_WORKER: dict[str, Any] = {}


def _init_worker(queue: Any, unstarted: Any, n_workers: int, modules: list[str], template: str | None) -> None:
    from multiprocessing.util import Finalize

    # Notebooks already run side by side: one math-library thread per kernel avoids oversubscribing the cores
    # (unless the user chose otherwise).
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    _WORKER.update(queue=queue, unstarted=unstarted, n_workers=n_workers, modules=modules, template=template,
                   spare=None)
    Finalize(None, _drop_spare, exitpriority=10)  # a spare kernel must not outlive its worker


def _drop_spare() -> None:
    km, _WORKER["spare"] = _WORKER.get("spare"), None
    _stop_kernel(km)


def _worker(job: NotebookJob) -> NotebookOutcome:
    # Each worker keeps one kernel ahead when enough notebooks remain for every worker to take another one,
    # so that the next notebook it takes finds its kernel booted and its modules imported.
    with _WORKER["unstarted"].get_lock():
        _WORKER["unstarted"].value -= 1
        left = _WORKER["unstarted"].value
    km, _WORKER["spare"] = _WORKER["spare"], None
    if km is None and _WORKER["template"]:
        km = _start_kernel(job.out_dir, _WORKER["modules"], _WORKER["template"])
    if left >= _WORKER["n_workers"]:
        _WORKER["spare"] = _start_kernel(job.out_dir, _WORKER["modules"], _WORKER["template"])
    queue = _WORKER["queue"]
    outcome, _ = _execute(job, queue.put if queue is not None else None, km=km)
    if not outcome.ok:
        _drop_spare()
    return outcome  # the parent converts the executed notebook, which papermill wrote to job.out_dir


def _convert_written(job: NotebookJob, outcome: NotebookOutcome) -> None:
    import nbformat

    _convert(job, nbformat.read(Path(job.out_dir) / f"{job.name}.ipynb", as_version=4), outcome)


def _run_sequential(jobs: list[NotebookJob], progress: Callable[[ProgressEvent], None] | None,
                    background: Callable[[], Any] | None, template: str | None
                    ) -> tuple[list[NotebookOutcome], Any]:
    # One helper thread, first in first out: compile the HTML templates, the background work, then each
    # notebook's conversion, all while the kernels run on the other core. Each next notebook's kernel starts
    # (and imports its modules) while the current one runs. Failures stop the loop at once.
    outcomes = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clv-report") as helper:
        helper.submit(warm_up, jobs[0].no_code)
        extra = helper.submit(background) if background is not None else None
        conversions = []
        # Without a template the first kernel is papermill's own: starting it here would gain nothing.
        next_km = _start_kernel(jobs[0].out_dir, [], template) if template else None
        try:
            for i, job in enumerate(jobs):
                following = jobs[i + 1] if i + 1 < len(jobs) else None
                km, next_km = next_km, (_start_kernel(following.out_dir, _notebook_imports(following.source),
                                                      template)
                                        if following is not None else None)
                outcome, nb = _execute(job, progress, km=km)
                outcomes.append(outcome)
                if not outcome.ok:
                    break
                conversions.append(helper.submit(_convert, job, nb, outcome))
        finally:
            _stop_kernel(next_km)  # started for a notebook that will not run
        for conversion in conversions:
            conversion.result()  # re-raises a conversion error here
        result = extra.result() if extra is not None and all(o.ok for o in outcomes) else None
    return outcomes, result


def _run_parallel(jobs: list[NotebookJob], n_jobs: int, progress: Callable[[ProgressEvent], None] | None,
                  background: Callable[[], Any] | None, template: str | None
                  ) -> tuple[list[NotebookOutcome], Any]:
    import multiprocessing
    import threading

    # Workers only drive their kernels; this process converts each executed notebook to HTML in a helper thread
    # (warmed up once, while the first kernels boot), so a worker takes its next notebook at once. With fork,
    # workers inherit the imported papermill instead of importing it again.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    if ctx.get_start_method() == "fork":
        _register_engine()
    queue = ctx.Queue() if progress is not None else None

    def relay() -> None:
        for event in iter(queue.get, None):
            progress(event)

    outcomes: dict[str, NotebookOutcome] = {}
    threads = []
    n_workers = min(n_jobs, len(jobs))
    modules = list(dict.fromkeys(m for job in jobs for m in _notebook_imports(job.source)))
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(queue, ctx.Value("i", len(jobs)), n_workers, modules, template)) as pool:
        futures = [pool.submit(_worker, job) for job in jobs]
        # Threads only now: the pool forked its workers at the first submit, and a fork must not copy a thread
        # that may hold a lock.
        helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clv-report")
        helper.submit(warm_up, jobs[0].no_code)
        extra = helper.submit(background) if background is not None else None
        if queue is not None:
            threads.append(threading.Thread(target=relay, daemon=True))
            threads[-1].start()
        by_name = {job.name: job for job in jobs}
        conversions = []
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future.cancelled():
                    continue
                outcome = future.result()
                outcomes[outcome.name] = outcome
                if outcome.ok:
                    conversions.append(helper.submit(_convert_written, by_name[outcome.name], outcome))
                else:  # fail fast: drop the notebooks not yet started
                    for other in pending:
                        other.cancel()
    if queue is not None:
        queue.put(None)
        threads[0].join()
    for conversion in conversions:
        conversion.result()  # re-raises a conversion error here
    ordered = [outcomes[job.name] for job in jobs if job.name in outcomes]
    result = extra.result() if extra is not None and all(o.ok for o in ordered) else None
    helper.shutdown(wait=True)
    return ordered, result


def run_jobs(jobs: list[NotebookJob], n_jobs: int = 1, progress: Callable[[ProgressEvent], None] | None = None,
             background: Callable[[], Any] | None = None, template: KernelTemplate | None = None
             ) -> tuple[list[NotebookOutcome], Any]:
    """Execute the notebooks, sequentially or in ``n_jobs`` processes, stopping at the first failure.

    Parameters
    ----------
    jobs : list of NotebookJob
    n_jobs : int, default 1
    progress : callable, optional
        Receives every :class:`ProgressEvent`, in the calling process.
    background : callable, optional
        Other work of the run, done in a helper thread of this process while notebooks execute.
    template : KernelTemplate, optional
        Fork the kernels from it (see :func:`start_template`); without it each kernel starts on its own.

    Returns
    -------
    (list of NotebookOutcome, object)
        Outcomes in job order (up to the first failure when sequential), and ``background()``'s result (None when
        a notebook failed).
    """
    socket_path = template.socket_path if template is not None else None
    if n_jobs <= 1 or len(jobs) == 1:
        return _run_sequential(jobs, progress, background, socket_path)
    return _run_parallel(jobs, n_jobs, progress, background, socket_path)
