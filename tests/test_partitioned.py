"""Partitioned spec jobs (docs/partitions.md) and Dagster's own run config sections (docs/spec-format.md), run for real:
in process, and through the ``dagster`` CLI with a persistent instance."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pytest
import yaml

from nexus_dagster import (
    NexusConfigError,
    NexusParams,
    NexusSpecError,
    build_definitions,
    nexus_run_config,
    nexus_run_request,
)

from .conftest import write_specs
from .forked_dagster import dagster

UTC = timezone.utc  # `datetime.UTC` is Python 3.11's

LOCATIONS = Path(__file__).parent / "locations"
LOCATION = LOCATIONS / "partitioned_location.py"
TOKEN = "part-token-value"
CLI_TIMEOUT = 180  # seconds, for a `dagster` command that runs a job or a backfill


@cache
def location() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nexus_partitioned_location", LOCATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def defs() -> dg.Definitions:
    return location().defs


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_PART_TOKEN", TOKEN)


def seen(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """What each materialized asset resolved and rendered, from its metadata."""
    out: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = materialization.metadata
        out[materialization.asset_key.to_user_string()] = {
            name: getattr(value, "value", value) for name, value in metadata.items()
        }
    return out


def values_config(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"resources": {"params": {"config": {"values": dict(values)}}}}


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        if event.event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
            texts.append(event.message or "")
            data = event.event_specific_data
            error = getattr(data, "error", None)
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)


# --- the job and its partitions -----------------------------------------------------------


def test_a_spec_over_partitioned_assets_is_a_partitioned_job() -> None:
    job = defs().resolve_job_def("daily_job")
    assert job.partitions_def == location().daily
    assert job.config_mapping is None
    assert job.partitioned_config is not None
    # each partition's run config holds the spec's values, by their flat names
    assert job.partitioned_config.get_run_config_for_partition_key("2026-11-05") == values_config(
        {
            "target": "lake",
            "d_extract.source_bucket": "raw",
            "d_load.token": {"env": "NEXUS_PART_TOKEN"},
        }
    )
    assert "Partitioned by Daily, starting 2026-11-01 UTC" in (job.description or "")
    assert job.tags["nexus/params_digest"]


@pytest.mark.floor
def test_a_partition_run_resolves_the_spec_values_and_its_own_partition() -> None:
    job = defs().resolve_job_def("daily_job")
    result = job.execute_in_process(
        partition_key="2026-11-05", instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    got = seen(result)
    assert got["d_extract"]["values"] == {"source_bucket": "raw", "target": "lake"}
    assert got["d_extract"]["rendered"] == {
        "path": "raw/2026-11-05.csv",
        "window": "2026-11-05T00:00:00+00:00..2026-11-06T00:00:00+00:00",
    }
    assert got["d_load"]["values"] == {"target": "lake", "token": TOKEN}
    assert got["d_extract"]["nexus/partition"] == "2026-11-05"
    # the `nexus/params` metadata says where each value came from; the secret is never shown
    table = got["d_load"]["nexus/params"]
    assert table["token"] == {
        "value": "***",
        "source": "default",
        "field": "d_load.token",
        "reference": {"env": "NEXUS_PART_TOKEN"},
    }
    assert TOKEN not in json.dumps(table)
    # the unpartitioned asset beside them runs in the same job
    assert got["d_report"]["rendered"] == {"note": "unpartitioned beside lake"}


def test_a_launch_that_leaves_names_out_gets_the_spec_values() -> None:
    job = defs().resolve_job_def("daily_job")
    result = job.execute_in_process(
        partition_key="2026-11-06",
        run_config=values_config({"d_load.mode": "replace", "target": "other"}),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    got = seen(result)
    assert got["d_extract"]["values"] == {"source_bucket": "raw", "target": "other"}
    assert got["d_load"]["values"] == {"target": "other", "mode": "replace", "token": TOKEN}
    table = got["d_load"]["nexus/params"]
    assert table["mode"]["source"] == "per-asset"
    assert table["target"]["source"] == "shared"


@pytest.mark.parametrize(
    ("job_name", "key", "field", "expected"),
    [
        ("static_job", "us", "rendered", {"where": "regional/us"}),
        (
            "multi_job",
            "2026-11-03|eu",
            "rendered",
            {"cell": "2026-11-03|eu", "day": "2026-11-03T00:00:00+00:00"},
        ),
        ("dynamic_job", "drop_7.csv", "rendered", {"file": "incoming/drop_7.csv"}),
    ],
)
def test_static_multi_and_dynamic_partitions(
    job_name: str, key: str, field: str, expected: Any
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("files", ["drop_7.csv"])
    job = defs().resolve_job_def(job_name)
    run_config = values_config({"m_cell.scale": 3}) if job_name == "multi_job" else None
    result = job.execute_in_process(partition_key=key, run_config=run_config, instance=instance)
    assert result.success
    [(asset, got)] = seen(result).items()
    assert got[field] == expected
    assert got["partition_key"] == key


def test_a_subset_of_a_partitioned_job_runs_its_assets_only() -> None:
    job = defs().resolve_job_def("daily_job")
    result = job.execute_in_process(
        partition_key="2026-11-07",
        asset_selection=[dg.AssetKey("d_extract")],
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert set(seen(result)) == {"d_extract"}


# --- checks when the run starts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({"nope": 1}, ["unknown field `nope`"]),
        ({"d_extract.sourc_bucket": "x"}, ["did you mean `d_extract.source_bucket`?"]),
        ({"d_load.mode": 5}, ["`d_load.mode` does not fit type `string`"]),
        ({"d_load.token": "plain-secret-text"}, ["takes only an environment reference"]),
    ],
)
def test_wrong_values_fail_the_run_before_any_asset_runs(
    values: dict[str, Any], fragments: list[str]
) -> None:
    job = defs().resolve_job_def("daily_job")
    result = job.execute_in_process(
        partition_key="2026-11-05",
        run_config=values_config(values),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert not result.get_asset_materialization_events()
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START]
    text = failure_text(result)
    for fragment in fragments:
        assert fragment in text
    assert "resources.params.config.values" in text
    assert "plain-secret-text" not in text


def test_a_required_value_left_empty_fails_the_run_naming_the_field() -> None:
    job = defs().resolve_job_def("multi_job")
    result = job.execute_in_process(
        partition_key="2026-11-03|eu", instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    assert "required field `m_cell.scale` has no value" in failure_text(result)
    assert not result.get_asset_materialization_events()


def test_the_resources_internal_config_is_refused_in_a_partitioned_job() -> None:
    job = defs().resolve_job_def("static_job")
    result = job.execute_in_process(
        partition_key="eu",
        run_config={"resources": {"params": {"config": {"config": {"bucket": "sneaky"}}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert "`resources.params.config.config` is the plugin's own" in failure_text(result)


def test_values_that_are_not_a_mapping_are_refused_before_the_run() -> None:
    # Dagster's own config check, naming the path, before any resource or asset runs.
    job = defs().resolve_job_def("static_job")
    with pytest.raises(dg.DagsterInvalidConfigError) as err:
        job.execute_in_process(
            partition_key="eu",
            run_config={"resources": {"params": {"config": {"values": ["eu"]}}}},
            instance=dg.DagsterInstance.ephemeral(),
        )
    assert "root:resources:params:config:values must be dict" in str(err.value)


# --- Dagster's own sections ---------------------------------------------------------------


def test_op_config_and_launch_resources_pass_through_an_unpartitioned_spec_job() -> None:
    job = defs().resolve_job_def("config_job")
    fields = job.run_config_schema.config_type.fields
    assert {"bucket", "ops", "resources", "execution", "loggers"} <= set(fields)
    result = job.execute_in_process(
        run_config={
            "u_config.bucket": "own",
            "ops": {"u_config": {"config": {"limit": 3}}},
            "resources": {"warehouse": {"config": {"dsn": "sqlite://launch"}}},
            "execution": {"config": {"in_process": {}}},
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    got = seen(result)["u_config"]
    assert (got["limit"], got["dsn"], got["values"]) == (3, "sqlite://launch", {"bucket": "own"})


@pytest.mark.parametrize(
    ("run_config", "expected"),
    [
        (
            {"ops": {"u_config": {"config": {"limit": "three"}}}, "resources": {}},
            "root:ops:u_config:config:limit",
        ),
        (
            {"resources": {"warehouse": {"config": {"dsn": "x"}}}},
            'Missing required config entry "ops"',
        ),
        (
            {
                "ops": {"u_config": {"config": {"limit": 1}}},
                "resources": {"params": {"config": {}}},
            },
            "root:resources:params",
        ),
        ({"opz": {}}, 'Received unexpected config entry "opz"'),
    ],
)
def test_dagster_checks_its_sections_before_the_run_naming_the_field(
    run_config: dict[str, Any], expected: str
) -> None:
    job = defs().resolve_job_def("config_job")
    with pytest.raises(dg.DagsterInvalidConfigError, match=expected.replace(":", ".")):
        job.execute_in_process(run_config=run_config, instance=dg.DagsterInstance.ephemeral())


def test_sections_stand_where_dagster_has_them_in_a_partitioned_job(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {"mixed_job.yaml": "selection: [s_region]\nparameter_values: {bucket: b}\n"},
    )
    built = build_definitions(
        folder, assets=location().ASSETS, resources={"warehouse": location().Warehouse(dsn="x")}
    )
    job = built.resolve_job_def("mixed_job")
    result = job.execute_in_process(
        partition_key="eu",
        run_config={**values_config({}), "execution": {"config": {"in_process": {}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success


# --- schedules, sensors and the run helpers -----------------------------------------------


def _evaluate_schedule(name: str, at: datetime) -> Any:
    schedule = defs().resolve_schedule_def(name)
    with dg.build_schedule_context(
        scheduled_execution_time=at, repository_def=defs().get_repository_def()
    ) as context:
        return schedule.evaluate_tick(context)


@pytest.mark.floor
def test_a_daily_schedule_launches_the_latest_complete_day_with_its_values() -> None:
    tick = _evaluate_schedule("daily_job_nightly", datetime(2026, 11, 10, 1, 0, tzinfo=UTC))
    [request] = tick.run_requests
    assert request.partition_key == "2026-11-09"
    assert request.run_key == "2026-11-09"
    values = request.run_config["resources"]["params"]["config"]["values"]
    assert values["d_load.mode"] == "nightly"
    assert values["target"] == "lake"
    # and that request runs
    job = defs().resolve_job_def("daily_job")
    result = job.execute_in_process(
        partition_key=request.partition_key,
        run_config=request.run_config,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert seen(result)["d_load"]["values"]["mode"] == "nightly"


def test_a_static_schedule_launches_the_partition_it_names() -> None:
    tick = _evaluate_schedule("static_job_eu", datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    [request] = tick.run_requests
    assert request.partition_key == "eu"
    assert request.run_config == values_config({"bucket": "regional"})


def test_a_schedule_adds_its_run_config_sections() -> None:
    tick = _evaluate_schedule("config_job_hourly", datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    [request] = tick.run_requests
    assert request.run_config["ops"] == {"u_config": {"config": {"limit": 2}}}
    job = defs().resolve_job_def("config_job")
    result = job.execute_in_process(
        run_config=request.run_config, instance=dg.DagsterInstance.ephemeral()
    )
    got = seen(result)["u_config"]
    assert (got["limit"], got["dsn"]) == (2, "sqlite://sched")


def _sensor_defs(tmp_path: Path, spec: str) -> tuple[dg.Definitions, Path]:
    drop = tmp_path / "drop"
    drop.mkdir()
    folder = write_specs(tmp_path / "specs", {"job.yaml": spec.replace("DROP", str(drop))})
    built = build_definitions(
        folder, assets=location().ASSETS, resources={"warehouse": location().Warehouse(dsn="x")}
    )
    return built, drop


def _tick(built: dg.Definitions, instance: dg.DagsterInstance, ref: Any = None) -> Any:
    sensor = built.resolve_sensor_def("drop_sensor")
    with dg.build_sensor_context(
        instance=instance, instance_ref=ref, repository_def=built.get_repository_def()
    ) as context:
        return sensor.evaluate_tick(context)


def test_a_file_sensor_names_each_files_partition_from_its_stem(tmp_path: Path) -> None:
    built, drop = _sensor_defs(
        tmp_path,
        """
        selection: [d_extract]
        parameter_values: {target: lake}
        sensors:
          - name: drop_sensor
            type: file
            directory: DROP
            partition_key: "{{sensor.stem}}"
            parameter_values:
              d_extract.source_bucket: "{{sensor.name}}"
            run_config:
              execution: {config: {in_process: {}}}
        """,
    )
    (drop / "2026-11-04.csv").write_text("x\n")
    (drop / "notadate.csv").write_text("x\n")  # not a day: skipped, with a warning
    result = _tick(built, dg.DagsterInstance.ephemeral())
    [request] = result.run_requests
    assert request.partition_key == "2026-11-04"
    assert request.run_config["execution"] == {"config": {"in_process": {}}}
    values = request.run_config["resources"]["params"]["config"]["values"]
    assert values["d_extract.source_bucket"] == "2026-11-04.csv"


def test_a_file_for_a_partition_that_has_not_begun_waits_in_the_cursor(tmp_path: Path) -> None:
    built, drop = _sensor_defs(
        tmp_path,
        """
        selection: [d_extract]
        parameter_values: {target: lake}
        ops_config: {d_extract: {source_bucket: raw}}
        sensors:
          - name: drop_sensor
            type: file
            directory: DROP
            partition_key: "{{sensor.stem}}"
        """,
    )
    (drop / "2026-11-04.csv").write_text("x\n")
    (drop / "2099-01-01.csv").write_text("x\n")  # a day whose window has not begun
    instance = dg.DagsterInstance.ephemeral()
    first = _tick(built, instance)
    assert [r.partition_key for r in first.run_requests] == ["2026-11-04"]
    cursor = json.loads(first.cursor)
    assert list(cursor["waiting"]) == [str(drop / "2099-01-01.csv")]
    # the next tick looks at the waiting file again, and runs nothing twice
    sensor = built.resolve_sensor_def("drop_sensor")
    with dg.build_sensor_context(
        instance=instance, cursor=first.cursor, repository_def=built.get_repository_def()
    ) as context:
        second = sensor.evaluate_tick(context)
    assert second.run_requests == []
    assert json.loads(second.cursor)["waiting"] == cursor["waiting"]


def test_a_params_resource_bound_by_the_caller_still_knows_the_spec_jobs(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs", {"job.yaml": "selection: [s_region]\nparameter_values: {bucket: b}\n"}
    )
    built = build_definitions(
        folder,
        assets=location().ASSETS,
        resources={"params": NexusParams(), "warehouse": location().Warehouse(dsn="x")},
    )
    result = built.resolve_job_def("job").execute_in_process(
        partition_key="us",
        run_config=values_config({"bucket": "given"}),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert seen(result)["s_region"]["rendered"] == {"where": "given/us"}


def test_a_file_sensor_adds_the_dynamic_partitions_its_files_name(tmp_path: Path) -> None:
    built, drop = _sensor_defs(
        tmp_path,
        """
        selection: [dyn_file]
        parameter_values: {inbox: in}
        sensors:
          - name: drop_sensor
            type: file
            directory: DROP
            partition_key: "{{sensor.name}}"
        """,
    )
    (drop / "a.csv").write_text("x\n")
    # a persistent instance, as the sensor daemon has: dynamic partitions live in it
    with dg.instance_for_test() as instance:
        result = _tick(built, instance, instance.get_ref())
    [request] = result.run_requests
    assert request.partition_key == "a.csv"
    [added] = result.dynamic_partitions_requests
    assert list(added.partition_keys) == ["a.csv"]


def test_run_helpers_give_the_values_form_and_a_partition_request() -> None:
    defs()  # registers the location's spec jobs
    assert nexus_run_config("static_job", {"bucket": "x"}) == values_config({"bucket": "x"})
    request = nexus_run_request("static_job", {}, partition_key="us")
    assert request.partition_key == "us"
    assert request.run_config == values_config({"bucket": "regional"})
    with pytest.raises(NexusConfigError, match="pass `partition_key=`"):
        nexus_run_request("static_job", {})
    with pytest.raises(NexusConfigError, match="unknown field `nope`"):
        nexus_run_config("static_job", {"nope": 1})
    with pytest.raises(NexusConfigError, match="`resources.params` is the plugin's own"):
        nexus_run_config("static_job", {"resources": {"params": {"config": {}}}})
    # an unpartitioned job keeps the flat form, with Dagster's sections beside the values
    flat = nexus_run_config("config_job", {"ops": {"u_config": {"config": {"limit": 1}}}})
    assert flat == {"bucket": "plain", "ops": {"u_config": {"config": {"limit": 1}}}}
    with pytest.raises(NexusConfigError, match="not partitioned"):
        nexus_run_request("config_job", {}, partition_key="eu")


# --- through the dagster CLI, with a persistent instance ----------------------------------


def _dagster(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The runs execute in the launching process (the location's in-process executor): these
    # tests are about the CLI's launch, its partitions and values, not about step processes.
    # That process is forked from one that has imported Dagster (`forked_dagster`); it imports
    # the location anew.
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NEXUS_PART_TOKEN": TOKEN,
        "NEXUS_PARTITIONED_IN_PROCESS": "1",
    }
    return dagster(args, env=env, cwd=cwd, timeout=CLI_TIMEOUT)


def _materializations(home: Path, run_id: str) -> dict[str, dict[str, Any]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        out = {}
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.asset_materialization
            assert materialization is not None
            out[materialization.asset_key.to_user_string()] = {
                k: getattr(v, "value", v) for k, v in materialization.metadata.items()
            }
        return out


@pytest.mark.floor
def test_dagster_cli_runs_a_partition_with_no_config(dagster_home: Path, tmp_path: Path) -> None:
    done = _dagster(
        "job", "execute", "-f", str(LOCATION), "-j", "daily_job",
        "--tags", json.dumps({"dagster/partition": "2026-11-05"}),
        home=dagster_home, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs()
    assert run.tags["dagster/partition"] == "2026-11-05"
    got = _materializations(dagster_home, run.run_id)
    assert got["d_extract"]["rendered"]["path"] == "raw/2026-11-05.csv"
    assert got["d_load"]["values"]["token"] == TOKEN


def test_dagster_cli_backfill_runs_each_partition_with_the_spec_values(
    dagster_home: Path, tmp_path: Path
) -> None:
    keys = ["2026-11-02", "2026-11-03", "2026-11-04"]
    (dagster_home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        # runs start in the backfill's own process, one after another, and are done when it ends
        "run_coordinator:\n  module: dagster._core.run_coordinator.sync_in_memory_run_coordinator\n"
        "  class: SyncInMemoryRunCoordinator\n"
        "run_launcher:\n  module: dagster._core.launcher.sync_in_memory_run_launcher\n"
        "  class: SyncInMemoryRunLauncher\n"
    )
    done = _dagster(
        "job", "backfill", "-f", str(LOCATION), "-j", "daily_job",
        "--partitions", ",".join(keys), "--noprompt",
        home=dagster_home, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
    assert sorted(r.tags["dagster/partition"] for r in runs) == keys
    for run in runs:
        assert run.status == dg.DagsterRunStatus.SUCCESS
        key = run.tags["dagster/partition"]
        got = _materializations(dagster_home, run.run_id)
        assert got["d_extract"]["rendered"]["path"] == f"raw/{key}.csv"
        assert got["d_extract"]["values"] == {"source_bucket": "raw", "target": "lake"}
        assert got["d_load"]["nexus/partition"] == key


def test_dagster_cli_refuses_wrong_values_at_run_start(dagster_home: Path, tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(values_config({"d_load.mode": 7})))
    done = _dagster(
        "job", "execute", "-f", str(LOCATION), "-j", "daily_job", "-c", "run.yaml",
        "--tags", json.dumps({"dagster/partition": "2026-11-05"}),
        home=dagster_home, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0
    assert "`d_load.mode` does not fit type `string`" in done.stdout + done.stderr


def test_a_bad_value_inside_an_entrys_run_config_is_a_spec_error_at_load(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "config_job.yaml": """
                selection: [u_config]
                parameter_values: {bucket: b}
                schedules:
                  - cron: "0 * * * *"
                    run_config:
                      ops: {u_config: {config: {limit: two}}}
            """,
            "static_job.yaml": """
                selection: [s_region]
                parameter_values: {bucket: b}
                schedules:
                  - cron: "0 * * * *"
                    partition_key: eu
                    run_config:
                      execution: {config: {multiprocess: {max_concurrent: many}}}
            """,
        },
    )
    with pytest.raises(NexusSpecError) as caught:
        build_definitions(
            folder, assets=location().ASSETS, resources={"warehouse": location().Warehouse(dsn="x")}
        )
    lines = [str(p).replace(str(folder) + "/", "") for p in caught.value.problems]
    assert lines == [
        "config_job.yaml:5:5: schedules[0].run_config: Dagster refuses this run config: "
        'Invalid scalar at path root:ops:u_config:config:limit. Value "two" of type '
        '"<class \'str\'>" is not valid for expected type "Int".',
        "static_job.yaml:6:5: schedules[0].run_config: Dagster refuses this run config: "
        "Invalid scalar at path root:execution:config:multiprocess:max_concurrent. Value "
        '"many" of type "<class \'str\'>" is not valid for expected type "Int".',
    ]
