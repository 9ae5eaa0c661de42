"""Runs outside a spec's job: `dagster asset materialize` (the run of the asset graph's
Materialize button), its values in `resources.params.config.values`, the refusals when the run
starts, the messages that name a fix that works, and the spec checks of `asset_defaults`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from nexus_dagster import (
    NexusConfigError,
    NexusParamError,
    NexusParams,
    NexusSpecError,
    build_definitions,
    load_job_specs,
    nexus_asset,
)

from .cli_support import Run, invoke
from .conftest import FORKSERVER, IN_PROCESS, REPO, example_location, new_dagster_home, write_specs
from .forked_dagster import dagster

DEFINITIONS = str(REPO / "definitions.py")
CONSISTENCY = str(Path(__file__).parent / "locations" / "consistency_location.py")
CLI_TIMEOUT = 180  # seconds, for a `dagster asset materialize`


def run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A ``dagster`` command, as a process of its own, forked from one that has imported Dagster
    (``forked_dagster``): it imports the code location anew, and the step processes of its
    multiprocess runs are processes of their own too."""
    assert command[0] == "dagster"
    return dagster(command[1:], env=env or dict(os.environ), timeout=CLI_TIMEOUT)


def nexus(*args: str, cwd: Path = REPO) -> Run:
    """``nexus-dagster ARGS`` in this process; in the repository by default, where
    ``workspace.yaml`` names the example location."""
    return invoke(args, cwd)


def latest(asset: str) -> tuple[dict[str, Any], dg.DagsterRun]:
    """The newest materialization of ``asset`` in DAGSTER_HOME's instance: its metadata (raw
    values) and its run."""
    with dg.DagsterInstance.get() as instance:
        record = instance.fetch_materializations(dg.AssetKey.from_user_string(asset), limit=1)
        entry = record.records[0].event_log_entry
        assert entry.asset_materialization is not None
        metadata = {k: v.value for k, v in entry.asset_materialization.metadata.items()}
        found = instance.get_run_by_id(record.records[0].run_id)
        assert found is not None
        return metadata, found


def use(value: Any, source: str, field: str) -> dict[str, Any]:
    return {"value": value, "source": source, "field": field}


# --- the example location, through the dagster CLI ------------------------------------------


@pytest.mark.floor
def test_asset_materialize_resolves_the_asset_defaults_spec_values(
    example_data: Path, dagster_home: Path
) -> None:
    result = run(
        "dagster", "asset", "materialize", "--select", "sales_ingestion_asset", "-f", DEFINITIONS
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]

    metadata, launched = latest("sales_ingestion_asset")
    # job_specs/daily_report_job.yaml (asset_defaults: true), as its job launched with no config
    recorded = {
        "source_bucket": use("sales-raw", "default", "sales_ingestion_asset.source_bucket"),
        "target_bucket": use("reports-lake", "default", "target_bucket"),
        "batch_size": use(500, "default", "sales_ingestion_asset.batch_size"),
    }
    assert metadata["nexus/params"] == recorded
    assert metadata["nexus/spec"] == "daily_report_job"
    assert launched.job_name == "__ASSET_JOB"
    # the digest of the spec's fields the run resolved, for its re-executions to resolve them too
    claims = [k for k in launched.tags if k.startswith("nexus/asset_defaults.daily_report_job.")]
    assert len(claims) == 1 and len(launched.tags[claims[0]]) == 16
    assert (example_data / "reports-lake" / "sales.csv").exists()

    history = nexus("runs", "--asset", "sales_ingestion_asset", "--json")
    assert history.code == 0, history.err
    assert json.loads(history.out) == [
        {"run_id": launched.run_id, "job": "__ASSET_JOB", "partition": None, "values": recorded}
    ]
    text = nexus("runs", "--asset", "sales_ingestion_asset")
    assert launched.run_id in text.out and "daily_report_job" in text.out
    assert "source_bucket=sales-raw (default)" in text.out


