"""The ``nexus-dagster`` command line (contract §7).

It finds the code location as the ``dagster`` CLI does (``-f FILE``, ``-m MODULE``, or
``workspace.yaml`` in the current folder), imports it, and takes the specs folder from the
``Definitions`` that ``build_definitions`` returned (or from ``--specs DIR``).

Exit codes: 0 ok; 1 problems found, or an edit refused (the file is left as it was);
2 the command could not run (wrong usage, no code location, or one that fails to import).
Results go to stdout, errors and notes to stderr.

Example::

    nexus-dagster validate
    nexus-dagster params sales_job --json
    nexus-dagster update sales_job --set sales_ingestion_asset.batch_size=500
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from nexus_dagster.authoring import (
    EditResult,
    create_spec,
    find_spec_file,
    migrate_spec,
    parse_assignment,
    update_spec,
)
from nexus_dagster.catalog import Catalog
from nexus_dagster.errors import NexusEditError, NexusError, NexusSpecError, SpecProblem
from nexus_dagster.location import Location, LocationError, find_target, load_location
from nexus_dagster.partitioned import describe, key_problem, partition_fields, values_run_config
from nexus_dagster.rules import JobField, resolve, run_config_from_values, to_resource_config
from nexus_dagster.spec import JobSpec, JobSpecModel, load_job_specs, spec_files
from nexus_dagster.templates import PARTITION_FIELDS, render

PROG = "nexus-dagster"
OK, PROBLEMS, CANNOT_RUN = 0, 1, 2
TYPE_PATTERN = r"^\s*(\[\s*)*(string|int|float|bool|any|secret)\s*!?(\s*\]\s*!?)*\s*$"


class _Exit(Exception):
    """Stop with an exit code and a message for stderr."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


# --- output helpers -------------------------------------------------------------------------


