"""Fault injection on the report runner: killed, interrupted, raced, locked, or unable to write.

Each test asserts what a user relies on: the previous report byte for byte, no process of the run left alive, no
temporary folder left once the next run has started, and one plain message with the documented exit status.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from test_cli import COLUMN_ARGS, _tree
from test_reports import FAIL, RECORD_PARAMETERS, make_notebook, make_orders

from clvlib.reporting import cli
from clvlib.reporting import run as reports

SLEEP = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Orders, quick and sleeping notebooks, and a previous report to protect."""
    root = tmp_path_factory.mktemp("faults")
    make_orders(root / "orders.csv")
    make_notebook(root / "quick" / "01_params.ipynb", RECORD_PARAMETERS)
    make_notebook(root / "slow" / "01_params.ipynb", RECORD_PARAMETERS)
    make_notebook(root / "slow" / "02_sleep.ipynb", SLEEP, title="Sleeping report")
    make_notebook(root / "slow" / "03_sleep.ipynb", SLEEP, title="Sleeping report too")
    make_notebook(root / "failing" / "01_fail.ipynb", FAIL)
    return root


def _argv(site: Path, out: Path, notebooks: str, *extra: str) -> list[str]:
    return ["report", "--data", str(site / "orders.csv"), *COLUMN_ARGS, "--out", str(out),
            "--notebooks-dir", str(site / notebooks), *extra]


@pytest.fixture
def previous(site, tmp_path):
    """A finished report at tmp_path/report, and its bytes."""
    out = tmp_path / "report"
    assert cli.main([*_argv(site, out, "quick"), "-q"]) == 0
    return out, _tree(out)


def _start(site, out, *extra) -> subprocess.Popen:
    # A session of its own, as a terminal gives a command: Ctrl-C can then be sent to the whole group.
    return subprocess.Popen([sys.executable, "-m", "clvlib", *_argv(site, out, "slow", *extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(process: subprocess.Popen, text: str, timeout: float = 120) -> list[psutil.Process]:
    """Read the run's progress until ``text`` appears; return every process the run has started by then."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if text in line:
            time.sleep(1.0)  # let the kernels of the sleeping notebooks come up
            return psutil.Process(process.pid).children(recursive=True)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"never saw {text!r}:\n{seen}")


def _gone(processes: list[psutil.Process], timeout: float = 15) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.slow
@pytest.mark.parametrize("jobs, sig, group, code", [("2", signal.SIGTERM, False, 143),
                                                    ("1", signal.SIGINT, False, 130),
                                                    ("2", signal.SIGINT, True, 130)])  # Ctrl-C in a terminal
def test_interrupted_mid_notebook_stops_everything_and_keeps_the_previous_report(site, previous, jobs, sig, group,
                                                                                 code):
    out, before = previous
    process = _start(site, out, "--jobs", jobs)
    children = _wait_for(process, "02_sleep: cell")
    assert children  # workers and kernels were running
    if group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    assert process.wait(timeout=60) == code
    err = process.stderr.read()
    assert "interrupted" in err
    assert "Traceback" not in err and "resource_tracker" not in err, err  # one message, nothing else
    assert not _gone(children), "a process of the run outlived it"
    assert _tree(out) == before
    assert _leftovers(out.parent) == []  # temporary, kernel and lock files all removed
    assert not out.with_name("report.failed").exists()


@pytest.mark.slow
def test_sigkill_leaves_no_orphan_and_the_next_run_cleans_up(site, previous):
    out, before = previous
    process = _start(site, out, "--jobs", "2")
    children = _wait_for(process, "02_sleep: cell")
    process.kill()  # no handler runs: the workers and kernels must notice on their own
    process.wait(timeout=30)
    assert not _gone(children, timeout=20), "workers or kernels orphaned by SIGKILL"
    assert _tree(out) == before
    assert any(".tmp-" in name for name in _leftovers(out.parent))  # what SIGKILL left behind ...
    assert cli.main([*_argv(site, out, "quick"), "-q"]) == 0  # ... the next run removes
    assert _leftovers(out.parent) == []


@pytest.mark.slow
def test_killed_while_loading_changes_nothing(site, previous):
    out, before = previous
    process = subprocess.Popen([sys.executable, "-m", "clvlib", *_argv(site, out, "slow")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "reading and checking" in process.stderr.readline()
    process.kill()
    process.wait(timeout=30)
    assert _tree(out) == before


def test_a_report_stranded_between_the_two_renames_is_restored(site, previous, capsys):
    out, before = previous
    # A crash between the renames leaves the old report aside and nothing at --out: the state a kill there leaves.
    stranded = out.with_name(f".{out.name}.old-dead1234")
    os.replace(out, stranded)
    (out.parent / f".{out.name}.tmp-dead5678").mkdir()
    assert cli.main(_argv(site, out, "failing")) == 1  # this run fails, so it replaces nothing itself
    assert _tree(out) == before
    assert "restored report" in capsys.readouterr().err
    assert _leftovers(out.parent) == []


def test_two_runs_on_one_folder_are_serialised(site, previous, capsys):
    import fcntl

    out, before = previous
    lock = out.with_name(f".{out.name}.lock")
    with open(lock, "a+") as held:  # another run holds the folder
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        held.write("pid 4242")
        held.flush()
        assert cli.main([*_argv(site, out, "quick"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "another report run (pid 4242) is writing to this folder" in err and "Traceback" not in err
    assert _tree(out) == before


def test_an_unwritable_folder_exits_2_with_one_message(site, tmp_path, capsys):
    code = cli.main([*_argv(site, Path("/proc/clv-report"), "quick"), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot be written" in err and "Traceback" not in err


def test_a_full_disk_is_named_as_such(site, tmp_path, capsys, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "report" / "run.json"))

    monkeypatch.setattr(reports, "write_run_index", full)
    code = cli.main([*_argv(site, tmp_path / "report", "quick"), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []


def test_a_bug_is_one_line_and_debug_shows_the_traceback(site, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(reports, "build_run_record", broken)
    assert cli.main([*_argv(site, tmp_path / "a", "quick"), "-q"]) == 3
    err = capsys.readouterr().err
    assert "unexpected KeyError in the kit" in err and "Traceback" not in err
    assert cli.main([*_argv(site, tmp_path / "b", "quick"), "-q", "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err
    assert _leftovers(tmp_path) == []
