"""Kernels forked from a template process: what the notebook sees, signals, clean exits, and the fallback."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from clvlib import datasets
from clvlib._kernel_fork import KernelTemplate, fork_available, forked_kernel_manager
from clvlib.report_exec import _kernel_env

pytestmark = pytest.mark.skipif(not fork_available(), reason="kernels are forked on Linux only")


@pytest.fixture()
def probe_env(tmp_path: Path) -> dict[str, str]:
    # A module that records which process imported it; another that starts a thread when imported.
    (tmp_path / "clv_probe.py").write_text("import os\nIMPORTED_BY = os.getpid()\n")
    (tmp_path / "clv_threaded.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")
    return {**_kernel_env(), "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose here.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def _run(km, code: str, timeout: float = 60) -> tuple[str, dict]:
    """Execute ``code``; the text it printed and the execute reply's content."""
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=timeout)
        msg_id = client.execute(code)
        printed = []
        while True:
            msg = await client.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = await client.get_shell_msg(timeout=timeout)
        return "".join(printed), reply["content"]
    finally:
        client.stop_channels()


def test_forked_kernel_has_the_template_imports_its_own_folder_environment_and_process(probe_env, tmp_path):
    work = tmp_path / "work"
    work.mkdir()

    async def scenario(template):
        km = forked_kernel_manager(template.socket_path, "python3")
        await km.start_kernel(cwd=str(work), env={**probe_env, "CLV_PROBE_VALUE": "42"})
        try:
            code = ("import os, sys, clv_probe\n"
                    "print(clv_probe.IMPORTED_BY, os.getpid(), os.getcwd(), os.environ['CLV_PROBE_VALUE'],"
                    " 'In' in dir(), sep='|')")
            printed, reply = await _run(km, code)
            return printed, reply, km.provisioner.pid
        finally:
            await km.shutdown_kernel(now=True)

    with KernelTemplate(["clv_probe"], probe_env) as template:
        printed, reply, client_pid = asyncio.run(scenario(template))
    assert reply["status"] == "ok"
    imported_by, kernel_pid, cwd, value, has_history = printed.strip().split("|")
    # Imported once, in the template, before the fork: not by the kernel, nor by the client jupyter launched.
    assert int(imported_by) != int(kernel_pid) and int(kernel_pid) != client_pid
    assert Path(cwd) == work and value == "42" and has_history == "True"


