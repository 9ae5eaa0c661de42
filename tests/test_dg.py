"""`NexusJobsComponent` in a real `dg` project (docs/components.md), driven by the real `dg` and
`nexus-dagster` commands, on copies of `examples/dg_project/`.

The example project is not installed: each command imports it from its `src/` folder
(`PYTHONPATH`), as an installed project would be imported.

Each command runs in a process of its own, forked from one warm process per module that has
imported what every `dg` command imports (Dagster, the `dg` command line): a command then costs
its own work, not two or three seconds of imports. The fork takes the command's folder,
environment and arguments and runs the console script's entry point (`dg`'s, or
`nexus-dagster`'s); the project, the plugin and whatever else a command loads are imported by
the fork itself, so no command sees another's modules. One test runs the installed `dg` script
from scratch.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import dagster as dg
import pytest

from .conftest import IN_PROCESS, REPO, new_dagster_home
from .ui_support import START_TIMEOUT, _stop, free_port, graphql

# The module's warm `dg` process (a few seconds to start) is one per module: one xdist worker.
pytestmark = pytest.mark.xdist_group("test_dg")

BIN = Path(sys.executable).parent
EXAMPLE = REPO / "examples" / "dg_project"
DEFS = Path("src/nexus_example/defs")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TIMEOUT = 180.0  # for a command, a run included, to end


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


# The warm process: it imports what `dg` commands import, says "ready", then reads one request
# (a JSON line) at a time and forks a child for it. The child takes the request's folder,
# environment (PYTHONPATH on sys.path, as Python puts it at start), arguments and output files,
# in a process group of its own, and runs the entry point of the console script named by
# argv[0], `dg` or `nexus-dagster`; it ends with the command's exit code, as the script would.
# The warm process answers with the child's pid, then its exit code, each with the request's id.
_WARM_DG = r"""
import importlib, json, os, pkgutil, sys, traceback

import dagster, dagster.components.list, dagster._cli.asset, dagster._cli.definitions
import dagster._cli.job, dagster._core.storage.sqlite_storage, dagster._core.workspace.context
import dagster._grpc.server
import dagster_dg_cli.cli

