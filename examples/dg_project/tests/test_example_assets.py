"""The example project's own tests: its assets tested the way Dagster teaches, with the values
given to `NexusParams` (docs: testing.md)."""

import dagster as dg
import pytest
from nexus_example.defs.ingestion.assets import (
    marketing_ingestion_asset,
    report,
    sales_ingestion_asset,
)

from nexus_dagster import NexusParamError, NexusParams


def used(result: dg.MaterializeResult) -> dict[str, object]:
    return result.metadata["used"]  # type: ignore[return-value,index]


def test_an_asset_invoked_directly_takes_shared_and_per_asset_names() -> None:
    params = NexusParams(
        values={"target_bucket": "wh", "sales_ingestion_asset.source_bucket": "raw"}
    )
    result = sales_ingestion_asset(dg.build_asset_context(), params=params)
    assert used(result) == {"source_bucket": "raw", "target_bucket": "wh"}


def test_an_asset_invoked_directly_without_a_required_value_says_which() -> None:
    with pytest.raises(NexusParamError, match="needs parameter `source_bucket`"):
        marketing_ingestion_asset(
            dg.build_asset_context(), params=NexusParams(values={"target_bucket": "wh"})
        )


def test_the_assets_materialize_together_with_one_set_of_values() -> None:
    values = {
        "source_bucket": "raw",
        "target_bucket": "wh",
        "marketing_ingestion_asset.source_bucket": "raw-mkt",
        "report_title": "Weekly",
    }
    result = dg.materialize_to_memory(
        [sales_ingestion_asset, marketing_ingestion_asset, report],
        resources={"params": NexusParams(values=values)},
    )
    assert result.success
    by_asset = {
        e.asset_key.to_user_string(): e.metadata["used"].value
        for e in result.asset_materializations_for_node("marketing_ingestion_asset")
        + result.asset_materializations_for_node("report")
    }
    assert by_asset == {
        "marketing_ingestion_asset": {"source_bucket": "raw-mkt", "target_bucket": "wh"},
        "report": {"report_title": "Weekly"},
    }


def test_a_spec_job_runs_in_process_with_its_flat_run_config() -> None:
    from nexus_example.definitions import defs

    job = defs().resolve_job_def("sales_job")
    result = job.execute_in_process(run_config={"sales_ingestion_asset.batch_size": 10})
    assert result.success
    (sales,) = result.asset_materializations_for_node("sales_ingestion_asset")
    assert sales.metadata["used"].value == {
        "source_bucket": "raw-sales",
        "target_bucket": "warehouse",
        "batch_size": 10,
    }
