"""A partitioned asset that also takes Dagster's own op config (a `dg.Config`): the specs of
`reporting_jobs/` build a partitioned job over it (docs/partitions.md, docs/spec-format.md)."""

import dagster as dg

from nexus_dagster import NexusParams, nexus_asset

daily = dg.DailyPartitionsDefinition(start_date="2026-11-01")


class OrdersConfig(dg.Config):
    limit: int = 100


@nexus_asset(
    params={"source_bucket": "string!"},
    config={"input": "{{ params.source_bucket }}/{{ partition.key }}.csv"},
    partitions_def=daily,
    group_name="daily",
)
def daily_orders(
    context: dg.AssetExecutionContext, config: OrdersConfig, params: NexusParams
) -> dg.MaterializeResult:
    """One day's orders, read from `<source_bucket>/<date>.csv` (at most `limit` rows)."""
    settings = params.render(context)
    return dg.MaterializeResult(
        metadata={"used": {**params.for_asset(context), **settings, "limit": config.limit}}
    )