def test_interrupt_reaches_the_kernel_and_a_killed_client_takes_the_kernel_with_it(probe_env):
    async def scenario(template):
        km = forked_kernel_manager(template.socket_path, "python3")
        await km.start_kernel(env=probe_env)
        printed, _ = await _run(km, "import os; print(os.getpid())")
        kernel_pid = int(printed)
        client = km.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        msg_id = client.execute("import time; time.sleep(60)")
        await asyncio.sleep(1.0)
        started = time.monotonic()
        await km.interrupt_kernel()  # SIGINT to the client, which forwards it
        while True:
            reply = await client.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        interrupted_after = time.monotonic() - started
        client.stop_channels()
        await km.shutdown_kernel(now=True)  # SIGKILL to the client's process group
        return kernel_pid, reply["content"], interrupted_after

    with KernelTemplate([], probe_env) as template:
        kernel_pid, content, interrupted_after = asyncio.run(scenario(template))
    assert content["status"] == "error" and content["ename"] == "KeyboardInterrupt"
    assert interrupted_after < 20
    deadline = time.monotonic() + 10
    while _alive(kernel_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(kernel_pid), "the forked kernel outlived its killed client"


def test_a_template_with_a_thread_does_not_fork_and_the_ordinary_kernel_starts(probe_env):
    # A module that starts a thread makes forking unsafe: the client then execs the ordinary kernel itself, which
    # imports the module on its own.
    async def scenario(template):
        km = forked_kernel_manager(template.socket_path, "python3")
        await km.start_kernel(env=probe_env)
        try:
            printed, reply = await _run(km, "import os, sys; print(os.getpid(), 'clv_threaded' in sys.modules)")
            return printed, reply, km.provisioner.pid
        finally:
            await km.shutdown_kernel(now=True)

    with KernelTemplate(["clv_threaded"], probe_env) as template:
        printed, reply, client_pid = asyncio.run(scenario(template))
    kernel_pid, imported = printed.split()
    assert reply["status"] == "ok" and int(kernel_pid) == client_pid and imported == "False"


def test_closing_the_template_ends_it_and_removes_its_socket(probe_env):
    template = KernelTemplate([], probe_env)
    socket_path = Path(template.socket_path)
    pid = template._pid if template._pid is not None else template._process.pid
    deadline = time.monotonic() + 30
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert socket_path.exists()
    template.close()
    assert not _alive(pid) and not socket_path.parent.exists()


def test_read_ahead_gives_copies_until_the_file_changes(tmp_path):
    source = tmp_path / "orders.csv"
    pd.DataFrame({"customer_id": ["a", "a", "b"], "order_date": ["2024-01-02", "2024-02-03", "2024-01-05"],
                  "revenue": [10.0, 20.0, 5.0]}).to_csv(source, index=False)
    datasets.read_ahead(source, as_of="2024-12-31")
    key = datasets._read_ahead_key(source, None, None, "2024-12-31", None)
    try:
        kept = datasets._READ_AHEAD[key][1]
        first = datasets.load_orders(str(source), as_of=pd.Timestamp("2024-12-31"))  # same key, other spelling
        pd.testing.assert_frame_equal(first, kept)
        assert first.attrs["cleaning"].rows_kept == 3
        first.loc[first.index[0], "revenue"] = -1.0  # a notebook changing its copy changes nothing kept
        first.attrs["cleaning"].rows_kept = 0
        assert kept["revenue"].iloc[0] == 10.0 and kept.attrs["cleaning"].rows_kept == 3
        # Any other argument, or a changed file, reads the file again.
        assert len(datasets.load_orders(source, as_of="2024-01-31")) == 2
        with source.open("a") as handle:
            handle.write("c,2024-03-01,7.0\n")
        assert len(datasets.load_orders(source, as_of="2024-12-31")) == 4
    finally:
        datasets._READ_AHEAD.clear()


def test_orders_handed_to_the_template_reach_the_kernels_without_a_read(probe_env, tmp_path):
    # The report runner hands the template the frame it loaded itself (pickled, through the template's folder): a
    # kernel's load_orders then returns that frame, however different from the file it is, until the file changes.
    source = tmp_path / "orders.csv"
    pd.DataFrame({"customer_id": ["a", "b"], "order_date": ["2024-01-02", "2024-01-05"],
                  "revenue": [10.0, 5.0]}).to_csv(source, index=False)
    stamp = datasets.file_stamp(source)
    handed = datasets.load_orders(source, as_of="2024-12-31")
    handed = handed.loc[handed.index.repeat(20_000)].reset_index(drop=True).assign(revenue=123.0)
    code = ("import clvlib\n"
            f"orders = clvlib.load_orders({str(source)!r}, as_of='2024-12-31')\n"
            "print(len(orders), orders['revenue'].unique().tolist(), orders.attrs['cleaning'].rows_kept)")

    async def scenario(template):
        km = forked_kernel_manager(template.socket_path, "python3")
        await km.start_kernel(env=probe_env)
        try:
            return await _run(km, code)
        finally:
            await km.shutdown_kernel(now=True)

    with pytest.raises(ValueError, match="stamp"):  # a frame without its file's stamp could never go stale
        datasets.read_ahead(source, as_of="2024-12-31", orders=handed)
    with KernelTemplate(["clvlib"], probe_env) as template:
        template.read_ahead(data=str(source), as_of="2024-12-31", orders=handed, stamp=stamp)
        printed, reply = asyncio.run(scenario(template))
        assert reply["status"] == "ok" and printed.split() == ["40000", "[123.0]", "2"]
        with source.open("a") as handle:
            handle.write("c,2024-03-01,7.0\n")
        printed, _ = asyncio.run(scenario(template))
        assert not list(Path(template.socket_path).parent.glob("*.pickle"))  # read, then removed
    assert printed.split() == ["3", "[10.0,", "5.0,", "7.0]", "3"]


def test_up_to_the_last_order_date_is_the_same_load_as_no_date(tmp_path):
    # What lets the runner hand its own load (as_of not given) to notebooks that load with as_of = the last order
    # date: the same rows, and the same cleaning report, notes included.
    source = tmp_path / "orders.csv"
    pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
                  "order_date": ["2024-01-02 09:00", "2024-02-03 23:59", "2024-02-03 08:00", "2024-01-05"],
                  "revenue": [10.0, 20.0, 5.0, -1.0]}).to_csv(source, index=False)
    for data in (source, None):  # None: the demo store
        plain = datasets.load_orders(data)
        dated = datasets.load_orders(data, as_of=plain["order_date"].max().date().isoformat())
        pd.testing.assert_frame_equal(plain, dated)
        a, b = plain.attrs["cleaning"], dated.attrs["cleaning"]
        pd.testing.assert_frame_equal(a.excluded, b.excluded)
        assert str(a) == str(b) and a.notes == b.notes
    earlier = datasets.load_orders(source, as_of="2024-01-31").attrs["cleaning"].excluded
    assert earlier.loc["after as_of", "rows"] == 2 and earlier.loc["after as_of", "note"] == "order date after 2024-01-31"


def test_a_runner_without_threads_or_matplotlib_forks_the_template_from_itself(probe_env, tmp_path):
    # The command-line runner's case: the template is this process's own child, so it does not import again
    # what the runner already has. Run in a fresh interpreter, as the CLI is.
    script = tmp_path / "runner.py"
    script.write_text(
        "import asyncio, os, sys\n"
        "import clv_probe\n"  # imported by the runner: the template, forked from it, has it too
        "from clvlib._kernel_fork import KernelTemplate, forked_kernel_manager\n"
        "from clvlib.report_exec import _kernel_env\n"
        "from test_kernel_fork import _run\n"
        "async def main(template):\n"
        "    km = forked_kernel_manager(template.socket_path, 'python3')\n"
        "    await km.start_kernel(env=dict(os.environ))\n"
        "    try:\n"
        "        printed, _ = await _run(km, 'import clv_probe, os; print(clv_probe.IMPORTED_BY, os.getppid())')\n"
        "    finally:\n"
        "        await km.shutdown_kernel(now=True)\n"
        "    return printed\n"
        "with KernelTemplate([], dict(os.environ)) as template:\n"
        "    print(os.getpid(), template._pid, asyncio.run(main(template)).strip())\n"
    )
    env = {**probe_env, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), probe_env["PYTHONPATH"]])}
    import subprocess

    completed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    runner, template, imported_by, kernel_parent = completed.stdout.split()
    assert template != "None" and imported_by == runner and kernel_parent == template
