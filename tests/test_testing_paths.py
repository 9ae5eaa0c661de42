"""Testing assets the Dagster way (docs: testing.md): direct invocation with the resource as an
argument or on the context, `dg.materialize` and `materialize_to_memory` with simple and
prefixed names, and a spec job in process; a missing value raises the plugin's error, never
Dagster's."""

from pathlib import Path

import dagster as dg
import pytest

from nexus_dagster import NexusParamError, NexusParams, build_definitions, nexus_asset

from .conftest import write_specs

USED: dict[str, dict[str, object]] = {}

# Direct invocation, check contexts and typed models touch Dagster's APIs most: these run on
# the oldest supported release too (make test-floor).
pytestmark = pytest.mark.floor


@nexus_asset(params={"bucket": "string!", "batch_size": "int"})
def sales(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    values = dict(params.for_asset(context))
    USED["sales"] = values
    return dg.MaterializeResult(metadata={"bucket": values["bucket"]})


@nexus_asset(params={"bucket": "string!"}, config={"path": "s3://{{ params.bucket }}/mkt/"})
def marketing(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Takes no `params` argument: the resource comes from the context."""
    rendered = context.resources.params.render(context)
    USED["marketing"] = rendered
    return dg.MaterializeResult(metadata={"path": rendered["path"]})


@pytest.fixture(autouse=True)
def fresh() -> None:
    USED.clear()


def test_direct_invocation_with_the_resource_as_argument_takes_simple_and_prefixed_names() -> None:
    sales(dg.build_asset_context(), params=NexusParams(values={"bucket": "lake"}))
    assert USED["sales"] == {"bucket": "lake"}
    sales(
        dg.build_asset_context(),
        params=NexusParams(values={"bucket": "lake", "sales.bucket": "own", "batch_size": 5}),
    )
    assert USED["sales"] == {"bucket": "own", "batch_size": 5}  # per-asset over shared


def test_direct_invocation_with_the_resource_on_the_context() -> None:
    context = dg.build_asset_context(
        resources={"params": NexusParams(values={"marketing.bucket": "mkt"})}
    )
    result = marketing(context)
    assert result.metadata == {"path": "s3://mkt/mkt/"}


def test_direct_invocation_records_the_values_it_resolved() -> None:
    context = dg.build_asset_context()
    sales(context, params=NexusParams(values={"bucket": "lake"}))
    recorded = context.get_output_metadata("result")
    assert recorded["nexus/params"].value == {
        "bucket": {"value": "lake", "source": "shared", "field": "bucket"}
    }


def test_a_missing_value_in_a_direct_invocation_raises_the_plugins_error() -> None:
    with pytest.raises(NexusParamError) as caught:
        sales(dg.build_asset_context(), params=NexusParams(values={"batch_size": 5}))
    assert str(caught.value) == (
        "asset `sales` needs parameter `bucket` but was invoked with no value for it: give "
        "`sales.bucket` (this asset only) or `bucket` (shared) in `NexusParams(values={...})`"
    )


def test_a_value_of_the_wrong_type_in_a_direct_invocation_names_where_it_was_given() -> None:
    with pytest.raises(NexusParamError) as caught:
        sales(
            dg.build_asset_context(), params=NexusParams(values={"bucket": "b", "batch_size": "x"})
        )
    assert str(caught.value) == (
        "asset `sales` was invoked with values that do not fit, in `NexusParams(values={...})`: "
        "`batch_size` does not fit type `int`: expected int, got str"
    )
    assert "sales" not in USED


@pytest.mark.parametrize("run", [dg.materialize, dg.materialize_to_memory])
def test_materialize_takes_simple_and_prefixed_names(run: object) -> None:
    values = {"bucket": "shared-lake", "marketing.bucket": "mkt"}
    result = run([sales, marketing], resources={"params": NexusParams(values=values)})  # type: ignore[operator]
    assert result.success
    assert USED["sales"] == {"bucket": "shared-lake"}
    assert USED["marketing"] == {"path": "s3://mkt/mkt/"}
    record = result.asset_materializations_for_node("marketing")[0].metadata["nexus/params"]
    assert record.value == {
        "bucket": {"value": "mkt", "source": "per-asset", "field": "marketing.bucket"}
    }


def test_materialize_with_a_missing_value_fails_with_the_plugins_error() -> None:
    result = dg.materialize(
        [sales], resources={"params": NexusParams(values={})}, raise_on_error=False
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    error = str(failure.event_specific_data.error)  # type: ignore[union-attr]
    assert "NexusParamError: asset `sales` needs parameter `bucket`" in error


def test_materialize_refuses_a_value_of_the_wrong_type_before_the_asset_runs() -> None:
    result = dg.materialize(
        [sales],
        resources={"params": NexusParams(values={"bucket": "lake", "batch_size": "many"})},
        raise_on_error=False,
    )
    assert not result.success and "sales" not in USED
    (failure,) = result.get_step_failure_events()
    error = str(failure.event_specific_data.error)  # type: ignore[union-attr]
    assert "`batch_size` does not fit type `int`: expected int, got str" in error


def test_a_spec_job_runs_in_process_with_its_flat_run_config(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "specs",
        {"sales_job.yaml": "selection: [sales, marketing]\nparameter_values: {bucket: lake}\n"},
    )
    defs = build_definitions(specs, assets=[sales, marketing])
    result = defs.resolve_job_def("sales_job").execute_in_process(
        run_config={"marketing.bucket": "mkt", "sales.batch_size": 9}
    )
    assert result.success
    assert USED == {
        "sales": {"bucket": "lake", "batch_size": 9},
        "marketing": {"path": "s3://mkt/mkt/"},
    }
