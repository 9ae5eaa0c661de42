"""Runs that the real daemon (`dagster-daemon run`) launches itself, from a run or a backfill the
tests submit: an automatic retry of a failed run (Dagster's `run_retries`, the
`dagster/max_retries` tag) and the runs of a backfill of a partitioned spec job
(tests/locations/daemon_runs_location.py).

- A retry re-executes its parent from failure in a new process, which loads the spec files as
  they are then: `second` edits its spec from `bucket: before` to `bucket: after` and fails, and
  its retry still resolves `before`, the value its run family's root resolved (docs/runs.md,
  "Consistent runs"). For the spec job, from the digest of the root's `nexus/params_digest` tag;
  for a run of the same assets outside spec jobs (the implicit `__ASSET_JOB`), from the digest
  the root claimed in a `nexus/asset_defaults.<spec>.<digest>` tag. The fields of that digest
  come from the instance's key-value store, where the root's step left them.
- A backfill of a partitioned spec job gives each run its partition's config, which holds the
  spec's values (`pd.run_config or backfill_job.run_config` in Dagster's job_backfill.py: the
  backfill's own config is used only for a partition without config, and a spec job's partitions
  always have one). The `params` resource lays the backfill's
  `resources.params.config.values` over each run's, so the runs resolve the backfill's value
  rather than the spec's, which the runs' own config still holds. Before the resource did (the
  package as of the commit before it, 3a4a805, run under these tests), they resolved the spec's,
  and a backfill setting another section, which Dagster drops the same way, ran as if it had not
  set it: now each of its runs fails before the asset's code runs.

One daemon serves the module, with a queued run coordinator dequeuing every second, run retries
enabled, its event log consumer (which launches the retries) iterating every second and its
backfill daemon too (ui_support's `sitecustomize` hook). The spec job is launched with
`dagster job launch`; the other runs and the backfills are submitted through Dagster's GraphQL
schema, executed in this process against the code location loaded in it under the name the
daemon gives it, as the webserver would submit them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.tags import BACKFILL_ID_TAG, PARENT_RUN_ID_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.utils import make_new_run_id
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from .conftest import error_text, new_dagster_home, write_specs
from .ui_support import DAGSTER, INSTANCE_YAML, REPOSITORY, _stop, backfill_interval_hook

LOCATION = Path(__file__).parent / "locations" / "daemon_runs_location.py"
LOCATION_NAME = LOCATION.name  # Dagster's name for a location given as `-f FILE`
RETRIED = "retried_job"
SLICED = "sliced_job"
START_TIMEOUT = 120.0  # for the daemon to load the location and start its daemons
RUN_TIMEOUT = 180.0  # for a run (or a backfill's runs) to end, on a busy machine
POLL = 0.25

# The run coordinator dequeuing every second (ui_support's), and automatic retries.
DAEMON_YAML = INSTANCE_YAML + "run_retries:\n  enabled: true\n"
# The daemons the tests need, each seen alive (a heartbeat) before any run is submitted: the
# event log consumer starts its cursor at the newest event, so a run ending before its first
# iteration would never be retried.
NEEDED = {"QUEUED_RUN_COORDINATOR", "BACKFILL", "EVENT_LOG_CONSUMER"}
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}

pytestmark = [
    pytest.mark.timeout(START_TIMEOUT + 2 * RUN_TIMEOUT + 60),
    # One daemon for the module: its tests run on one xdist worker.
    pytest.mark.xdist_group("test_daemon_runs"),
]

RETRIED_SPEC = """
    asset_defaults: true
    selection: [first, second]
    parameter_values: {bucket: before}
"""
SLICED_SPEC = """
    selection: [sliced]
    parameter_values: {bucket: spec-value}
