"""A code location with every kind of partitions definition Dagster has (time window, static,
dynamic, multi), an asset taking Dagster's own op config (``dg.Config``) and a resource
configured at launch. Each asset returns what it resolved and rendered as metadata, so a test
can read from the run what the step saw."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset

daily = dg.DailyPartitionsDefinition(start_date="2026-11-01")
regions = dg.StaticPartitionsDefinition(["eu", "us"])
files = dg.DynamicPartitionsDefinition(name="files")
cells = dg.MultiPartitionsDefinition({"date": daily, "region": regions})


def _seen(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    values: Mapping[str, Any] = params.for_asset(context)
    metadata: dict[str, Any] = {"values": dg.MetadataValue.json(dict(values))}
    rendered = params.render(context)
    if rendered is not None:
        metadata["rendered"] = dg.MetadataValue.json(rendered)
    if context.has_partition_key:
        metadata["partition_key"] = context.partition_key
    return dg.MaterializeResult(metadata=metadata)


@nexus_asset(
    params={"source_bucket": "string!", "target": "string!"},
    config={
        "path": "{{ params.source_bucket }}/{{ partition.key }}.csv",
        "window": "{{ partition.start }}..{{ partition.end }}",
    },
    partitions_def=daily,
)
def d_extract(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    return _seen(context, params)


@nexus_asset(
    params={"target": "string!", "mode": "string", "token": "secret"},
    partitions_def=daily,
    deps=[d_extract],
)
def d_load(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    return _seen(context, params)


@nexus_asset(
    params={"target": "string!"},
    config={"note": "unpartitioned beside {{ params.target }}"},
    deps=[d_load],
)
def d_report(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    return _seen(context, params)


@nexus_asset(
    params={"bucket": "string!"},
    config={"where": "{{ params.bucket }}/{{ partition.key }}"},
    partitions_def=regions,
)
def s_region(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    return _seen(context, params)


@nexus_asset(config={"file": "{{ params.inbox }}/{{ partition.key }}"}, partitions_def=files)
def dyn_file(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    return _seen(context, params)


@nexus_asset(
    params={"scale": "int!"},
    config={"cell": "{{ partition.key }}", "day": "{{ partition.start }}"},
    partitions_def=cells,
)
def m_cell(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    return _seen(context, params)


class LoadConfig(dg.Config):
    limit: int


class Warehouse(dg.ConfigurableResource):
    dsn: str


@nexus_asset(params={"bucket": "string!"})
def u_config(
    context: dg.AssetExecutionContext, config: LoadConfig, warehouse: Warehouse, params: NexusParams
) -> dg.MaterializeResult:
    result = _seen(context, params)
    extra = {"limit": config.limit, "dsn": warehouse.dsn}
    return dg.MaterializeResult(metadata={**(result.metadata or {}), **extra})


ASSETS = [d_extract, d_load, d_report, s_region, dyn_file, m_cell, u_config]

# `$NEXUS_PARTITIONED_IN_PROCESS=1`: every run of this location executes all its steps in the
# process that runs it (the in-process executor), for the tests that launch runs through the
# `dagster` CLI about something else than step processes (a backfill takes no run config that
# could choose the executor).
EXECUTOR = (
    {"executor": dg.in_process_executor} if os.environ.get("NEXUS_PARTITIONED_IN_PROCESS") else {}
)

defs = build_definitions(
    "partitioned_specs",
    assets=ASSETS,
    resources={"warehouse": Warehouse.configure_at_launch()},
    **EXECUTOR,
)
