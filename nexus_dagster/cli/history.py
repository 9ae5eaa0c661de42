"""The commands on past runs (docs/runs.md): ``runs``, ``diff``, and the values ``update
--from-run`` takes. They read the Dagster instance of ``DAGSTER_HOME`` and write nothing.

A secret is shown and compared only by its ``{env: VAR}`` reference.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import dagster as dg

from nexus_dagster.asset_page import cell
from nexus_dagster.catalog import Catalog
from nexus_dagster.cli.common import (
    CANNOT_RUN,
    OK,
    PROBLEMS,
    Exit,
    every_folder,
    job_named,
    loaded,
    say,
    table,
    warn,
)
from nexus_dagster.errors import NexusEditError, NexusRunError
from nexus_dagster.param_types import check_value
from nexus_dagster.run_history import (
    LaunchedRun,
    ParamUse,
    asset_params,
    compare,
    job_runs,
    launched,
    open_instance,
    shown_values,
)
from nexus_dagster.spec import JobSpec


def cli_instance() -> dg.DagsterInstance:
    try:
        return open_instance()
    except NexusRunError as err:
        raise Exit(CANNOT_RUN, str(err)) from None


def _run(instance: dg.DagsterInstance, run_id: str) -> LaunchedRun:
    try:
        return launched(instance, run_id)
    except NexusRunError as err:
        raise Exit(CANNOT_RUN, str(err)) from None


def _started(run: LaunchedRun) -> str:
    return run.start_time[:19].replace("T", " ") if run.start_time else "-"


def cmd_runs(args: argparse.Namespace) -> int:
    """The job's latest runs, newest first, with the flat values each was launched with."""
    if args.limit < 1:
        raise Exit(CANNOT_RUN, "--limit must be 1 or more")
    _, specs_dir, _, specs = loaded(args, args.job)
    spec = job_named(specs, specs_dir, args.job)
    runs = job_runs(cli_instance(), spec.name, args.limit)
    if args.json:
        rows = [
            {
                "run_id": run.run_id,
                "status": run.status,
                "start_time": run.start_time,
                "values": shown_values(run.values, spec.fields),
            }
            for run in runs
        ]
        say(json.dumps(rows, indent=2))
        return OK
    if not runs:
        say(f"no runs of job `{spec.name}` in the instance of DAGSTER_HOME")
        return OK
    secret = {f.name for f in spec.fields if f.type.is_secret}
    partitioned = spec.partitions_def is not None
    header = [
        "RUN ID",
        "STATUS",
        "STARTED (UTC)",
        *(["PARTITION"] if partitioned else []),
        "VALUES",
    ]
    cells = [header]
    for run in runs:
        values = ", ".join(
            f"{name}={cell(value, name in secret)}" for name, value in sorted(run.values.items())
        )
        cells.append(
            [
                run.run_id,
                run.status,
                _started(run),
                *([run.partition or "-"] if partitioned else []),
                values or "(none given: the spec's own)",
            ]
        )
    for line in table(cells):
        say(line)
    return OK


def _use_json(use: ParamUse | None) -> dict[str, Any] | None:
    if use is None:
        return None
    return {"value": use.value, "source": use.source, "field": use.field, "from": use.origin}


def _use_text(use: ParamUse | None) -> str:
    if use is None:
        return "(absent)"
    mark = "" if use.origin == "materialization" else ", from run config"
    return f"{cell(use.value, use.secret)} ({use.source}{mark})"


def cmd_diff(args: argparse.Namespace) -> int:
    """Per asset, each parameter whose resolved value or source differs between two runs."""
    instance = cli_instance()
    first, second = _run(instance, args.run_a), _run(instance, args.run_b)
    try:
        folders = every_folder(args)
    except Exit as err:
        raise Exit(CANNOT_RUN, str(err)) from None
    by_name = {spec.name: spec for _, _, specs in folders for spec in specs}
    catalog = Catalog(list({id(a): a for _, assets, _ in folders for a in assets}.values()))
    try:
        a, b = (
            asset_params(instance, run.run_id, by_name.get(run.job), catalog)
            for run in (first, second)
        )
    except NexusRunError as err:
        raise Exit(CANNOT_RUN, str(err)) from None
    changed = compare(a.assets, b.assets)
    notes = [*a.notes, *b.notes]
    if first.job != second.job:
        notes.insert(0, f"the runs are of two jobs: `{first.job}` and `{second.job}`")
    if args.json:
        out = {
            "run_a": {"run_id": first.run_id, "job": first.job, "partition": first.partition},
            "run_b": {"run_id": second.run_id, "job": second.job, "partition": second.partition},
            "assets": {
                asset: {p: {"a": _use_json(x), "b": _use_json(y)} for p, (x, y) in params.items()}
                for asset, params in changed.items()
            },
            "notes": notes,
        }
        say(json.dumps(out, indent=2))
    else:
        _print_diff(first, second, changed)
        for note in notes:
            warn(f"note: {note}")
    return PROBLEMS if changed else OK


def _print_diff(
    first: LaunchedRun,
    second: LaunchedRun,
    changed: Mapping[str, Mapping[str, tuple[ParamUse | None, ParamUse | None]]],
) -> None:
    def label(run: LaunchedRun) -> str:
        partition = f", partition {run.partition}" if run.partition else ""
        return f"{run.run_id} ({run.job}{partition})"

    say(f"A: {label(first)}")
    say(f"B: {label(second)}")
    if not changed:
        say("no parameter differs")
        return
    for asset, params in changed.items():
        say(asset)
        rows = [["PARAM", "A", "B"]]
        rows += [[p, _use_text(x), _use_text(y)] for p, (x, y) in params.items()]
        for line in table(rows, indent="  "):
            say(line)


def run_values_for(spec: JobSpec, run_id: str) -> dict[str, Any]:
    """The flat values a run of ``spec``'s job was launched with, for ``update --from-run``.

    Refused (nothing written): an unknown run id, a run of another job, a run launched with a
    name the job no longer has or a value that does not fit its type now (a secret given as a
    plain value, say).
    """
    run = _run(cli_instance(), run_id)
    if run.job != spec.name:
        raise NexusEditError(
            str(spec.path),
            [
                f"run {run_id} is a run of job `{run.job}`, not `{spec.name}`: take the values "
                f"of one of its own runs (`nexus-dagster runs {spec.name}`)"
            ],
        )
    fields = {f.name: f for f in spec.fields}
    reasons = []
    gone = sorted(name for name in run.values if name not in fields)
    if gone:
        reasons.append(
            f"run {run_id} was launched with {', '.join(f'`{n}`' for n in gone)}, which job "
            f"`{spec.name}` no longer has (removed from the spec or from its assets since): "
            "give the values you want with --set instead"
        )
    for name, value in sorted(run.values.items()):
        found = fields.get(name)
        if found is None or value is None:
            continue
        reason = check_value(found.type.optional, value)
        if reason:
            # The rule's reason never repeats the value, so a plain secret is not shown.
            reasons.append(
                f"run {run_id} gave `{name}` a value that does not fit its type "
                f"`{found.type.optional}` now ({reason}): give it with --set {name}=VALUE"
            )
    if reasons:
        raise NexusEditError(str(spec.path), reasons)
    for section in run.sections:
        warn(
            f"note: run {run_id}'s `{section}` section is Dagster's own run config, not a "
            "parameter: a spec keeps it only in a schedule's or sensor's `run_config:`; not kept"
        )
    # A value the spec already holds is its own: setting it again would only add entries.
    return {
        name: value
        for name, value in run.values.items()
        if value is not None and not (fields[name].has_default and fields[name].default == value)
    }