@pytest.mark.floor
def test_asset_materialize_of_a_partition_takes_values_laid_over_the_spec(
    example_data: Path, dagster_home: Path
) -> None:
    # The spec (job_specs/daily_orders_job.yaml) gives `target_bucket: orders-lake` and
    # `min_amount: 20`: each value here differs from it, and the per-asset `target_bucket`s
    # compete with a shared one given in the same run config.
    values = {
        "min_amount": 30,
        "target_bucket": "shared-lake",
        "daily_orders.target_bucket": "night-lake",
        "daily_summary.target_bucket": "night-lake",
    }
    config = {"resources": {"params": {"config": {"values": values}}}, **IN_PROCESS}
    result = run(
        "dagster", "asset", "materialize", "--select", "daily_orders,daily_summary",
        "--partition", "2026-11-02", "--config-json", json.dumps(config), "-f", DEFINITIONS,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]

    metadata, _ = latest("daily_summary")
    assert metadata["nexus/params"] == {
        "min_amount": use(30, "shared", "min_amount"),
        "target_bucket": use("night-lake", "per-asset", "daily_summary.target_bucket"),
    }
    assert metadata["nexus/partition"] == "2026-11-02"
    assert metadata["nexus/spec"] == "daily_orders_job"
    orders, _ = latest("daily_orders")
    assert orders["nexus/params"] == {
        "source_bucket": use("orders-daily", "default", "daily_orders.source_bucket"),
        "target_bucket": use("night-lake", "per-asset", "daily_orders.target_bucket"),
    }
    report = (example_data / "night-lake" / "orders" / "2026-11-02.md").read_text()
    assert report.startswith("# Orders from 2026-11-02T00:00:00+00:00 to 2026-11-03T00:00:00+00:00")
    # neither the shared value of the run nor the spec's was written to
    assert not (example_data / "shared-lake").exists()
    assert not (example_data / "orders-lake").exists()

    history = nexus("runs", "--asset", "daily_summary", "--json")
    assert json.loads(history.out)[0]["partition"] == "2026-11-02"


def test_asset_materialize_refuses_bad_values_before_any_asset_runs(
    example_data: Path, dagster_home: Path
) -> None:
    values = {"sales_ingestion_asset.source_buket": "x", "target_bucket": 5}
    config = {"resources": {"params": {"config": {"values": values}}}, **IN_PROCESS}
    result = run(
        "dagster", "asset", "materialize", "--select", "sales_ingestion_asset",
        "--config-json", json.dumps(config), "-f", DEFINITIONS,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "unknown field `sales_ingestion_asset.source_buket` for the assets of this run; did you "
        "mean `sales_ingestion_asset.source_bucket`?" in output
    )
    assert "`target_bucket` does not fit type `string`: expected string, got int" in output
    assert not (example_data / "reports-lake").exists()


def test_render_asset_shows_what_a_run_outside_spec_jobs_resolves(
    example_data: Path, dagster_home: Path
) -> None:
    result = nexus("render", "-f", DEFINITIONS, "--asset", "daily_summary",
                   "--partition", "2026-11-03", "--set", "min_amount=5")  # fmt: skip
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == (
        "daily_summary: outside spec jobs, values of the `asset_defaults` spec `daily_orders_job`"
    )
    assert "  min_amount     5            shared   min_amount" in lines
    assert "  target_bucket  orders-lake  default  target_bucket" in lines
    assert "    input: orders-lake/orders/2026-11-03.csv" in lines
    assert "          min_amount: 5" in lines  # the run config that gives the value

    missing = nexus("render", "-f", DEFINITIONS, "--asset", "sales_sample")
    assert missing.code == 1
    assert "no `asset_defaults` spec gives values; specs that select it: `sales_sample_job`" in (
        missing.out
    )
    assert (
        "error: required parameter `target_bucket` has no value; give it with --set "
        "sales_sample.target_bucket=VALUE" in missing.err
    )
    both = nexus("render", "-f", DEFINITIONS, "sales_job", "--asset", "report")
    assert both.code == 2 and "give a JOB or --asset ASSET (one of them)" in both.err


