"""What every command shares: exit codes, output, and finding the code location and its specs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_dagster.authoring import EditResult, find_spec_file, job_names
from nexus_dagster.errors import NexusEditError, NexusSpecError, SpecProblem
from nexus_dagster.location import Location, LocationError, find_target, load_location
from nexus_dagster.partitioned import key_problem, partition_fields
from nexus_dagster.rules import suggest
from nexus_dagster.spec import JobSpec, load_job_specs
from nexus_dagster.templates import PARTITION_FIELDS

if TYPE_CHECKING:
    import dagster as dg

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


def folder_of(
    args: argparse.Namespace, location: Location, job: str | None = None
) -> tuple[Path, Sequence[Any]]:
    """The specs folder a command works on, and the assets its specs may select.

    In a ``dg`` project: the one ``--specs`` names, else the one that holds ``job``, else the
    project's only one.
    """
    if location.target.dg_project is None:
        return specs_dir_of(args, location), assets_of(location)
    assets_of(location)  # stops at an `assets_from` that names no defs folder
    folders = location.folders
    if not folders:
        raise Exit(
            CANNOT_RUN,
            f"{location.target.label} has no NexusJobsComponent; add one with "
            "`dg scaffold defs nexus_dagster.NexusJobsComponent NAME`",
        )
    if args.specs:
        given = Path(args.specs).resolve()
        for folder in folders:
            if folder.path == given:
                return Path(args.specs), folder.assets
        raise Exit(CANNOT_RUN, f"--specs {args.specs} is none of {_folders_text(location)}")
    if job is not None and len(folders) > 1:
        holding = [f for f in folders if job in job_names(f.path)]
        if len(holding) == 1:
            return holding[0].path, holding[0].assets
        if not holding:
            names = sorted({n for f in folders for n in job_names(f.path)})
            hint = suggest(job, names) or "."
            raise Exit(
                PROBLEMS,
                f"no job named `{job}` in {_folders_text(location)}{hint} Jobs: "
                + (", ".join(names) or "none"),
            )
        raise Exit(
            PROBLEMS,
            f"job `{job}` is in several specs folders: "
            + ", ".join(rel(f.path) for f in holding)
            + "; choose one with --specs DIR",
        )
    if len(folders) > 1:
        raise Exit(
            CANNOT_RUN,
            f"which specs folder? {location.target.label} has {_folders_text(location, count=True)}; "
            "choose one with --specs DIR",
        )
    return folders[0].path, folders[0].assets


def _folders_text(location: Location, count: bool = False) -> str:
    """``the 2 specs folders of dg project .: A (B), C (D)`` (``2: A (B), C (D)``)."""
    paths = ", ".join(f"{rel(f.path)} ({rel(f.defs_yaml)})" for f in location.folders)
    number = len(location.folders)
    if count:
        return f"{number}: {paths}"
    if number == 1:
        return f"the specs folder of {location.target.label}: {paths}"
    return f"the {number} specs folders of {location.target.label}: {paths}"


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


def loaded(
    args: argparse.Namespace, job: str | None = None
) -> tuple[Location, Path, Sequence[Any], list[JobSpec]]:
    """The location, the specs folder (the one holding ``job``, in a ``dg`` project), its
    assets and its specs, all checked; problems stop here."""
    location = location_of(args)
    return _checked(location, *folder_of(args, location, job))


def _checked(
    location: Location, specs_dir: Path, assets: Sequence[Any]
) -> tuple[Location, Path, Sequence[Any], list[JobSpec]]:
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
    return location, specs_dir, assets, specs


def every_folder(args: argparse.Namespace) -> list[tuple[Path, Sequence[Any], list[JobSpec]]]:
    """Each specs folder (every component's in a ``dg`` project, unless ``--specs`` picks one),
    its assets and its specs, all checked; problems stop here."""
    location = location_of(args)
    if not location.folders or args.specs:
        _, specs_dir, assets, specs = _checked(location, *folder_of(args, location))
        return [(specs_dir, assets, specs)]
    out = []
    for folder in location.folders:
        _, specs_dir, assets, specs = _checked(location, folder.path, folder.assets)
        out.append((specs_dir, assets, specs))
    return out


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


def edit_location(args: argparse.Namespace, job: str | None = None) -> tuple[Path, Sequence[Any]]:
    return folder_of(args, location_of(args), job)


def render_partition(
    what: str, partitions_def: dg.PartitionsDefinition | None, key: str | None
) -> dict[str, str]:
    """What ``{{partition.*}}`` holds for ``render --partition KEY`` of ``what`` (a job or an
    asset, as the message names it); without a key, the placeholders' own names, so the output
    shows where the partition goes."""
    if partitions_def is None:
        if key is not None:
            raise Exit(PROBLEMS, f"{what} is not partitioned; drop --partition")
        return {}
    if key is None:
        return {name: f"<partition.{name}>" for name in PARTITION_FIELDS}
    reason = key_problem(partitions_def, key)
    if reason:
        raise Exit(PROBLEMS, f"{what}: {reason}")
    return partition_fields(partitions_def, key)
