"""Run the kit's notebooks with papermill into a folder of self-contained HTML reports, atomically.

One run is one as-of date: the data are loaded and checked once (a :class:`~clvlib.DataError` stops the run before
any notebook starts), every notebook is executed with the common parameters injected into its ``parameters``
cell, kept as an executed ``.ipynb`` and converted in-process to HTML, and an ``index.html`` plus ``run.json``
describe the run.

Safety: the runner writes only into a folder that is missing, empty, or a report it wrote itself (it holds the
``run.json`` of a report run); anything else, or a destination holding the data file, is refused with
:class:`OutputError` before anything is touched. A run writes into a hidden temporary folder beside its
destination and renames it into place only when every notebook succeeded (the previous folder is moved aside, the new one renamed in, the old one deleted). When a
notebook fails, the previous report is left untouched and the new run is kept whole in ``<destination>.failed/``
beside it: the pages that worked, the failed notebook as ``<name>.failed.ipynb`` and ``<name>.failed.html`` (error
visible, code shown), and an index that marks which notebook failed and why; :class:`ReportError` names the
notebook, the cell and the error. A later successful run removes that folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
import warnings
from contextlib import contextmanager
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import FROM_CLONE, NOT_A_CLONE, NOTEBOOKS_DIR, PROJ_ROOT, REPORTS_DIR
from .execute import NotebookJob, NotebookOutcome, ProgressEvent, notebook_parameters, run_jobs
from .index import (CLV_PARAMETERS, build_run_record, check_clv_parameters, headline_figures, load_run_data,
                           period_ends, write_history_index, write_run_index)
from .html import GLOSSARY_PAGE, glossary_page
from .summary import manager_summary, previous_run

__all__ = ["run_report", "run_reports", "find_notebooks", "period_ends", "ReportError", "OutputError", "RunResult",
           "ProgressEvent", "COMMON_PARAMETERS", "check_output_folder", "is_kit_report", "OutputLocked",
           "ReportEnvironmentError"]

COMMON_PARAMETERS = ("data", "preset", "columns", "read_options", "as_of", "currency")
GENERATOR = "clvlib report"  # recorded in run.json: what marks a folder as one the runner may replace


class OutputError(ValueError):
    """The output folder cannot be used (it is not the kit's, holds the data, or is a file); nothing was touched."""


class ReportEnvironmentError(OSError):
    """The machine stopped the run (a full disk, a folder that cannot be written); the previous report is kept."""


def is_kit_report(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a report folder the runner wrote (its ``run.json`` is a report run's record).

    Records from before the ``generator`` key are recognised by the keys every run record has had.
    """
    import json

    record = Path(folder) / "run.json"
    try:
        content = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(content, dict):
        return False
    return content.get("generator") == GENERATOR or {"as_of", "reports", "timings", "versions"} <= content.keys()


def check_output_folder(dest: str | os.PathLike, *, data: str | os.PathLike | None = None,
                        option: str = "--out") -> None:
    """Refuse a destination the runner would have to delete or overwrite without having written it.

    A destination may be missing, an empty folder, or a report folder the kit wrote (:func:`is_kit_report`); it
    must not be, or contain, the data file. The same holds for the ``<dest>.failed`` folder where a failed run is
    kept.

    Raises
    ------
    OutputError
        Naming the folder, the problem and what to do instead.
    """
    dest = Path(os.path.abspath(dest))  # "." and ".." name real folders; a symlink itself is refused below
    data_path = Path(data).resolve() if data is not None else None
    if dest.parent == dest:
        raise OutputError(f"{option} {dest}: a file system's root cannot hold a report folder; choose a folder "
                          "inside it. Nothing was changed.")
    here = Path.cwd().resolve()
    if dest.resolve() == here or dest.resolve() in here.parents:
        raise OutputError(f"{option} {dest}: it holds the folder you are working in ({here}), and a report run "
                          "replaces the whole folder. Choose another output folder. Nothing was changed.")
    for folder, what in ((dest, option), (dest.with_name(f"{dest.name}.failed"), f"{option} (its failure folder)")):
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise OutputError(
                f"{what} {folder}: exists and is not a folder; the report needs a folder of its own. "
                "Choose a new folder name; nothing was changed."
            )
        if folder.is_dir() and any(folder.iterdir()) and not is_kit_report(folder):
            raise OutputError(
                f"{what} {folder}: the folder exists and is not a report written by the kit (it has no run.json "
                "of a report run), and the kit replaces only its own reports. Choose an empty or new folder; "
                "nothing was changed."
            )
        if data_path is not None and (data_path == folder.resolve() or folder.resolve() in data_path.parents):
            raise OutputError(
                f"{what} {folder}: the data file {data_path} is inside it, and a report run replaces the whole "
                "folder. Choose an output folder that does not hold the data; nothing was changed."
            )


class ReportError(RuntimeError):
    """A notebook failed: names the notebook, the cell (index and first line) and the error.

    Attributes ``notebook``, ``cell_index``, ``cell_source``, ``ename``, ``evalue`` and ``failed_dir`` (where the
    failed notebook and its HTML were kept).
    """

    def __init__(self, outcome: NotebookOutcome, failed_dir: Path):
        self.notebook, self.cell_index, self.cell_source = outcome.name, outcome.cell_index, outcome.cell_source
        self.ename, self.evalue, self.failed_dir = outcome.ename, outcome.evalue, failed_dir
        where = f"cell {outcome.cell_index}" if outcome.cell_index is not None else "outside its cells"
        first_line = outcome.cell_source.strip().splitlines()[0] if outcome.cell_source.strip() else ""
        super().__init__(
            f"notebook {outcome.name!r} failed at {where}" + (f" ({first_line!r})" if first_line else "")
            + f": {outcome.ename}: {outcome.evalue}\n"
            f"The whole run is kept in {failed_dir}/ (index.html marks the failed notebook; its page is "
            f"{outcome.name}.failed.html); the previous report, if any, is untouched."
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
        if notebooks_dir is None and not FROM_CLONE:
            raise ValueError(NOT_A_CLONE)
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


class OutputLocked(OutputError):
    """Another run is writing to the same output folder."""


@contextmanager
def _locked(dest: Path):
    """Hold ``.<dest>.lock`` beside the destination for the run: concurrent runs on one folder are serialised.

    The lock is an OS file lock (``fcntl.flock``), so it dies with its process, SIGKILL included: a crashed run
    never leaves a folder locked. The file is removed when the run ends; a run that locked a file another run had
    just removed sees that the path no longer names its file, and tries again. Where ``fcntl`` does not exist
    (Windows) the lock is advisory only.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no OS lock to take
        fcntl = None
    path = dest.with_name(f".{dest.name}.lock")
    while True:
        handle = open(path, "a+", encoding="utf-8")
        if fcntl is None:
            break
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise OutputLocked(
                f"--out {dest}: another report run ({holder}) is writing to this folder; wait for it to finish or "
                "choose another folder. Nothing was changed.") from None
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()  # the file was removed by the run that held it: lock the new one
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        try:
            path.unlink()
        except OSError:
            pass
        handle.close()


def _tidy(dest: Path) -> list[str]:
    """Before a run, under its lock: what dead runs left beside ``dest`` is put right. Returns what was done.

    A report stranded by a crash between the two renames of a replacement (``.<name>.old-*``) goes back in place
    when the destination is missing, and is removed when a complete destination exists. Temporary folders of
    dead runs (``.<name>.tmp-*``, kernel runtime folders ``.<name>.kernels-*``) are removed: no live run can use
    them, as this run holds the lock.
    """
    done = []
    for name in (dest.name, f"{dest.name}.failed"):
        target = dest.with_name(name)
        stranded = sorted(dest.parent.glob(f".{name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in stranded:
            if not old.is_dir() or not is_kit_report(old):
                continue
            if not target.exists():
                os.replace(old, target)
                done.append(f"restored {target.name} from a run interrupted while replacing it")
            else:
                shutil.rmtree(old, ignore_errors=True)
                done.append(f"removed {old.name}, left by an interrupted replacement")
        for pattern in (f".{name}.tmp-*", f".{name}.kernels-*"):
            for leftover in dest.parent.glob(pattern):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                    done.append(f"removed {leftover.name}, left by a run that did not finish")
    return done


def _replace_dir(new: Path, dest: Path) -> None:
    # Two renames within one folder (so one file system): the destination holds the old report or the new one,
    # complete, never a mixture; should the second rename fail, the old one is put back.
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except OSError:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_report(
    data: str | os.PathLike | None = None,
    *,
    preset: str | None = None,
    columns: dict[str, str] | None = None,
    read_options: dict[str, Any] | None = None,
    as_of: str | None = None,
    currency: str | None = None,
    params: dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    notebooks: Sequence[str] | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    no_code: bool = True,
    with_emails: bool = False,
    jobs: int = 1,
    progress: Callable[[ProgressEvent], None] | None = None,
    orders: Any = None,
    history: bool | None = None,
    hint_style: str = "python",
) -> RunResult:
    """Run every report notebook for one as-of date into ``out`` (default ``reports/<as-of>/``), atomically.

    Parameters
    ----------
    data : path, optional
        The order export; None for the bundled demo store.
    preset, columns, as_of, currency
        The common notebook parameters (see :func:`clvlib.load_orders`); ``as_of`` defaults to the last order date,
        ``currency`` to the data's own (:func:`clvlib.store_currency`: the preset's or the file's, else USD).
    read_options : dict, optional
        Further :func:`clvlib.read_transactions` options (``encoding``, ``sheet_name``, ``dayfirst``, ``rates``,
        ...; see :func:`clvlib.load_orders`): used for the runner's own load, passed to every notebook as its
        ``read_options`` parameter, and recorded in ``run.json``.
    params : dict, optional
        Further notebook parameters; each notebook receives only those it declares (unknown names warn).
    out : path, optional
        The run's folder.
    notebooks : sequence of str, optional
        A subset (see :func:`find_notebooks`).
    notebooks_dir : path, optional
        Where the notebooks are (developers and tests).
    no_code : bool, default True
        HTML without code cells, for business readers; False shows the code (``clv report --with-code``).
    with_emails : bool, default False
        Exports and tables show customer ids and emails (notebook parameter ``with_emails``); by default they show
        keyed pseudonyms and no emails. ``run.json`` and the index say which.
    jobs : int, default 1
        Notebooks executed in parallel processes.
    progress : callable, optional
        Receives a :class:`ProgressEvent` per notebook start, cell start, and notebook end.
    orders : DataFrame, optional
        The already loaded orders for this date (skips loading; used by :func:`run_reports`).
    history : bool, optional
        Whether the run folder belongs to a history of dated folders (its index then links to ``../index.html``).
        By default True when ``out`` is not given; the history page ``reports/index.html`` is then rebuilt.
    hint_style : {"python", "cli"}, default "python"
        How a :class:`~clvlib.DataError` of the runner's load suggests options (``clv report`` passes "cli":
        ``--column revenue=Total`` rather than ``columns={'revenue': 'Total'}``).

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
    # Paths as the user meant them, relative to the working folder, whatever the notebooks later resolve against.
    data = os.path.abspath(data) if data is not None and not hasattr(data, "columns") else data
    out = os.path.abspath(out) if out is not None else None
    sources = find_notebooks(notebooks_dir, notebooks)
    if orders is None:
        orders = load_run_data(data, preset=preset, columns=columns, as_of=as_of, read_options=read_options,
                               hint_style=hint_style)
    as_of = as_of or orders["order_date"].max().date().isoformat()
    from ..ingest.read import store_currency

    currency = store_currency(orders, currency=currency)  # the data's own unless the run names one
    clv_parameters = {k: v for k, v in (params or {}).items() if k in CLV_PARAMETERS}
    check_clv_parameters(clv_parameters)
    dest = Path(out) if out is not None else REPORTS_DIR / as_of
    check_output_folder(dest, data=data)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.TemporaryFile(dir=dest.parent)  # can the run write beside its destination at all?
        probe.close()
    except OSError as error:
        raise OutputError(f"--out {dest}: the folder {dest.parent} cannot be written ({error.strerror}); choose a "
                          "folder you can write to. Nothing was changed.") from None
    data_path = str(Path(data).resolve()) if data is not None else None
    common = {"data": data_path, "preset": preset, "columns": columns or None, "read_options": read_options or None,
              "as_of": as_of, "currency": currency, "with_emails": bool(with_emails)}
    declared = {p: notebook_parameters(p) for p in sources}
    unknown = sorted(set(params or {}) - set().union(*declared.values()))
    if unknown:
        warnings.warn(f"No notebook declares the parameter(s) {unknown}; they are ignored.", UserWarning,
                      stacklevel=2)
    data_label = Path(data).name if data is not None else "the bundled demo store"
    history = history if history is not None else out is None
    with _locked(dest):
        for note in _tidy(dest):
            warnings.warn(f"{dest.parent}: {note}.", UserWarning, stacklevel=2)
        result = _run_locked(dest, sources, declared, common, data=data, data_label=data_label, preset=preset,
                             columns=columns, read_options=read_options, as_of=as_of, currency=currency,
                             params=params,
                             no_code=no_code, jobs=jobs, progress=progress, orders=orders, history=history,
                             with_emails=with_emails,
                             clv_parameters=clv_parameters, started=started)
    if history:
        write_history_index(dest.parent)
    return result


def _run_locked(dest: Path, sources: list[Path], declared: dict, common: dict, *, data, data_label, preset, columns,
                read_options, as_of, currency, params, no_code, jobs, progress, orders, history, clv_parameters, started,
                with_emails) -> RunResult:
    # The run proper, under the destination's lock: a temporary folder beside it, renamed into place at the end.
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    # Kernel connection files go to a folder of this run's own, removed with it (and by the next run after a crash).
    runtime = Path(tempfile.mkdtemp(prefix=f".{dest.name}.kernels-", dir=dest.parent))
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
                no_code=no_code, subtitle=f"Data: {data_label} · as of {as_of} · currency {currency}", as_of=as_of,
            ))
        if jobs > 1:  # longest first, so that a long notebook does not start last
            jobs_list.sort(key=_expected_cost(dest, jobs_list))
        previous = previous_run(dest.parent, as_of, data_label) if history else None
        # The summary's charts are drawn in a helper thread while this one starts kernels and imports IPython on
        # the way. Matplotlib reads IPython.version_info whenever a canvas is made, and a half-imported IPython has
        # none: import it, and the plotting modules, here first.
        import IPython  # noqa: F401
        import matplotlib.pyplot  # noqa: F401

        from .. import plots  # noqa: F401

        outcomes, figures = run_jobs(
            jobs_list, jobs, progress, runtime_dir=str(runtime),
            background=lambda: _index_figures(orders, as_of=as_of, currency=currency, data=data, params=params,
                                              clv_parameters=clv_parameters, previous=previous))
        # None when a notebook failed: the record computes the headline itself, and a failed run has no summary.
        headline, summary = figures if figures is not None else (None, {"since": None, "sentences": [], "charts": []})
        outcomes = sorted(outcomes, key=lambda o: o.name)
        failed = [o for o in outcomes if not o.ok]
        timings = {o.name: o.seconds for o in outcomes}
        reports = [_report_entry(o) for o in outcomes]
        record = build_run_record(orders, data=data, preset=preset, columns=columns, as_of=as_of, currency=currency,
                                  params=params, no_code=no_code, timings=timings, jobs=jobs, reports=reports,
                                  headline=headline, read_options=read_options)
        record["generator"] = GENERATOR
        record["previous"] = previous
        record["summary"] = {"since": summary["since"], "sentences": summary["sentences"]}
        record["privacy"] = ("contact data: customer ids and emails as in the data (--with-emails)" if with_emails
                             else "keyed pseudonyms for customer ids, no emails")
        record["status"] = "failed" if failed else "complete"
        record["timings"]["total"] = round(time.perf_counter() - started, 3)
        environment = [o for o in outcomes if not o.ok and o.environment]
        if environment:  # the machine, not the notebook: a full disk, a folder that cannot be written
            raise ReportEnvironmentError(f"{environment[0].ename}: {environment[0].evalue}")
        glossary = PROJ_ROOT / "docs" / "glossary.md"
        if glossary.is_file():  # the pages link it; a checkout without docs/ keeps the notebooks' own link
            (tmp / GLOSSARY_PAGE).write_text(glossary_page(glossary.read_text(encoding="utf-8")), encoding="utf-8")
        write_run_index(tmp, record, back_href="../index.html" if history and not failed else None,
                        charts=summary["charts"])
        (tmp / "run.json").write_text(_json(record), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a report folder is meant to be shared
        if failed:
            # The whole run, the pages that worked included, is kept beside the untouched previous report.
            failed_dir = dest.with_name(f"{dest.name}.failed")
            _replace_dir(tmp, failed_dir)
            raise ReportError(failed[0], failed_dir)
        _replace_dir(tmp, dest)
        if is_kit_report(dest.with_name(f"{dest.name}.failed")):  # the failure this run has fixed
            shutil.rmtree(dest.with_name(f"{dest.name}.failed"), ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)
    return RunResult(out_dir=dest, as_of=as_of, timings=timings, seconds=time.perf_counter() - started,
                     record=record)


def _index_figures(orders, *, as_of, currency, data, params, clv_parameters, previous):
    """The index's headline figures and the manager's summary, computed while the notebooks run."""
    from .. import load_marketing_spend, margin_rate

    headline = headline_figures(orders, as_of=as_of, clv_parameters=clv_parameters)
    params = params or {}
    spend = load_marketing_spend(params.get("marketing_spend"), data=data, as_of=as_of)
    summary = manager_summary(orders, as_of=as_of, currency=currency, headline=headline[0],
                              since=previous["as_of"] if previous else None, marketing_spend=spend,
                              margin=margin_rate(orders, margin=params.get("margin")))
    return headline, summary


def _is_history_page(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">' in head or "<title>CLV report history</title>" in head


def _expected_cost(dest: Path, jobs: list[NotebookJob]) -> Callable[[NotebookJob], float]:
    # A sort key, longest first: the last run's seconds when every notebook has them, else the number of code
    # cells (a first run, or a notebook added since).
    previous = _previous_timings(dest)
    if all(job.name in previous for job in jobs):
        return lambda job: -previous[job.name]
    import nbformat

    cells = {job.name: sum(c.cell_type == "code" for c in nbformat.read(job.source, as_version=4).cells)
             for job in jobs}
    return lambda job: -cells[job.name]


def _previous_timings(dest: Path) -> dict[str, float]:
    # Seconds per notebook in the newest run.json of this folder or of its siblings (earlier dates).
    import json

    candidates = [dest / "run.json", *dest.parent.glob("*/run.json")]
    existing = [p for p in candidates if p.is_file()]
    if not existing:
        return {}
    try:
        timings = json.loads(max(existing, key=lambda p: p.stat().st_mtime).read_text(encoding="utf-8"))["timings"]
        return {name: float(seconds) for name, seconds in timings.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _report_entry(outcome: NotebookOutcome) -> dict[str, Any]:
    # A failed notebook's files carry ".failed" and the entry says where and why, for the index page.
    suffix = "" if outcome.ok else ".failed"
    entry = {"name": outcome.name, "title": outcome.heading or outcome.name, "html": f"{outcome.name}{suffix}.html",
             "ipynb": f"{outcome.name}{suffix}.ipynb"}
    if not outcome.ok:
        where = f"cell {outcome.cell_index}" if outcome.cell_index is not None else "outside its cells"
        entry["error"] = f"failed at {where}: {outcome.ename}: {outcome.evalue}".strip()
    return entry


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
        Passed to :func:`run_report` (``preset``, ``columns``, ``read_options``, ``currency``, ``params``, ``jobs``,
        ``hint_style``, ...).

    Returns
    -------
    list of RunResult, one per date, in date order. The first failure raises (earlier dates stay written).
    """
    dates = sorted(set(as_of or ()) | set(period_ends(every, start, end) if every else ()))
    if not dates:
        raise ValueError("Give `as_of` dates or `every` with `start` and `end`.")
    data = os.path.abspath(data) if data is not None else None
    root = Path(os.path.abspath(out)) if out is not None else REPORTS_DIR
    for d in dates:  # every dated folder is checked before the first one is written
        check_output_folder(root / d, data=data, option="--out (a dated folder in it)")
    history_page = root / "index.html"
    if history_page.exists() and not _is_history_page(history_page):
        raise OutputError(f"--out {root}: it holds an index.html the kit did not write, which the history page "
                          "would replace. Choose an empty or new folder; nothing was changed.")
    # Load and check every date before the first notebook runs, so bad data or a bad date fails fast.
    loaded = {d: load_run_data(data, preset=kwargs.get("preset"), columns=kwargs.get("columns"), as_of=d,
                               read_options=kwargs.get("read_options"),
                               hint_style=kwargs.get("hint_style", "python"))
              for d in dates}
    # Each date rebuilds the history page, so it is current even if a later date fails.
    return [run_report(data, as_of=d, out=root / d, orders=loaded[d], history=True, **kwargs) for d in dates]
