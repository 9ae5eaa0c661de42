"""Every way a run starts from Python: file sensors from YAML, the run helpers for hand-written
schedules and sensors, asset subsets, and what each materialization records."""

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from nexus_dagster import (
    NexusConfigError,
    NexusParamError,
    build_definitions,
    nexus_run_config,
    nexus_run_request,
)

from .conftest import REPO, example_location, write_specs
from .test_e2e_jobs import probe_location, read_probe

ASSETS = [probe_location.alpha, probe_location.beta, probe_location.gamma, probe_location.delta]


@pytest.fixture
def probe_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "probe"
    monkeypatch.setenv("PROBE_OUT", str(out))
    return out


def sensor_defs(tmp_path: Path, inbox: Path) -> dg.Definitions:
    folder = write_specs(
        tmp_path / "specs",
        {
            "drops.yaml": f"""
                selection: [alpha, beta]
                parameter_values: {{bucket: shared}}
                sensors:
                  - name: alpha_drop
                    type: file
                    directory: {inbox}
                    pattern: "drop_*.csv"
                    minimum_interval_seconds: 5
                    default_status: RUNNING
                    parameter_values:
                      alpha.bucket: "{{{{sensor.path}}}}"
                      beta.bucket: "name={{{{ sensor.name }}}}"
            """
        },
    )
    return build_definitions(folder, assets=ASSETS[:2])


def tick(sensor: dg.SensorDefinition, cursor: str | None) -> tuple[list[dg.RunRequest], str]:
    with dg.build_sensor_context(cursor=cursor) as context:
        result = sensor.evaluate_tick(context)
    return list(result.run_requests or []), result.cursor or ""