"""

_LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""
_LAUNCH_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""


@dataclass
class Daemon:
    """The module's `dagster-daemon run`, its instance, and the location loaded here."""

    root: Path
    home: Path
    specs: Path
    out: Path
    log: Path
    env: dict[str, str]
    instance: dg.DagsterInstance
    workspace: WorkspaceProcessContext

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def graphql(self, query: str, variables: Mapping[str, Any]) -> Any:
        result = execute_dagster_graphql(
            self.workspace.create_request_context(), query, dict(variables)
        )
        return result.data

    def repository(self) -> dict[str, str]:
        return {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY}

    def run(self, run_id: str) -> dg.DagsterRun:
        run = self.instance.get_run_by_id(run_id)
        assert run is not None, f"run {run_id} is not in the instance"
        return run

    def wait_for_runs(self, filters: dg.RunsFilter, count: int) -> list[dg.DagsterRun]:
        """The ``count`` runs ``filters`` matches, once each has ended."""
        deadline = time.monotonic() + RUN_TIMEOUT
        runs: list[dg.DagsterRun] = []
        while time.monotonic() < deadline:
            runs = list(self.instance.get_runs(filters))
            if len(runs) >= count and all(run.status in FINISHED for run in runs):
                return runs
            time.sleep(POLL)
        states = {run.run_id: run.status.value for run in runs}
        pytest.fail(
            f"no {count} ended runs for {filters} within {RUN_TIMEOUT:.0f} s: {states}\n"
            f"{self.log_tail()}"
        )

    def errors(self, run_id: str) -> str:
        """Every error of the run (its steps', its resources'), with their causes."""
        return error_text(self.instance.all_logs(run_id))

    def materialized_params(self, run_id: str, asset: str) -> dict[str, Any]:
        """The metadata of ``asset``'s materialization in the run."""
        for entry in self.instance.all_logs(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ):
            materialization = entry.asset_materialization
            assert materialization is not None
            if materialization.asset_key == dg.AssetKey(asset):
                return {k: v.value for k, v in materialization.metadata.items()}
        pytest.fail(f"no materialization of {asset} in run {run_id}")

    def retried_spec(self) -> Path:
        """The spec of `first` and `second` as the tests start from, and `second` set to fail
        once after editing it."""
        spec = write_specs(self.specs, {f"{RETRIED}.yaml": RETRIED_SPEC}) / f"{RETRIED}.yaml"
        (self.out / "fail-once").write_text(str(spec))
        return spec


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("daemon_runs")
    specs = write_specs(
        root / "specs", {f"{RETRIED}.yaml": RETRIED_SPEC, f"{SLICED}.yaml": SLICED_SPEC}
    )
    out = root / "out"
    out.mkdir()
    home = new_dagster_home(root / "home")
    with (home / "dagster.yaml").open("a") as config:
        config.write(DAEMON_YAML)
    python_path = backfill_interval_hook(root / "hooks")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NEXUS_TEST_SPECS": str(specs),
        "PROBE_OUT": str(out),
        "PYTHONPATH": python_path,
        "DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS": "1",
    }
    log = root / "daemon.log"
    command = [str(DAGSTER.parent / "dagster-daemon"), "run", "-f", str(LOCATION)]
    with contextlib.ExitStack() as stack:
        # The instance's SQLite databases are made here, before the daemon starts: two processes
        # making them at once can break one's schema migration.
        instance = stack.enter_context(dg.DagsterInstance.from_config(str(home)))
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        stack.callback(_stop, process)
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        # The location, loaded in this process too, reads them when imported.
        patch.setenv("NEXUS_TEST_SPECS", str(specs))
        patch.setenv("PROBE_OUT", str(out))
        origin = InProcessCodeLocationOrigin(
            LoadableTargetOrigin(executable_path=sys.executable, python_file=str(LOCATION)),
            location_name=LOCATION_NAME,
        )
        workspace = stack.enter_context(
            WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin))
        )
        running = Daemon(root, home, specs, out, log, env, instance, workspace)
        deadline = time.monotonic() + START_TIMEOUT
        while not instance.get_daemon_heartbeats().keys() >= NEEDED:
            assert process.poll() is None, f"the daemon exited:\n{running.log_tail()}"
            if time.monotonic() > deadline:
                pytest.fail(f"the daemon not ready in {START_TIMEOUT:.0f} s:\n{running.log_tail()}")
            time.sleep(POLL)
        yield running


def _check_retry(daemon: Daemon, root_id: str, spec: Path) -> dg.DagsterRun:
    """The retry of run ``root_id``, once it has ended: it succeeded, and `second` resolved the
    root's value in a process that loaded the edited spec."""
    (root,) = daemon.wait_for_runs(dg.RunsFilter(run_ids=[root_id]), 1)
    assert root.status == dg.DagsterRunStatus.FAILURE, daemon.log_tail()
    assert "failing once, after editing" in daemon.errors(root_id)
    assert "bucket: after" in spec.read_text()
    (retry,) = daemon.wait_for_runs(dg.RunsFilter(tags={PARENT_RUN_ID_TAG: root_id}), 1)
    assert retry.status == dg.DagsterRunStatus.SUCCESS, daemon.errors(retry.run_id)
    assert (retry.parent_run_id, retry.root_run_id) == (root_id, root_id)
    assert retry.tags.get("dagster/retry_number") == "1"
    for run in (root, retry):  # each was queued: the daemon launched it
        assert daemon.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED)
    written = json.loads((daemon.out / f"second-{retry.run_id}.json").read_text())
    assert written["values"] == {"bucket": "before"}
    assert written["loaded_after"][f"{RETRIED}.yaml"] is True
    metadata = daemon.materialized_params(retry.run_id, "second")
    assert metadata["nexus/params"] == {
        "bucket": {"value": "before", "source": "default", "field": "bucket"}
    }
    return retry


