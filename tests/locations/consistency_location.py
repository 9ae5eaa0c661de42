"""A code location whose first asset edits its own spec while the run is in flight, for the
test that later steps do not silently see the edited values."""

import json
import os
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset

SPECS = Path(os.environ["NEXUS_TEST_SPECS"])


@nexus_asset(params={"bucket": "string!"})
def first(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)
    if os.environ.get("EDIT_SPEC_DURING_RUN"):
        spec = SPECS / "edit_job.yaml"
        spec.write_text(spec.read_text().replace("bucket: before", "bucket: after"))


@nexus_asset(params={"bucket": "string!"}, deps=[first])
def second(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    out = Path(os.environ["PROBE_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "second.json").write_text(json.dumps(dict(params.for_asset(context))))


defs = build_definitions(SPECS, assets=[first, second])
