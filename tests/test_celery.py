"""A spec's job on Dagster's distributed engine: the ``dagster-celery`` executor with a real Redis
broker and a Celery worker process. The run is launched by the ``dagster`` CLI (``dagster job
execute``, a process of its own forked from one that has imported Dagster, ``forked_dagster``,
importing the location anew); every step runs in the worker, rebuilds the job from the spec files
there, and resolves the same values.

A second run, of a partitioned spec job, is launched after it on the same broker and worker: its
values come under ``resources.params.config.values`` and each step also sees the run's
partition.

Then the spec of the first job (an ``asset_defaults`` spec too) is edited, and runs are launched
by processes that load it anew, as a reloaded code location does, while the worker keeps the
code location it imported first: a run of the job and a run outside spec jobs (``dagster asset
materialize``) each fail before the asset's code, saying the spec changed and that long-lived
workers must be restarted, never resolving the old values. After a restart of the worker, the
job's run resolves the edited values."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from .conftest import REPO, error_text, new_dagster_home
from .forked_dagster import start

# Redis, the worker and the two runs (seconds to start) are one per module: one xdist worker.
pytestmark = pytest.mark.xdist_group("test_celery")

BIN = Path(sys.executable).parent
LOCATION = Path(__file__).parent / "locations" / "celery_location.py"
JOB = "celery_job"
STEPS = ["extract", "transform", "warehouse__load"]
PARTITIONED_JOB = "celery_partitioned_job"
PARTITIONED_STEPS = ["part_extract", "part_transform", "mart__part_load"]
PARTITIONED_ASSETS = ["part_extract", "part_transform", "mart/part_load"]
# not the first key of the partitions definition, so a step that saw it was given it
PARTITION = "us"
RUN_TIMEOUT = 180.0  # seconds, for each run (its launching `dagster job execute`)
SERVER_TIMEOUT = 120.0  # seconds, for Redis to answer
# Read only by the worker: the launching process never has it, so a step that resolves it
# proves the secret was read inside the worker, as it would be inside a step pod.
TOKEN = "worker-only-token"


def require(found: bool, reason: str) -> None:
    """Skip on a developer's machine without the tool; in CI a missing tool is a failure."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI installs it: see .ci/run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def stop_group(proc: subprocess.Popen[bytes], first: signal.Signals = signal.SIGTERM) -> None:
    # the worker forks pool processes; they share its group, so signal the group, not the pid
    for sig, grace in ((first, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    proc.poll()


@contextmanager
def started(
    args: list[str], env: dict[str, str], log: Path, stop: signal.Signals = signal.SIGTERM
) -> Iterator[subprocess.Popen[bytes]]:
    """A process in a group of its own, stopped (``stop``, then SIGKILL) with everything it
    started on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop_group(proc, stop)


def wait_for_redis(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    deadline = time.monotonic() + SERVER_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited with {proc.returncode}:\n{tail(log)}")
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"redis-server did not answer on port {port} within {SERVER_TIMEOUT:.0f} s:\n"
                f"{tail(log)}"
            )
        time.sleep(0.1)


def run_launched(
    args: list[str],
    env: dict[str, str],
    worker: subprocess.Popen[bytes],
    worker_log: Path,
    succeed: bool = True,
) -> str:
    """``dagster ARGS`` (a ``dagster job execute``), run to its end while the worker lives; it
    must succeed, or (``succeed=False``) fail. Returns its output."""
    launched = start(args, env=env, cwd=REPO, timeout=RUN_TIMEOUT)
    # a dead worker would leave the launcher waiting on the broker until it is killed after
    # RUN_TIMEOUT (`subprocess.TimeoutExpired` below): watch both
    while not launched.done():
        if worker.poll() is not None:
            pytest.fail(f"the Celery worker exited with {worker.returncode}:\n{tail(worker_log)}")
        time.sleep(0.2)
    launcher = launched.result()
    output = "\n".join((launcher.stdout + launcher.stderr).splitlines()[-40:])
    assert (launcher.returncode == 0) is succeed, (
        f"`dagster {args[0]} {args[1]}` exited with {launcher.returncode}\n"
        f"launcher:\n{output}\nworker:\n{tail(worker_log)}"
    )
    return launcher.stdout + launcher.stderr


def launcher_pid(instance: dg.DagsterInstance, run_id: str) -> int:
    """The process that ran the run (its launching ``dagster job execute``), as the run's start
    event names it."""
    [entry] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)
    assert entry.dagster_event is not None and entry.dagster_event.pid is not None
    return entry.dagster_event.pid


def delegated_steps(instance: dg.DagsterInstance, run_id: str) -> dict[str | None, Any]:
    """The Celery worker that Dagster's event log names for each step of the run."""
    delegated = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.is_engine_event and event.engine_event_data:
            worker = event.engine_event_data.metadata.get("Celery worker")
            if worker is not None:
                delegated[entry.step_key] = worker.value
    return delegated


def failure_text(instance: dg.DagsterInstance, job: str) -> str:
    """The errors of the latest run of ``job``, as its event log holds them."""
    run = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)[0]
    assert run.status == dg.DagsterRunStatus.FAILURE
    return error_text(instance.all_logs(run.run_id))


def run_of(instance: dg.DagsterInstance, job: str) -> dg.DagsterRun:
    # the first run of the job (later ones follow the spec's edit)
    return instance.get_runs(filters=dg.RunsFilter(job_name=job))[-1]


@pytest.fixture(scope="module")
def celery_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Redis, a Celery worker, and two runs on it, one of the spec's job and then one of the
    partitioned spec's job, shared by the tests below."""
    redis_server = shutil.which("redis-server")
    require(
        redis_server is not None, "redis-server is not installed (apt-get install redis-server)"
    )
    require(
        shutil.which("dagster-celery", path=str(BIN)) is not None,
        "dagster-celery is not installed (make installs it)",
    )
    assert redis_server is not None

    tmp_path = tmp_path_factory.mktemp("celery")
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    home = new_dagster_home(tmp_path / "dagster_home")
    # the worker and the first launcher start together: creating the instance's SQLite tables first
    # keeps them from racing to create them
    with dg.DagsterInstance.from_config(str(home)):
        pass
    out = tmp_path / "out"
    specs = tmp_path / "specs"
    shutil.copytree(LOCATION.parent / "celery_specs", specs)
    spec = specs / f"{JOB}.yaml"
    spec.write_text("asset_defaults: true\n" + spec.read_text())
    worker_config = tmp_path / "worker.yaml"
    worker_config.write_text(
        yaml.safe_dump({"execution": {"config": {"broker": broker, "backend": broker}}})
    )
    run_config = {"batch": 50, "warehouse/load.mode": "replace"}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(run_config))
    # a partitioned job takes no ConfigMapping: the same flat names, under the resource's
    # `values`; `bucket`, `part_extract.bucket`, `part_transform.batch` and the secret are left
    # to the spec
    partitioned_values = {
        "batch": 50,
        "part_transform.bucket": "transform-run-bucket",
        "mart/part_load.mode": "replace",
    }
    (tmp_path / "run_partitioned.yaml").write_text(
        yaml.safe_dump({"resources": {"params": {"config": {"values": partitioned_values}}}})
    )
    names = ("redis", "worker")
    logs = {name: tmp_path / f"{name}.log" for name in names}

    env = {k: v for k, v in os.environ.items() if k != "NEXUS_CELERY_TOKEN"}
    env.update(
        DAGSTER_HOME=str(home),
        NEXUS_CELERY_BROKER=broker,
        CELERY_OUT=str(out),
        NEXUS_CELERY_SPECS=str(specs),
        # `dagster-celery worker start` runs `celery` from PATH
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    redis_args = [redis_server, "--port", str(port), "--bind", "127.0.0.1"]
    redis_args += ["--save", "", "--appendonly", "no"]
    worker_args = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
    worker_args += ["-y", str(worker_config), "-n", "nexus-test", "--", "--concurrency=2"]
    launch_args = ["job", "execute", "-f", str(LOCATION), "-j", JOB]
    launch_args += ["-c", str(tmp_path / "run.yaml")]
    partitioned_args = ["job", "execute", "-f", str(LOCATION)]
    partitioned_args += ["-j", PARTITIONED_JOB, "-c", str(tmp_path / "run_partitioned.yaml")]
    partitioned_args += ["--tags", json.dumps({"dagster/partition": PARTITION})]

    worker_env = {**env, "NEXUS_CELERY_TOKEN": TOKEN}
    with started(redis_args, env, logs["redis"]) as redis_proc:
        wait_for_redis(redis_proc, port, logs["redis"])
        # the worker has nothing left to do once the runs are done (its shutdown takes seconds)
        with started(worker_args, worker_env, logs["worker"], stop=signal.SIGKILL) as worker:
            run_launched(launch_args, env, worker, logs["worker"])
            run_launched(partitioned_args, env, worker, logs["worker"])
            with dg.DagsterInstance.from_config(str(home)) as instance:
                launcher = launcher_pid(instance, run_of(instance, JOB).run_id)
                partitioned = launcher_pid(instance, run_of(instance, PARTITIONED_JOB).run_id)
            records = {step: json.loads((out / f"{step}.json").read_text()) for step in STEPS}
            partitioned_records = {
                step: json.loads((out / f"{step}.json").read_text()) for step in PARTITIONED_STEPS
            }
            # The edit; each launcher loads the location anew, the worker keeps its own.
            spec.write_text(spec.read_text().replace("bucket: shared-bucket", "bucket: edited"))
            run_launched(launch_args, env, worker, logs["worker"], succeed=False)
            materialize = ["asset", "materialize", "--select", "extract", "-f", str(LOCATION)]
            run_launched(materialize, env, worker, logs["worker"], succeed=False)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                stale = {
                    "job": failure_text(instance, JOB),
                    "outside": failure_text(instance, "__ASSET_JOB"),
                }
            unchanged = {step: json.loads((out / f"{step}.json").read_text()) for step in STEPS}
        with started(worker_args, worker_env, logs["worker"], stop=signal.SIGKILL) as restarted:
            run_launched(launch_args, env, restarted, logs["worker"])
            after_restart = json.loads((out / "transform.json").read_text())["values"]
            yield {
                "records": records,
                "partitioned_records": partitioned_records,
                "home": home,
                "worker_pid": worker.pid,
                "launcher_pid": launcher,
                "partitioned_launcher_pid": partitioned,
                "stale": stale,
                "unchanged": unchanged,
                "after_restart": after_restart,
            }


def test_each_asset_resolves_per_asset_then_shared_in_the_worker(
    celery_run: dict[str, Any],
) -> None:
    values = {step: record["values"] for step, record in celery_run["records"].items()}
    assert values == {
        # spec per-asset bucket beats the shared one; launch-time shared batch; the secret
        # read from the worker's environment
        "extract": {"bucket": "extract-bucket", "batch": 50, "token": TOKEN},
        # spec per-asset batch beats the launch-time shared batch
        "transform": {"bucket": "shared-bucket", "batch": 7},
        # launch-time per-asset value for a key with a prefix; shared bucket
        "warehouse__load": {"bucket": "shared-bucket", "mode": "replace"},
    }


def test_every_step_ran_in_the_worker_not_the_launching_process(
    celery_run: dict[str, Any],
) -> None:
    for step, record in celery_run["records"].items():
        assert record["pgid"] == celery_run["worker_pid"], step
        assert record["pid"] not in (celery_run["launcher_pid"], celery_run["worker_pid"]), step
        assert record["hostname"] == socket.gethostname(), step

    # and Dagster's own event log says so, naming the worker
    with dg.DagsterInstance.from_config(str(celery_run["home"])) as instance:
        run = run_of(instance, JOB)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        delegated = delegated_steps(instance, run.run_id)
    assert delegated == dict.fromkeys(STEPS, f"nexus-test@{socket.gethostname()}")


def test_partitioned_job_resolves_values_and_the_partition_in_the_worker(
    celery_run: dict[str, Any],
) -> None:
    records = celery_run["partitioned_records"]
    values = {step: record["values"] for step, record in records.items()}
    assert values == {
        # spec per-asset bucket beats the spec's shared one; launch-time shared batch beats the
        # spec's shared one; the secret read from the worker's environment
        "part_extract": {"bucket": "extract-bucket", "batch": 50, "token": TOKEN},
        # launch-time per-asset bucket beats the spec's shared one; spec per-asset batch beats
        # the launch-time shared batch
        "part_transform": {"bucket": "transform-run-bucket", "batch": 7},
        # launch-time per-asset mode (a key with a prefix) beats the spec's per-asset one;
        # the spec's shared bucket
        "mart__part_load": {"bucket": "shared-bucket", "mode": "replace"},
    }
    for step, record in records.items():
        assert record["partition_key"] == PARTITION, step
        # `{{params.bucket}}/{{partition.key}}`, filled with the step's own bucket
        assert record["rendered"] == {"where": f"{values[step]['bucket']}/{PARTITION}"}, step


def test_partitioned_job_ran_in_the_worker_and_its_run_names_the_partition(
    celery_run: dict[str, Any],
) -> None:
    launcher_pid = celery_run["partitioned_launcher_pid"]
    for step, record in celery_run["partitioned_records"].items():
        assert record["pgid"] == celery_run["worker_pid"], step
        assert record["pid"] not in (launcher_pid, celery_run["worker_pid"]), step
        assert record["hostname"] == socket.gethostname(), step

    with dg.DagsterInstance.from_config(str(celery_run["home"])) as instance:
        run = run_of(instance, PARTITIONED_JOB)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags.get("dagster/partition") == PARTITION
        delegated = delegated_steps(instance, run.run_id)
        # each asset was materialized for that partition, and says so in its metadata
        for name in PARTITIONED_ASSETS:
            key = dg.AssetKey.from_user_string(name)
            event = instance.get_latest_materialization_event(key)
            assert event is not None and event.run_id == run.run_id, name
            materialization = event.asset_materialization
            assert materialization is not None, name
            assert materialization.partition == PARTITION, name
            assert materialization.metadata["nexus/partition"].value == PARTITION, name
    assert delegated == dict.fromkeys(PARTITIONED_STEPS, f"nexus-test@{socket.gethostname()}")


def test_a_worker_older_than_the_spec_refuses_and_a_restarted_one_resolves_the_edit(
    celery_run: dict[str, Any],
) -> None:
    job, outside = celery_run["stale"]["job"], celery_run["stale"]["outside"]
    # the job's run: launched with the edited spec, its first step in the worker's older one
    assert f"the spec of job `{JOB}`" in job
    assert "is not the one this run was launched with" in job
    # the run outside spec jobs: the worker's spec is older than the file
    assert f"the `asset_defaults` spec `{JOB}`" in outside
    assert "changed after this process loaded it" in outside
    for output in (job, outside):
        assert "restart them after editing specs" in output
    # no step resolved the old values: the records are those of the first run
    assert celery_run["unchanged"] == celery_run["records"]
    assert celery_run["after_restart"] == {"bucket": "edited", "batch": 7}