def _rel(path: str | Path) -> str:
    """A path as the user reads it: relative to the current folder when it is under it."""
    text = str(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:
        return text
    return relative if not relative.startswith("..") else text


def _problem_line(problem: SpecProblem) -> str:
    return str(
        SpecProblem(_rel(problem.path), problem.line, problem.col, problem.key, problem.message)
    )


def _out(text: str = "") -> None:
    print(text, file=sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _shown(value: Any, secret: bool) -> str:
    """A value for a table cell; a secret shows as ``***`` and the variable it reads."""
    if secret:
        if isinstance(value, Mapping) and isinstance(value.get("env"), str):
            return f"*** (env {value['env']})"
        return "***"
    if isinstance(value, str):
        return value
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def _table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


# --- the code location ----------------------------------------------------------------------


def _location(args: argparse.Namespace) -> Location:
    try:
        target = find_target(
            python_file=args.python_file,
            module_name=args.module_name,
            workspace=args.workspace,
            working_directory=args.working_directory,
            attribute=args.attribute,
            location_name=args.location,
        )
        return load_location(target)
    except LocationError as err:
        raise _Exit(CANNOT_RUN, str(err)) from None


def _specs_dir(args: argparse.Namespace, location: Location) -> Path:
    if args.specs:
        return Path(args.specs)
    if location.specs_dir is None:
        raise _Exit(
            CANNOT_RUN,
            f"code location {location.target.label} does not say where its job specs are "
            "(it was not built with nexus_dagster.build_definitions); pass --specs DIR",
        )
    return location.specs_dir


def _assets(location: Location) -> Sequence[Any]:
    if location.assets is not None:
        return location.assets
    lines = [_problem_line(p) for p in location.spec_error.problems] if location.spec_error else []
    raise _Exit(
        PROBLEMS,
        "\n".join(
            [
                f"code location {location.target.label} fails to load because of these spec "
                "problems, and does not say which assets it has; fix them by hand:",
                *lines,
            ]
        ),
    )


def _loaded(args: argparse.Namespace) -> tuple[Location, Path, list[JobSpec]]:
    """The location, its specs folder and its specs, all checked; problems stop here."""
    location = _location(args)
    specs_dir = _specs_dir(args, location)
    assets = _assets(location)
    try:
        specs = load_job_specs(specs_dir, assets=assets)
    except NexusSpecError as err:
        raise _Exit(
            PROBLEMS,
            "\n".join(
                [
                    "the job specs have problems; fix them first:",
                    *(_problem_line(p) for p in err.problems),
                ]
            ),
        ) from None
    return location, specs_dir, specs


def _job(specs: Sequence[JobSpec], specs_dir: Path, name: str) -> JobSpec:
    for spec in specs:
        if spec.name == name:
            return spec
    try:
        find_spec_file(specs_dir, name)
    except NexusEditError as err:
        raise _Exit(PROBLEMS, err.reasons[0]) from None
    raise _Exit(PROBLEMS, f"no job named `{name}`")  # pragma: no cover - found above


# --- commands -------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    """Every problem in every spec, one ``path:line:col: key: message`` line each."""
    location = _location(args)
    specs_dir = _specs_dir(args, location)
    loaded_dir = location.specs_dir
    if (
        location.spec_error is None
        and loaded_dir is not None
        and loaded_dir.resolve() == specs_dir.resolve()
    ):
        # Importing the location ran build_definitions, which checked every spec against the
        # assets already; checking again would double the command's own work. What is left is
        # what Dagster itself checks when it loads the location, so the two never disagree.
        refused = location.dagster_load_error()
        if refused:
            _out(f"{location.target.label}: Dagster refuses to load the code location: {refused}")
            return PROBLEMS
        _out(f"ok: {len(spec_files(specs_dir))} job spec(s) in {_rel(specs_dir)}")
        return OK
    if location.assets is not None:
        try:
            specs = load_job_specs(specs_dir, assets=location.assets)
        except NexusSpecError as err:
            problems: Sequence[SpecProblem] = err.problems
        else:
            _out(f"ok: {len(specs)} job spec(s) in {_rel(specs_dir)}")
            return OK
    else:
        assert location.spec_error is not None
        problems = location.spec_error.problems
        failed_dir = Path(location.spec_error.specs_dir or "")
        if args.specs and failed_dir.resolve() != specs_dir.resolve():
            _err(
                f"note: code location {location.target.label} does not load and does not say "
                "which assets it has; checked the files alone"
            )
            try:
                load_job_specs(specs_dir)
            except NexusSpecError as err:
                problems = err.problems
            else:
                _out(f"ok: the files under {_rel(specs_dir)} (not checked against assets)")
                return OK
    for problem in problems:
        _out(_problem_line(problem))
    files = len({p.path for p in problems})
    _err(f"{len(problems)} problem(s) in {files} file(s) under {_rel(specs_dir)}")
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
    _, specs_dir, specs = _loaded(args)
    spec = _job(specs, specs_dir, args.job)
    if args.json:
        _out(json.dumps(field_rows(spec.fields), indent=2))
        return OK
    if spec.partitions_def is not None:
        _out(
            f"job `{spec.name}` is partitioned by {describe(spec.partitions_def)}; a run takes "
            "these values under resources.params.config.values"
        )
    if not spec.fields:
        _out(f"job `{spec.name}` has no parameters")
        return OK
    rows = [["NAME", "TYPE", "REQUIRED", "DEFAULT", "SCOPE", "FEEDS"]]
    for f in spec.fields:
        rows.append(
            [
                f.name,
                str(f.type.optional),
                "yes" if f.required else "no",
                _shown(f.default, f.type.is_secret) if f.has_default else "-",
                f.scope,
                ", ".join(f.assets),
            ]
        )
    for line in _table(rows):
        _out(line)
    return OK


def _assignments(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in pairs:
        if name in values:
            raise _Exit(CANNOT_RUN, f"--set {name} is given twice")
        values[name] = value
    return values


def render_job(
    spec: JobSpec,
    catalog: Catalog,
    values: Mapping[str, Any],
    partition: Mapping[str, str] | None = None,
) -> tuple[list[str], dict[str, Any], list[str]]:
    """What ``render`` prints: the lines per asset, the flat run config, and the problems.

    Pure over the loaded spec: the values each asset resolves follow the run-time rules
    (``run_config_from_values``, ``to_resource_config``, ``resolve``), and its
    ``nexus/config`` is filled with ``templates.render`` (``partition`` fills
    ``{{partition.*}}``). Secrets are never resolved.
    """
    flat, problems = run_config_from_values(spec.fields, values)
    resource_config = to_resource_config(spec.fields, flat)
    by_name = {f.name: f for f in spec.fields}
    lines: list[str] = []
    for asset in spec.selected:
        info = catalog.by_name[asset]
        resolved, missing = resolve(asset, info.params, resource_config)
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
            source = item.source if item.field in values else "default"
            secret = ptype.is_secret or by_name[item.field].type.is_secret
            rows.append([param, _shown(item.value, secret), source, item.field])
            shown[param] = "***" if secret else item.value
        lines.extend(_table(rows, indent="  "))
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
    location, specs_dir, specs = _loaded(args)
    spec = _job(specs, specs_dir, args.job)
    values = _assignments(args.set)
    partition = _partition(spec, args.partition)
    lines, flat, problems = render_job(spec, Catalog(_assets(location)), values, partition)
    if spec.partitions_def is not None:
        lines.insert(0, f"partition: {args.partition or '(none given: --partition KEY)'}")
    for line in lines:
        _out(line)
    _out()
    run_config = values_run_config(flat) if spec.partitions_def is not None else flat
    _out("run config:" if run_config else "run config: {}")
    if run_config:
        text = yaml.safe_dump(run_config, sort_keys=False, allow_unicode=True)
        for line in text.splitlines():
            _out("  " + line)
    for problem in problems:
        _err(f"error: {problem}")
    return PROBLEMS if problems else OK


def _partition(spec: JobSpec, key: str | None) -> dict[str, str]:
    """What ``{{partition.*}}`` holds for ``render --partition KEY``; without a key, the
    placeholders' own names, so the output shows where the partition goes."""
    partitions_def = spec.partitions_def
    if partitions_def is None:
        if key is not None:
            raise _Exit(PROBLEMS, f"job `{spec.name}` is not partitioned; drop --partition")
        return {}
    if key is None:
        return {name: f"<partition.{name}>" for name in PARTITION_FIELDS}
    reason = key_problem(partitions_def, key)
    if reason:
        raise _Exit(PROBLEMS, f"job `{spec.name}`: {reason}")
    return partition_fields(partitions_def, key)


def _report(verb: str, result: EditResult) -> None:
    if result.changed:
        _out(f"{verb} {_rel(result.path)}")
    else:
        _out(f"unchanged {_rel(result.path)}")
    for change in result.changes:
        _out(f"  {change}")
    for note in result.notes:
        _err(f"note: {note}")


def _edit_location(args: argparse.Namespace) -> tuple[Path, Sequence[Any]]:
    location = _location(args)
    return _specs_dir(args, location), _assets(location)


def cmd_create(args: argparse.Namespace) -> int:
    """Write a new spec; refuses to overwrite."""
    specs_dir, assets = _edit_location(args)
    result = create_spec(
        specs_dir,
        args.job,
        assets=assets,
        select=args.select,
        set_values=_assignments(args.set),
        description=args.description,
    )
    _report("created", result)
    return OK


def cmd_update(args: argparse.Namespace) -> int:
    """Edit a spec in place."""
    if not (args.set or args.unset or args.select or args.deselect):
        raise _Exit(CANNOT_RUN, "nothing to do: give --set, --unset, --select or --deselect")
    specs_dir, assets = _edit_location(args)
    result = update_spec(
        specs_dir,
        args.job,
        assets=assets,
        set_values=_assignments(args.set),
        unset=args.unset,
        select=args.select,
        deselect=args.deselect,
    )
    _report("updated", result)
    return OK


def cmd_migrate(args: argparse.Namespace) -> int:
    """Rewrite older-form specs into the prefixed form; ``--check`` only tells."""
    location, specs_dir, specs = _loaded(args)
    assets = _assets(location)
    changed = 0
    for spec in sorted(specs, key=lambda s: str(s.path)):
        result = migrate_spec(specs_dir, spec.name, assets=assets, check=args.check)
        if result.changed:
            changed += 1
            _report("would migrate" if args.check else "migrated", result)
    if not changed:
        _out("nothing to migrate: every spec is in the current form")
        return OK
    return PROBLEMS if args.check else OK


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, for editors (``nexus-dagster schema``).

    >>> spec_json_schema()["properties"]["selection"]["anyOf"][0]["type"]
    'array'
    """
    schema = JobSpecModel.model_json_schema()
    types = schema.get("properties", {}).get("params_schema", {})
    if isinstance(types.get("additionalProperties"), dict):
        types["additionalProperties"]["pattern"] = TYPE_PATTERN
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "nexus-dagster job spec",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of a spec file."""
    _out(json.dumps(spec_json_schema(), indent=2))
    return OK


# --- argument parsing -----------------------------------------------------------------------


def _assignment(text: str) -> tuple[str, Any]:
    try:
        return parse_assignment(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _location_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("code location (as for the dagster CLI)")
    group.add_argument("-f", "--python-file", help="the code location's Python file")
    group.add_argument("-m", "--module-name", help="the code location's Python module")
    group.add_argument(
        "-w", "--workspace", help="a workspace file (default: ./workspace.yaml, if present)"
    )
    group.add_argument(
        "-d", "--working-directory", help="folder to import from (default: the current folder)"
    )
    group.add_argument("-a", "--attribute", help="the Definitions attribute of the module")
    group.add_argument(
        "-l", "--location", help="the location's name, when the workspace has several"
    )
    group.add_argument("--specs", metavar="DIR", help="the specs folder (default: the location's)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nexus-dagster``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check, inspect and edit nexus-dagster job specs.",
        epilog="Exit codes: 0 ok; 1 problems found or edit refused; 2 usage or code location error.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    location = _location_options()

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str, *, loc: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_text, description=help_text, parents=[location] if loc else []
        )
        sub.set_defaults(handler=handler)
        return sub

    command("validate", cmd_validate, "check every spec; one path:line:col: message per problem")

    params = command("params", cmd_params, "list a job's launchpad fields")
    params.add_argument("job", metavar="JOB")
    params.add_argument("--json", action="store_true", help="print JSON for scripts")

    setter = {
        "metavar": "NAME=VALUE",
        "type": _assignment,
        "action": "append",
        "default": [],
        "help": "VALUE is read as YAML: 500 is an int, '[a, b]' a list, '{env: VAR}' a secret",
    }
    create = command("create", cmd_create, "write a new spec <specs>/<JOB>.yaml")
    create.add_argument("job", metavar="JOB")
    create.add_argument("--select", metavar="ASSET", action="append", required=True)
    create.add_argument("--set", **setter)  # type: ignore[arg-type]
    create.add_argument("--description", help="the job's description")

    update = command("update", cmd_update, "edit a spec in place")
    update.add_argument("job", metavar="JOB")
    update.add_argument("--set", **setter)  # type: ignore[arg-type]
    update.add_argument("--unset", metavar="NAME", action="append", default=[])
    update.add_argument("--select", metavar="ASSET", action="append", default=[])
    update.add_argument("--deselect", metavar="ASSET", action="append", default=[])

    render_cmd = command(
        "render", cmd_render, "show each asset's resolved values and the run config"
    )
    render_cmd.add_argument("job", metavar="JOB")
    render_cmd.add_argument("--set", **setter)  # type: ignore[arg-type]
    render_cmd.add_argument(
        "--partition", metavar="KEY", help="a partitioned job's partition, for {{partition.*}}"
    )

    migrate = command("migrate", cmd_migrate, "rewrite older-form specs into the prefixed form")
    migrate.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file would change"
    )

    command("schema", cmd_schema, "print the JSON Schema of a spec file", loc=False)
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``nexus-dagster`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except _Exit as err:
        _err(f"error: {err}")
        code = err.code
    except NexusEditError as err:
        if Path(err.path).is_dir():  # no file to edit: the job was not found
            _err("error: " + "\n".join(err.reasons))
        else:
            _err(f"error: refused to edit {_rel(err.path)}:")
            for reason in err.reasons:
                _err(f"  {reason}")
        code = PROBLEMS
    except NexusError as err:
        _err(f"error: {err}")
        code = PROBLEMS
    sys.stdout.flush()
    sys.exit(code)
