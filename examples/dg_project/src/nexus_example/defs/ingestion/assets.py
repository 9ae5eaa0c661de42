"""The project's assets, plain Dagster code in a defs folder; the specs of `sales_jobs/` and
`reporting_jobs/` select them. Each reports the values it resolved as materialization metadata.
"""

import dagster as dg

from nexus_dagster import NexusParams, nexus_asset


@nexus_asset(
    params={"source_bucket": "string!", "target_bucket": "string!", "batch_size": "int"},
    group_name="ingestion",
)
def sales_ingestion_asset(
    context: dg.AssetExecutionContext, params: NexusParams
) -> dg.MaterializeResult:
    """Copy the sales exports of `source_bucket` into `target_bucket`."""
    values = params.for_asset(context)
    context.log.info(f"sales: {values['source_bucket']} -> {values['target_bucket']}")
    return dg.MaterializeResult(metadata={"used": dict(values)})


@nexus_asset(
    params={"source_bucket": "string!", "target_bucket": "string!"},
    group_name="ingestion",
)
def marketing_ingestion_asset(
    context: dg.AssetExecutionContext, params: NexusParams
) -> dg.MaterializeResult:
    """Copy the marketing exports of `source_bucket` into `target_bucket`."""
    values = params.for_asset(context)
    context.log.info(f"marketing: {values['source_bucket']} -> {values['target_bucket']}")
    return dg.MaterializeResult(metadata={"used": dict(values)})


@nexus_asset(
    params={"report_title": "string"},
    deps=[sales_ingestion_asset, marketing_ingestion_asset],
    group_name="reporting",
)
def report(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    """Summarise both ingestions under `report_title`."""
    values = params.for_asset(context)
    return dg.MaterializeResult(metadata={"used": dict(values)})