def test_an_asset_without_asset_defaults_spec_names_the_fix_and_the_fix_works(
    example_data: Path,
) -> None:
    job = example_location().defs.resolve_implicit_global_asset_job_def()
    with pytest.raises(NexusParamError) as err:
        job.execute_in_process(
            asset_selection=[dg.AssetKey("sales_sample")], instance=dg.DagsterInstance.ephemeral()
        )
    message = str(err.value)
    assert message.startswith(
        "asset `sales_sample` needs parameter `target_bucket` but the run of job `__ASSET_JOB`, "
        "which is not a job built from a spec, has no value for it: the specs that select it "
        "(`sales_sample_job` in "
    )
    # `sales_sample_job` also selects `sales_ingestion_asset`, whose `asset_defaults` spec is
    # `daily_report_job`: marking it too would make two, so the message does not suggest it
    assert (
        "each select an asset that another `asset_defaults` spec gives values to, so none can "
        "take `asset_defaults: true`: select it in a spec of its own with `asset_defaults: true` "
        "and give the value there"
    ) in message
    form = "`resources: {params: {config: {values: {sales_sample.target_bucket: ...}}}}`"
    assert message.endswith(f"or give it in the run config as {form}")
    # the fix: the run config the message shows, with a value in place of `...`
    (example_data / "own-lake").mkdir()
    (example_data / "own-lake" / "sales.csv").write_text("amount\n1\n2\n3\n4\n")
    run_config = yaml.safe_load(form.strip("`").replace("...", "own-lake"))
    assert run_config == {
        "resources": {"params": {"config": {"values": {"sales_sample.target_bucket": "own-lake"}}}}
    }
    result = job.execute_in_process(
        asset_selection=[dg.AssetKey("sales_sample")],
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config,
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("sales_sample")
    assert materialization.metadata["nexus/params"].value == {
        "target_bucket": use("own-lake", "per-asset", "sales_sample.target_bucket")
    }
    assert materialization.metadata["rows"].value == 3  # the op config's default limit
    sample = (example_data / "own-lake" / "sales_sample.csv").read_text()
    assert sample.splitlines() == ["amount", "1", "2", "3"]


# --- a location of the test's own --------------------------------------------------------------

CALLS: list[str] = []


@nexus_asset(params={"bucket": "string!", "n": "int", "token": "secret"})
def loader(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    CALLS.append("loader")
    params.for_asset(context)


@nexus_asset(params={"bucket": "string!"}, deps=[loader])
def summary(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    CALLS.append("summary")
    params.for_asset(context)


@nexus_asset(
    params={"bucket": "string!"}, automation_condition=dg.AutomationCondition.on_cron("0 * * * *")
)
def automated(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


ASSETS = [loader, summary]
DEFAULTS_SPEC = """
asset_defaults: true
selection: [loader, summary]
parameter_values: {bucket: lake}
ops_config: {loader: {n: 3}}
"""


def outside(defs: dg.Definitions, values: dict[str, Any]) -> dg.ExecuteInProcessResult:
    CALLS.clear()
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"resources": {"params": {"config": {"values": values}}}},
    )


def metadata_of(result: dg.ExecuteInProcessResult, *nodes: str) -> dict[str, Any]:
    """The metadata of each node's materialization in ``result``."""
    return {node: result.asset_materializations_for_node(node)[0].metadata for node in nodes}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"loader.buckt": "x"},
            "unknown field `loader.buckt` for the assets of this run; did you mean "
            "`loader.bucket`? Fields: bucket, loader.bucket, loader.n, loader.token, summary.bucket",
        ),
        ({"loader.n": "three"}, "`loader.n` does not fit type `int`: expected int, got str"),
        (
            {"loader.token": "hunter2"},
            "`loader.token` does not fit type `secret`: a secret takes only an environment "
            "reference such as `{env: MY_VAR}`",
        ),
    ],
    ids=["unknown", "wrong-type", "plain-secret"],
)
def test_values_outside_spec_jobs_are_checked_when_the_run_starts(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    defs = build_definitions(write_specs(tmp_path, {"lake.yaml": DEFAULTS_SPEC}), assets=ASSETS)
    with pytest.raises(dg.DagsterResourceFunctionError) as err:
        outside(defs, values)
    refusal = err.value.user_exception
    assert isinstance(refusal, NexusConfigError)
    assert str(refusal) == f"job `__ASSET_JOB`: in `resources.params.config.values`: {message}"
    assert refusal.names == tuple(values)
    assert "hunter2" not in str(refusal)
    assert CALLS == []  # refused before any asset's code


def test_values_outside_spec_jobs_lay_over_the_spec_per_asset_first(tmp_path: Path) -> None:
    defs = build_definitions(write_specs(tmp_path, {"lake.yaml": DEFAULTS_SPEC}), assets=ASSETS)
    # `bucket`: the run's per-asset value for `summary` over the run's shared value (and the
    # spec's `lake`); `loader.n`: the run's value over the spec's `ops_config` (3).
    result = outside(defs, {"summary.bucket": "own", "bucket": "shared-run", "loader.n": 4})
    assert result.success and CALLS == ["loader", "summary"]
    recorded = metadata_of(result, "loader", "summary")
    assert recorded["loader"]["nexus/params"].value == {
        "bucket": use("shared-run", "shared", "bucket"),
        "n": use(4, "per-asset", "loader.n"),
    }
    assert recorded["summary"]["nexus/params"].value == {
        "bucket": use("own", "per-asset", "summary.bucket")
    }
    assert recorded["summary"]["nexus/spec"].value == "lake"


def test_the_asset_defaults_fix_the_message_names_works(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs", {"plain.yaml": DEFAULTS_SPEC.replace("asset_defaults: true\n", "")}
    )
    with pytest.raises(NexusParamError) as err:
        outside(build_definitions(folder, assets=ASSETS), {})
    message = str(err.value)
    assert CALLS == ["loader"]  # it failed where the asset read its values
    named = re.search(
        r"add `asset_defaults: true` to one of the specs that select it \(`(\w+)` in (.+?)\)",
        message,
    )
    assert named is not None, message
    assert named.groups() == ("plain", str(folder / "plain.yaml"))
    # the fix: `asset_defaults: true` in the file the message names
    spec_file = Path(named.group(2))
    spec_file.write_text("asset_defaults: true\n" + spec_file.read_text())
    result = outside(build_definitions(folder, assets=ASSETS), {})
    assert result.success and CALLS == ["loader", "summary"]
    recorded = metadata_of(result, "loader", "summary")
    assert recorded["loader"]["nexus/params"].value == {
        "bucket": use("lake", "default", "bucket"),
        "n": use(3, "default", "loader.n"),
    }
    assert recorded["summary"]["nexus/params"].value == {"bucket": use("lake", "default", "bucket")}
    assert (
        recorded["loader"]["nexus/spec"].value == recorded["summary"]["nexus/spec"].value == "plain"
    )


def test_a_spec_job_run_is_not_a_run_outside_spec_jobs(tmp_path: Path) -> None:
    defs = build_definitions(write_specs(tmp_path, {"lake.yaml": DEFAULTS_SPEC}), assets=ASSETS)
    result = defs.resolve_job_def("lake").execute_in_process(
        run_config={"bucket": "launch"}, instance=dg.DagsterInstance.ephemeral()
    )
    metadata = result.asset_materializations_for_node("loader")[0].metadata
    assert metadata["nexus/params"].value["bucket"] == use("launch", "shared", "bucket")
    assert "nexus/spec" not in metadata


def problems_of(folder: Path, assets: list[Any]) -> list[str]:
    with pytest.raises(NexusSpecError) as err:
        load_job_specs(folder, assets=assets)
    return [str(p).removeprefix(f"{folder}/") for p in err.value.problems]


@pytest.mark.parametrize(
    ("files", "assets", "expected"),
    [
        (
            {"a.yaml": DEFAULTS_SPEC, "b.yaml": "asset_defaults: true\nselection: [summary]\n"},
            ASSETS,
            [
                "a.yaml:1:1: asset_defaults: asset `summary` is selected by 2 `asset_defaults` "
                "specs ({d}/a.yaml, {d}/b.yaml); its values outside spec jobs must come from "
                "one: set `asset_defaults: true` in only one of them",
                "b.yaml:1:1: asset_defaults: asset `summary` is selected by 2 `asset_defaults` "
                "specs ({d}/a.yaml, {d}/b.yaml); its values outside spec jobs must come from "
                "one: set `asset_defaults: true` in only one of them",
            ],
        ),
        (
            {"a.yaml": "asset_defaults: sure\nselection: [loader]\n"},
            ASSETS,
            ["a.yaml:1:1: asset_defaults: must be `true` or `false` (got str)"],
        ),
        (
            {"a.yaml": "asset_defaults: true\nselection: [automated]\n"},
            [automated],
            [
                "a.yaml:1:1: asset_defaults: asset `automated` has an `automation_condition`, "
                "and declarative automation launches its runs with no run config, so they need "
                "a value for `bucket`, which this spec does not give: set "
                "`ops_config: {automated: {bucket: ...}}`"
            ],
        ),
        (
            {"a.yaml": "selection: [automated]\nparameter_values: {bucket: x}\n"},
            [automated],
            [
                "a.yaml:1:13: selection[0]: asset `automated` has an `automation_condition`, and "
                "declarative automation launches its runs with no run config, so they need a "
                "value for `bucket`, and no `asset_defaults` spec selects it (specs that select "
                "it: `a` ({d}/a.yaml)): add `asset_defaults: true` to one of them and give the "
                "values there"
            ],
        ),
        (
            {"a.yaml": "selection: [loader]\nparameter_values: {bucket: x}\n"},
            [loader, automated],
            [
                "{d}:1:1: asset `automated` has an `automation_condition`, and declarative "
                "automation launches its runs with no run config, so they need a value for "
                "`bucket`, and no spec selects it: add a spec with `asset_defaults: true` that "
                "selects it and gives the values"
            ],
        ),
    ],
    ids=[
        "two-defaults-specs",
        "not-a-boolean",
        "automated-defaults-without-value",
        "automated-without-defaults-spec",
        "automated-in-no-spec",
    ],
)
def test_asset_defaults_spec_problems(
    tmp_path: Path, files: dict[str, str], assets: list[Any], expected: list[str]
) -> None:
    folder = write_specs(tmp_path / "specs", files)
    assert problems_of(folder, assets) == [line.replace("{d}", str(folder)) for line in expected]


def test_an_automated_asset_with_its_values_loads(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path,
        {"a.yaml": "asset_defaults: true\nselection: [automated]\nparameter_values: {bucket: x}\n"},
    )
    defs = build_definitions(folder, assets=[automated])
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.asset_materializations_for_node("automated")[0].metadata[
        "nexus/params"
    ].value == {"bucket": use("x", "default", "bucket")}


def test_validate_reports_an_automated_asset_that_cannot_run(tmp_path: Path) -> None:
    location = tmp_path / "location.py"
    location.write_text(
        "import dagster as dg\nfrom nexus_dagster import build_definitions, nexus_asset\n\n"
        "@nexus_asset(params={'bucket': 'string!'}, "
        "automation_condition=dg.AutomationCondition.on_cron('0 * * * *'))\n"
        "def automated(context, params):\n    params.for_asset(context)\n\n"
        "defs = build_definitions('specs', assets=[automated])\n"
    )
    write_specs(tmp_path / "specs", {"a.yaml": "selection: [automated]\n"})
    try:
        result = nexus("validate", "-f", str(location), cwd=tmp_path)
    finally:
        # the file is imported under its name, `location`: leave no module of that name behind
        if getattr(sys.modules.get("location"), "__file__", None) == str(location):
            del sys.modules["location"]
    assert result.code == 1
    assert "selection[0]: asset `automated` has an `automation_condition`" in result.out + (
        result.err
    )


# --- a spec edited while a multiprocess run is in flight -------------------------------------


def test_later_steps_of_an_asset_run_resolve_what_the_first_did(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "specs",
        {"edit_job.yaml": "asset_defaults: true\nselection: [first, second]\n"
         "parameter_values:\n  bucket: before\n"},
    )  # fmt: skip
    home = new_dagster_home(tmp_path / "home")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NEXUS_TEST_SPECS": str(specs),
        "PROBE_OUT": str(tmp_path / "out"),
        "EDIT_SPEC_DURING_RUN": "1",
    }
    # `dagster asset materialize` runs `execute_job` with the default executor: multiprocess,
    # one process per step (forked from a forkserver), each loading the spec files anew.
    result = run("dagster", "asset", "materialize", "--select", "first,second", "-f",
                 CONSISTENCY, "--config-json", json.dumps(FORKSERVER), env=env)  # fmt: skip
    output = result.stdout + result.stderr
    assert "Executing steps using multiprocess executor" in output
    assert result.returncode == 0, output[-3000:]
    # `second`'s process loaded the spec `first` edited, and resolved what `first` did
    assert json.loads((tmp_path / "out" / "second.json").read_text()) == {"bucket": "before"}
    assert "bucket: after" in (specs / "edit_job.yaml").read_text()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (launched,) = instance.get_runs()
    claims = {k: v for k, v in launched.tags.items() if k.startswith("nexus/asset_defaults.")}
    assert len(claims) == 1  # the first step's claim; the later one took it, adding none


def test_a_python_asset_job_and_its_schedule_take_the_asset_defaults_values(
    tmp_path: Path,
) -> None:
    python_job = dg.define_asset_job("python_job", selection=[summary])
    schedule = dg.ScheduleDefinition(name="hourly", cron_schedule="0 * * * *", job=python_job)
    folder = write_specs(tmp_path, {"lake.yaml": DEFAULTS_SPEC})
    defs = build_definitions(folder, assets=ASSETS, jobs=[python_job], schedules=[schedule])
    request = defs.resolve_schedule_def("hourly").evaluate_tick(dg.build_schedule_context())
    assert request.run_requests and request.run_requests[0].run_config == {}
    result = defs.resolve_job_def("python_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=request.run_requests[0].run_config
    )
    metadata = result.asset_materializations_for_node("summary")[0].metadata
    assert metadata["nexus/params"].value == {"bucket": use("lake", "default", "bucket")}
    assert metadata["nexus/spec"].value == "lake"
