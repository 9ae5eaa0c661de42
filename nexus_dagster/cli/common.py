"""What every command shares: exit codes, output, and finding the code location and its specs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nexus_dagster.authoring import EditResult, find_spec_file
from nexus_dagster.errors import NexusEditError, NexusSpecError, SpecProblem
from nexus_dagster.location import Location, LocationError, find_target, load_location
from nexus_dagster.spec import JobSpec, load_job_specs

PROG = "nexus-dagster"
OK, PROBLEMS, CANNOT_RUN = 0, 1, 2
"""Exit codes: done; problems found or an edit refused; the command could not run."""


class Exit(Exception):
    """Stop with an exit code and a message for stderr."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


# --- output helpers -------------------------------------------------------------------------


def rel(path: str | Path) -> str:
    """A path as the user reads it: relative to the current folder when it is under it."""
    text = str(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:
        return text
    return relative if not relative.startswith("..") else text


def problem_line(problem: SpecProblem) -> str:
    return str(
        SpecProblem(rel(problem.path), problem.line, problem.col, problem.key, problem.message)
    )


def say(text: str = "") -> None:
    print(text, file=sys.stdout)


def warn(text: str) -> None:
    print(text, file=sys.stderr)


def cell(value: Any, secret: bool) -> str:
    """A value for a table cell; a secret shows as ``***`` and the variable it reads."""
    if secret:
        if isinstance(value, Mapping) and isinstance(value.get("env"), str):
            return f"*** (env {value['env']})"
        return "***"
    if isinstance(value, str):
        return value
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(text.ljust(w) for text, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


# --- the code location ----------------------------------------------------------------------


def location_of(args: argparse.Namespace) -> Location:
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
        raise Exit(CANNOT_RUN, str(err)) from None


def specs_dir_of(args: argparse.Namespace, location: Location) -> Path:
    if args.specs:
        return Path(args.specs)
    if location.specs_dir is None:
        raise Exit(
            CANNOT_RUN,
            f"code location {location.target.label} does not say where its job specs are "
            "(it was not built with nexus_dagster.build_definitions); pass --specs DIR",
        )
    return location.specs_dir


def assets_of(location: Location) -> Sequence[Any]:
    if location.assets is not None:
        return location.assets
    lines = [problem_line(p) for p in location.spec_error.problems] if location.spec_error else []
    raise Exit(
        PROBLEMS,
        "\n".join(
            [
                f"code location {location.target.label} fails to load because of these spec "
                "problems, and does not say which assets it has; fix them by hand:",
                *lines,
            ]
        ),
    )


def loaded(args: argparse.Namespace) -> tuple[Location, Path, list[JobSpec]]:
    """The location, its specs folder and its specs, all checked; problems stop here."""
    location = location_of(args)
    specs_dir = specs_dir_of(args, location)
    assets = assets_of(location)
    try:
        specs = load_job_specs(specs_dir, assets=assets)
    except NexusSpecError as err:
        raise Exit(
            PROBLEMS,
            "\n".join(
                [
                    "the job specs have problems; fix them first:",
                    *(problem_line(p) for p in err.problems),
                ]
            ),
        ) from None
    return location, specs_dir, specs


def job_named(specs: Sequence[JobSpec], specs_dir: Path, name: str) -> JobSpec:
    for spec in specs:
        if spec.name == name:
            return spec
    try:
        find_spec_file(specs_dir, name)
    except NexusEditError as err:
        raise Exit(PROBLEMS, err.reasons[0]) from None
    raise Exit(PROBLEMS, f"no job named `{name}`")  # pragma: no cover - found above


def assignments(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in pairs:
        if name in values:
            raise Exit(CANNOT_RUN, f"--set {name} is given twice")
        values[name] = value
    return values


def report(verb: str, result: EditResult) -> None:
    if result.changed:
        say(f"{verb} {rel(result.path)}")
    else:
        say(f"unchanged {rel(result.path)}")
    for change in result.changes:
        say(f"  {change}")
    for note in result.notes:
        warn(f"note: {note}")


def edit_location(args: argparse.Namespace) -> tuple[Path, Sequence[Any]]:
    location = location_of(args)
    return specs_dir_of(args, location), assets_of(location)
