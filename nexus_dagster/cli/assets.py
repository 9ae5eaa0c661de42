"""The commands on one asset outside spec jobs: ``render --asset`` (what it resolves in a run
of the asset graph, a backfill or declarative automation) and ``runs --asset`` (its latest
materializations in any run)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml

from nexus_dagster.asset_defaults import SpecIndex, values_example
from nexus_dagster.asset_page import cell
from nexus_dagster.catalog import Catalog
from nexus_dagster.cli.common import (
    CANNOT_RUN,
    OK,
    PROBLEMS,
    Exit,
    assignments,
    every_folder,
    rel,
    render_partition,
    say,
    table,
    warn,
)
from nexus_dagster.cli.history import cli_instance
from nexus_dagster.factory import index_spec
from nexus_dagster.resolution import resolve
from nexus_dagster.rules import suggest
from nexus_dagster.run_history import asset_uses
from nexus_dagster.templates import render


def outside_index(args: argparse.Namespace) -> tuple[SpecIndex, Catalog]:
    """The specs of every specs folder of the location, indexed as the ``params`` resource
    indexes them, and the location's assets."""
    index = SpecIndex()
    catalog: Catalog | None = None
    for _, assets, specs in every_folder(args):
        catalog = Catalog(assets)
        for spec in specs:
            index_spec(index, spec, rel(spec.path))
        index.add_assets({name: info.params for name, info in catalog.by_name.items()})
    assert catalog is not None
    return index, catalog


def cmd_render_asset(args: argparse.Namespace) -> int:
    """What one asset resolves in a run outside spec jobs, and where each value comes from."""
    index, catalog = outside_index(args)
    info = catalog.by_name.get(args.asset)
    if info is None:
        hint = suggest(args.asset, catalog.by_name)
        raise Exit(CANNOT_RUN, f"unknown asset `{args.asset}`{hint}")
    values = assignments(args.set)
    problems = index.value_problems(values, [info.name])
    if problems:
        raise Exit(PROBLEMS, "; ".join(message for _, message in problems))
    partition = render_partition(f"asset `{info.name}`", info.partitions_def, args.partition)
    outside = index.values_for(info.name, info.params, values)
    spec = outside.spec
    if spec is not None:
        say(f"{info.name}: outside spec jobs, values of the `asset_defaults` spec `{spec.name}`")
        say(f"  ({spec.path})")
    else:
        selecting = index.selecting(info.name)
        where = f"; specs that select it: {', '.join(selecting)}" if selecting else ""
        say(f"{info.name}: outside spec jobs, no `asset_defaults` spec gives values{where}")
    if partition and args.partition:
        say(f"partition: {args.partition}")
    resolved, missing = resolve(info.name, info.params, outside.config, outside.from_spec)
    if not info.params:
        say("  (declares no parameters)")
    else:
        rows = [["PARAM", "VALUE", "SOURCE", "FIELD"]]
        shown: dict[str, Any] = {}
        for param, ptype in info.params.items():
            item = resolved.get(param)
            if item is None:
                rows.append([param, "(missing)" if param in missing else "(unset)", "-", "-"])
                continue
            rows.append([param, cell(item.value, ptype.is_secret), item.source, item.field])
            shown[param] = "***" if ptype.is_secret else item.value
        for line in table(rows, indent="  "):
            say(line)
        if info.config is not None and not missing:
            say("  nexus/config:")
            filled = render(info.config, shown, partition)
            text = yaml.safe_dump(filled, sort_keys=False, allow_unicode=True)
            for line in text.splitlines():
                say("    " + line)
    say()
    if values:
        given = {"resources": {"params": {"config": {"values": values}}}}
        say("run config:")
        for line in yaml.safe_dump(given, sort_keys=False, allow_unicode=True).splitlines():
            say("  " + line)
    else:
        say("run config: {} (none needed)" if not missing else "run config: {}")
    for param in missing:
        warn(
            f"error: required parameter `{param}` has no value; give it with "
            f"--set {info.name}.{param}=VALUE (in a run: {values_example(info.name, param)})"
        )
    return PROBLEMS if missing else OK


def cmd_runs_asset(args: argparse.Namespace) -> int:
    """The asset's latest materializations in any run, newest first, with what each used."""
    if args.limit < 1:
        raise Exit(CANNOT_RUN, "--limit must be 1 or more")
    uses = asset_uses(cli_instance(), args.asset, args.limit)
    if args.json:
        rows = [
            {
                "run_id": use.run_id,
                "job": use.job,
                "partition": use.partition,
                "values": {
                    param: {"value": item.value, "source": item.source, "field": item.field}
                    for param, item in use.values.items()
                },
            }
            for use in uses
        ]
        say(json.dumps(rows, indent=2))
        return OK
    if not uses:
        say(f"no materializations of asset `{args.asset}` in the instance of DAGSTER_HOME")
        return OK
    cells = [["RUN ID", "JOB", "PARTITION", "SPEC", "VALUES"]]
    for use in uses:
        values = ", ".join(
            f"{param}={cell(item.value, item.secret)} ({item.source})"
            for param, item in sorted(use.values.items())
        )
        cells.append(
            [use.run_id, use.job, use.partition or "-", use.spec or "-", values or "(none)"]
        )
    for line in table(cells):
        say(line)
    return OK
