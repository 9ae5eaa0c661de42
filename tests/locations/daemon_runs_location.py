"""A code location for the runs the daemon launches itself (tests/test_daemon_runs.py): an
automatic retry of a failed run, and the runs of a backfill.

`second` fails once, after editing its spec: while `$PROBE_OUT/fail-once` exists, it changes
`bucket: before` to `bucket: after` in the spec file the marker names, deletes the marker and
raises, so that the retry's process loads the edited spec. Otherwise it writes the values it
resolved, and whether its process loaded the edited spec, to `second-<run id>.json`.
`sliced` (static partitions `a`, `b`) writes the values it resolved to
`sliced-<partition>-<run id>.json`.

Every run executes its steps in the run's own process (the in-process executor): each run,
retries included, is still a process of its own that imports this location anew, which is what
the retry is about, without a process per step.
"""

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset

SPECS = Path(os.environ["NEXUS_TEST_SPECS"])
OUT = Path(os.environ["PROBE_OUT"])
# What this process loaded: build_definitions below reads the same files.
LOADED = {path.name: path.read_text() for path in SPECS.glob("*.yaml")}


def _write(name: str, values: Any) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(values))


@nexus_asset(params={"bucket": "string!"})
def first(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


@nexus_asset(params={"bucket": "string!"}, deps=[first])
def second(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    values = dict(params.for_asset(context))
    marker = OUT / "fail-once"
    if marker.exists():
        spec = Path(marker.read_text())
        spec.write_text(spec.read_text().replace("bucket: before", "bucket: after"))
        marker.unlink()
        raise RuntimeError(f"failing once, after editing {spec.name}")
    loaded = {name: "bucket: after" in text for name, text in LOADED.items()}
    _write(f"second-{context.run_id}", {"values": values, "loaded_after": loaded})


slices = dg.StaticPartitionsDefinition(["a", "b"])


@nexus_asset(params={"bucket": "string!"}, partitions_def=slices)
def sliced(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    _write(f"sliced-{context.partition_key}-{context.run_id}", dict(params.for_asset(context)))


defs = build_definitions(SPECS, assets=[first, second, sliced], executor=dg.in_process_executor)
