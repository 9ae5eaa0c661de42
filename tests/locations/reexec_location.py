"""A code location for re-executions after a spec edit: `second` edits the spec (`bucket:
before` -> `after`) and fails while a marker file exists, so that a re-execution of its run
starts in processes that load the edited spec. Each asset writes what it resolved, per run."""

import json
import os
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset

SPECS = Path(os.environ["NEXUS_TEST_SPECS"])
OUT = Path(os.environ["PROBE_OUT"])


def _write(context: dg.AssetExecutionContext, values: object) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{context.asset_key.to_user_string()}-{context.run.run_id}.json"
    path.write_text(json.dumps({"values": dict(values), "pid": os.getpid()}))  # type: ignore[call-overload]


@nexus_asset(params={"bucket": "string!"})
def first(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _write(context, params.for_asset(context))


@nexus_asset(params={"bucket": "string!"}, deps=[first])
def second(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    values = params.for_asset(context)
    marker = OUT / "fail_second"
    if marker.exists():
        marker.unlink()
        for spec in SPECS.glob("*.yaml"):
            spec.write_text(spec.read_text().replace("bucket: before", "bucket: after"))
        raise RuntimeError("second fails once, after editing its spec")
    _write(context, values)


defs = build_definitions(SPECS, assets=[first, second])
