"""What the asset pages' parameter tables cost a code location's load (``make bench`` runs it).

The benchmark location of ``run.py`` (2,000 assets, N specs of 4-8 assets; ``generate.py``) is
loaded as a code server loads it, each load in a fresh interpreter (``probe.py load``), in two
ways, alternating (A B A B ...) in this one invocation:

- ``tables``: ``build_definitions`` as it is: each asset that declares parameters gets its
  ``nexus/parameters`` and ``nexus/materialize`` definition metadata;
- ``none``: the same location with the tables left out (``factory.tables_on`` replaced by the
  identity before the location is imported), everything else equal.

Reported: medians of the load (import of the location and resolving every job), of the snapshot
the code server sends the webserver (which carries the tables), and of the peak memory; and the
median of each round's own ratio tables / none. The tables are judged against at most 1 % more
load at N=1,000.

    .venv/bin/python bench/asset_page.py                   # N=1,000, 11 rounds
    .venv/bin/python bench/asset_page.py --specs 300 --reps 3 --json out.json
    .venv/bin/python bench/asset_page.py --smoke   # seconds, its figures mean nothing (the tests')
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its neighbours, however it is run

import generate  # noqa: E402
import run  # noqa: E402
from run import CACHE_ENV, probe  # noqa: E402

WITHOUT_TABLES = '''"""The benchmark location without the asset pages' tables (bench/asset_page.py)."""

import nexus_dagster.factory

nexus_dagster.factory.tables_on = lambda assets, index: list(assets)

from nexus_location import defs  # noqa: E402
'''
TARGET = 1.01
"""The load with the tables over the load without them, at most (at N=1,000)."""


def measure(folder: Path, reps: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {"tables": [], "none": []}
    for twin in ("nexus", "none"):  # one untimed load each: the spec cache filled, files read
        probe("load", str(folder), twin)
    for _ in range(reps):
        for name, twin in (("tables", "nexus"), ("none", "none")):
            runs[name].append(probe("load", str(folder), twin, "--snapshot"))
    return runs


def summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def load(r: dict[str, Any]) -> float:
        return float(r["import"] + r["resolve"])

    out: dict[str, Any] = {
        name: {
            "load": statistics.median(load(r) for r in items),
            "snapshot": statistics.median(r["snapshot"] for r in items),
            "rss_mb": statistics.median(r["rss_mb"] for r in items),
        }
        for name, items in runs.items()
    }
    pairs = list(zip(runs["tables"], runs["none"], strict=True))
    out["load_ratio"] = statistics.median(load(t) / load(n) for t, n in pairs)
    out["snapshot_ratio"] = statistics.median(t["snapshot"] / n["snapshot"] for t, n in pairs)
    out["rss_ratio"] = statistics.median(t["rss_mb"] / n["rss_mb"] for t, n in pairs)
    return out


def markdown(specs: int, assets: int, reps: int, result: dict[str, Any]) -> str:
    t, n = result["tables"], result["none"]
    verdict = "met" if result["load_ratio"] <= TARGET else "NOT met"
    return "\n".join(
        [
            f"Asset pages' parameter tables, N={specs} specs over {assets} assets, "
            f"{reps} paired rounds (medians; ratio: median of each round's tables / none)",
            "",
            "| figure | with tables | without | ratio | target |",
            "| --- | --- | --- | --- | --- |",
            f"| load (import + resolve every job) | {t['load']:.3f} s | {n['load']:.3f} s | "
            f"{result['load_ratio']:.3f} | <= {TARGET:.2f} ({verdict}) |",
            f"| snapshot for the webserver | {t['snapshot']:.3f} s | {n['snapshot']:.3f} s | "
            f"{result['snapshot_ratio']:.3f} | - |",
            f"| peak memory | {t['rss_mb']:.0f} MB | {n['rss_mb']:.0f} MB | "
            f"{result['rss_ratio']:.3f} | - |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--assets", type=int, default=generate.ASSET_COUNT)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--smoke", action="store_true", help="5 specs, 100 assets, one round, forked probes"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.specs, args.assets, args.reps = 5, 100, 1
        import probe as warm  # the probes are forked from this process, as run.py --smoke does

        run.WARM = warm
    with tempfile.TemporaryDirectory(prefix="nexus-bench-page-") as tmp:
        CACHE_ENV["NEXUS_DAGSTER_CACHE_DIR"] = str(Path(tmp) / "spec-cache")
        folder = generate.write_location(Path(tmp) / "location", args.specs, args.assets)
        (folder / "none_location.py").write_text(WITHOUT_TABLES)
        result = summary(measure(folder, args.reps))
    print(markdown(args.specs, args.assets, args.reps, result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
