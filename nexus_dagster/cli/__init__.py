"""The ``nexus-dagster`` command line (docs/cli.md).

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
    nexus-dagster runs sales_job --limit 5
    nexus-dagster diff RUN_A RUN_B
    nexus-dagster render --asset sales_ingestion_asset
    nexus-dagster runs --asset sales_ingestion_asset --json

The commands live in one module per group (``specs``: the spec files; ``history``: past runs,
read from the Dagster instance; ``assets``: one asset outside spec jobs); the parser is declared
here, once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from nexus_dagster.authoring import parse_assignment
from nexus_dagster.cli.assets import cmd_render_asset, cmd_runs_asset
from nexus_dagster.cli.common import CANNOT_RUN, PROBLEMS, PROG, Exit, rel, warn
from nexus_dagster.cli.history import cmd_diff, cmd_runs
from nexus_dagster.cli.specs import (
    cmd_create,
    cmd_migrate,
    cmd_params,
    cmd_render,
    cmd_schema,
    cmd_update,
    cmd_validate,
)
from nexus_dagster.errors import NexusEditError, NexusError

__all__ = ["build_parser", "main"]


# --- argument parsing -----------------------------------------------------------------------

_ASSET_HELP = "an asset (its key as Dagster prints it), in runs outside spec jobs, instead of JOB"


def _job_or_asset(
    for_job: Callable[[argparse.Namespace], int], for_asset: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        if (args.job is None) == (args.asset is None):
            raise Exit(CANNOT_RUN, "give a JOB or --asset ASSET (one of them)")
        return for_asset(args) if args.asset is not None else for_job(args)

    return handler


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
        epilog="Exit codes: 0 ok; 1 problems found, edit refused, or (diff) runs differ; 2 usage, "
        "code location, instance or run id error.",
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
    create.add_argument(
        "--schema-line",
        metavar="SCHEMA",
        help="start the file with `# yaml-language-server: $schema=SCHEMA` (a URL, or a path "
        "written relative to the spec file), for editors; see `schema --assets`",
    )

    update = command("update", cmd_update, "edit a spec in place")
    update.add_argument("job", metavar="JOB")
    update.add_argument("--set", **setter)  # type: ignore[arg-type]
    update.add_argument("--unset", metavar="NAME", action="append", default=[])
    update.add_argument("--select", metavar="ASSET", action="append", default=[])
    update.add_argument("--deselect", metavar="ASSET", action="append", default=[])
    update.add_argument(
        "--from-run",
        metavar="RUN_ID",
        help="first take the values this run was launched with (DAGSTER_HOME's instance); "
        "--set applies over them",
    )

    render_cmd = command(
        "render",
        _job_or_asset(cmd_render, cmd_render_asset),
        "show each asset's resolved values and the run config (of JOB, or of --asset A in "
        "runs outside spec jobs)",
    )
    render_cmd.add_argument("job", metavar="JOB", nargs="?")
    render_cmd.add_argument("--asset", metavar="ASSET", help=_ASSET_HELP)
    render_cmd.add_argument("--set", **setter)  # type: ignore[arg-type]
    render_cmd.add_argument(
        "--partition", metavar="KEY", help="a partition of the job or asset, for {{partition.*}}"
    )

    migrate = command("migrate", cmd_migrate, "rewrite older-form specs into the prefixed form")
    migrate.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file would change"
    )

    schema = command("schema", cmd_schema, "print the JSON Schema of a spec file, for editors")
    schema.add_argument(
        "--assets",
        action="store_true",
        help="know the code location: its asset keys, and the names and types they declare",
    )

    runs = command(
        "runs",
        _job_or_asset(cmd_runs, cmd_runs_asset),
        "a job's latest runs and the values each was launched with, or (--asset A) an asset's "
        "latest materializations in any run and the values each used",
    )
    runs.add_argument("job", metavar="JOB", nargs="?")
    runs.add_argument("--asset", metavar="ASSET", help=_ASSET_HELP)
    runs.add_argument("--limit", type=int, default=10, metavar="N", help="how many (default 10)")
    runs.add_argument("--json", action="store_true", help="print JSON for scripts")

    diff = command(
        "diff", cmd_diff, "the parameters whose value or source differs between two runs"
    )
    diff.add_argument("run_a", metavar="RUN_A")
    diff.add_argument("run_b", metavar="RUN_B")
    diff.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``nexus-dagster`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except Exit as err:
        warn(f"error: {err}")
        code = err.code
    except NexusEditError as err:
        if Path(err.path).is_dir():  # no file to edit: the job was not found
            warn("error: " + "\n".join(err.reasons))
        else:
            warn(f"error: refused to edit {rel(err.path)}:")
            for reason in err.reasons:
                warn(f"  {reason}")
        code = PROBLEMS
    except NexusError as err:
        warn(f"error: {err}")
        code = PROBLEMS
    sys.stdout.flush()
    sys.exit(code)
