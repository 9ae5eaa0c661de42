"""The ``dagster`` command line as a process of its own, forked from a server process that has
imported Dagster once, instead of a new interpreter importing it again for every command (about
three seconds of CPU each, more than most commands the tests run take themselves).

Each command is Dagster's own command line (``dagster._cli.main``, what the ``dagster`` console
script calls) in a new process, with the arguments, environment and folder it is given, its
output and exit code captured. The server has imported Dagster and the modules Dagster's
commands import on their way (storage, the workspace, the gRPC server, the asset selection
parser), never a code location or ``nexus_dagster``: each command imports those anew, as a new
``dagster`` process would, with the environment it is given. A multiprocess run launched this
way still starts each step in a process of its own (each importing the location anew). Tests
whose subject is a fresh interpreter or a console script start ``dagster`` as a process.

The server is started on the first command of a pytest process and ends with it. It runs one
command at a time: a command started from another thread (:func:`start`) waits for the one
before it."""

from __future__ import annotations

import atexit
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
# What `dagster` commands import after `import dagster`: their command modules, the instance's
# storage, the workspace and its code servers, the daemon's and the scheduler's modules the
# workspace context imports, and the parser of `--select`.
PRELOAD = (
    "dagster._cli",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
    "dagster._core.workspace.context",
    "dagster._grpc.server",
    "dagster._daemon.controller",
    "dagster._core.definitions.antlr_asset_selection.antlr_asset_selection",
    "dagster._core.execution.api",
    "dagster._core.execution.backfill",
)

_server: subprocess.Popen[str] | None = None
_one_at_a_time = threading.Lock()  # a request and its reply, on the server's pipes


def dagster(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path | str | None = None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``dagster ARGS`` with the environment ``env`` (the whole of it, as ``subprocess.run``'s
    ``env``) in ``cwd`` (this process's folder if not given), as ``subprocess.run`` with
    ``capture_output=True, text=True`` would run it; killed after ``timeout`` seconds."""
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="forked-dagster-") as folder:
        server = _started()
        assert server.stdin is not None and server.stdout is not None
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        request = {
            "args": list(args),
            "env": dict(env),
            "cwd": str(cwd if cwd is not None else os.getcwd()),
            "stdout": str(out),
            "stderr": str(err),
            "timeout": max(1, int(timeout)),
        }
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        reply = server.stdout.readline()
        if not reply:
            raise RuntimeError(f"the dagster fork server ended (exit code {server.wait()})")
        code = json.loads(reply)["code"]
        command = [str(BIN / "dagster"), *args]
        stdout = out.read_text(errors="replace") if out.exists() else ""
        stderr = err.read_text(errors="replace") if err.exists() else ""
        if code == -signal.SIGALRM:
            raise subprocess.TimeoutExpired(command, timeout, stdout, stderr)
        return subprocess.CompletedProcess(command, code, stdout, stderr)


def start(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path | str | None = None, timeout: float
) -> Future[subprocess.CompletedProcess[str]]:
    """:func:`dagster` in a thread of its own, for a command that runs beside this process's
    work (a launch while the test makes other runs, or watches a worker): its result, or its
    ``subprocess.TimeoutExpired``, is the future's."""
    threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forked-dagster")
    try:
        return threads.submit(dagster, args, env=env, cwd=cwd, timeout=timeout)
    finally:
        threads.shutdown(wait=False)


def _started() -> subprocess.Popen[str]:
    global _server
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tempfile.gettempdir(),
        )
        assert _server.stdout is not None
        if _server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the dagster fork server did not start ({_server.wait()})")
        atexit.register(_stop, _server)
    return _server


def _stop(server: subprocess.Popen[str]) -> None:
    """End the server: it exits when its input ends."""
    if server.stdin is not None:
        server.stdin.close()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- the server ---------------------------------------------------------------------------


def _serve() -> None:
    # As the `dagster` console script has it: its own folder first on the path, not this one's.
    sys.path[0] = str(BIN)
    for name in PRELOAD:
        importlib.import_module(name)
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _command(request)  # never returns
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


def _command(request: dict[str, Any]) -> None:
    """The forked child: ``dagster ARGS`` as the console script runs it, then exit."""
    code = 1
    try:
        signal.alarm(request["timeout"])  # its default action ends the process
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        sys.argv = [str(BIN / "dagster"), *request["args"]]
        from dagster._cli import main

        main()
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:  # as the interpreter does with `sys.exit("message")`
            print(exit_.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    _serve()
