"""A real Dagster webserver for the UI and GraphQL tests: one `dagster dev` on a free loopback
port, with a temporary DAGSTER_HOME and a private copy of the example data, shared by every test
of the session and stopped (its whole process group) at the end.

It serves a copy of the example code location (definitions.py, job_specs/, data/) with its
workspace.yaml beside it: the one location these tests need (nexus_example), whose runs take
Dagster's in-process executor unless their config asks for another (:data:`EXECUTOR`), as the
project's tests do where the multiprocess executor is not the subject. A second location there
must not define the example's asset keys again: the asset pages and backfills of a key defined
twice are not the example's (which is why the dg project's `dagster dev` test keeps its own
server). Test modules take the server as the `dagster_dev` fixture (`dagster_dev =
ui_support.dagster_dev` in the module) and are marked `pytest.mark.xdist_group("dagster_dev")`,
so that pytest-xdist runs them on one worker and the server starts once. Each test finds its own
runs (by run id, tags, or the runs it saw before), never by counting everyone's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient

from .conftest import REPO, new_dagster_home

DAGSTER = Path(sys.executable).parent / "dagster"
LOCATION = "nexus_example"  # from workspace.yaml
EXECUTOR = (
    "executor=dg.multi_or_in_process_executor.configured(lambda config: config, config_schema="
    "dg.Field(dg.multi_or_in_process_executor.config_schema.config_type, "
    "default_value={'in_process': {}})),"
)
"""Added to the copied location's `build_definitions` call: Dagster's default executor, with the
same config (`execution: {config: {multiprocess: ...}}` or `{in_process: ...}`, which the
example's sales_sample_job schedule sets) but `in_process` where a run's config chooses neither.
The runs these tests launch choose neither: every step runs in the run's own process, instead of
a fresh interpreter per step (each importing Dagster, the plugin and the location again: seconds
of CPU a step, and a backfill runs a run per partition). What these tests check (the pages, the
launched config, the values each asset records, the files it writes) is the same on either
executor; the multiprocess executor is the subject of the deployment and Celery tests."""
REPOSITORY = "__repository__"  # Dagster's name for the repository of a `Definitions` object
CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT = 120.0  # for `dagster dev` to serve the location
RUN_TIMEOUT = 180.0  # for a run to end, on a machine whose cores other tests keep busy
# The server's instance: runs are queued, as `dagster dev` queues them, and dequeued every second
# (Dagster's default is 5 s, which every run of the session would wait for).
INSTANCE_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""
BACKFILL_INTERVAL = 1
"""Seconds between two iterations of the server's backfill daemon. Dagster's are 30, a constant
(`dagster._daemon.controller.DEFAULT_DAEMON_INTERVAL_SECONDS`) no setting changes: a backfill
would wait up to 30 s to start and 30 s more to be seen complete. The server's processes import
`_SITECUSTOMIZE` (PYTHONPATH), which sets the constant when Dagster's daemon module loads. (The
asset daemon takes it too, as the interval of its check for running automation sensors. Idle,
the daemon process spends about as much CPU at 1 s as at 5 s: some 1.4 s a minute.)"""


_SITECUSTOMIZE = f"""\
# The tests' `dagster dev` (tests/ui_support.py): the backfill daemon iterates every
# {BACKFILL_INTERVAL} s instead of 30.
import importlib.util
import sys

_MODULE = "dagster._daemon.controller"
_CONSTANT = "DEFAULT_DAEMON_INTERVAL_SECONDS"


class _SetInterval:
    def find_spec(self, name, path=None, target=None):
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        exec_module = spec.loader.exec_module

        def exec_and_set(module):
            exec_module(module)
            if not hasattr(module, _CONSTANT):
                raise ImportError(f"{{_MODULE}} has no {{_CONSTANT}}: see tests/ui_support.py")
            setattr(module, _CONSTANT, {BACKFILL_INTERVAL})

        spec.loader.exec_module = exec_and_set
        return spec


