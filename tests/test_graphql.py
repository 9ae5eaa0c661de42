"""The sales job submitted through Dagster's GraphQL client to a running `dagster dev`, with the
flat run config (docs/parameters.md): simple names for shared values, `asset.param` for per-asset ones."""

from __future__ import annotations

import uuid
from typing import Any

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClientError

from . import ui_support
from .ui_support import (
    LOCATION,
    REPOSITORY,
    RUN_TIMEOUT,
    START_TIMEOUT,
    Webserver,
    bucket_rows,
    read_csv_rows,
)

# The session's `dagster dev` (a fixture; see ui_support), shared with the other UI modules,
# so they run on one xdist worker.
dagster_dev = ui_support.dagster_dev
pytestmark = [
    pytest.mark.timeout(START_TIMEOUT + RUN_TIMEOUT + 60),
    pytest.mark.xdist_group("dagster_dev"),
    # The launchpad's GraphQL schema and client on the oldest Dagster release supported too.
    pytest.mark.floor,
]
JOB = "sales_job"


def submit(server: Webserver, run_config: dict[str, Any], tags: dict[str, str]) -> str:
    return server.client().submit_job_execution(
        JOB,
        repository_location_name=LOCATION,
        repository_name=REPOSITORY,
        run_config=run_config,
        tags=tags,
    )


def test_flat_prefixed_config_runs_and_each_asset_gets_its_values(dagster_dev: Webserver) -> None:
    webserver = dagster_dev
    run_config = {
        "sales_ingestion_asset.source_bucket": "sales-daily",  # over the spec's sales-raw
        "marketing_ingestion_asset.source_bucket": "mkt-raw",  # required, no spec value
        "target_bucket": "graphql-lake",  # shared, over the spec's analytics-lake
        "marketing_ingestion_asset.target_bucket": "graphql-marketing-lake",  # one asset only
    }
    run_id = submit(webserver, run_config, {"nexus-test": "graphql-flat-config"})

    assert webserver.wait_for_run(run_id) == dg.DagsterRunStatus.SUCCESS
    assert webserver.stored_run_config(run_id) == run_config
    assert webserver.recorded_params(run_id) == {
        "sales_ingestion_asset": {
            "source_bucket": {
                "value": "sales-daily",
                "source": "per-asset",
                "field": "sales_ingestion_asset.source_bucket",
            },
            "target_bucket": {
                "value": "graphql-lake",
                "source": "shared",
                "field": "target_bucket",
            },
        },
        "marketing_ingestion_asset": {
            "source_bucket": {
                "value": "mkt-raw",
                "source": "per-asset",
                "field": "marketing_ingestion_asset.source_bucket",
            },
            "target_bucket": {
                "value": "graphql-marketing-lake",
                "source": "per-asset",
                "field": "marketing_ingestion_asset.target_bucket",
            },
        },
    }
    # The files the assets wrote: each read its own source and wrote where its values said.
    data = webserver.data
    assert read_csv_rows(data / "graphql-lake" / "sales.csv") == bucket_rows(data / "sales-daily")
    marketing = data / "graphql-marketing-lake" / "marketing.csv"
    assert read_csv_rows(marketing) == bucket_rows(data / "mkt-raw")
    assert sorted(p.name for p in (data / "graphql-lake").iterdir()) == ["sales.csv"]


# (run config, Dagster's config errors as (reason, message)) — refused before any run starts. The
# messages are Dagster 1.13's; Dagster 1.12 words the hint of a missing entry as OLDER_WORDING's
# key (what follows it is the same), which `dagster_13_wording` rewrites.
OLDER_WORDING = {
    "Sample config for missing entry: ": (
        "You must provide this value in your run config. Example config for the missing entry: "
    ),
}


def dagster_13_wording(message: str) -> str:
    for older, newer in OLDER_WORDING.items():
        message = message.replace(older, newer)
    return message


REJECTED_CASES = [
    pytest.param(
        {"target_bucket": "t"},
        [
            (
                "MISSING_REQUIRED_FIELD",
                'Missing required config entry "marketing_ingestion_asset.source_bucket" at the '
                "root. You must provide this value in your run config. Example config for the "
                "missing entry: {'marketing_ingestion_asset.source_bucket': '...'}",
            )
        ],
        id="required-per-asset-value-missing",
    ),
    pytest.param(
        {"marketing_ingestion_asset.source_bucket": "m", "marketing_ingestion_asset.batch_size": 5},
        [
            (
                "FIELD_NOT_DEFINED",
                'Received unexpected config entry "marketing_ingestion_asset.batch_size" at the '
                'root. Expected: "{ execution?: { } loggers?: { } '
                "marketing_ingestion_asset.source_bucket: String "
                "marketing_ingestion_asset.target_bucket?: String ops?: { } "
                "resources?: { params?: NexusParamsTakeFlatNames } "
                "sales_ingestion_asset.batch_size?: Int sales_ingestion_asset.source_bucket?: "
                'String sales_ingestion_asset.target_bucket?: String target_bucket?: String }".',
            )
        ],
        id="param-prefixed-with-an-asset-that-does-not-declare-it",
    ),
    pytest.param(
        {
            "marketing_ingestion_asset.source_bucket": "m",
            "sales_ingestion_asset.batch_size": "many",
        },
        [
            (
                "RUNTIME_TYPE_MISMATCH",
                'Invalid scalar at path root:sales_ingestion_asset.batch_size. Value "many" of '
                'type "<class \'str\'>" is not valid for expected type "Int".',
            )
        ],
        id="wrong-type",
    ),
]


@pytest.mark.parametrize(("run_config", "errors"), REJECTED_CASES)
def test_bad_config_is_refused_naming_the_field(
    dagster_dev: Webserver, run_config: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    # The server is shared: count only the runs of this job that this submission would create
    # (its own tag), not the runs other tests launch meanwhile.
    tags = {"nexus-test": f"graphql-refused-{uuid.uuid4().hex}"}
    mine = dg.RunsFilter(job_name=JOB, tags=tags)
    with dagster_dev.instance() as instance:
        runs_before = len(instance.get_run_records(mine))
    with pytest.raises(DagsterGraphQLClientError) as refused:
        submit(dagster_dev, run_config, tags)

    kind, details = refused.value.args
    assert kind == "RunConfigValidationInvalid"
    assert [(e["reason"], dagster_13_wording(e["message"])) for e in details] == errors
    with dagster_dev.instance() as instance:
        assert len(instance.get_run_records(mine)) == runs_before == 0