for info in pkgutil.iter_modules(dagster_dg_cli.cli.__path__, "dagster_dg_cli.cli."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
for name in ("jinja2", "jsonschema", "tomlkit", "upath"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass

answers = os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
answers.write("ready\n")
answers.flush()
for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setpgid(0, 0)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            for fd, path in ((1, request["out"]), (2, request["err"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            sys.path[0] = os.path.dirname(request["argv"][0])
            path = request["env"].get("PYTHONPATH", "")
            sys.path[1:1] = [p for p in path.split(os.pathsep) if p]
            sys.argv = request["argv"]
            try:
                if os.path.basename(sys.argv[0]) == "dg":
                    from dagster_dg_cli.cli import main
                else:
                    from nexus_dagster.cli import main
                sys.exit(main())
            except SystemExit as exit_:
                if exit_.code is None or isinstance(exit_.code, int):
                    code = exit_.code or 0
                else:
                    print(exit_.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    answers.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
    answers.flush()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    answers.write(json.dumps({"id": request["id"], "code": code}) + "\n")
    answers.flush()
"""


class WarmDg:
    """The warm process of `_WARM_DG`: `run` runs one command in a fork of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "warm_dg.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _WARM_DG],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=folder,
            )
        self._buffer = b""
        self._count = 0
        try:
            ready = self._line(START_TIMEOUT)
        except BaseException:
            self.close()
            raise
        assert ready == "ready", self.log.read_text(errors="replace")[-3000:]

    def _line(self, timeout: float) -> str | None:
        """The next line the warm process writes, or None if none comes within ``timeout``."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(
                    "the warm dg process ended:\n" + self.log.read_text(errors="replace")[-3000:]
                )
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _answer(self, key: str, timeout: float) -> Any:
        """The ``key`` of the warm process's next answer to the current request (answers to an
        earlier request, one a timeout gave up on, are skipped), or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (line := self._line(deadline - time.monotonic())) is not None:
            answer = json.loads(line)
            if answer["id"] == self._count and key in answer:
                return answer[key]
        return None

    def run(self, args: Sequence[str], cwd: Path, env: dict[str, str]) -> Done:
        """``args[0]`` (``dg`` or ``nexus-dagster``) with the rest of ``args``."""
        assert args[0] in {"dg", "nexus-dagster"}, args
        self._count += 1
        out = self.folder / f"{self._count}.out"
        err = self.folder / f"{self._count}.err"
        request = {
            "id": self._count,
            "argv": [str(BIN / args[0]), *args[1:]],
            "cwd": str(cwd),
            "env": env,
            "out": str(out),
            "err": str(err),
        }
        stdin: IO[bytes] | None = self.process.stdin
        assert stdin is not None
        stdin.write((json.dumps(request) + "\n").encode())
        stdin.flush()
        pid = self._answer("pid", TIMEOUT)
        assert isinstance(pid, int), self.log.read_text(errors="replace")[-3000:]
        code = self._answer("code", TIMEOUT)
        if code is None:  # the command and whatever it started, stopped
            os.killpg(pid, signal.SIGKILL)
            pytest.fail(f"`{' '.join(args)}` did not end within {TIMEOUT:.0f} s")
        return Done(
            code,
            ANSI.sub("", out.read_text(errors="replace")),
            ANSI.sub("", err.read_text(errors="replace")),
        )

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def warm_dg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmDg]:
    warm = WarmDg(tmp_path_factory.mktemp("warm_dg"))
    try:
        yield warm
    finally:
        warm.close()


@dataclass(frozen=True)
class Project:
    root: Path
    home: Path
    warm: WarmDg

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(self.root / "src"),
            "DAGSTER_HOME": str(self.home),
            "NO_COLOR": "1",
        }

    def run(self, *args: str, cwd: Path | None = None) -> Done:
        """``dg ARGS`` or ``nexus-dagster ARGS``, in a fork of the warm process."""
        return self.warm.run(args, cwd or self.root, self.env())

    def run_script(self, *args: str) -> Done:
        """The installed console script ``args[0]``, started from scratch."""
        done = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        return Done(done.returncode, ANSI.sub("", done.stdout), ANSI.sub("", done.stderr))

    def with_home(self, home: Path) -> Project:
        """The same project with a DAGSTER_HOME of its own: the runs a test launches there are
        the only runs of that instance."""
        return replace(self, home=new_dagster_home(home))

    def write(self, relative: str | Path, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path


def copy_project(folder: Path, warm: WarmDg) -> Project:
    root = folder / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return Project(root, new_dagster_home(folder / "dagster_home"), warm)


@pytest.fixture
def project(tmp_path: Path, warm_dg: WarmDg) -> Project:
    return copy_project(tmp_path, warm_dg)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory, warm_dg: WarmDg) -> Project:
    """One copy of the example project shared by the tests that do not change it (those that
    launch runs give it a DAGSTER_HOME of their own)."""
    return copy_project(tmp_path_factory.mktemp("dg_example"), warm_dg)


def materialized(home: Path, run_id: str) -> dict[str, Any]:
    """What each asset of the run reported as the values it used (its ``used`` metadata)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return {
            entry.asset_materialization.asset_key.to_user_string(): entry.asset_materialization.metadata[
                "used"
            ].value
            for entry in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
            if entry.asset_materialization is not None
        }


def only_run(home: Path, job: str) -> dg.DagsterRun:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name=job))
    assert len(runs) == 1, runs
    return runs[0]


def run_count(home: Path) -> int:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return len(instance.get_run_records())


# --- what dg lists ----------------------------------------------------------------------------


def test_dg_list_components_shows_the_component_with_its_description(example: Project) -> None:
    # The installed `dg` script from scratch: its own imports find the plugin's entry point.
    done = example.run_script("dg", "list", "components", "--json")
    assert done.code == 0, done.both
    items = {item["key"]: item["summary"] for item in json.loads(done.out)["items"]}
    assert items["nexus_dagster.NexusJobsComponent"] == (
        "Parameterized asset jobs, schedules and sensors from a folder of nexus-dagster specs."
    )


@pytest.mark.floor
def test_dg_list_defs_shows_both_components_jobs_and_one_params(example: Project) -> None:
    done = example.run("dg", "list", "defs", "--json")
    assert done.code == 0, done.both
    defs = json.loads(done.out)
    # (`dg` 1.12 calls an asset's key `key`; 1.13 `asset_key`)
    assert sorted(a.get("asset_key", a.get("key")) for a in defs["assets"]) == [
        "daily_orders",
        "marketing_ingestion_asset",
        "report",
        "sales_ingestion_asset",
    ]
    assert sorted(j["name"] for j in defs["jobs"]) == [
        "daily_orders_job",
        "report_job",
        "sales_job",
    ]
    assert sorted((s["name"], s["cron_schedule"]) for s in defs["schedules"]) == [
        ("daily_orders_nightly", "0 1 * * *"),
        ("sales_job_schedule", "0 6 * * *"),
    ]
    assert defs["resources"] == [{"name": "params", "type": "nexus_dagster.resource.NexusParams"}]
    sales = next(j for j in defs["jobs"] if j["name"] == "sales_job")
    assert sales["source"] == f"{DEFS.as_posix()}/sales_jobs/defs.yaml:1"
    assert "`marketing_ingestion_asset.source_bucket`" in sales["description"]


# --- dg launch ----------------------------------------------------------------------------------

# `dg launch` runs the job in its own process with the job's executor: by default Dagster's
# multiprocess executor, which starts a new interpreter for every step (importing Dagster and the
# project again, seconds of CPU each). One launch below keeps that default, so that a step of a
# component's job is seen rebuilding the job from the project in a process of its own; the others
# are about values, partitions and failures, and run their steps in the launching process by
# Dagster's own `execution` section (`IN_PROCESS`), which a spec job's run config passes through.
MULTIPROCESS = "Executing steps using multiprocess executor"
IN_PROCESS_LINE = "Executing steps in process"


def in_process(config: dict[str, Any] | None = None) -> str:
    """``config`` with the `execution` section that runs the steps in process, as --config-json."""
    return json.dumps({**(config or {}), **IN_PROCESS})


@pytest.mark.floor
def test_dg_launch_takes_the_flat_names_and_each_asset_gets_its_values(
    example: Project, tmp_path: Path
) -> None:
    example = example.with_home(tmp_path / "home")
    done = example.run(
        "dg",
        "launch",
        "--job",
        "sales_job",
        "--config-json",
        in_process({"marketing_ingestion_asset.source_bucket": "m"}),
    )
    assert done.code == 0, done.both
    # (the flat names and Dagster's `execution` section, side by side in one run config)
    assert IN_PROCESS_LINE in done.both and MULTIPROCESS not in done.both, done.both
    run = only_run(example.home, "sales_job")
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert materialized(example.home, run.run_id) == {
        "sales_ingestion_asset": {
            "source_bucket": "raw-sales",
            "target_bucket": "warehouse",
            "batch_size": 500,
        },
        "marketing_ingestion_asset": {"source_bucket": "m", "target_bucket": "warehouse"},
    }
    # The job of the other component runs with the same `params` resource, launched as a user
    # launches it: Dagster's default executor runs its step in a process of its own, which
    # rebuilds the job from the project and gets the value there.
    done = example.run(
        "dg", "launch", "--job", "report_job", "--config-json", '{"report.report_title": "R"}'
    )
    assert done.code == 0, done.both
    assert MULTIPROCESS in done.both, done.both
    assert 'Executing step "report" in subprocess.' in done.both, done.both
    run = only_run(example.home, "report_job")
    assert materialized(example.home, run.run_id) == {"report": {"report_title": "R"}}


def test_dg_launch_a_partition_with_values_and_op_config(example: Project, tmp_path: Path) -> None:
    example = example.with_home(tmp_path / "home")
    # The partitioned job is built by the second component: its `params` knows it all the same.
    done = example.run(
        "dg",
        "launch",
        "--job",
        "daily_orders_job",
        "--partition",
        "2026-11-02",
        "--config-json",
        in_process(
            {
                "resources": {
                    "params": {"config": {"values": {"daily_orders.source_bucket": "b"}}}
                },
                "ops": {"daily_orders": {"config": {"limit": 7}}},
            }
        ),
    )
    assert done.code == 0, done.both
    done = example.run(
        "dg",
        "launch",
        "--job",
        "daily_orders_job",
        "--partition",
        "2026-11-03",
        "--config-json",
        in_process(),
    )
    assert done.code == 0, done.both
    with dg.DagsterInstance.from_config(str(example.home)) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="daily_orders_job"))
    used = {
        run.tags["dagster/partition"]: materialized(example.home, run.run_id)["daily_orders"]
        for run in runs
    }
    assert used == {
        "2026-11-02": {"source_bucket": "b", "input": "b/2026-11-02.csv", "limit": 7},
        "2026-11-03": {
            "source_bucket": "orders-daily",
            "input": "orders-daily/2026-11-03.csv",
            "limit": 100,
        },
    }


def test_dg_launch_refuses_an_unknown_flat_name_before_the_run(
    example: Project, tmp_path: Path
) -> None:
    example = example.with_home(tmp_path / "home")
    runs_before = run_count(example.home)
    done = example.run(
        "dg", "launch", "--job", "sales_job", "--config-json", '{"marketing.source_bucket": "m"}'
    )
    assert done.code != 0
    # Dagster's own refusal of the run config (the job's flat schema names the key unknown) ...
    assert "DagsterInvalidConfigError: Error in config mapping" in done.err, done.both
    assert (
        'Error 1: Received unexpected config entry "marketing.source_bucket" at the root. '
        'Expected: "{ execution?: { } loggers?: { } marketing_ingestion_asset.source_bucket?: '
        "String "
    ) in done.err, done.both
    # ... before any run was made
    assert run_count(example.home) == runs_before == 0


# --- dg check ----------------------------------------------------------------------------------

BROKEN_SPEC = """\
    selection: [sales_ingestion_asset, marketing_ingestoin_asset]
    paramter_values:
      target_bucket: warehouse
    ops_config:
      sales_ingestion_asset:
        source_bucket: raw-sales
        batch_size: lots
    """
BROKEN_LINES = [
    f"{DEFS.as_posix()}/sales_jobs/job_specs/sales_job.yaml:1:36: selection[1]: unknown asset "
    "`marketing_ingestoin_asset`; did you mean `marketing_ingestion_asset`?",
    f"{DEFS.as_posix()}/sales_jobs/job_specs/sales_job.yaml:2:1: paramter_values: unknown key "
    "`paramter_values`; did you mean `parameter_values`? Valid keys: name, description, "
    "asset_defaults, selection, params_schema, parameter_values, ops_config, tags, schedules, sensors",
    f"{DEFS.as_posix()}/sales_jobs/job_specs/sales_job.yaml:7:5: "
    "ops_config.sales_ingestion_asset.batch_size: value does not fit type `int`: expected int, "
    "got str",
]


def assert_no_traceback(text: str) -> None:
    for mark in ("Traceback", "Stack Trace", 'File "', "frames hidden"):
        assert mark not in text, text


@pytest.mark.floor
def test_dg_check_defs_reports_every_spec_problem_as_lines_only(project: Project) -> None:
    project.write(DEFS / "sales_jobs/job_specs/sales_job.yaml", BROKEN_SPEC)
    done = project.run("dg", "check", "defs")
    assert done.code == 1, done.both
    assert_no_traceback(done.both)
    lines = done.both.splitlines()
    start = lines.index(
        f"{DEFS.as_posix()}/sales_jobs/defs.yaml (NexusJobsComponent): "
        "3 problems in nexus job specs:"
    )
    assert lines[start + 1 : start + 4] == BROKEN_LINES
    # The same lines as `nexus-dagster validate` prints in the project.
    validate = project.run("nexus-dagster", "validate")
    assert (validate.code, validate.out.splitlines()) == (1, BROKEN_LINES)
    assert validate.err == "3 problem(s) in 1 file(s) of dg project .\n"


def test_a_component_that_isolates_broken_specs_loads_and_the_checks_still_fail(
    project: Project,
) -> None:
    defs_yaml = DEFS / "sales_jobs/defs.yaml"
    project.write(defs_yaml, (project.root / defs_yaml).read_text() + "  on_spec_error: isolate\n")
    project.write(DEFS / "sales_jobs/job_specs/sales_job.yaml", BROKEN_SPEC)
    listed = project.run("dg", "list", "defs", "--json")
    assert listed.code == 0, listed.both
    jobs = {j["name"]: j for j in json.loads(listed.out)["jobs"]}
    assert {"sales_job", "report_job"} <= set(jobs)
    # the broken file's job shows its lines (paths as the component loads them) and fails
    for line in BROKEN_LINES:
        assert line.split(":", 1)[1] in jobs["sales_job"]["description"]
    done = project.run("dg", "launch", "--job", "sales_job", "--config-json", in_process())
    assert done.code != 0
    run = only_run(project.home, "sales_job")
    assert run.status == dg.DagsterRunStatus.FAILURE
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)[0]
        assert failure.dagster_event is not None
        description = failure.dagster_event.step_failure_data.user_failure_data.description
        assert not instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    assert "unknown asset `marketing_ingestoin_asset`" in description
    # the other component's jobs run
    done = project.run("dg", "launch", "--job", "report_job", "--config-json", in_process())
    assert done.code == 0, done.both
    # `dg check defs` and `nexus-dagster validate` still fail, with the lines
    checked = project.run("dg", "check", "defs")
    assert checked.code == 1
    assert all(line in checked.both.splitlines() for line in BROKEN_LINES), checked.both
    validate = project.run("nexus-dagster", "validate")
    assert (validate.code, validate.out.splitlines()) == (1, BROKEN_LINES)


def test_dg_check_yaml_and_defs_name_a_misspelled_attribute(project: Project) -> None:
    defs_yaml = DEFS / "sales_jobs/defs.yaml"
    project.write(
        defs_yaml,
        """\
        type: nexus_dagster.NexusJobsComponent
        attributes:
          specs_dirr: job_specs
        """,
    )
    # (`dg check yaml` checks one defs.yaml per component type when given the whole project, so
    # it is pointed at the folder here; `dg check defs` loads every component.)
    done = project.run("dg", "check", "yaml", str(DEFS / "sales_jobs"))
    assert done.code != 0, done.both
    assert (
        f"{project.root / defs_yaml}:3 - nexus_dagster.NexusJobsComponent attributes.specs_dirr "
        "Additional properties are not allowed ('specs_dirr' was unexpected)"
    ) in done.both
    done = project.run("dg", "check", "defs", "--no-check-yaml")
    assert done.code == 1, done.both
    assert f"attributes.specs_dirr at {project.root / defs_yaml}:3" in done.both
    assert "Extra inputs are not permitted" in done.both


def test_dg_check_yaml_names_a_mistyped_attribute_in_a_one_component_project(
    project: Project,
) -> None:
    shutil.rmtree(project.root / DEFS / "reporting_jobs")
    project.write(
        DEFS / "sales_jobs/defs.yaml",
        "type: nexus_dagster.NexusJobsComponent\nattributes:\n  assets_from: 3\n",
    )
    done = project.run("dg", "check", "yaml")
    assert done.code != 0, done.both
    assert "attributes.assets_from 3 is not valid under any of the given schemas" in done.both


def test_an_assets_from_folder_that_does_not_exist_is_a_line_of_its_defs_yaml(
    project: Project,
) -> None:
    project.write(
        DEFS / "sales_jobs/defs.yaml",
        "type: nexus_dagster.NexusJobsComponent\nattributes:\n  assets_from: [ingestoin]\n",
    )
    line = (
        f"{DEFS.as_posix()}/sales_jobs/defs.yaml:3:17: assets_from[0]: no `ingestoin` in the "
        "project's defs folder; did you mean `ingestion`? There: __init__.py, ingestion, "
        "reporting_jobs, sales_jobs"
    )
    done = project.run("dg", "check", "defs")
    assert done.code == 1 and line in done.both.splitlines(), done.both
    assert_no_traceback(done.both)
    validate = project.run("nexus-dagster", "validate")
    assert (validate.code, validate.out) == (1, line + "\n")


def test_a_spec_may_not_take_the_name_of_a_python_job_of_the_project(project: Project) -> None:
    project.write(
        DEFS / "ingestion/jobs.py",
        """\
        import dagster as dg

        sales_job = dg.define_asset_job("sales_job", selection=["sales_ingestion_asset"])
        """,
    )
    line = (
        f"{DEFS.as_posix()}/sales_jobs/job_specs/sales_job.yaml:1:1: job name `sales_job` is "
        "already used by the Python job `sales_job` in src/nexus_example/defs/ingestion of this "
        "code location; Dagster wants each name once: rename one of them"
    )
    done = project.run("dg", "check", "defs")
    assert done.code == 1 and line in done.both.splitlines(), done.both
    assert "Duplicate job definition" not in done.both


def test_two_components_may_not_build_one_schedule_name(project: Project) -> None:
    # Schedules and sensors share one namespace in a code location, across components too.
    project.write(
        DEFS / "reporting_jobs/job_specs/report_job.yaml",
        """\
        selection: [report]
        sensors:
          - {name: sales_job_schedule, type: file, directory: drops}
        """,
    )
    validate = project.run("nexus-dagster", "validate")
    assert (validate.code, validate.out) == (
        1,
        f"{DEFS.as_posix()}/sales_jobs/job_specs/sales_job.yaml:12:5: schedules[0]: schedule or "
        f"sensor name `sales_job_schedule` is already used by {project.root / DEFS}/"
        "reporting_jobs/job_specs/report_job.yaml, in another specs folder of this code "
        "location; names must be unique across them\n",
    ), validate.both


def test_two_components_may_not_build_one_job_name(project: Project) -> None:
    project.write(
        DEFS / "reporting_jobs/job_specs/sales_job.yaml", "selection: [report]\nname: sales_job\n"
    )
    line = (
        f"{DEFS.as_posix()}/sales_jobs/job_specs/sales_job.yaml:1:1: job name `sales_job` is "
        f"already used by {project.root / DEFS}/reporting_jobs/job_specs/sales_job.yaml, in "
        "another specs folder of this code location; names must be unique across them"
    )
    done = project.run("dg", "check", "defs")
    assert done.code == 1, done.both
    assert_no_traceback(done.both)
    assert line in done.both.splitlines(), done.both
    validate = project.run("nexus-dagster", "validate")
    assert (validate.code, validate.out) == (1, line + "\n")


# --- dg scaffold --------------------------------------------------------------------------------


def test_dg_scaffold_defs_writes_a_component_that_loads(project: Project) -> None:
    done = project.run("dg", "scaffold", "defs", "nexus_dagster.NexusJobsComponent", "more_jobs")
    assert done.code == 0, done.both
    folder = project.root / DEFS / "more_jobs"
    assert (
        (folder / "defs.yaml")
        .read_text()
        .startswith("type: nexus_dagster.NexusJobsComponent\nattributes:\n")
    )
    example = folder / "job_specs" / "example_job.yaml.example"
    assert example.read_text().startswith("# An example job spec.")
    done = project.run("dg", "check", "defs")
    assert done.code == 0, done.both
    assert "All definitions loaded successfully." in done.both
    # The example, uncommented and renamed as it says, is a spec of the project.
    lines = example.read_text().splitlines()
    body = [line[2:] for line in lines if line.startswith("# ") and ":" in line[:40]]
    spec = "\n".join(line for line in body if not line.startswith(("An ", "list ", "launchpad")))
    (folder / "job_specs" / "example_job.yaml").write_text(spec + "\n")
    example.unlink()
    validate = project.run("nexus-dagster", "validate")
    assert validate.code == 0, validate.both
    assert f"ok: 1 job spec(s) in {DEFS.as_posix()}/more_jobs/job_specs" in validate.out
    params = project.run("nexus-dagster", "params", "example_job")
    assert params.code == 0 and "sales_ingestion_asset.source_bucket" in params.out, params.both


# --- nexus-dagster in a dg project -------------------------------------------------------------


def test_nexus_dagster_commands_find_every_component_folder(project: Project) -> None:
    validate = project.run("nexus-dagster", "validate")
    assert (validate.code, validate.out) == (
        0,
        f"ok: 2 job spec(s) in {DEFS.as_posix()}/reporting_jobs/job_specs\n"
        f"ok: 1 job spec(s) in {DEFS.as_posix()}/sales_jobs/job_specs\n",
    ), validate.both
    # A job's folder is found by its name, from any folder of the project.
    params = project.run("nexus-dagster", "params", "sales_job", "--json", cwd=project.root / DEFS)
    assert params.code == 0, params.both
    assert [f["name"] for f in json.loads(params.out)][:2] == [
        "target_bucket",
        "sales_ingestion_asset.source_bucket",
    ]
    render = project.run("nexus-dagster", "render", "report_job")
    assert render.code == 0 and "Daily sales and marketing" in render.out, render.both
    update = project.run("nexus-dagster", "update", "report_job", "--set", "report_title=Weekly")
    assert update.code == 0, update.both
    spec = project.root / DEFS / "reporting_jobs/job_specs/report_job.yaml"
    assert "report_title: Weekly" in spec.read_text()
    # A new job needs its folder, when there are several.
    before = sorted(p.name for p in (project.root / DEFS).rglob("*.yaml"))
    create = project.run("nexus-dagster", "create", "new_job", "--select", "report")
    assert create.code == 2
    assert create.err == (
        "error: which specs folder? dg project . has 2: "
        f"{DEFS.as_posix()}/reporting_jobs/job_specs ({DEFS.as_posix()}/reporting_jobs/defs.yaml), "
        f"{DEFS.as_posix()}/sales_jobs/job_specs ({DEFS.as_posix()}/sales_jobs/defs.yaml); "
        "choose one with --specs DIR\n"
    )
    assert sorted(p.name for p in (project.root / DEFS).rglob("*.yaml")) == before
    specs = str(DEFS / "reporting_jobs/job_specs")
    create = project.run(
        "nexus-dagster", "create", "new_job", "--select", "report", "--specs", specs
    )
    assert create.code == 0, create.both
    assert (project.root / specs / "new_job.yaml").is_file()
    unknown = project.run("nexus-dagster", "params", "sales_jb")
    assert unknown.code == 1
    assert "no job named `sales_jb`" in unknown.err and "did you mean `sales_job`?" in unknown.err
    # The dg project's jobs, as dg sees them after the edits.
    done = project.run("dg", "list", "defs", "--json")
    assert sorted(j["name"] for j in json.loads(done.out)["jobs"]) == [
        "daily_orders_job",
        "new_job",
        "report_job",
        "sales_job",
    ]


# --- dagster dev -------------------------------------------------------------------------------

_JOBS_QUERY = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation { repositories { jobs { name } schedules { name } } }
        }
      }
    }
  }
}
"""


@pytest.fixture
def dagster_dev(
    example: Project, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    log = tmp_path / "dagster_dev.log"
    env = {**example.env(), "DAGSTER_HOME": str(new_dagster_home(tmp_path / "home"))}
    command = [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)]
    command += ["-m", "nexus_example.definitions", "-d", str(example.root / "src")]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=example.root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port, log
    finally:
        _stop(process)


def test_dagster_dev_on_the_example_project_shows_the_jobs(
    dagster_dev: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log = dagster_dev
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            answer = graphql(port, _JOBS_QUERY)
        except OSError:
            answer = {}
        entries = ((answer.get("data") or {}).get("workspaceOrError") or {}).get(
            "locationEntries"
        ) or []
        loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
        if loaded:
            break
        running = process.poll() is None and time.monotonic() < deadline
        assert running, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
    assert [e["name"] for e in loaded] == ["nexus_example.definitions"]
    location = loaded[0]["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    (repository,) = location["repositories"]
    jobs = sorted(j["name"] for j in repository["jobs"])
    assert [j for j in jobs if not j.startswith("__")] == [
        "daily_orders_job",
        "report_job",
        "sales_job",
    ]
    assert sorted(s["name"] for s in repository["schedules"]) == [
        "daily_orders_nightly",
        "sales_job_schedule",
    ]