sys.meta_path.insert(0, _SetInterval())
"""


def backfill_interval_hook(folder: Path) -> str:
    """Write `_SITECUSTOMIZE` into ``folder``; the ``PYTHONPATH`` that makes Dagster's daemons
    of a process started with it iterate every BACKFILL_INTERVAL seconds."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    return os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))


_LOCATION_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Webserver:
    """A running `dagster dev` serving the example code location."""

    port: int
    home: Path  # DAGSTER_HOME of the server
    data: Path  # NEXUS_EXAMPLE_DATA of the server: the buckets its runs read and write
    log: Path  # the server's stdout and stderr

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dg.DagsterRunStatus:
        """Poll the run's status over GraphQL until it ends; fail with its errors if it does
        not succeed."""
        client = self.client()
        deadline = time.monotonic() + timeout
        status = client.get_run_status(run_id)
        while status not in _FINISHED and time.monotonic() < deadline:
            time.sleep(0.25)
            status = client.get_run_status(run_id)
        if status != dg.DagsterRunStatus.SUCCESS:
            pytest.fail(
                f"run {run_id} ended as {status.value} (waited up to {timeout:.0f} s)\n"
                f"{self.run_errors(run_id)}\nserver log:\n{self.log_tail()}"
            )
        return status

    def instance(self) -> dg.DagsterInstance:
        """The server's instance, read from its DAGSTER_HOME (use it in a `with` block)."""
        return dg.DagsterInstance.from_config(str(self.home))

    def run_errors(self, run_id: str) -> str:
        with self.instance() as instance:
            failures = [
                entry.dagster_event.message or ""
                for entry in instance.all_logs(run_id)
                if entry.dagster_event is not None and entry.dagster_event.is_failure
            ]
        return "\n".join(failures) or "(no failure events)"

    def stored_run_config(self, run_id: str) -> dict[str, Any]:
        with self.instance() as instance:
            run = instance.get_run_by_id(run_id)
            assert run is not None, f"run {run_id} is not in {self.home}"
            return dict(run.run_config)

    def recorded_params(self, run_id: str) -> dict[str, Any]:
        """The ``nexus/params`` metadata of each materialization in the run, by asset key."""
        recorded: dict[str, Any] = {}
        with self.instance() as instance:
            for entry in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ):
                materialization = entry.asset_materialization
                assert materialization is not None
                key = materialization.asset_key.to_user_string()
                recorded[key] = materialization.metadata["nexus/params"].value
        return recorded


_FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_chromium() -> Path:
    """Debian's Chromium, which Playwright drives (its own browser download is not used).

    Missing, it skips the test with the reason, except in CI, where it is a failure: CI
    installs it (`.ci/run`), so its absence there means the browser test would silently not run.
    """
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"Chromium not found at {CHROMIUM}; install it with `apt-get install chromium`"
    if in_ci():
        pytest.fail(f"{reason} (CI=true: `.ci/run` should have installed it)")
    pytest.skip(reason)


def read_csv_rows(path: Path) -> list[str]:
    """The data lines of a CSV file (header left out), for comparing what a run wrote."""
    return path.read_text().splitlines()[1:]


