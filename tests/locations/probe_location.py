"""A code location for end-to-end tests: each asset writes what it resolved to
``$PROBE_OUT/<op name>.json``, so a test can read what every step saw, in any process."""

import json
import os
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset


def _record(name: str, payload: object) -> None:
    out = Path(os.environ["PROBE_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps({"payload": payload, "pid": os.getpid()}))


@nexus_asset(params={"bucket": "string!", "n": "int", "tags": "[string]"})
def alpha(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record("alpha", dict(params.for_asset(context)))


@nexus_asset(params={"bucket": "string!", "n": "int"}, deps=[alpha])
def beta(context: dg.AssetExecutionContext) -> None:
    # no `params` argument: the decorator still requires the resource
    _record("beta", dict(context.resources.params.for_asset(context)))


@nexus_asset(key=["raw", "gamma"], params={"bucket": "string!", "flag": "bool"})
def gamma(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record("raw__gamma", {"values": dict(params.for_asset(context)), "config": params.config})


@nexus_asset(
    params={"n": "int"},
    config={
        "uri": "s3://{{ params.bucket }}/in/{{params.n}}",
        "n": "{{params.n}}",
        "nested": {"list": ["{{ params.bucket }}", 1]},
    },
)
def delta(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _record("delta", params.render(context))


defs = build_definitions("probe_specs", assets=[alpha, beta, gamma, delta])
