"""The plugin in Dagster's production shape, every process real and on loopback.

Postgres storage (Debian's server, started in a temporary folder), one code location server
(`dagster code-server start`, which can reload), `dagster-daemon run` (schedules, the run queue,
run monitoring) and `dagster-webserver`. The instance is deploy/dagster.yaml (with one setting
added: the daemon takes runs off the queue every second, not every 5 s) and the webserver and
the daemon read deploy/workspace.yaml as it is: every connection detail comes from the
environment. The code location is a copy of the repository's example (definitions.py, job_specs/,
data/) with three changes: in its `build_definitions` call, `on_spec_error="isolate"`, so that a
broken spec leaves the other jobs running, and `executor=` Dagster's multiprocess executor (its
default: each step in a process of its own) with the `forkserver` start method; and one more
spec, `deploy_minutely_job`, whose schedule runs every minute. Its spec cache is filled by
`nexus-dagster validate` and its specs folder made read-only before the code server first loads
it, as deploy/Dockerfile does.

One module fixture starts everything once, and one test walks through the cases in a fixed
order, each a function below (a to g): later cases see what earlier ones did (runs in the
instance, edited specs). The schedule's case (b) is split around the others: Dagster's scheduler
iterates on the minute, so its first tick comes up to a minute after the daemon starts, while
cases a, c and d run; case e waits, if need be, for that tick's run to succeed before it kills
the code server (a tick while the server is down would fail, and the next come a minute later),
and the test checks the tick's run last. The schedule ticks all along: the other cases tell
their runs from its runs by job name and run id, its spec is never edited, and its runs may only
fail if they ticked between case e's last look at them and the restarted code server being up.

The step processes of a run are forked from a server process that imported Dagster and the
plugin once for the run, instead of each importing them again (`EXECUTOR_CONFIG` in
tests/deploy_support.py); each still imports the location and reads its specs anew, as case d
needs.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import errno
import json
import os
import signal
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from .deploy_support import (
    FINISHED,
    RUN_TIMEOUT,
    START_TIMEOUT,
    Deployment,
    require_postgres,
    start_deployment,
    wait_until,
)
from .ui_support import bucket_rows, read_csv_rows

pytestmark = pytest.mark.timeout(900)

# Dagster's scheduler iterates when the daemon starts, which records a schedule RUNNING by default
# as started then, and on each minute: the first tick comes within a minute of the daemon's start
# (the deployment starts the daemon once the location is loaded). A tick while the code server is
# down fails and a run in flight dies with it, and the next tick comes a minute later: case e
# waits for the first tick's run to succeed before it kills the code server.
SCHEDULE_TIMEOUT = 150.0
SCHEDULE = "deploy_every_minute"
MINUTELY_JOB = "deploy_minutely_job"
MINUTELY_SPEC = (
    "description: Sales ingestion every minute\n"
    "selection: [sales_ingestion_asset]\n"
    "parameter_values:\n  target_bucket: minutely-lake\n"
    "ops_config:\n  sales_ingestion_asset:\n    source_bucket: sales-raw\n"
    "schedules:\n"
    f"  - name: {SCHEDULE}\n"
    '    cron: "* * * * *"\n'
    "    default_status: RUNNING\n"
    "    parameter_values:\n"
    "      sales_ingestion_asset.source_bucket: sales-daily\n"
)
# Tag of a schedule's run: the tick's time (ISO 8601, UTC). Dagster's SCHEDULED_EXECUTION_TIME_TAG.
SCHEDULED_TIME_TAG = ".dagster/scheduled_execution_time"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    pg_bin = require_postgres()
    started = time.monotonic()
    running = start_deployment(
        tmp_path_factory.mktemp("deployment"),
        pg_bin,
        extra_specs={f"{MINUTELY_JOB}.yaml": MINUTELY_SPEC},
    )
    print(f"deployment started in {time.monotonic() - started:.1f} s")
    try:
        # This process reads the instance too (run status, events): deploy/dagster.yaml takes
        # the Postgres connection from the environment.
        with pytest.MonkeyPatch.context() as patch:
            for name, value in running.env.items():
                if name.startswith("DAGSTER_"):
                    patch.setenv(name, value)
            yield running
    finally:
        running.stop()


def test_the_example_location_in_production_shape(deployment: Deployment) -> None:
    runs: dict[str, str] = {}  # run ids of the cases, for the command line case
    timed(b_the_schedule_is_loaded, deployment)
    runs["a"] = timed(a_launched_run_is_queued_then_run_by_the_daemon, deployment)
    runs["c"] = timed(c_an_edited_spec_reloaded_gives_the_next_run_its_values, deployment)
    timed(d_a_run_in_flight_during_an_edit_never_mixes_values, deployment)
    runs["e"], restarted = timed(
        e_a_killed_code_server_restarts_with_a_broken_spec_isolated, deployment
    )
    timed(f_the_command_line_reads_runs_from_postgres, deployment, runs)
    timed(g_the_code_server_loaded_read_only_specs_from_the_prefilled_cache, deployment)
    timed(b_the_schedule_ticked_through_the_daemon, deployment, restarted)


def timed(case: Callable[..., Any], *args: Any) -> Any:
    """Run one case; print how long it took (`pytest -s` shows it)."""
    started = time.monotonic()
    try:
        return case(*args)
    finally:
        print(f"{case.__name__}: {time.monotonic() - started:.1f} s")


# --- the cases, in the order the test runs them ------------------------------------------------


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


def values(recorded: dict[str, dict[str, tuple[Any, str]]]) -> dict[str, dict[str, Any]]:
    return {asset: {k: v for k, (v, _) in params.items()} for asset, params in recorded.items()}


def b_the_schedule_is_loaded(deployment: Deployment) -> None:
    """A spec's schedule, part one: the spec that was in the specs folder from the start (checked
    by `validate`, read-only, from the cache) is a job with its schedule."""
    assert MINUTELY_JOB in deployment.jobs()
    assert SCHEDULE in deployment.schedules()


def a_launched_run_is_queued_then_run_by_the_daemon(deployment: Deployment) -> str:
    run_id, status = deployment.launch(
        "sales_job", {"marketing_ingestion_asset.source_bucket": "mkt-raw"}
    )
    assert status == "QUEUED"  # the QueuedRunCoordinator keeps it for the daemon
    deployment.wait_for_success(run_id)

    kinds = [e.dagster_event.event_type for e in deployment.events(run_id) if e.dagster_event]
    order = [
        dg.DagsterEventType.RUN_ENQUEUED,
        dg.DagsterEventType.RUN_STARTING,  # only the daemon takes a run off the queue
        dg.DagsterEventType.RUN_START,
        dg.DagsterEventType.RUN_SUCCESS,
    ]
    assert [kind for kind in kinds if kind in order] == order
    assert deployment.recorded_params(run_id) == {
        "sales_ingestion_asset": {
            "source_bucket": ("sales-raw", "default"),
            "target_bucket": ("analytics-lake", "default"),
        },
        "marketing_ingestion_asset": {
            "source_bucket": ("mkt-raw", "per-asset"),
            "target_bucket": ("analytics-lake", "default"),
        },
    }
    data = deployment.data
    lake = data / "analytics-lake"
    assert read_csv_rows(lake / "sales.csv") == bucket_rows(data / "sales-raw")
    assert read_csv_rows(lake / "marketing.csv") == bucket_rows(data / "mkt-raw")
    return run_id


def c_an_edited_spec_reloaded_gives_the_next_run_its_values(deployment: Deployment) -> str:
    edit(
        deployment.specs / "sales_job.yaml",
        "target_bucket: analytics-lake",
        "target_bucket: edited-lake",
    )
    deployment.reload_location()
    run_id, _ = deployment.launch(
        "sales_job", {"marketing_ingestion_asset.source_bucket": "mkt-raw"}
    )
    deployment.wait_for_success(run_id)
    assert deployment.recorded_params(run_id) == {
        "sales_ingestion_asset": {
            "source_bucket": ("sales-raw", "default"),
            "target_bucket": ("edited-lake", "default"),
        },
        "marketing_ingestion_asset": {
            "source_bucket": ("mkt-raw", "per-asset"),
            "target_bucket": ("edited-lake", "default"),
        },
    }
    assert read_csv_rows(deployment.data / "edited-lake" / "sales.csv") == bucket_rows(
        deployment.data / "sales-raw"
    )
    return run_id


def _open_writer(fifo: Path) -> int | None:
    # Opening a FIFO's write end without blocking works only once a reader holds it open.
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ENXIO:
            return None
        raise


def d_a_run_in_flight_during_an_edit_never_mixes_values(deployment: Deployment) -> None:
    # daily_report_job: the two ingestion steps, then `report` in a step process of its own
    # (multiprocess executor). The sales step reads its source bucket, which here holds a FIFO:
    # it blocks in the read, after resolving its values, until the test writes the rows.
    data = deployment.data
    gate = data / "gate-raw"
    gate.mkdir()
    fifo = gate / "sales.csv"
    os.mkfifo(fifo)
    launched = {"sales_ingestion_asset.source_bucket": "gate-raw"}
    run_id, _ = deployment.launch("daily_report_job", launched)

    def sales_step_reading() -> int | None:
        if deployment.run(run_id).status in FINISHED:
            pytest.fail(
                f"run {run_id} ended before its sales step read:\n{deployment.failures(run_id)}"
            )
        return _open_writer(fifo)

    writer = wait_until(
        "the sales step to read its source", sales_step_reading, RUN_TIMEOUT, deployment.logs
    )
    try:
        # The edit and the reload while the run is in flight.
        edit(deployment.specs / "daily_report_job.yaml", "  min_amount: 50\n", "  min_amount: 75\n")
        deployment.reload_location()
    finally:
        # The rows of sales-raw, through the FIFO: the sales step's read ends.
        os.set_blocking(writer, True)
        header = sorted((data / "sales-raw").glob("*.csv"))[0].read_text().splitlines()[0]
        rows = [header, *bucket_rows(data / "sales-raw")]
        os.write(writer, ("\n".join(rows) + "\n").encode())
        os.close(writer)
    status = deployment.wait_for_run(run_id)
    fifo.unlink()

    launch_values: dict[str, dict[str, Any]] = {
        "sales_ingestion_asset": {
            "source_bucket": "gate-raw",
            "target_bucket": "reports-lake",
            "batch_size": 500,
        },
        "marketing_ingestion_asset": {"source_bucket": "mkt-raw", "target_bucket": "reports-lake"},
        "report": {"min_amount": 50.0, "target_bucket": "reports-lake"},
    }
    # Every step resolved the launch's values: the steps that started after the edit loaded the
    # edited spec, and took the fields the run was launched with from the instance, where the
    # first step left them.
    assert status == dg.DagsterRunStatus.SUCCESS, deployment.failures(run_id)
    recorded = values(deployment.recorded_params(run_id))
    assert recorded == launch_values
    print(f"in-flight run ended {status.value}; materialized: {sorted(recorded)}")


def _scheduled_runs(
    deployment: Deployment, which: Callable[[dg.DagsterRun], bool]
) -> list[dg.DagsterRun]:
    """The runs of the schedule for which ``which`` holds, newest first."""
    with deployment.instance() as instance:
        scheduled = instance.get_runs(dg.RunsFilter(tags={"dagster/schedule_name": SCHEDULE}))
    return [run for run in scheduled if which(run)]


def _scheduled_success(
    deployment: Deployment, since: datetime.datetime | None
) -> dg.DagsterRun | None:
    """The schedule's first successful run, or None; fails on a run of it that ended otherwise
    and ticked after ``since`` (any, if None)."""
    scheduled = _scheduled_runs(deployment, lambda run: True)
    for run in scheduled:
        ticked = datetime.datetime.fromisoformat(run.tags[SCHEDULED_TIME_TAG])
        if run.status in FINISHED - {dg.DagsterRunStatus.SUCCESS} and (
            since is None or ticked > since
        ):
            pytest.fail(
                f"run {run.run_id} of schedule {SCHEDULE} (tick {ticked}) ended "
                f"{run.status.value}:\n{deployment.failures(run.run_id)}\n{deployment.logs()}"
            )
    succeeded = [run for run in scheduled if run.status == dg.DagsterRunStatus.SUCCESS]
    return succeeded[-1] if succeeded else None  # the first to tick (newest come first)


def _kill_and_restart_code_server(deployment: Deployment) -> dict[str, str]:
    """SIGKILL the code server's process group, start it again on its port, and wait for the
    webserver to show the location from the new server; returns its jobs."""
    # A tick while the server is down fails, and a run of the schedule in flight would die with
    # it: the kill waits until the schedule's first tick has a successful run (which case b
    # checks) and none of its runs is in flight. Every run of it so far must have succeeded
    # (nothing killed them); one that ticks between this look and the restart may fail.
    wait_until(
        f"a successful run of schedule {SCHEDULE}, and none in flight",
        lambda: (
            _scheduled_success(deployment, None) is not None
            and not _scheduled_runs(deployment, lambda run: run.status not in FINISHED)
        ),
        SCHEDULE_TIMEOUT + RUN_TIMEOUT,
        deployment.logs,
    )
    before = deployment.version_key()
    process = deployment.processes["code_server"]
    deployment.kill("code_server", signal.SIGKILL)
    assert process.poll() is not None
    deployment.start_code_server()
    # No reload is asked for: the webserver's watch thread polls the server's id, sees a new
    # one and fetches the location's snapshot again.
    return wait_until(
        "the webserver to show the restarted code server's location",
        lambda: deployment.loaded_jobs(not_version=before),
        START_TIMEOUT,
        deployment.logs,
    )


def e_a_killed_code_server_restarts_with_a_broken_spec_isolated(
    deployment: Deployment,
) -> tuple[str, datetime.datetime]:
    """Returns the run id of the sales_job run, and when the restarted code server was up."""
    broken = deployment.specs / "broken_deploy_job.yaml"
    broken.write_text(
        "name: broken_deploy_job\nselection:\n  - sales_ingestion_asset\n  - no_such_asset\n"
    )
    try:
        # `validate` checks the specs while the code server is killed and restarted.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            validating = pool.submit(
                deployment.nexus, "validate", "-f", str(deployment.location_file)
            )
            jobs = _kill_and_restart_code_server(deployment)
            restarted = datetime.datetime.now(datetime.timezone.utc)
            checked = validating.result()
        assert checked.returncode == 1, checked.stdout + checked.stderr
        # `path:line:col: message`; compared from the line number on, whatever the path's form.
        problems = [
            line.split("broken_deploy_job.yaml:", 1)[1]
            for line in (checked.stdout + checked.stderr).splitlines()
            if "broken_deploy_job.yaml:" in line
        ]
        assert any("no_such_asset" in problem for problem in problems), checked.stdout

        # Every other job still loads and launches (on_spec_error="isolate")...
        assert {"sales_job", "daily_report_job", "daily_orders_job", MINUTELY_JOB} <= set(jobs)
        for problem in problems:
            assert problem in jobs["broken_deploy_job"], jobs["broken_deploy_job"]
        run_id, _ = deployment.launch(
            "sales_job", {"marketing_ingestion_asset.source_bucket": "mkt-raw"}
        )
        # (the broken job's run, checked below, runs beside it)
        broken_run_id, _ = deployment.launch("broken_deploy_job", {})
        deployment.wait_for_success(run_id)
        assert values(deployment.recorded_params(run_id))["sales_ingestion_asset"] == {
            "source_bucket": "sales-raw",
            "target_bucket": "edited-lake",
        }
        # ...and the broken spec is a job that shows its problem lines (checked above) and whose
        # run fails with them when it starts, before any asset's code runs.
        assert deployment.wait_for_run(broken_run_id) == dg.DagsterRunStatus.FAILURE
        failures = deployment.failures(broken_run_id)
        for problem in problems:
            assert problem in failures, failures
        events = deployment.events(broken_run_id)
        assert not [e for e in events if e.asset_materialization is not None]
        assert not [e for e in events if e.step_key == "sales_ingestion_asset"]
    finally:
        broken.unlink()
        deployment.reload_location()
    assert "broken_deploy_job" not in deployment.jobs()
    return run_id, restarted


def f_the_command_line_reads_runs_from_postgres(
    deployment: Deployment, runs: dict[str, str]
) -> None:
    location = ["-f", str(deployment.location_file)]
    # `runs` and `diff` only read: they run side by side.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        listing = pool.submit(deployment.nexus, "runs", "sales_job", "--json", *location)
        diffing = pool.submit(deployment.nexus, "diff", runs["a"], runs["c"], "--json", *location)
        listed, diff = listing.result(), diffing.result()
    assert listed.returncode == 0, listed.stdout + listed.stderr
    found = {entry["run_id"]: entry for entry in json.loads(listed.stdout)}
    assert {runs["a"], runs["c"], runs["e"]} <= set(found)
    assert found[runs["a"]]["status"] == "SUCCESS"
    assert found[runs["a"]]["values"] == {"marketing_ingestion_asset.source_bucket": "mkt-raw"}

    assert diff.returncode == 1, diff.stdout + diff.stderr  # 1: the runs differ
    assets = json.loads(diff.stdout)["assets"]
    for asset in ("sales_ingestion_asset", "marketing_ingestion_asset"):
        assert set(assets[asset]) == {"target_bucket"}
        assert assets[asset]["target_bucket"]["a"]["value"] == "analytics-lake"
        assert assets[asset]["target_bucket"]["b"]["value"] == "edited-lake"

    updated = deployment.nexus("update", "sales_job", "--from-run", runs["a"], *location)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "set ops_config.marketing_ingestion_asset.source_bucket" in updated.stdout
    # The run's values are now the spec's own: a launch with no config at all takes them.
    deployment.reload_location()
    run_id, _ = deployment.launch("sales_job", {})
    deployment.wait_for_success(run_id)
    assert deployment.recorded_params(run_id)["marketing_ingestion_asset"] == {
        "source_bucket": ("mkt-raw", "default"),
        "target_bucket": ("edited-lake", "default"),
    }


def g_the_code_server_loaded_read_only_specs_from_the_prefilled_cache(
    deployment: Deployment,
) -> None:
    check = deployment.load_check
    # `nexus-dagster validate` filled the cache before the code server started...
    assert check["cache_before_load"], "validate left no cache file"
    # ...the code server loaded with the specs folder read-only (no write bit for anyone; run
    # as root, the tests are not stopped by it, so what counts is that nothing was written)...
    assert f"{MINUTELY_JOB}.yaml" in check["specs_before_load"]
    for name, (mode, _, _) in check["specs_before_load"].items():
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), name
    assert check["specs_after_load"] == check["specs_before_load"]
    # ...and wrote nothing to the cache: every spec was taken from its entry (an entry that did
    # not fit would have been checked again and the file rewritten).
    assert check["cache_after_load"] == check["cache_before_load"]


def b_the_schedule_ticked_through_the_daemon(
    deployment: Deployment, restarted: datetime.datetime
) -> None:
    """A spec's schedule, part two: the daemon's scheduler ticked it (while cases a to d ran, or
    before case e killed the code server) and the run took the schedule's values and the
    spec's."""
    # Only a run that ticked while case e killed and restarted the code server may fail.
    run = wait_until(
        f"a successful run of schedule {SCHEDULE}",
        lambda: _scheduled_success(deployment, restarted),
        SCHEDULE_TIMEOUT + RUN_TIMEOUT,
        deployment.logs,
    )
    assert run.job_name == MINUTELY_JOB
    # Launched by the scheduler into the queue, and taken off it by the daemon.
    kinds = [e.dagster_event.event_type for e in deployment.events(run.run_id) if e.dagster_event]
    assert dg.DagsterEventType.RUN_ENQUEUED in kinds
    assert dg.DagsterEventType.RUN_STARTING in kinds
    assert values(deployment.recorded_params(run.run_id)) == {
        "sales_ingestion_asset": {
            "source_bucket": "sales-daily",
            "target_bucket": "minutely-lake",
        }
    }
    # Every tick writes the same file again: compared when no run is halfway through it.
    data = deployment.data
    wait_until(
        "minutely-lake/sales.csv to hold the rows of sales-daily",
        lambda: (
            read_csv_rows(data / "minutely-lake" / "sales.csv") == bucket_rows(data / "sales-daily")
        ),
        10,
        lambda: f"{read_csv_rows(data / 'minutely-lake' / 'sales.csv')}",
    )
