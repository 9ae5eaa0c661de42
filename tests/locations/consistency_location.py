"""A code location whose first asset edits its own spec while the run is in flight, for the
test that later steps do not silently see the edited values."""

import json
import os
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset

SPECS = Path(os.environ["NEXUS_TEST_SPECS"])


def _first(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)
    if os.environ.get("EDIT_SPEC_DURING_RUN"):
        spec = SPECS / "edit_job.yaml"
        spec.write_text(spec.read_text().replace("bucket: before", "bucket: after"))


def _second(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    out = Path(os.environ["PROBE_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "second.json").write_text(json.dumps(dict(params.for_asset(context))))


first = nexus_asset(name="first", params={"bucket": "string!"})(_first)
second = nexus_asset(name="second", params={"bucket": "string!"}, deps=[first])(_second)

# the same pair, partitioned: the same check holds for a partitioned spec job
parts = dg.StaticPartitionsDefinition(["a", "b"])
p_first = nexus_asset(name="p_first", params={"bucket": "string!"}, partitions_def=parts)(_first)
p_second = nexus_asset(
    name="p_second", params={"bucket": "string!"}, partitions_def=parts, deps=[p_first]
)(_second)

defs = build_definitions(SPECS, assets=[first, second, p_first, p_second])
