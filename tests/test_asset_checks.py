"""Asset checks that read parameters (docs: parameters.md, "Asset checks"): a check's parameters
are its asset's fields in spec jobs and its `asset_defaults` spec's values outside them; the
check's evaluation records the values it used; blocking checks keep working."""

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import BaseModel, Field

from nexus_dagster import (
    NexusDeclarationError,
    NexusParams,
    build_definitions,
    nexus_asset,
    nexus_asset_check,
)

from .conftest import IN_PROCESS, REPO, write_specs
from .forked_dagster import dagster

DEFINITIONS = str(REPO / "definitions.py")

ROWS = {"orders": 4}
DOWNSTREAM: list[str] = []

# Direct invocation, check contexts and typed models touch Dagster's APIs most: these run on
# the oldest supported release too (make test-floor).
pytestmark = pytest.mark.floor


@nexus_asset(params={"bucket": "string!"})
def orders(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


@nexus_asset_check(asset=orders, params={"max_rows": "int!", "bucket": "string!"})
def orders_row_limit(
    context: dg.AssetCheckExecutionContext, params: NexusParams
) -> dg.AssetCheckResult:
    values = params.for_asset(context)
    return dg.AssetCheckResult(
        passed=ROWS["orders"] <= values["max_rows"], metadata={"bucket": values["bucket"]}
    )


class Freshness(BaseModel):
    max_age_hours: int = Field(24, gt=0, description="Oldest acceptable export, in hours")


@nexus_asset_check(asset=orders, params=Freshness)
def orders_fresh(
    context: dg.AssetCheckExecutionContext, params: NexusParams
) -> dg.AssetCheckResult:
    chosen = params.for_asset(context)
    assert isinstance(chosen, Freshness)
    return dg.AssetCheckResult(passed=True, metadata={"max_age_hours": chosen.max_age_hours})


@dg.asset_check(asset=orders, metadata={"nexus/params": {"min_rows": "int"}})
def orders_not_empty(
    context: dg.AssetCheckExecutionContext, params: NexusParams
) -> dg.AssetCheckResult:
    values = params.for_asset(context)
    return dg.AssetCheckResult(passed=ROWS["orders"] >= values.get("min_rows", 1))


@nexus_asset(params={"bucket": "string!"}, deps=[orders])
def summary(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    DOWNSTREAM.append(params.for_asset(context)["bucket"])


@nexus_asset_check(asset=summary, params={"bucket": "string!"}, blocking=True)
def summary_blocks(
    context: dg.AssetCheckExecutionContext, params: NexusParams
) -> dg.AssetCheckResult:
    values = params.for_asset(context)
    return dg.AssetCheckResult(passed=values["bucket"] != "forbidden")


@nexus_asset(deps=[summary])
def after_summary(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    DOWNSTREAM.append("after_summary")


CHECKS = [orders_row_limit, orders_fresh, orders_not_empty, summary_blocks]

SPECS = {
    "orders_job.yaml": """
        selection: [orders]
        parameter_values: {bucket: lake}
        ops_config:
          orders: {max_rows: 10}
    """,
    "orders_defaults.yaml": """
        name: orders_defaults
        asset_defaults: true
        selection: [orders, summary, after_summary]
        parameter_values: {bucket: defaults-lake, max_rows: 3}
    """,
}


@pytest.fixture
def defs(tmp_path: Path) -> dg.Definitions:
    ROWS["orders"] = 4
    DOWNSTREAM.clear()
    return build_definitions(
        write_specs(tmp_path / "specs", SPECS),
        assets=[orders, summary, after_summary],
        asset_checks=CHECKS,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """Each check's evaluation, by check name."""
    found = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            found[data.check_name] = data  # type: ignore[union-attr]
    return found


def test_a_checks_parameters_are_fields_of_its_asset_in_a_spec_job(defs: dg.Definitions) -> None:
    fields = defs.resolve_job_def("orders_job").run_config_schema.config_type.fields  # type: ignore[attr-defined]
    assert {"orders.max_rows", "orders.min_rows", "orders.max_age_hours", "bucket"} <= set(fields)
    assert fields["orders.max_rows"].default_value == 10
    assert fields["orders.max_age_hours"].description.startswith("Oldest acceptable export")


def test_inside_a_check_for_asset_resolves_per_asset_then_shared_and_the_evaluation_records_it(
    defs: dg.Definitions,
) -> None:
    result = defs.resolve_job_def("orders_job").execute_in_process(
        run_config={"orders.bucket": "own", "orders.max_rows": 2}
    )
    checks = evaluations(result)
    assert not checks["orders_row_limit"].passed  # 4 rows over the run's limit of 2
    record = checks["orders_row_limit"].metadata["nexus/params"].value
    assert record == {
        "max_rows": {"value": 2, "source": "per-asset", "field": "orders.max_rows"},
        "bucket": {"value": "own", "source": "per-asset", "field": "orders.bucket"},
    }
    assert checks["orders_row_limit"].metadata["bucket"].value == "own"
    assert checks["orders_fresh"].metadata["max_age_hours"].value == 24  # the model's default
    assert checks["orders_not_empty"].passed


def test_outside_spec_jobs_a_check_takes_its_assets_asset_defaults_values(
    defs: dg.Definitions,
) -> None:
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(asset_selection=[orders.key])
    checks = evaluations(result)
    assert not checks["orders_row_limit"].passed  # the spec's max_rows: 3 < 4 rows
    record = checks["orders_row_limit"].metadata["nexus/params"].value
    assert record["max_rows"] == {"value": 3, "source": "default", "field": "max_rows"}
    assert checks["orders_row_limit"].metadata["nexus/spec"].value == "orders_defaults"
    overridden = job.execute_in_process(
        asset_selection=[orders.key],
        run_config={"resources": {"params": {"config": {"values": {"orders.max_rows": 9}}}}},
    )
    assert evaluations(overridden)["orders_row_limit"].passed


def test_a_typed_check_refuses_a_value_that_breaks_its_model_before_any_asset_runs(
    defs: dg.Definitions,
) -> None:
    result = defs.resolve_job_def("orders_job").execute_in_process(
        run_config={"orders.max_age_hours": 0}, raise_on_error=False
    )
    assert not result.success
    assert not result.get_asset_materialization_events()
    errors = [
        str(getattr(e.event_specific_data, "error", ""))
        for e in result.all_events
        if e.event_type_value == "RESOURCE_INIT_FAILURE"
    ]
    assert any(
        "parameter `max_age_hours` of `orders:orders_fresh` (field `orders.max_age_hours`) "
        "breaks a constraint of model `Freshness`: Input should be greater than 0" in e
        for e in errors
    )


def test_a_blocking_check_still_stops_the_assets_downstream(defs: dg.Definitions) -> None:
    job = defs.resolve_implicit_global_asset_job_def()
    passed = job.execute_in_process(
        asset_selection=[summary.key, after_summary.key], raise_on_error=False
    )
    assert passed.success and DOWNSTREAM == ["defaults-lake", "after_summary"]
    DOWNSTREAM.clear()
    blocked = job.execute_in_process(
        asset_selection=[summary.key, after_summary.key],
        run_config={
            "resources": {"params": {"config": {"values": {"summary.bucket": "forbidden"}}}}
        },
        raise_on_error=False,
    )
    assert not blocked.success
    assert DOWNSTREAM == ["forbidden"]  # summary ran; its blocking check failed; nothing after


def test_a_check_parameter_whose_type_disagrees_with_its_assets_is_refused_at_load(
    tmp_path: Path,
) -> None:
    @dg.asset_check(asset=orders, metadata={"nexus/params": {"bucket": "int"}})
    def wrong(context: dg.AssetCheckExecutionContext, params: NexusParams) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    with pytest.raises(NexusDeclarationError) as caught:
        build_definitions(
            write_specs(tmp_path / "specs", SPECS),
            assets=[orders, summary, after_summary],
            asset_checks=[wrong],
        )
    assert str(caught.value) == (
        "asset `orders:wrong`, metadata `nexus/params.bucket`: check `wrong` declares `bucket` as "
        "`int`, but asset `orders` (or another of its checks) declares it as `string!`: a check's "
        "parameters are its asset's, so the types must agree"
    )


def test_a_check_is_invoked_directly_with_its_values() -> None:
    result = orders_row_limit(
        dg.build_asset_check_context(), params=NexusParams(values={"max_rows": 5, "bucket": "b"})
    )
    assert result.passed
    assert result.metadata["nexus/params"].value["max_rows"]["field"] == "max_rows"  # type: ignore[index]
    context = dg.build_asset_check_context(
        resources={"params": NexusParams(values={"orders.max_rows": 1, "bucket": "b"})}
    )
    assert not orders_row_limit(context).passed


# --- the example location, through the dagster CLI ------------------------------------------


def test_the_examples_typed_asset_and_its_check_run_through_the_dagster_cli(
    example_data: Path, dagster_home: Path
) -> None:
    (example_data / "reports-lake").mkdir()
    (example_data / "reports-lake" / "sales.csv").write_text(
        "date,region,amount\n2026-11-01,north,120.5\n2026-11-02,east,210\n2026-11-02,west,9\n"
    )
    values = {"top_sales.top_n": 2, "top_sales.min_rows": 3}
    config = {"resources": {"params": {"config": {"values": values}}}, **IN_PROCESS}
    result = dagster(
        ["asset", "materialize", "--select", "top_sales", "-f", DEFINITIONS,
         "--config-json", json.dumps(config)],
        env=dict(os.environ),
        timeout=180,
    )  # fmt: skip
    # The check is blocking: its failure fails the run, after top_sales materialized.
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "1 blocking asset check failed" in output, output[-6000:]
    assert len((example_data / "reports-lake" / "top_sales.csv").read_text().splitlines()) == 3
    with dg.DagsterInstance.get() as instance:
        key = dg.AssetCheckKey(dg.AssetKey("top_sales"), "top_sales_has_rows")
        (check,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        assert check.event is not None and check.event.dagster_event is not None
        evaluation = check.event.dagster_event.event_specific_data
    assert not evaluation.passed  # type: ignore[union-attr] # 2 rows kept, 3 required
    record = evaluation.metadata["nexus/params"].value  # type: ignore[union-attr]
    assert record == {
        "min_rows": {"value": 3, "source": "per-asset", "field": "top_sales.min_rows"},
        "target_bucket": {"value": "reports-lake", "source": "default", "field": "target_bucket"},
    }
    assert evaluation.metadata["nexus/spec"].value == "top_sales_job"  # type: ignore[union-attr]

    run_config = example_data / "run.yaml"
    run_config.write_text(json.dumps({"top_sales.top_n": 0, **IN_PROCESS}))
    refused = dagster(
        ["job", "execute", "-j", "top_sales_job", "-f", DEFINITIONS, "-c", str(run_config)],
        env=dict(os.environ),
        timeout=180,
    )  # fmt: skip
    assert refused.returncode != 0
    assert (
        "parameter `top_n` of `top_sales` (field `top_sales.top_n`) breaks a constraint of model "
        "`TopSalesParams`: Input should be greater than 0"
    ) in refused.stdout + refused.stderr
