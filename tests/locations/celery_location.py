"""A code location whose spec jobs run on Dagster's Celery executor.

The broker (and result backend) URL comes from ``$NEXUS_CELERY_BROKER``. Each asset writes what
it resolved, with the identity of the process that ran it, to ``$CELERY_OUT/<op name>.json``, so
a test can tell which values each step saw and where the step ran. The ``part_*`` assets are
partitioned by region: they also write the run's partition key and their rendered
``nexus/config``.
"""

import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_celery import celery_executor

from nexus_dagster import NexusParams, build_definitions, nexus_asset


def _record(context: dg.AssetExecutionContext, values: Mapping[str, Any], **extra: Any) -> None:
    out = Path(os.environ["CELERY_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    name = context.op_def.name
    payload = {
        "values": dict(values),
        "pid": os.getpid(),
        # the worker is started as its own process group, so the group names the worker
        "pgid": os.getpgid(0),
        "hostname": socket.gethostname(),
        **extra,
    }
    (out / f"{name}.json").write_text(json.dumps(payload))


@nexus_asset(params={"bucket": "string!", "batch": "int", "token": "secret"})
def extract(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record(context, params.for_asset(context))


@nexus_asset(params={"bucket": "string!", "batch": "int"}, deps=[extract])
def transform(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record(context, params.for_asset(context))


@nexus_asset(
    key=["warehouse", "load"], params={"bucket": "string!", "mode": "string"}, deps=[transform]
)
def load(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record(context, params.for_asset(context))


regions = dg.StaticPartitionsDefinition(["eu", "us"])
_WHERE = {"where": "{{params.bucket}}/{{partition.key}}"}


def _record_partition(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record(
        context,
        params.for_asset(context),
        partition_key=context.partition_key,
        rendered=params.render(context),
    )


@nexus_asset(
    params={"bucket": "string!", "batch": "int", "token": "secret"},
    config=_WHERE,
    partitions_def=regions,
)
def part_extract(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record_partition(context, params)


@nexus_asset(
    params={"bucket": "string!", "batch": "int"},
    config=_WHERE,
    partitions_def=regions,
    deps=[part_extract],
)
def part_transform(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record_partition(context, params)


@nexus_asset(
    key=["mart", "part_load"],
    params={"bucket": "string!", "mode": "string"},
    config=_WHERE,
    partitions_def=regions,
    deps=[part_transform],
)
def part_load(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record_partition(context, params)


_BROKER = {"env": "NEXUS_CELERY_BROKER"}

defs = build_definitions(
    os.environ.get("NEXUS_CELERY_SPECS", "celery_specs"),
    assets=[extract, transform, load, part_extract, part_transform, part_load],
    executor=celery_executor.configured({"broker": _BROKER, "backend": _BROKER}),
)