def test_file_sensor_starts_one_run_per_file(tmp_path: Path, probe_out: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    defs = sensor_defs(tmp_path, inbox)
    sensor = defs.resolve_sensor_def("alpha_drop")
    assert sensor.minimum_interval_seconds == 5
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    (inbox / "drop_1.csv").write_text("a\n")
    (inbox / "drop_2.csv").write_text("b\n")
    (inbox / "ignored.txt").write_text("c\n")
    first, cursor = tick(sensor, None)
    assert sorted(r.run_config["alpha.bucket"] for r in first) == [
        str(inbox / "drop_1.csv"),
        str(inbox / "drop_2.csv"),
    ]
    assert len({r.run_key for r in first}) == 2

    again, cursor = tick(sensor, cursor)
    assert again == []  # nothing new: no second run for a file

    time.sleep(0.01)
    (inbox / "drop_3.csv").write_text("d\n")
    third, cursor = tick(sensor, cursor)
    assert [r.run_config for r in third] == [
        {
            "bucket": "shared",
            "alpha.bucket": str(inbox / "drop_3.csv"),
            "beta.bucket": "name=drop_3.csv",
        }
    ]

    job = defs.resolve_job_def("drops")
    result = job.execute_in_process(
        run_config=third[0].run_config, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert read_probe(probe_out, "alpha") == {"bucket": str(inbox / "drop_3.csv")}
    assert read_probe(probe_out, "beta") == {"bucket": "name=drop_3.csv"}


def test_file_sensor_skips_a_missing_directory(tmp_path: Path) -> None:
    defs = sensor_defs(tmp_path, tmp_path / "nowhere")
    with dg.build_sensor_context() as context:
        result = defs.resolve_sensor_def("alpha_drop").evaluate_tick(context)
    assert result.skip_message and "does not exist" in result.skip_message


@pytest.fixture
def helper_defs(tmp_path: Path) -> dg.Definitions:
    folder = write_specs(
        tmp_path / "specs",
        {
            "helped.yaml": """
                selection: [alpha, beta]
                params_schema: {beta.n: "int!"}
                parameter_values: {bucket: shared}
                ops_config: {alpha: {n: 2}}
            """
        },
    )
    return build_definitions(folder, assets=ASSETS[:2])


def test_nexus_run_config_returns_full_flat_config(
    helper_defs: dg.Definitions, probe_out: Path
) -> None:
    job = helper_defs.resolve_job_def("helped")
    expected = {"bucket": "shared", "alpha.n": 2, "beta.n": 3}
    assert nexus_run_config("helped", {"beta.n": 3}) == expected
    assert nexus_run_config(job, {"beta.n": 3}) == expected
    request = nexus_run_request("helped", {"beta.n": 3}, run_key="k1", tags={"x": "y"})
    assert request.run_config == expected and request.job_name == "helped"
    # The request's effect: Dagster accepts its run config for the job, and each asset of the
    # run resolves the spec's values with the given one laid over them.
    result = job.execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    assert read_probe(probe_out, "alpha") == {"bucket": "shared", "n": 2}
    assert read_probe(probe_out, "beta") == {"bucket": "shared", "n": 3}


@pytest.mark.parametrize(
    ("values", "message", "names"),
    [
        (
            {"beta.n": 3, "alpha.nn": 1},
            "unknown field `alpha.nn`; did you mean `alpha.n`?",
            ("alpha.nn",),
        ),
        (
            {"beta.n": 3, "alpha.n": "two"},
            "`alpha.n` does not fit type `int`: expected int, got str",
            ("alpha.n",),
        ),
        ({}, "required field `beta.n` has no value", ("beta.n",)),
    ],
)
def test_nexus_run_config_names_bad_values(
    helper_defs: dg.Definitions, values: dict[str, Any], message: str, names: tuple[str, ...]
) -> None:
    with pytest.raises(NexusConfigError) as err:
        nexus_run_config("helped", values)
    assert str(err.value) == f"job `helped`: {message}"
    assert err.value.names == names


def test_a_bad_value_fails_the_schedule_tick_with_the_message(helper_defs: dg.Definitions) -> None:
    @dg.schedule(cron_schedule="0 * * * *", job_name="helped")
    def hourly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return nexus_run_request("helped", {"beta.n": "three"})

    with dg.build_schedule_context() as context, pytest.raises(dg.DagsterError) as err:
        hourly.evaluate_tick(context)
    cause = err.value.__cause__
    assert isinstance(cause, NexusConfigError)
    assert str(cause) == "job `helped`: `beta.n` does not fit type `int`: expected int, got str"


def test_unknown_job_is_refused() -> None:
    with pytest.raises(NexusConfigError, match="not a job built from a spec"):
        nexus_run_config("no_such_job", {})


def test_a_location_that_fails_to_build_leaves_no_job_for_the_run_helpers(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "never_built.yaml": """
                selection: [alpha]
                parameter_values: {bucket: b}
                schedules:
                  - {cron: "0 * * * *", run_config: {ops: {no_such_op: {config: {}}}}}
            """
        },
    )
    with pytest.raises(Exception, match="no_such_op"):
        build_definitions(folder, assets=ASSETS[:1])
    with pytest.raises(NexusConfigError, match="not a job built from a spec"):
        nexus_run_config("never_built", {})


def test_two_locations_with_one_job_name_are_told_apart_by_the_job_definition(
    tmp_path: Path,
) -> None:
    built = []
    for n, bucket in enumerate(("one", "two")):
        folder = write_specs(
            tmp_path / f"specs{n}",
            {
                "twin.yaml": f"selection: [alpha]\nparams_schema: {{bucket: string}}\nparameter_values: {{bucket: {bucket}}}\n"
            },
        )
        built.append(build_definitions(folder, assets=ASSETS[:1]).resolve_job_def("twin"))
    with pytest.raises(NexusConfigError, match="pass the job definition instead of its name"):
        nexus_run_config("twin", {})
    assert nexus_run_config(built[0], {}) == {"bucket": "one"}
    assert nexus_run_config(built[1], {}) == {"bucket": "two"}
    assert nexus_run_request(built[1], {}).run_config == {"bucket": "two"}


@pytest.fixture
def example_copy(tmp_path: Path, example_data: Path) -> dg.Definitions:
    """The example's specs and assets, built from a copy of its specs folder beside the test's
    copy of its data: a code location no other test rebuilds."""
    example = example_location().defs
    specs = shutil.copytree(REPO / "job_specs", tmp_path / "job_specs")
    return build_definitions(
        specs, assets=list(example.assets or []), asset_checks=list(example.asset_checks or [])
    )


@pytest.mark.parametrize("resolved", [True, False], ids=["resolved", "unresolved"])
@pytest.mark.parametrize(
    ("name", "values", "partition_key", "written"),
    [
        pytest.param(
            "daily_orders_job",
            {"target_bucket": "my-lake"},
            "2026-11-03",
            "my-lake/orders/2026-11-03.csv",
            id="partitioned",
        ),
        pytest.param(
            "sales_job",
            {"marketing_ingestion_asset.source_bucket": "mkt-raw", "target_bucket": "my-lake"},
            None,
            "my-lake/sales.csv",
            id="unpartitioned",
        ),
    ],
)
def test_the_run_helpers_take_a_spec_job_resolved_or_not(
    example_copy: dg.Definitions,
    example_data: Path,
    resolved: bool,
    name: str,
    values: dict[str, Any],
    partition_key: str | None,
    written: str,
) -> None:
    defs = example_copy
    job = defs.resolve_job_def(name) if resolved else next(j for j in defs.jobs if j.name == name)
    assert isinstance(job, dg.JobDefinition) == resolved  # `defs.jobs` holds the unresolved job
    request = nexus_run_request(job, values, partition_key=partition_key)
    assert request.job_name == name and request.partition_key == partition_key
    assert request.run_config == nexus_run_config(job, values)
    result = defs.resolve_job_def(name).execute_in_process(
        run_config=request.run_config,
        partition_key=partition_key,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert (example_data / written).is_file()


def test_asset_subset_runs_only_the_selected_assets(probe_out: Path) -> None:
    job = probe_location.defs.resolve_job_def("probe_job")
    result = job.execute_in_process(
        run_config={"beta.bucket": "subset"},
        asset_selection=[dg.AssetKey("beta")],
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert read_probe(probe_out, "beta") == {"bucket": "subset"}
    assert not (probe_out / "alpha.json").exists()


def test_global_asset_job_names_the_spec_job_that_supplies_the_value(probe_out: Path) -> None:
    defs = probe_location.defs
    implicit = defs.resolve_implicit_global_asset_job_def()
    with pytest.raises(NexusParamError) as err:
        implicit.get_subset(asset_selection={dg.AssetKey("beta")}).execute_in_process(
            instance=dg.DagsterInstance.ephemeral()
        )
    message = str(err.value)
    assert "asset `beta` needs parameter `bucket`" in message
    assert (
        "add `asset_defaults: true` to one of the specs that select it (`probe_job` in " in message
    )
    assert message.endswith(
        "or give it in the run config as "
        "`resources: {params: {config: {values: {beta.bucket: ...}}}}`"
    )
    # both fixes the message names work
    run_config = {"resources": {"params": {"config": {"values": {"beta.bucket": "given"}}}}}
    result = implicit.get_subset(asset_selection={dg.AssetKey("beta")}).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=run_config
    )
    assert result.success


def test_materialization_records_values_and_sources(probe_out: Path) -> None:
    job = probe_location.defs.resolve_job_def("probe_job")
    result = job.execute_in_process(
        run_config={"bucket": "launch", "beta.n": 4}, instance=dg.DagsterInstance.ephemeral()
    )
    recorded = {
        node: result.asset_materializations_for_node(node)[0].metadata["nexus/params"].value
        for node in ("alpha", "beta", "raw__gamma")
    }
    assert recorded["alpha"] == {
        "bucket": {"value": "alpha-bucket", "source": "default", "field": "alpha.bucket"},
        "n": {"value": 1, "source": "default", "field": "alpha.n"},
    }
    assert recorded["beta"] == {
        "bucket": {"value": "launch", "source": "shared", "field": "bucket"},
        "n": {"value": 4, "source": "per-asset", "field": "beta.n"},
    }
    assert recorded["raw__gamma"]["flag"] == {
        "value": True,
        "source": "default",
        "field": "raw/gamma.flag",
    }


def test_job_description_carries_a_parameter_table() -> None:
    job = probe_location.defs.resolve_job_def("probe_job")
    assert "| field | type | required | default | feeds |" in (job.description or "")
    assert "| `alpha.bucket` | string | no | `alpha-bucket` | per-asset: alpha |" in (
        job.description or ""
    )


def test_secret_metadata_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    @dg.asset(metadata={"nexus/params": {"token": "secret!"}})
    def uses_token(context: dg.AssetExecutionContext, params: probe_location.NexusParams) -> None:
        assert params.for_asset(context)["token"] == "s3cr3t-value"

    folder = write_specs(tmp_path / "specs", {"sec.yaml": "selection: [uses_token]\n"})
    defs = build_definitions(folder, assets=[uses_token])
    monkeypatch.setenv("NEXUS_TEST_TOKEN", "s3cr3t-value")
    result = defs.resolve_job_def("sec").execute_in_process(
        run_config={"uses_token.token": {"env": "NEXUS_TEST_TOKEN"}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    meta = result.asset_materializations_for_node("uses_token")[0].metadata["nexus/params"].value
    # Recorded by the variable it reads, never by value (`nexus-dagster diff` compares that).
    assert meta == {
        "token": {
            "value": "***",
            "source": "per-asset",
            "field": "uses_token.token",
            "reference": {"env": "NEXUS_TEST_TOKEN"},
        }
    }
    assert "s3cr3t-value" not in json.dumps(meta)
    assert "s3cr3t-value" not in json.dumps(result.dagster_run.run_config)
    assert os.environ["NEXUS_TEST_TOKEN"] == "s3cr3t-value"


def test_subset_keeps_the_whole_jobs_required_fields(example_data: Path) -> None:
    definitions = example_location()

    job = definitions.defs.resolve_job_def("sales_job")
    subset = [dg.AssetKey("sales_ingestion_asset")]
    with pytest.raises(
        dg.DagsterInvalidConfigError, match="marketing_ingestion_asset.source_bucket"
    ):
        job.execute_in_process(asset_selection=subset, instance=dg.DagsterInstance.ephemeral())
    # the documented workaround: any value for an asset that does not run; it is never read
    result = job.execute_in_process(
        run_config={"marketing_ingestion_asset.source_bucket": "unused"},
        asset_selection=subset,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {dg.AssetKey("sales_ingestion_asset")}
    assert (example_data / "analytics-lake" / "sales.csv").exists()
    assert not (example_data / "analytics-lake" / "marketing.csv").exists()