def test_retry_of_a_spec_job_resolves_the_spec_as_its_root_did(daemon: Daemon) -> None:
    spec = daemon.retried_spec()
    run_id = make_new_run_id()
    tags = json.dumps({"dagster/max_retries": "1"})
    command = [str(DAGSTER), "job", "launch", "-f", str(LOCATION), "-j", RETRIED]
    command += ["--run-id", run_id, "--tags", tags]
    launched = subprocess.run(
        command, cwd=daemon.root, env=daemon.env, capture_output=True, text=True,
        timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stdout + launched.stderr

    retry = _check_retry(daemon, run_id, spec)
    assert retry.job_name == RETRIED
    assert "nexus/spec" not in daemon.materialized_params(retry.run_id, "second")


def test_retry_of_a_run_outside_spec_jobs_resolves_the_spec_as_its_root_did(
    daemon: Daemon,
) -> None:
    spec = daemon.retried_spec()
    params = {
        "selector": {
            **daemon.repository(),
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": ["first"]}, {"path": ["second"]}],
        },
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/max_retries", "value": "1"}]},
    }
    answer = daemon.graphql(_LAUNCH_RUN, {"params": params})["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    run_id = answer["run"]["runId"]

    retry = _check_retry(daemon, run_id, spec)
    assert retry.job_name == "__ASSET_JOB"
    # The root claimed the spec's version for the family; the retry holds that claim (its
    # parent's tags), and made none of the version its own process loaded.
    claims = [
        k for k in daemon.run(run_id).tags if k.startswith(f"nexus/asset_defaults.{RETRIED}.")
    ]
    assert len(claims) == 1, daemon.run(run_id).tags
    assert [k for k in retry.tags if k.startswith("nexus/asset_defaults.")] == claims
    assert daemon.materialized_params(retry.run_id, "second")["nexus/spec"] == RETRIED


def _backfill(daemon: Daemon, run_config: Mapping[str, Any]) -> list[dg.DagsterRun]:
    """The runs of a backfill of both partitions of the partitioned spec job with
    ``run_config``, once each has ended."""
    params = {
        "selector": {
            "partitionSetName": f"{SLICED}_partition_set",
            "repositorySelector": daemon.repository(),
        },
        "partitionNames": ["a", "b"],
        "runConfigData": dict(run_config),
    }
    answer = daemon.graphql(_LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    backfill_id = answer["backfillId"]
    runs = daemon.wait_for_runs(dg.RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}), 2)
    assert sorted(run.tags["dagster/partition"] for run in runs) == ["a", "b"]
    return runs


def test_a_backfill_of_a_partitioned_spec_job_lays_its_values_over_each_run(
    daemon: Daemon,
) -> None:
    values = {"resources": {"params": {"config": {"values": {"bucket": "from-backfill"}}}}}
    runs = _backfill(daemon, values)
    for run in runs:
        assert run.status == dg.DagsterRunStatus.SUCCESS, daemon.errors(run.run_id)
        partition = run.tags["dagster/partition"]
        # Dagster gave the run its partition's config, with the spec's value...
        config: Any = run.run_config
        assert config["resources"]["params"]["config"]["values"] == {"bucket": "spec-value"}
        # ...and the asset resolved the backfill's.
        written = daemon.out / f"sliced-{partition}-{run.run_id}.json"
        assert json.loads(written.read_text()) == {"bucket": "from-backfill"}
        recorded = daemon.materialized_params(run.run_id, "sliced")
        assert recorded["nexus/params"]["bucket"]["value"] == "from-backfill"


def test_a_backfill_of_a_partitioned_spec_job_setting_more_fails_its_runs(daemon: Daemon) -> None:
    run_config = {
        "resources": {"params": {"config": {"values": {"bucket": "from-backfill"}}}},
        "loggers": {"console": {"config": {"log_level": "DEBUG"}}},
    }
    runs = _backfill(daemon, run_config)
    for run in runs:
        assert run.status == dg.DagsterRunStatus.FAILURE
        errors = daemon.errors(run.run_id)
        expected = "sets `loggers`, which Dagster does not pass to the runs of a partitioned job"
        assert expected in errors, errors
        # It failed as its resources started: no step started, nothing was written.
        assert not daemon.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        assert not list(daemon.out.glob(f"sliced-*-{run.run_id}.json"))
