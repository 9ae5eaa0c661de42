"""Runs of the asset graph in a real `dagster dev`: the Materialize button of an asset's page,
clicked in headless Chromium, and an asset backfill launched through GraphQL and run by the
daemon. Both take the values of the asset's `asset_defaults` spec."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus
from playwright.sync_api import expect

from . import ui_support
from .test_ui_launchpad import browser_page
from .ui_support import (
    RUN_TIMEOUT,
    START_TIMEOUT,
    Webserver,
    graphql,
    require_chromium,
)

# The session's `dagster dev` (a fixture; see ui_support), shared with the other UI modules,
# so they run on one xdist worker.
dagster_dev = ui_support.dagster_dev
pytestmark = [
    pytest.mark.timeout(START_TIMEOUT + 2 * RUN_TIMEOUT + 60),
    pytest.mark.xdist_group("dagster_dev"),
]


@pytest.fixture
def chromium() -> Path:
    # Asked for before `dagster_dev`, so that where it is missing no server is started.
    return require_chromium()


def asset_job_runs(webserver: Webserver, asset: str) -> list[dg.DagsterRun]:
    """The runs of the asset launched from the UI (not a backfill's, nor the daemon's)."""
    with webserver.instance() as instance:
        runs = instance.get_runs(
            dg.RunsFilter(job_name="__ASSET_JOB", tags={"dagster/from_ui": "true"})
        )
    return [r for r in runs if dg.AssetKey(asset) in (r.asset_selection or ())]


def new_asset_job_runs(webserver: Webserver, asset: str, before: set[str]) -> list[dg.DagsterRun]:
    """The asset's runs launched from the UI since ``before`` (their ids), once there is one."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        new = [r for r in asset_job_runs(webserver, asset) if r.run_id not in before]
        if new:
            return new
        time.sleep(0.5)
    raise AssertionError(f"no run of {asset} launched by the Materialize button")


def recorded(webserver: Webserver, run_id: str, asset: str) -> dict[str, Any]:
    with webserver.instance() as instance:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.asset_materialization
            assert materialization is not None
            if materialization.asset_key == dg.AssetKey(asset):
                return {k: v.value for k, v in materialization.metadata.items()}
    raise AssertionError(f"run {run_id} did not materialize {asset}")


def test_materialize_button_runs_the_asset_with_its_asset_defaults_values(
    chromium: Path, dagster_dev: Webserver, tmp_path: Path
) -> None:
    webserver = dagster_dev
    before = {r.run_id for r in asset_job_runs(webserver, "sales_ingestion_asset")}
    failure = tmp_path / "materialize.png"
    with browser_page(chromium, webserver, "/assets/sales_ingestion_asset", failure) as page:
        button = page.get_by_role("button", name="materialization Materialize", exact=True)
        expect(button).to_be_enabled()
        button.click()
        new = new_asset_job_runs(webserver, "sales_ingestion_asset", before)

    run_id = new[0].run_id
    assert new[0].run_config == {}  # the button gives no run config
    assert webserver.wait_for_run(run_id) == dg.DagsterRunStatus.SUCCESS
    metadata = recorded(webserver, run_id, "sales_ingestion_asset")
    assert metadata["nexus/spec"] == "daily_report_job"
    assert metadata["nexus/params"] == {
        "source_bucket": {
            "value": "sales-raw",
            "source": "default",
            "field": "sales_ingestion_asset.source_bucket",
        },
        "target_bucket": {"value": "reports-lake", "source": "default", "field": "target_bucket"},
        "batch_size": {
            "value": 500,
            "source": "default",
            "field": "sales_ingestion_asset.batch_size",
        },
    }
    assert (webserver.data / "reports-lake" / "sales.csv").exists()


BACKFILL = """
mutation {
  launchPartitionBackfill(backfillParams: {
    assetSelection: [{path: ["daily_orders"]}, {path: ["daily_summary"]}]
    partitionNames: ["2026-11-03", "2026-11-04"]
    title: "nexus asset backfill"
  }) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""


def test_asset_backfill_runs_each_partition_with_its_asset_defaults_values(
    dagster_dev: Webserver,
) -> None:
    webserver = dagster_dev
    answer = graphql(webserver.port, BACKFILL)["data"]["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    backfill_id = answer["backfillId"]
    deadline = time.monotonic() + RUN_TIMEOUT
    status = BulkActionStatus.REQUESTED
    while time.monotonic() < deadline:
        with webserver.instance() as instance:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None
            status = backfill.status
        if status != BulkActionStatus.REQUESTED:
            break
        time.sleep(1)
    assert status == BulkActionStatus.COMPLETED_SUCCESS, webserver.log_tail()

    with webserver.instance() as instance:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    assert sorted(r.tags["dagster/partition"] for r in runs) == ["2026-11-03", "2026-11-04"]
    for run in runs:
        partition = run.tags["dagster/partition"]
        summary = recorded(webserver, run.run_id, "daily_summary")
        assert summary["nexus/spec"] == "daily_orders_job"
        assert summary["nexus/partition"] == partition
        assert summary["nexus/params"] == {
            "min_amount": {"value": 20, "source": "default", "field": "min_amount"},
            "target_bucket": {
                "value": "orders-lake",
                "source": "default",
                "field": "target_bucket",
            },
        }
        orders = recorded(webserver, run.run_id, "daily_orders")["nexus/params"]
        assert orders["source_bucket"]["value"] == "orders-daily"
        report = webserver.data / "orders-lake" / "orders" / f"{partition}.md"
        assert report.read_text().startswith(f"# Orders from {partition}T00:00:00+00:00")
