"""Dagster in its production shape, on loopback, for tests/test_deployment.py.

A Postgres server from Debian's package (run as the `postgres` user when the tests run as
root), a code location server (`dagster code-server start`), `dagster-daemon run` and
`dagster-webserver`, the last two with deploy/workspace.yaml and all of them with
deploy/dagster.yaml as the instance (with one setting added: runs are taken off the queue every
second, see :data:`DEQUEUE_INTERVAL`). Every process is started in a process group of its own and
every group is killed when the deployment stops.

The daemon starts once the webserver shows the code location loaded, so that its workspace
holds the location from its start: the scheduler iterates at the daemon's start and then on each
minute, and a schedule it does not see at its first iteration (the location still loading) ticks
a minute later than one it does.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from .conftest import REPO
from .ui_support import REPOSITORY, copy_example_location, free_port, graphql, in_ci

BIN = Path(sys.executable).parent
DEPLOY = REPO / "deploy"
LOCATION = "nexus_example"  # deploy/workspace.yaml's location_name
START_TIMEOUT = 120.0  # for a process to start (and the webserver to show what it serves)
RUN_TIMEOUT = 180.0  # for a run to end, on a machine whose cores other tests keep busy
DB_USER = "dagster"
DB_NAME = "dagster"

FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def wait_until(what: str, ready: Any, timeout: float, on_timeout: Any = lambda: "") -> Any:
    """Poll ``ready()`` every quarter second until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f} s\n{on_timeout()}")
        time.sleep(0.25)


# --- Postgres ------------------------------------------------------------------------------


def require_postgres() -> Path:
    """The bin folder of Debian's Postgres (the newest, if several are installed).

    Missing, it skips the test with the reason, except in CI, where it is a failure: CI installs
    it (`.ci/run`), so its absence there means the deployment test would silently not run.
    """
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    reason = "Postgres not found (/usr/lib/postgresql/*/bin); install it with `apt-get install postgresql`"
    if in_ci():
        pytest.fail(f"{reason} (CI=true: `.ci/run` should have installed it)")
    pytest.skip(reason)


