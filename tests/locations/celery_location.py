"""A code location whose spec job runs on Dagster's Celery executor.

The broker (and result backend) URL comes from ``$NEXUS_CELERY_BROKER``. Each asset writes what
it resolved, with the identity of the process that ran it, to ``$CELERY_OUT/<op name>.json``, so
a test can tell which values each step saw and where the step ran.
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


def _record(context: dg.AssetExecutionContext, values: Mapping[str, Any]) -> None:
    out = Path(os.environ["CELERY_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    name = context.op_def.name
    payload = {
        "values": dict(values),
        "pid": os.getpid(),
        # the worker is started as its own process group, so the group names the worker
        "pgid": os.getpgid(0),
        "hostname": socket.gethostname(),
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


_BROKER = {"env": "NEXUS_CELERY_BROKER"}

defs = build_definitions(
    "celery_specs",
    assets=[extract, transform, load],
    executor=celery_executor.configured({"broker": _BROKER, "backend": _BROKER}),
)