def bucket_rows(folder: Path) -> list[str]:
    """The data lines of every CSV in a bucket, in the order the example assets read them."""
    return [row for path in sorted(folder.glob("*.csv")) for row in read_csv_rows(path)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def graphql(
    port: int, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 10
) -> Any:
    """The webserver's whole answer (``data`` and ``errors``) to a GraphQL query."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": dict(variables or {})}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _location_ready(port: int) -> bool:
    """True once the code location has loaded; a load error fails the session at once."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
            pass
        answer = graphql(port, _LOCATION_QUERY)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    workspace = (answer.get("data") or {}).get("workspaceOrError") or {}
    for entry in workspace.get("locationEntries") or []:
        if entry["name"] != LOCATION or entry["loadStatus"] != "LOADED":
            continue
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            pytest.fail(f"code location {LOCATION} failed to load:\n{loaded['message']}")
        return True
    return False


def copy_example_location(folder: Path, *arguments: str) -> Path:
    """The example code location (definitions.py, job_specs/, data/ without the `*-lake` buckets
    runs write) copied into ``folder``, with ``arguments`` (Python, each ending in a comma, e.g.
    ``on_spec_error="isolate",``) added to its ``build_definitions`` call."""
    folder.mkdir(parents=True)
    shutil.copytree(REPO / "job_specs", folder / "job_specs")
    shutil.copytree(REPO / "data", folder / "data", ignore=shutil.ignore_patterns("*-lake"))
    text = (REPO / "definitions.py").read_text()
    call = 'defs = build_definitions(\n    "job_specs",\n'
    assert text.count(call) == 1, "definitions.py no longer builds its defs as expected"
    assert "import dagster as dg\n" in text, "definitions.py no longer imports dagster as dg"
    text = text.replace(call, call + "".join(f"    {argument}\n" for argument in arguments))
    (folder / "definitions.py").write_text(text)
    return folder


def _copy_workspace(folder: Path) -> Path:
    """workspace.yaml copied beside the copied location: the example's one location, its
    definitions.py taken from the workspace file's folder."""
    text = (REPO / "workspace.yaml").read_text()
    locations = yaml.safe_load(text)["load_from"]
    assert locations == [
        {"python_file": {"relative_path": "definitions.py", "location_name": LOCATION}}
    ], f"workspace.yaml no longer serves only definitions.py as {LOCATION}: see ui_support"
    workspace = folder / "workspace.yaml"
    workspace.write_text(text)
    return workspace


def _stop(process: subprocess.Popen[bytes]) -> None:
    # `dagster dev` runs the webserver, the daemon, a code server and the runs as children in its
    # process group: kill the group. (Asked to stop, it takes seconds to, more than 5 on a busy
    # machine; nothing of a test's server needs keeping.)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


_running: Webserver | None = None
_failed: str | None = None  # why the server did not start: later tests fail at once with it


@pytest.fixture(scope="session")
def dagster_dev(request: pytest.FixtureRequest) -> Webserver:
    """The session's `dagster dev`, started on first use and stopped when pytest ends.

    Imported into each module that uses it. pytest makes a fixture of each import (one per
    module), so the server itself is kept here, in this module, and started once per process.
    """
    global _running, _failed
    if _failed is not None:
        pytest.fail(_failed)
    if _running is None:
        root = request.getfixturevalue("tmp_path_factory").mktemp("webserver")
        try:
            process, server = _start(root)
        except pytest.fail.Exception as failure:
            _failed = str(failure)
            raise
        request.config.add_cleanup(lambda: _stop(process))
        _running = server
    return _running


def _start(root: Path) -> tuple[subprocess.Popen[bytes], Webserver]:
    """Start `dagster dev` on a copy of workspace.yaml and the example code location (its runs
    in-process, :data:`EXECUTOR`); return once the location has loaded."""
    home = new_dagster_home(root / "dagster_home")
    with (home / "dagster.yaml").open("a") as config:
        config.write(INSTANCE_YAML)
    location = copy_example_location(root / "location", EXECUTOR)
    workspace = _copy_workspace(location)
    data = location / "data"
    log = root / "server.log"
    port = free_port()
    python_path = backfill_interval_hook(root / "hooks")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NEXUS_EXAMPLE_DATA": str(data),
        # The copied specs' cache of checked specs (nexus_dagster.spec_cache) stays with the
        # server: the code server fills it, each run's process reads it.
        "NEXUS_DAGSTER_CACHE_DIR": str(root / "nexus-cache"),
        "PYTHONPATH": python_path,
    }
    command = [str(DAGSTER), "dev", "-h", "127.0.0.1", "-p", str(port)]
    command += ["-w", str(workspace)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Webserver(port=port, home=home, data=data, log=log)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not _location_ready(port):
            if process.poll() is not None:
                pytest.fail(f"`dagster dev` exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`dagster dev` not ready after {START_TIMEOUT:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(0.25)
    except BaseException:
        _stop(process)
        raise
    return process, server
