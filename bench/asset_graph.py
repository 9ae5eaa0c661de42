"""Runs outside spec jobs against plain Dagster doing the same work (``make bench`` runs it too).

A run of Dagster's asset job (what the asset graph's Materialize button, ``dagster asset
materialize``, an asset backfill or declarative automation launch) of ``--assets`` assets, each
reading three parameters, with no run config:

- ``nexus``: ``nexus_asset`` assets whose values come from a spec with ``asset_defaults: true``
  (one shared value, two per-asset values each); each asset calls ``params.for_asset``.
- ``plain``: the same assets as ``dg.asset(config_schema=...)`` with the same values as the
  fields' defaults; each asset reads ``context.op_config``.
- ``spec job``: the nexus assets run by the spec's own job, launched with no run config.

Both locations are loaded in one interpreter and run in process, alternating (A B C A B C ...)
after a warm-up run each; the report gives medians and the ratios nexus / plain and
nexus / spec job (each the median of the repetitions' own ratios).

    .venv/bin/python bench/asset_graph.py                  # 20 assets, 31 repetitions
    .venv/bin/python bench/asset_graph.py --assets 50 --reps 9 --json out.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

_NEXUS = """
import dagster as dg
from nexus_dagster import NexusParams, build_definitions, nexus_asset

def _make(name, deps):
    @nexus_asset(name=name, params={"bucket": "string!", "n": "int!", "label": "string"}, deps=deps)
    def _asset(context: dg.AssetExecutionContext, params: NexusParams) -> None:
        values = params.for_asset(context)
        assert values["bucket"] == "lake"
    return _asset

assets = []
for i in range(COUNT):
    assets.append(_make(f"a{i}", assets[-1:]))
defs = build_definitions(SPECS, assets=assets)
"""

_PLAIN = """
import dagster as dg

def _make(name, deps, i):
    schema = {
        "bucket": dg.Field(dg.String, default_value="lake"),
        "n": dg.Field(dg.Int, default_value=i),
        "label": dg.Field(dg.String, default_value=f"asset {i}"),
    }
    @dg.asset(name=name, config_schema=schema, deps=deps)
    def _asset(context: dg.AssetExecutionContext) -> None:
        values = context.op_config
        assert values["bucket"] == "lake"
    return _asset

assets = []
for i in range(COUNT):
    assets.append(_make(f"a{i}", assets[-1:], i))
defs = dg.Definitions(assets=assets)
"""


def write_location(folder: Path, count: int) -> None:
    """The two twins and the nexus twin's spec, in ``folder``."""
    specs = folder / "specs"
    specs.mkdir(parents=True)
    ops = "\n".join(f"  a{i}: {{n: {i}, label: asset {i}}}" for i in range(count))
    (specs / "graph.yaml").write_text(
        "asset_defaults: true\n"
        f"selection: [{', '.join(f'a{i}' for i in range(count))}]\n"
        "parameter_values: {bucket: lake}\n"
        f"ops_config:\n{ops}\n"
    )
    head = f"COUNT = {count}\nSPECS = {str(specs)!r}\n"
    (folder / "nexus_graph.py").write_text(head + _NEXUS)
    (folder / "plain_graph.py").write_text(head + _PLAIN)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(folder: Path, reps: int) -> dict[str, list[float]]:
    """Seconds per run of each variant, alternating, after one warm-up run each."""
    import dagster as dg

    nexus = _load(folder / "nexus_graph.py").defs
    plain = _load(folder / "plain_graph.py").defs
    instance = dg.DagsterInstance.ephemeral()

    def runner(job: Any) -> Callable[[], float]:
        def once() -> float:
            start = time.perf_counter()
            result = job.execute_in_process(instance=instance)
            elapsed = time.perf_counter() - start
            assert result.success
            return elapsed

        return once

    variants = {
        "nexus": runner(nexus.resolve_implicit_global_asset_job_def()),
        "plain": runner(plain.resolve_implicit_global_asset_job_def()),
        "spec_job": runner(nexus.resolve_job_def("graph")),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for once in variants.values():
        once()
    for _ in range(reps):
        for name, once in variants.items():
            times[name].append(once())
    return times


def report(times: dict[str, list[float]], count: int) -> dict[str, Any]:
    # The ratios are medians of each repetition's own ratio (runs measured side by side), which
    # the machine's drift over the whole measurement does not move.
    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    return {
        "assets": count,
        "reps": len(times["nexus"]),
        "median_s": {name: statistics.median(values) for name, values in times.items()},
        "nexus_vs_plain": paired("nexus", "plain"),
        "nexus_vs_spec_job": paired("nexus", "spec_job"),
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["median_s"]
    return "\n".join(
        [
            f"Asset-graph run of {result['assets']} assets, no run config "
            f"(median of {result['reps']}, in process):",
            "",
            "| run | median | ratio | target |",
            "| --- | --- | --- | --- |",
            f"| plain Dagster, `config_schema` defaults | {m['plain']:.3f} s | | |",
            f"| nexus, `asset_defaults` spec | {m['nexus']:.3f} s | "
            f"{result['nexus_vs_plain']:.3f}x plain | <= 1.05x |",
            f"| nexus, the spec's own job | {m['spec_job']:.3f} s | "
            f"{result['nexus_vs_spec_job']:.3f}x (asset graph / spec job) | <= 1.0x |",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=20)
    parser.add_argument("--reps", type=int, default=31)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", "")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_location(folder, args.assets)
        result = report(measure(folder, args.reps), args.assets)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
