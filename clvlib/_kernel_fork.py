"""Report kernels forked from one template process that has already imported the notebooks' modules.

Every report notebook runs in a fresh kernel, and a fresh kernel spends about two seconds of CPU booting ipykernel
and importing pandas, matplotlib, scipy and clvlib: for four notebooks that is a quarter of the whole run. On
Linux a run therefore starts one *template* process that imports all of that once, while the run checks its data;
each kernel is then a fork of the template (copy-on-write, milliseconds) with its own working folder, environment,
connection file and session, and a freshly seeded random state: to the notebook, a new process whose imports
happen to be done.

How jupyter_client sees it: the kernel command is a small standard-library client (``python -S -c ...``) that asks
the template over a Unix socket to fork, hands over its stdin/stdout/stderr, forwards signals (interrupt,
terminate) to the kernel, and exits when the kernel does. When the client is killed (the runner's immediate
shutdown), a pipe that only the client holds open closes and the kernel exits too, so no kernel outlives its
client; the template exits when the run closes its stdin. Whenever forking is unavailable or unsafe (not Linux,
the template not reachable, or an import that started a thread), the client starts the ordinary kernel in its
place, so the run only loses the saving.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["KernelTemplate", "fork_available", "forked_kernel_manager"]

# The template. It inherits a listening socket, so that clients queue while it starts and imports; it answers each
# request with the forked kernel's pid, or "exec" when it must not fork (a thread exists, so a lock could be
# copied held).
_SERVER = r"""
import importlib, json, os, pickle, random, selectors, signal, socket, sys, threading
listener = socket.socket(fileno=int(sys.argv[1].removeprefix("fd:")))  # bound and listening already
modules = json.loads(sys.argv[2])
# Besides the notebooks' modules, what every kernel imports and looks up as it starts, whatever the notebook (the
# debugger's debugpy, the shell's pdb and sqlite history, psutil for the machine's addresses): a tenth of a second
# or two per kernel, done once here.
STARTUP = ["ipykernel.debugger", "IPython.core.debugger", "IPython.core.completerlib", "IPython.core.logger",
           "IPython.core.oinspect", "IPython.extensions.storemagic", "sqlite3", "psutil", "tornado.queues",
           "pyarrow.pandas_compat"]
from ipykernel import kernelapp
for name in modules + STARTUP:
    try:
        importlib.import_module(name)
    except BaseException:
        pass  # the notebook's own import will raise it where the reader sees it
try:
    from jupyter_client.localinterfaces import local_ips
    local_ips()
except BaseException:
    pass
safe = threading.active_count() == 1
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped by the system
selector = selectors.DefaultSelector()
selector.register(listener, selectors.EVENT_READ)
selector.register(sys.stdin, selectors.EVENT_READ)

