"""The commands on spec files: validate, params, render, create, update, migrate, schema."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from nexus_dagster.asset_page import cell
from nexus_dagster.authoring import create_spec, migrate_spec, update_spec
from nexus_dagster.catalog import Catalog
from nexus_dagster.cli.common import (
    CANNOT_RUN,
    OK,
    PROBLEMS,
    Exit,
    assets_of,
    assignments,
    edit_location,
    every_folder,
    folder_of,
    job_named,
    loaded,
    location_of,
    problem_line,
    rel,
    render_partition,
    report,
    say,
    specs_dir_of,
    table,
    warn,
)
from nexus_dagster.cli.history import run_values_for
from nexus_dagster.editor_schema import assets_json_schema, spec_json_schema
from nexus_dagster.errors import NexusSpecError, SpecProblem
from nexus_dagster.factory import VALIDATION_ENV
from nexus_dagster.location import Location
from nexus_dagster.partitioned import describe, values_run_config
from nexus_dagster.resolution import launch, resolve
from nexus_dagster.rules import JobField
from nexus_dagster.spec import JobSpec, load_job_specs
from nexus_dagster.spec_reading import spec_files
from nexus_dagster.templates import render


def cmd_validate(args: argparse.Namespace) -> int:
    """Every problem in every spec, one ``path:line:col: key: message`` line each.

    The location is loaded as ``dagster definitions validate`` loads it (with
    ``DAGSTER_IS_DEFS_VALIDATION_CLI=1``), so a location that isolates broken specs
    (``on_spec_error="isolate"``) reports them here instead of loading around them."""
    before = os.environ.get(VALIDATION_ENV)
    os.environ[VALIDATION_ENV] = "1"
    try:
        return _validate(args)
    finally:
        if before is None:
            del os.environ[VALIDATION_ENV]
        else:
            os.environ[VALIDATION_ENV] = before


def _validate(args: argparse.Namespace) -> int:
    location = location_of(args)
    if location.target.dg_project is not None:
        return _validate_project(args, location)
    specs_dir = specs_dir_of(args, location)
    error = location.spec_error
    if error is not None and _same_folder(error.specs_dir, specs_dir):
        # The load's own error, which Dagster shows as the location's load error: every problem
        # of the folder, those only the built location tells included (a name that a job,
        # schedule or sensor written in Python beside the specs already has; a schedule's
        # `run_config:` that Dagster refuses). Checking the files again would miss these.
        return _folder_problems(error.problems, specs_dir)
    if error is None and _same_folder(location.specs_dir, specs_dir):
        # Importing the location ran build_definitions, which checked every spec against the
        # assets already; checking again would double the command's own work. What is left is
        # what Dagster itself checks when it loads the location, so the two never disagree.
        refused = location.dagster_load_error()
        if refused:
            say(f"{location.target.label}: Dagster refuses to load the code location: {refused}")
            return PROBLEMS
        say(f"ok: {len(spec_files(specs_dir))} job spec(s) in {rel(specs_dir)}")
        return OK
    # `--specs` names another folder than the one the location builds: its files, checked
    # against the location's assets when it says which it has.
    if location.assets is None:
        warn(
            f"note: code location {location.target.label} does not load and does not say "
            "which assets it has; checked the files alone"
        )
    try:
        specs = load_job_specs(specs_dir, assets=location.assets)
    except NexusSpecError as err:
        return _folder_problems(err.problems, specs_dir)
    if location.assets is None:
        say(f"ok: the files under {rel(specs_dir)} (not checked against assets)")
    else:
        say(f"ok: {len(specs)} job spec(s) in {rel(specs_dir)}")
    return OK


def _same_folder(folder: str | Path | None, specs_dir: Path) -> bool:
    return folder is not None and Path(folder).resolve() == specs_dir.resolve()


def _folder_problems(problems: Sequence[SpecProblem], specs_dir: Path) -> int:
    for problem in problems:
        say(problem_line(problem))
    files = len({p.path for p in problems})
    warn(f"{len(problems)} problem(s) in {files} file(s) under {rel(specs_dir)}")
    return PROBLEMS


def _validate_project(args: argparse.Namespace, location: Location) -> int:
    """``validate`` in a ``dg`` project: each component built as ``dg check defs`` builds it
    (the names the project's Python code and the other components take included), so that every
    problem of every folder is listed; then the project as a whole, for what else Dagster
    refuses."""
    if location.assets is None:  # an `assets_from` that names no defs folder
        assert location.spec_error is not None
        return _problems(location.spec_error.problems, location.target.label)
    if args.specs:
        paths = [folder_of(args, location)[0].resolve()]
    else:
        paths = [f.path.resolve() for f in location.folders]
    found, refused = location.build_project()
    problems = [problem for path in paths for problem in found.get(path, ())]
    if problems:
        return _problems(problems, location.target.label)
    if refused is not None:
        say(f"{location.target.label}: Dagster refuses to load the code location: {refused}")
        return PROBLEMS
    for path in paths:
        say(f"ok: {len(spec_files(path))} job spec(s) in {rel(path)}")
    if not paths:
        say(f"ok: {location.target.label} has no NexusJobsComponent")
    return OK


def _problems(problems: Sequence[SpecProblem], where: str) -> int:
    for problem in problems:
        say(problem_line(problem))
    files = len({p.path for p in problems})
    warn(f"{len(problems)} problem(s) in {files} file(s) of {where}")
    return PROBLEMS


def field_rows(fields: Sequence[JobField]) -> list[dict[str, Any]]:
    """The job's fields as plain data, as ``params --json`` prints them.

    ``default`` is present only when the field has one.
    """
    rows = []
    for f in fields:
        row: dict[str, Any] = {
            "name": f.name,
            "param": f.param,
            "type": str(f.type.optional),
            "required": f.required,
            "scope": f.scope,
            "assets": list(f.assets),
            "overrides": f.overrides,
            "description": f.description,
        }
        if f.has_default:
            row["default"] = f.default
        rows.append(row)
    return rows


def cmd_params(args: argparse.Namespace) -> int:
    """The job's launchpad fields: name, type, required, default, scope, assets fed."""
    _, specs_dir, _, specs = loaded(args, args.job)
    spec = job_named(specs, specs_dir, args.job)
    if args.json:
        say(json.dumps(field_rows(spec.fields), indent=2))
        return OK
    if spec.partitions_def is not None:
        say(
            f"job `{spec.name}` is partitioned by {describe(spec.partitions_def)}; a run takes "
            "these values under resources.params.config.values"
        )
    if not spec.fields:
        say(f"job `{spec.name}` has no parameters")
        return OK
    rows = [["NAME", "TYPE", "REQUIRED", "DEFAULT", "SCOPE", "FEEDS"]]
    for f in spec.fields:
        rows.append(
            [
                f.name,
                str(f.type.optional),
                "yes" if f.required else "no",
                cell(f.default, f.type.is_secret) if f.has_default else "-",
                f.scope,
                ", ".join(f.assets),
            ]
        )
    for line in table(rows):
        say(line)
    return OK


def render_job(
    spec: JobSpec,
    catalog: Catalog,
    values: Mapping[str, Any],
    partition: Mapping[str, str] | None = None,
) -> tuple[list[str], dict[str, Any], list[str]]:
    """What ``render`` prints: the lines per asset, the flat run config, and the problems.

    Pure over the loaded spec: each asset's values and their sources are those of a run
    (:func:`~nexus_dagster.resolution.launch`, :func:`~nexus_dagster.resolution.resolve`), and its
    ``nexus/config`` is filled with ``templates.render`` (``partition`` fills
    ``{{partition.*}}``). Secrets are never resolved.
    """
    run = launch(spec.fields, values)
    flat, problems = run.flat, run.problems
    by_name = {f.name: f for f in spec.fields}
    lines: list[str] = []
    for asset in spec.selected:
        info = catalog.by_name[asset]
        resolved, missing = resolve(asset, info.params, run.config, run.from_spec)
        lines.append(asset)
        if not info.params:
            lines.append("  (declares no parameters)")
            continue
        rows = [["PARAM", "VALUE", "SOURCE", "FIELD"]]
        shown: dict[str, Any] = {}
        for param, ptype in info.params.items():
            item = resolved.get(param)
            if item is None:
                value = "(missing)" if param in missing else "(unset)"
                could = [n for n in (f"{asset}.{param}", param) if n in by_name]
                rows.append([param, value, "-", " or ".join(could)])
                continue
            secret = ptype.is_secret or by_name[item.field].type.is_secret
            rows.append([param, cell(item.value, secret), item.source, item.field])
            shown[param] = "***" if secret else item.value
        lines.extend(table(rows, indent="  "))
        if info.config is not None:
            lines.append("  nexus/config:")
            filled = render(info.config, shown, partition)
            text = yaml.safe_dump(filled, sort_keys=False, allow_unicode=True)
            lines.extend("    " + line for line in text.splitlines())
    messages = [
        f"{message}; give it with --set {name}=VALUE" if name not in flat else message
        for name, message in problems
    ]
    return lines, flat, messages


def cmd_render(args: argparse.Namespace) -> int:
    """Per asset, each resolved value and its source; then the flat run config."""
    _, specs_dir, assets, specs = loaded(args, args.job)
    spec = job_named(specs, specs_dir, args.job)
    values = assignments(args.set)
    partition = render_partition(f"job `{spec.name}`", spec.partitions_def, args.partition)
    lines, flat, problems = render_job(spec, Catalog(assets), values, partition)
    if spec.partitions_def is not None:
        lines.insert(0, f"partition: {args.partition or '(none given: --partition KEY)'}")
    for line in lines:
        say(line)
    say()
    run_config = values_run_config(flat) if spec.partitions_def is not None else flat
    say("run config:" if run_config else "run config: {}")
    if run_config:
        text = yaml.safe_dump(run_config, sort_keys=False, allow_unicode=True)
        for line in text.splitlines():
            say("  " + line)
    for problem in problems:
        warn(f"error: {problem}")
    return PROBLEMS if problems else OK


def cmd_create(args: argparse.Namespace) -> int:
    """Write a new spec; refuses to overwrite."""
    specs_dir, assets = edit_location(args)
    result = create_spec(
        specs_dir,
        args.job,
        assets=assets,
        select=args.select,
        set_values=assignments(args.set),
        description=args.description,
        schema=_schema_reference(args.schema_line, specs_dir),
    )
    report("created", result)
    return OK


def cmd_update(args: argparse.Namespace) -> int:
    """Edit a spec in place; ``--from-run`` first takes the values a run was launched with."""
    if not (args.set or args.unset or args.select or args.deselect or args.from_run):
        raise Exit(
            CANNOT_RUN, "nothing to do: give --set, --unset, --select, --deselect or --from-run"
        )
    values = assignments(args.set)
    if args.from_run:
        _, specs_dir, assets, specs = loaded(args, args.job)
        values = {**run_values_for(job_named(specs, specs_dir, args.job), args.from_run), **values}
    else:
        specs_dir, assets = edit_location(args, args.job)
    result = update_spec(
        specs_dir,
        args.job,
        assets=assets,
        set_values=values,
        unset=args.unset,
        select=args.select,
        deselect=args.deselect,
    )
    report("updated", result)
    return OK


def cmd_migrate(args: argparse.Namespace) -> int:
    """Rewrite older-form specs into the prefixed form; ``--check`` only tells."""
    changed = 0
    for specs_dir, assets, specs in every_folder(args):
        for spec in sorted(specs, key=lambda s: str(s.path)):
            result = migrate_spec(specs_dir, spec.name, assets=assets, check=args.check)
            if result.changed:
                changed += 1
                report("would migrate" if args.check else "migrated", result)
    if not changed:
        say("nothing to migrate: every spec is in the current form")
        return OK
    return PROBLEMS if args.check else OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of a spec file; with ``--assets``, one that knows the location's
    asset keys and the names and types they declare."""
    if not args.assets:
        say(json.dumps(spec_json_schema(), indent=2))
        return OK
    location = location_of(args)
    say(json.dumps(assets_json_schema(assets_of(location)), indent=2))
    return OK


def _schema_reference(given: str | None, specs_dir: Path) -> str | None:
    """The ``$schema=`` of ``create --schema-line``: a URL as given, a path made relative to the
    spec file's folder (where editors resolve it)."""
    if given is None or "://" in given:
        return given
    return os.path.relpath(Path(given).resolve(), specs_dir.resolve())