@dataclass
class Postgres:
    """A throwaway Postgres cluster on 127.0.0.1, trusting every local connection."""

    bin: Path
    root: Path  # owned by the server's user; removed at stop
    port: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def _as_server_user(self, *command: str) -> list[str]:
        # Postgres refuses to run as root: as root, run its commands as `postgres`.
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            pytest.fail(
                f"{command} exited {result.returncode}:\n{result.stdout}{result.stderr}{log}"
            )

    def start(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self.port = free_port()
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", DB_USER]
        self._run(self._as_server_user(*initdb, "--auth=trust", "-E", "UTF8", "--no-sync"))
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        self._run(self._as_server_user(*pg_ctl, "-o", options, "-w", "-t", "60", "start"))
        createdb = [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
        self._run([*createdb, "-U", DB_USER, DB_NAME])

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            subprocess.run(self._as_server_user(*pg_ctl), capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads (trust auth: the password is not checked)."""
        return {
            "DAGSTER_POSTGRES_USER": DB_USER,
            "DAGSTER_POSTGRES_PASSWORD": "unused-with-trust-auth",
            "DAGSTER_POSTGRES_HOSTNAME": "127.0.0.1",
            "DAGSTER_POSTGRES_DB": DB_NAME,
            "DAGSTER_POSTGRES_PORT": str(self.port),
        }


# --- GraphQL -------------------------------------------------------------------------------

_WORKSPACE = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        versionKey
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories { name jobs { name description } schedules { name } }
          }
        }
      }
    }
  }
}
"""

_RELOAD = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry {
      loadStatus
      locationOrLoadError { __typename ... on PythonError { message } }
    }
    ... on Error { message }
  }
}
"""

_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""


class GraphQLError(AssertionError):
    pass


# --- the deployment ------------------------------------------------------------------------


@dataclass
class Deployment:
    """Postgres, a code server, the daemon and the webserver, each its own process group."""

    root: Path
    postgres: Postgres
    location: Path  # the code location's folder: definitions.py, job_specs/, data/
    env: dict[str, str]
    code_port: int
    web_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    load_check: dict[str, Any] = field(default_factory=dict)  # what case g asserts
    _instance: dg.DagsterInstance | None = field(default=None, repr=False)

    @property
    def home(self) -> Path:
        return Path(self.env["DAGSTER_HOME"])

    @property
    def data(self) -> Path:
        return Path(self.env["NEXUS_EXAMPLE_DATA"])

    @property
    def cache(self) -> Path:
        return Path(self.env["NEXUS_DAGSTER_CACHE_DIR"])

    @property
    def specs(self) -> Path:
        return self.location / "job_specs"

    @property
    def location_file(self) -> Path:
        return self.location / "definitions.py"

    # processes

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.log(name)
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {name}.log\n" + "\n".join(text.splitlines()[-lines:])

    def logs(self) -> str:
        return "\n".join(self.log_tail(name, 30) for name in self.processes)

    def spawn(self, name: str, command: list[str], cwd: Path) -> None:
        with self.log(name).open("ab") as out:
            self.processes[name] = subprocess.Popen(
                command,
                cwd=cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Signal the process group of ``name`` (with its runs, for the code server); whatever
        is left after a few seconds is killed."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, sig)
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def start_code_server(self) -> None:
        command = [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1"]
        command += ["-p", str(self.code_port), "-f", str(self.location_file)]
        self.spawn("code_server", command, self.location)

    def stop(self) -> None:
        # SIGKILL at once: a graceful stop of the webserver, the daemon and the code server (which
        # waits for its runs) takes seconds each, and nothing of theirs is kept.
        for name in list(self.processes):
            self.kill(name, signal.SIGKILL)
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None
        self.postgres.stop()

    # GraphQL against the webserver

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        try:
            answer = graphql(self.web_port, query, variables, timeout=60)
        except urllib.error.HTTPError as error:
            raise GraphQLError(
                f"HTTP {error.code}: {error.read().decode(errors='replace')}"
            ) from error
        if answer.get("errors"):
            raise GraphQLError(json.dumps(answer["errors"], indent=2))
        return answer["data"]

    def location_entry(self) -> dict[str, Any] | None:
        """The webserver's entry of the code location, or None when it does not answer."""
        try:
            answer = self.graphql(_WORKSPACE)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None
        for entry in answer["workspaceOrError"].get("locationEntries") or []:
            if entry["name"] == LOCATION:
                return dict(entry)
        return None

    def jobs(self) -> dict[str, str]:
        """``{job name: description}`` of the loaded location; fails with its load error."""
        entry = self.location_entry()
        assert entry is not None, "the webserver does not answer"
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            pytest.fail(f"code location {LOCATION} failed to load:\n{loaded['message']}")
        (repository,) = loaded["repositories"]
        return {job["name"]: job["description"] or "" for job in repository["jobs"]}

    def schedules(self) -> set[str]:
        """The schedule names of the loaded location."""
        entry = self.location_entry()
        assert entry is not None, "the webserver does not answer"
        (repository,) = (entry["locationOrLoadError"] or {}).get("repositories") or [None]
        assert repository is not None, entry
        return {schedule["name"] for schedule in repository["schedules"]}

    def version_key(self) -> str | None:
        """The webserver's version of the location (it holds the code server's server id)."""
        entry = self.location_entry()
        return None if entry is None else str(entry["versionKey"])

    def loaded_jobs(self, not_version: str | None = None) -> dict[str, str] | None:
        """The location's jobs once the webserver shows it loaded (from another server than
        the one of version ``not_version``), else None."""
        entry = self.location_entry()
        if entry is None or entry["loadStatus"] != "LOADED" or entry["versionKey"] == not_version:
            return None
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") != "RepositoryLocation":
            return None
        return self.jobs()

    def reload_location(self) -> None:
        """GraphQL `reloadRepositoryLocation`: the webserver asks the code server (a proxy) to
        start a new server process that imports the code location again."""
        answer = self.graphql(_RELOAD, {"name": LOCATION})["reloadRepositoryLocation"]
        assert answer["__typename"] == "WorkspaceLocationEntry", answer
        loaded = answer["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            pytest.fail(f"code location {LOCATION} failed to reload:\n{loaded['message']}")
        assert loaded.get("__typename") == "RepositoryLocation", answer

    def launch(
        self, job: str, run_config: Mapping[str, Any], tags: Mapping[str, str] | None = None
    ) -> tuple[str, str]:
        """Launch ``job`` as the launchpad does; returns the run id and the status it was
        created with."""
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": job,
            },
            "runConfigData": dict(run_config),
            "executionMetadata": {
                "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]
            },
        }
        answer = self.graphql(_LAUNCH, {"params": params})["launchRun"]
        if answer["__typename"] != "LaunchRunSuccess":
            pytest.fail(f"launching {job} failed: {json.dumps(answer, indent=2)}")
        return answer["run"]["runId"], answer["run"]["status"]

    # the instance, read from Postgres by this process

    @contextlib.contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        """The instance of DAGSTER_HOME, opened once (its storages check their Postgres schema
        when they open, which the polls of run status would otherwise repeat) and disposed of
        when the deployment stops."""
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.home))
        yield self._instance

    def run(self, run_id: str) -> dg.DagsterRun:
        with self.instance() as instance:
            run = instance.get_run_by_id(run_id)
        assert run is not None, f"no run {run_id} in the instance"
        return run

    def wait_for_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dg.DagsterRunStatus:
        """Poll until the run ends; return its status, whatever it is."""
        run = wait_until(
            f"run {run_id} to finish",
            lambda: (lambda r: r if r.status in FINISHED else None)(self.run(run_id)),
            timeout,
            lambda: f"status {self.run(run_id).status}\n{self.logs()}",
        )
        return run.status

    def wait_for_success(self, run_id: str, timeout: float = RUN_TIMEOUT) -> None:
        status = self.wait_for_run(run_id, timeout)
        if status != dg.DagsterRunStatus.SUCCESS:
            pytest.fail(
                f"run {run_id} ended {status.value}:\n{self.failures(run_id)}\n{self.logs()}"
            )

    def events(self, run_id: str) -> list[dg.EventLogEntry]:
        with self.instance() as instance:
            return list(instance.all_logs(run_id))

    def failures(self, run_id: str) -> str:
        """The text of every failure event of the run: messages and errors."""
        lines = []
        for entry in self.events(run_id):
            event = entry.dagster_event
            if event is None or not (event.is_failure or event.is_run_failure):
                continue
            lines.append(event.message or "")
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                lines.append(error.to_string())
        return "\n".join(lines)

    def step_failures(self, run_id: str) -> dict[str, str]:
        """``{step key: its error}`` of every step that failed in the run."""
        failed = {}
        for entry in self.events(run_id):
            event = entry.dagster_event
            if event is None or event.event_type != dg.DagsterEventType.STEP_FAILURE:
                continue
            error = getattr(event.event_specific_data, "error", None)
            failed[str(entry.step_key)] = error.to_string() if error is not None else ""
        return failed

    def recorded_params(self, run_id: str) -> dict[str, dict[str, tuple[Any, str]]]:
        """Per materialized asset of the run, ``{param: (value, source)}`` from its
        ``nexus/params`` metadata."""
        recorded: dict[str, dict[str, tuple[Any, str]]] = {}
        for entry in self.events(run_id):
            materialization = entry.asset_materialization
            if materialization is None:
                continue
            params = materialization.metadata["nexus/params"].value
            assert isinstance(params, dict)
            recorded[materialization.asset_key.to_user_string()] = {
                name: (item["value"], item["source"]) for name, item in params.items()
            }
        return recorded

    def nexus(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`nexus-dagster ARGS` in the location's folder, with the deployment's environment."""
        return subprocess.run(
            [str(BIN / "nexus-dagster"), *args],
            cwd=self.location,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )


# The executor of every job of the copied location: Dagster's multiprocess executor (its default,
# a process per step), whose step processes are forked from a `forkserver` that imported these
# modules once per run, instead of each being a fresh interpreter (`spawn`) that imports them
# again. Not the location itself: every step process still imports definitions.py and reads the
# spec files anew (what a spec edited during a run is checked against, case d).
EXECUTOR_CONFIG = {
    "start_method": {
        "forkserver": {"preload_modules": ["dagster", "dagster_postgres", "nexus_dagster"]}
    }
}


def copy_location(folder: Path) -> Path:
    """The example code location (definitions.py, job_specs/, data/) copied into ``folder``,
    with two changes in its ``build_definitions`` call: ``on_spec_error="isolate"``, and
    ``executor=`` the multiprocess executor with the ``forkserver`` start method
    (:data:`EXECUTOR_CONFIG`)."""
    return copy_example_location(
        folder,
        'on_spec_error="isolate",',
        f"executor=dg.multiprocess_executor.configured({EXECUTOR_CONFIG!r}),",
    )


# The one setting the deployment adds to deploy/dagster.yaml: the daemon takes queued runs off
# the queue every second, not every 5 s (Dagster's default), which every launched run would wait
# half of on average.
DEQUEUE_INTERVAL = "    dequeue_interval_seconds: 1\n"


def instance_yaml() -> str:
    """deploy/dagster.yaml, with :data:`DEQUEUE_INTERVAL` in its run coordinator's config."""
    text = (DEPLOY / "dagster.yaml").read_text()
    config = "  class: QueuedRunCoordinator\n  config:\n"
    assert text.count(config) == 1, "deploy/dagster.yaml no longer configures the run queue"
    assert "dequeue_interval_seconds" not in text, "deploy/dagster.yaml sets it: drop the override"
    return text.replace(config, config + DEQUEUE_INTERVAL)


def listing(folder: Path) -> dict[str, tuple[int, int, str]]:
    """``{name: (mode, mtime_ns, sha256)}`` of every file under ``folder``."""
    import hashlib

    return {
        str(path.relative_to(folder)): (
            path.stat().st_mode,
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def set_writable(folder: Path, writable: bool) -> None:
    """chmod the folder and everything in it: read-only (no write bit for anyone), or writable
    by its owner again."""
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


def start_deployment(
    root: Path, pg_bin: Path, extra_specs: Mapping[str, str] | None = None
) -> Deployment:
    """Start everything; the caller stops it (``Deployment.stop``) whatever happens.

    ``extra_specs`` (``{file name: YAML text}``) are written into the location's specs folder
    with the example's, before `nexus-dagster validate` checks them and fills the cache.
    """
    postgres = Postgres(bin=pg_bin, root=Path(tempfile.mkdtemp(prefix="nexus-pg-")))
    location = copy_location(root / "location")
    for name, text in (extra_specs or {}).items():
        (location / "job_specs" / name).write_text(text)
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml())
    code_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
        "DAGSTER_CODE_SERVER_PORT": str(code_port),
        "NEXUS_EXAMPLE_DATA": str(location / "data"),
        "NEXUS_DAGSTER_CACHE_DIR": str(root / "nexus-cache"),
    }
    env.pop("NEXUS_DAGSTER_CACHE", None)
    deployment = Deployment(root, postgres, location, env, code_port, web_port)
    try:
        # `nexus-dagster validate` reads no instance: it checks the specs while Postgres starts.
        validate = [str(BIN / "nexus-dagster"), "validate", "-f", str(deployment.location_file)]
        deployment.spawn("validate", validate, location)
        postgres.start()
        env.update(postgres.env())
        _prefill_cache(deployment)
        deployment.start_code_server()
        workspace = str(DEPLOY / "workspace.yaml")
        deployment.spawn(
            "webserver",
            [
                str(BIN / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(web_port),
                "-w",
                workspace,
            ],
            root,
        )
        wait_until(
            "the webserver to show the code location loaded",
            lambda: _alive(deployment) and deployment.loaded_jobs(),
            START_TIMEOUT,
            deployment.logs,
        )
        # Only now, so that the daemon's scheduler sees the location at its first iteration
        # (see the module docstring).
        # Nothing waits for it here: a launched run waits in the queue until it is up.
        deployment.spawn("daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace], root)
        deployment.load_check["cache_after_load"] = listing(deployment.cache)
        deployment.load_check["specs_after_load"] = listing(deployment.specs)
        # The later cases edit specs, as a team does on a development machine.
        set_writable(deployment.specs, True)
    except BaseException:
        deployment.stop()
        raise
    return deployment


def _prefill_cache(deployment: Deployment) -> None:
    # As deploy/Dockerfile does: check the specs once, which fills the cache of checked specs,
    # then make the specs folder read-only before the code server starts.
    # The check was started with Postgres (in `start_deployment`); it is waited for here.
    returncode = deployment.processes["validate"].wait(timeout=180)
    assert returncode == 0, deployment.log_tail("validate")
    del deployment.processes["validate"]
    set_writable(deployment.specs, False)
    deployment.load_check["cache_before_load"] = listing(deployment.cache)
    deployment.load_check["specs_before_load"] = listing(deployment.specs)


def _alive(deployment: Deployment) -> bool:
    for name, process in deployment.processes.items():
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{deployment.log_tail(name)}")
    return True