def receive(conn):
    head, fds, _, _ = socket.recv_fds(conn, 65536, 4)
    size = int.from_bytes(head[:8], "big")
    body = head[8:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise EOFError
        body += chunk
    return json.loads(body), fds

def kernel(conn, request, fds):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    selector.close()
    listener.close()
    os.setsid()  # like a kernel started with start_new_session: the terminal's Ctrl-C is not the kernel's
    for fd, target in zip(fds[:3], (0, 1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    lifeline = fds[3]
    os.set_inheritable(lifeline, False)
    threading.Thread(target=lambda: (os.read(lifeline, 1), os._exit(1)), daemon=True).start()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    argv = list(request["argv"])
    if os.environ.get("JPY_PARENT_PID"):  # the trait's default was read from the template's environment
        argv.append("--IPKernelApp.parent_handle=" + os.environ["JPY_PARENT_PID"])
    sys.argv = ["ipykernel_launcher", *argv]
    code = 0
    try:
        kernelapp.launch_new_instance(argv=argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

while True:
    for key, _ in selector.select():
        if key.fileobj is not listener:  # the run closed our stdin: it is over
            sys.exit(0)
        conn, _ = listener.accept()
        try:
            request, fds = receive(conn)
        except (OSError, EOFError, ValueError):
            conn.close()
            continue
        if "read_ahead" in request:  # the run's data, loaded once here rather than in every kernel
            try:
                with open(request["read_ahead"], "rb") as payload:
                    arguments = pickle.load(payload)
                os.unlink(request["read_ahead"])
                from clvlib.datasets import read_ahead
                read_ahead(**arguments)
            except BaseException:
                pass  # the notebooks will load the data themselves, and report any error where it is read
            conn.close()
            continue
        pid = os.fork() if safe else -1
        if pid == 0:
            kernel(conn, request, fds)
        for fd in fds:
            os.close(fd)
        conn.sendall(b"exec\n" if pid < 0 else f"{pid}\n".encode())
        conn.close()
"""

# The kernel command jupyter_client launches: standard library only (-S skips site-packages, so it starts in
# milliseconds). It holds the write end of the kernel's lifeline and waits on the socket, which closes when the
# kernel exits (the kernel holds the other copy).
_CLIENT = r"""
import json, os, signal, socket, sys
path, argv = sys.argv[1], sys.argv[2:]
def ordinary():
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
read_end, write_end = os.pipe()
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    body = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    socket.send_fds(s, [len(body).to_bytes(8, "big") + body], [0, 1, 2, read_end])
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = s.recv(64)
        if not chunk:
            raise ConnectionError
        answer += chunk
except OSError:
    ordinary()
os.close(read_end)
if answer.strip() == b"exec":
    ordinary()
pid = int(answer)
def forward(signum, frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
    signal.signal(getattr(signal, name), forward)
while s.recv(64):
    pass
"""


def fork_available() -> bool:
    """Whether kernels can be forked from a template here (Linux, with descriptor passing over Unix sockets)."""
    import socket

    return sys.platform.startswith("linux") and hasattr(socket, "send_fds") and hasattr(os, "fork")


class KernelTemplate:
    """A template process that has imported ``modules``, listening on :attr:`socket_path`.

    Start it as early as possible (it imports while the caller works) and :meth:`close` it at the end; also a
    context manager. Kernels come from :func:`forked_kernel_manager` with its ``socket_path``, in this process or
    in worker processes forked from it.
    """

    def __init__(self, modules: list[str], env: dict[str, str]):
        import socket
        import threading

        self._dir = tempfile.mkdtemp(prefix="clv-kernels-")
        self.socket_path = str(Path(self._dir) / "template.sock")
        self._owner = os.getpid()
        self._process = self._pid = self._lifeline = None
        self._requests = 0
        # Bound here, before the template starts: clients queue from now on, however long it takes to start.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        listener.listen(64)
        arguments = [f"fd:{listener.fileno()}", json.dumps(modules)]
        # Forking this process, when it is safe (one thread) and the kernels' matplotlib is not already set up
        # here, saves the template importing again what the runner has imported (pandas, scipy, clvlib).
        if threading.active_count() == 1 and "matplotlib" not in sys.modules:
            read_end, self._lifeline = os.pipe()
            self._pid = os.fork()
            if self._pid == 0:
                os.close(self._lifeline)  # only the runner may hold the write end, or the end never comes
                _run_forked_template(arguments, read_end, env, self._dir)
            os.close(read_end)
        else:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _SERVER, *arguments], pass_fds=[listener.fileno()],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                cwd=self._dir, start_new_session=True,
            )
        listener.close()

    def read_ahead(self, **arguments: Any) -> None:
        """Have the template keep the run's orders (:func:`clvlib.datasets.read_ahead`) before any kernel forks.

        The arguments are :func:`~clvlib.datasets.read_ahead`'s: with ``orders`` (already loaded here) the frame
        itself travels, pickled, and the template does not read the file again. Not waited for: the template
        serves requests in order, so kernels requested later fork after it has the orders.
        """
        import pickle
        import socket

        # Through a file in the template's private folder: the request itself is then small enough to wait in
        # the socket's buffer, and this returns at once even while the template is still importing.
        self._requests += 1
        path = Path(self._dir) / f"read_ahead-{self._requests}.pickle"
        body = json.dumps({"read_ahead": str(path)}).encode()
        try:
            with path.open("wb") as payload:
                pickle.dump(arguments, payload, protocol=pickle.HIGHEST_PROTOCOL)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(self.socket_path)
                connection.sendall(len(body).to_bytes(8, "big") + body)
        except OSError:
            pass  # no template: every kernel reads the data itself

    def close(self) -> None:
        """Stop the template (kernels already forked are not affected) and remove its socket."""
        if os.getpid() != self._owner:  # a forked worker: the template belongs to the run
            return
        if self._pid is not None:
            os.close(self._lifeline)  # the template's signal to exit
            _wait_or_kill(self._pid)
        elif self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> KernelTemplate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_forked_template(arguments: list[str], lifeline: int, env: dict[str, str], cwd: str) -> None:
    # In the child of the runner's fork: become the template (never returns).
    import signal

    code = 1
    try:
        os.setsid()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(lifeline, 0)  # the server watches its stdin: end of file when the runner closes its end
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = ["-c", *arguments]
        exec(compile(_SERVER, "<clvlib kernel template>", "exec"), {"__name__": "__main__"})
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:
        pass
    finally:
        os._exit(code)


def _wait_or_kill(pid: int, timeout: float = 5.0) -> None:
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def forked_kernel_manager(socket_path: str, kernel_name: str) -> Any:
    """An ``AsyncKernelManager`` for ``kernel_name`` whose kernel is forked from the template at ``socket_path``."""
    from jupyter_client.manager import AsyncKernelManager

    class ForkedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            cmd = super().format_kernel_cmd(extra_arguments)
            if cmd[1:3] != ["-m", "ipykernel_launcher"] or not _same_python(cmd[0]):
                return cmd  # some other kernel: started as its spec says
            return [sys.executable, "-S", "-c", _CLIENT, socket_path, *cmd[3:]]

    return ForkedKernelManager(kernel_name=kernel_name)


def _same_python(executable: str) -> bool:
    found = shutil.which(executable)
    return found is not None and os.path.realpath(found) == os.path.realpath(sys.executable)
