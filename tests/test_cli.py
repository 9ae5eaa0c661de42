"""The ``nexus-dagster`` command line, end to end, against private copies of the example code
location (and of ``cli_fixtures/vault``, which has a secret).

Each command runs in this process through :func:`tests.cli_support.invoke` (its own folder,
output and exit code, the code location imported afresh), one after the other. The installed
console script itself is run as a process by the tests named for it, and the concurrent updates
are real processes racing on the specs folder's lock."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from nexus_dagster.spec import load_job_specs

from .cli_support import Run, invoke
from .conftest import REPO, example_location

SCRIPT = str(Path(sys.executable).parent / "nexus-dagster")
VAULT = Path(__file__).parent / "cli_fixtures" / "vault"
WAIT = 180.0  # for a CLI subprocess on 2 busy cores
COMMANDS = ("validate", "params", "create", "update", "render", "migrate", "schema", "runs", "diff")

__all__ = ["SCRIPT", "VAULT", "Run", "example_copy", "invoke", "run_all", "snapshot"]


def run_all(commands: Sequence[tuple[Sequence[str], Path]], **env: str) -> list[Run]:
    """Run ``nexus-dagster ARGS`` in each folder, in this process, one after the other (in the
    order given); results in the same order."""
    return [invoke(args, cwd, env) for args, cwd in commands]


def example_copy(folder: Path) -> Path:
    """The example code location (definitions.py, job_specs/, workspace.yaml) in ``folder``."""
    folder.mkdir(parents=True)
    for name in ("definitions.py", "workspace.yaml"):
        shutil.copy(REPO / name, folder / name)
    shutil.copytree(REPO / "job_specs", folder / "job_specs")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.y*ml")}


# --- the installed console script -------------------------------------------------------


def test_the_installed_script_runs_validate_and_help_with_their_exit_codes(tmp_path: Path) -> None:
    """``nexus-dagster`` as installed (its entry point, ``sys.exit`` of its code, its streams):
    a clean validate, a validate that finds problems, and ``--help``, side by side."""
    home = example_copy(tmp_path / "ex")
    broken = example_copy(tmp_path / "broken")
    (broken / "job_specs" / "typo.yaml").write_text("selection: [report]\nparams_shema: {}\n")
    commands = [(["validate"], home), (["validate"], broken), (["--help"], tmp_path)]
    processes = [
        subprocess.Popen(
            [SCRIPT, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args, cwd in commands
    ]
    try:
        streams = [process.communicate(timeout=WAIT) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    ok, problems, usage = [
        Run(process.returncode, out, err)
        for process, (out, err) in zip(processes, streams, strict=True)
    ]
    # The clean run prints its one line and nothing on stderr (no warning, no log line).
    assert (ok.code, ok.out, ok.err) == (0, "ok: 6 job spec(s) in job_specs\n", "")
    assert problems.code == 1, problems.err
    (problem,) = problems.out.splitlines()
    assert problem.startswith(
        "job_specs/typo.yaml:2:1: params_shema: unknown key `params_shema`; did you mean "
        "`params_schema`?"
    )
    assert problems.err == "1 problem(s) in 1 file(s) under job_specs\n"
    assert usage.code == 0, usage.err
    assert usage.out.startswith("usage: nexus-dagster [-h] COMMAND ...\n")
    for command in COMMANDS:
        assert f"    {command} " in usage.out, command
    assert "Exit codes: 0 ok;" in usage.out


# --- reading commands ---------------------------------------------------------------------


def test_reading_commands(tmp_path: Path) -> None:
    home = example_copy(tmp_path / "ex")
    before = snapshot(home)
    validate, params, params_json, render, check, schema = run_all(
        [
            (["validate"], home),
            (["params", "sales_job"], home),
            (["params", "daily_report_job", "--json", "-f", "definitions.py"], home),
            (["render", "daily_report_job", "--set", "report.min_amount=10"], home),
            (["migrate", "--check"], home),
            (["schema"], tmp_path),
        ]
    )
    assert (validate.code, validate.out, validate.err) == (
        0,
        "ok: 6 job spec(s) in job_specs\n",
        "",
    )

    assert params.code == 0, params.err
    assert params.out.splitlines()[:3] == [
        "NAME                                     TYPE    REQUIRED  DEFAULT         SCOPE      FEEDS",
        "target_bucket                            string  no        analytics-lake  shared     "
        "sales_ingestion_asset, marketing_ingestion_asset",
        "sales_ingestion_asset.source_bucket      string  no        sales-raw       per-asset  "
        "sales_ingestion_asset",
    ]
    assert (
        "marketing_ingestion_asset.source_bucket  string  yes       -               per-asset  "
        "marketing_ingestion_asset" in params.out.splitlines()
    )

    fields = {row["name"]: row for row in json.loads(params_json.out)}
    assert fields["min_amount"] == {
        "name": "min_amount",
        "param": "min_amount",
        "type": "float",
        "required": False,
        "scope": "shared",
        "assets": ["report"],
        "overrides": None,
        "description": fields["min_amount"]["description"],
        "default": 50,
    }
    assert fields["report.min_amount"]["overrides"] == "min_amount"
    assert "default" not in fields["report.min_amount"]
    assert list(fields)[:2] == ["min_amount", "target_bucket"]

    assert render.code == 0, render.err
    assert (
        textwrap.dedent(
            """\
        report
          PARAM          VALUE         SOURCE     FIELD
          min_amount     10            per-asset  report.min_amount
          target_bucket  reports-lake  default    target_bucket
          nexus/config:
            sales_file: reports-lake/sales.csv
            marketing_file: reports-lake/marketing.csv
            min_amount: 10
            title: Sales and marketing report for reports-lake
        """
        )
        in render.out
    )
    run_config = yaml.safe_load(render.out.split("run config:\n")[1])
    assert run_config == {
        "min_amount": 50,
        "target_bucket": "reports-lake",
        "sales_ingestion_asset.source_bucket": "sales-raw",
        "sales_ingestion_asset.batch_size": 500,
        "marketing_ingestion_asset.source_bucket": "mkt-raw",
        "report.min_amount": 10,
    }

    assert check.code == 1
    assert check.out.splitlines()[0] == "would migrate job_specs/legacy/legacy_ingest_job.yaml"

    assert schema.code == 0
    document = json.loads(schema.out)
    assert document["additionalProperties"] is False
    assert document["required"] == ["selection"]
    assert snapshot(home) == before


# --- editing commands ---------------------------------------------------------------------


def test_editing_commands(tmp_path: Path) -> None:
    home = example_copy(tmp_path / "ex")
    legacy = home / "job_specs" / "legacy" / "legacy_ingest_job.yaml"
    create, update, migrate = run_all(
        [
            (
                [
                    "create",
                    "report_only",
                    "--select",
                    "report",
                    "--set",
                    "report.min_amount=2.5",
                    "--set",
                    "target_bucket=lake",
                ],
                home,
            ),
            (
                [
                    "update",
                    "sales_job",
                    "--set",
                    "sales_ingestion_asset.batch_size=500",
                    "--unset",
                    "target_bucket",
                    "--set",
                    "target_bucket=other-lake",
                ],
                home,
            ),
            (["migrate"], home),
        ]
    )
    assert (create.code, create.err) == (0, "")
    assert create.out == (
        "created job_specs/report_only.yaml\n"
        "  selected report\n"
        "  set ops_config.report.min_amount\n"
        '  added params_schema.report.min_amount: "float"\n'
        "  set parameter_values.target_bucket\n"
    )
    assert yaml.safe_load((home / "job_specs" / "report_only.yaml").read_text()) == {
        "selection": ["report"],
        "params_schema": {"report.min_amount": "float"},
        "parameter_values": {"target_bucket": "lake"},
        "ops_config": {"report": {"min_amount": 2.5}},
    }

    assert (update.code, update.err) == (0, "")
    assert update.out.splitlines()[0] == "updated job_specs/sales_job.yaml"
    sales = (home / "job_specs" / "sales_job.yaml").read_text()
    assert "  batch_size: 500\n" in sales
    assert "target_bucket: other-lake\n" in sales
    assert "# per-asset, no default: asked at launch" in sales

    assert (migrate.code, migrate.err) == (0, "")
    assert migrate.out.splitlines()[:2] == [
        "migrated job_specs/legacy/legacy_ingest_job.yaml",
        "  params_schema.source_bucket -> sales_ingestion_asset.source_bucket, "
        "marketing_ingestion_asset.source_bucket (every asset that reads `source_bucket` has its "
        "own value, which always wins: the shared field could reach none)",
    ]
    assert legacy.read_text().startswith("# Older form:")

    deselect, check = run_all(
        [
            (
                [
                    "update",
                    "report_only",
                    "--deselect",
                    "report",
                    "--select",
                    "sales_ingestion_asset",
                    "--set",
                    "sales_ingestion_asset.source_bucket=raw",
                ],
                home,
            ),
            (["migrate", "--check"], home),
        ]
    )
    assert (deselect.code, deselect.err) == (0, "")
    assert deselect.out == (
        "updated job_specs/report_only.yaml\n"
        "  selected sales_ingestion_asset\n"
        "  removed selection: report\n"
        "  removed params_schema.report.min_amount\n"
        "  removed ops_config.report\n"
        "  set ops_config.sales_ingestion_asset.source_bucket\n"
        '  added params_schema.sales_ingestion_asset.source_bucket: "string!"\n'
    )
    assert (check.code, check.out) == (0, "nothing to migrate: every spec is in the current form\n")
    assert len(load_job_specs(home / "job_specs", _example_assets())) == 7


def test_eight_concurrent_updates_all_land(tmp_path: Path) -> None:
    home = example_copy(tmp_path / "ex")
    assignments = {
        "target_bucket": "t-lake",
        "source_bucket": "s-shared",
        "batch_size": 7,
        "sales_ingestion_asset.source_bucket": "s-own",
        "sales_ingestion_asset.target_bucket": "s-target",
        "sales_ingestion_asset.batch_size": 9,
        "marketing_ingestion_asset.source_bucket": "m-own",
        "marketing_ingestion_asset.target_bucket": "m-target",
    }
    runs = _side_by_side(
        [(["update", "sales_job", "--set", f"{n}={v}"], home) for n, v in assignments.items()]
    )
    assert [(r.code, r.err) for r in runs] == [(0, "")] * 8
    path = home / "job_specs" / "sales_job.yaml"
    data = yaml.safe_load(path.read_text())
    landed = {**data["parameter_values"]}
    for asset, values in data["ops_config"].items():
        landed.update({f"{asset}.{p}": v for p, v in values.items()})
    assert landed == assignments
    assert "# shared by the job" in path.read_text()
    assets = _example_assets()
    spec = next(s for s in load_job_specs(home / "job_specs", assets) if s.name == "sales_job")
    fields = {f.name: f for f in spec.fields}
    assert fields["marketing_ingestion_asset.source_bucket"].default == "m-own"
    assert [p.name for p in (home / "job_specs").iterdir() if p.name.endswith(".tmp")] == []


def _example_assets() -> list[object]:
    """The example's assets and checks (a check's parameters are its asset's)."""
    defs = example_location().defs
    return [*(defs.assets or []), *(defs.asset_checks or [])]


def _side_by_side(commands: Sequence[tuple[Sequence[str], Path]]) -> list[Run]:
    """Each command in a process of its own, forked from this one (Dagster already imported),
    all released at once to contend for the specs folder's lock; results in the same order."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(commands))
    results = context.Queue()
    processes = [
        context.Process(target=_run_when_all_ready, args=(start, results, i, args, cwd))
        for i, (args, cwd) in enumerate(commands)
    ]
    for process in processes:
        process.start()
    try:
        done = dict(results.get(timeout=WAIT) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=WAIT)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return [done[i] for i in range(len(commands))]


def _run_when_all_ready(
    start: Any, results: Any, index: int, args: Sequence[str], cwd: Path
) -> None:
    start.wait(timeout=WAIT)
    results.put((index, invoke(args, cwd)))


def test_partitioned_job_commands(tmp_path: Path) -> None:
    home = example_copy(tmp_path / "ex")
    params, render, bad_key, not_partitioned, no_key = run_all(
        [
            (["params", "daily_orders_job"], home),
            (["render", "daily_orders_job", "--partition", "2026-11-05"], home),
            (["render", "daily_orders_job", "--partition", "2026-13-05"], home),
            (["render", "sales_job", "--partition", "2026-11-05"], home),
            (["render", "daily_orders_job", "--set", "min_amount=5"], home),
        ]
    )
    assert params.code == 0, params.err
    assert params.out.splitlines()[0] == (
        "job `daily_orders_job` is partitioned by Daily, starting 2026-11-01 UTC; a run takes "
        "these values under resources.params.config.values"
    )
    assert "daily_orders.source_bucket   string  no        orders-daily" in params.out

    assert render.code == 0, render.err
    lines = render.out.splitlines()
    assert lines[0] == "partition: 2026-11-05"
    assert "    input: orders-daily/2026-11-05.csv" in lines
    assert "    title: Orders from 2026-11-05T00:00:00+00:00 to 2026-11-06T00:00:00+00:00" in lines
    run_config = yaml.safe_load(render.out.split("run config:\n", 1)[1])
    assert run_config == {
        "resources": {
            "params": {
                "config": {
                    "values": {
                        "target_bucket": "orders-lake",
                        "min_amount": 20,
                        "daily_orders.source_bucket": "orders-daily",
                    }
                }
            }
        }
    }

    assert (bad_key.code, bad_key.out) == (1, "")
    assert bad_key.err == (
        "error: job `daily_orders_job`: `2026-13-05` is not a partition key of Daily, starting "
        "2026-11-01 UTC\n"
    )
    assert (not_partitioned.code, not_partitioned.err) == (
        1,
        "error: job `sales_job` is not partitioned; drop --partition\n",
    )
    # without a key the output shows where the partition goes
    assert no_key.code == 0, no_key.err
    assert "partition: (none given: --partition KEY)" in no_key.out
    assert "    input: orders-daily/<partition.key>.csv" in no_key.out


# --- secrets ------------------------------------------------------------------------------


def test_secrets_are_never_resolved_nor_repeated(tmp_path: Path) -> None:
    location = tmp_path / "vault"
    shutil.copytree(VAULT, location, ignore=shutil.ignore_patterns("__pycache__"))
    secret = "topsecret-do-not-print"
    plain = "plain-text-key-xyz"
    render, refused = run_all(
        [
            (["render", "vault_job", "-f", "vault_location.py"], location),
            (
                [
                    "update",
                    "vault_job",
                    "-f",
                    "vault_location.py",
                    "--set",
                    f"vault_reader.api_key={plain}",
                ],
                location,
            ),
        ],
        NEXUS_CLI_TEST_KEY=secret,
    )
    assert render.code == 0, render.err
    assert "  api_key  *** (env NEXUS_CLI_TEST_KEY)  default  vault_reader.api_key" in render.out
    assert "    key: '***'\n" in render.out
    assert "  vault_reader.api_key:\n    env: NEXUS_CLI_TEST_KEY\n" in render.out
    assert refused.code == 1
    assert refused.err == (
        "error: refused to edit specs/vault_job.yaml:\n"
        "  --set vault_reader.api_key: value does not fit type `secret`: a secret takes only an "
        "environment reference such as `{env: MY_VAR}`\n"
    )
    for run in (render, refused):
        assert secret not in run.out + run.err
        assert plain not in run.out + run.err


# --- errors -------------------------------------------------------------------------------

BROKEN_SPEC = """\
selection:
  - sales_ingestion_asset
params_schema:
  sales_ingestion_asset.batch_size: Int
ops_config:
  sales_ingestion_asset:
    source_bucket: raw
    target_bucket: 5
"""

# One row per run: (case id, arguments, extra files {path: text}, exit code, expected lines).
# Each expected line is ("out" | "err", the start of a line of that stream). For `validate`,
# the text holds the problem's `path:line:col`.
ERROR_CASES: list[tuple[str, list[str], dict[str, str], int, list[tuple[str, str]]]] = [
    (
        "validate-broken-specs",
        ["validate"],
        {
            "job_specs/broken.yaml": BROKEN_SPEC,
            "job_specs/typo.yaml": "selection: [report]\nparams_shema: {}\n",
        },
        1,
        [
            (
                "out",
                "job_specs/broken.yaml:4:3: params_schema.sales_ingestion_asset.batch_size: "
                "unknown type `Int`; did you mean `int`?",
            ),
            (
                "out",
                "job_specs/broken.yaml:8:5: ops_config.sales_ingestion_asset.target_bucket: value "
                "does not fit type `string`: expected string, got int",
            ),
            (
                "out",
                "job_specs/typo.yaml:2:1: params_shema: unknown key `params_shema`; did you mean "
                "`params_schema`?",
            ),
            ("err", "3 problem(s) in 2 file(s) under job_specs"),
        ],
    ),
    (
        "location-raises",
        ["validate", "-f", "broken_location.py"],
        {"broken_location.py": "import os\nraise RuntimeError('no database')\n"},
        2,
        [
            (
                "err",
                "error: could not load the code location broken_location.py "
                "(at broken_location.py:2): RuntimeError: no database",
            )
        ],
    ),
    (
        "location-missing-module",
        ["validate", "-m", "no_such_module_here"],
        {},
        2,
        [
            (
                "err",
                "error: could not load the code location no_such_module_here: DagsterImportError: "
                "Encountered ImportError: `No module named 'no_such_module_here'`",
            )
        ],
    ),
    (
        "no-workspace",
        ["params", "sales_job", "-w", "elsewhere.yaml"],
        {},
        2,
        [("err", "error: no code location: elsewhere.yaml not found")],
    ),
    (
        "set-refused",
        [
            "update",
            "sales_job",
            "--set",
            "sales_ingestion_asset.batch_size=many",
            "--set",
            "sales_ingestion_aset.batch_size=1",
        ],
        {},
        1,
        [
            ("err", "error: refused to edit job_specs/sales_job.yaml:"),
            (
                "err",
                "  --set sales_ingestion_asset.batch_size: value does not fit type `int`: "
                "expected int, got str",
            ),
            (
                "err",
                "  --set sales_ingestion_aset.batch_size: unknown asset `sales_ingestion_aset`; "
                "did you mean `sales_ingestion_asset`?",
            ),
        ],
    ),
    (
        "select-and-unset-refused",
        ["update", "daily_report_job", "--select", "report", "--unset", "report.min_amount"],
        {},
        1,
        [
            (
                "err",
                "  --select report: `selection` is a Dagster selection string (`group:ingestion "
                "or group:reporting`); change it by hand",
            ),
            (
                "err",
                "  --unset report.min_amount: `ops_config` for `report` has no value `min_amount`",
            ),
        ],
    ),
    (
        "unknown-job",
        ["update", "sales_jb", "--set", "target_bucket=x"],
        {},
        1,
        [("err", "error: no job named `sales_jb` in this folder; did you mean `sales_job`?")],
    ),
    (
        "create-existing",
        ["create", "sales_job", "--select", "report"],
        {},
        1,
        [("err", "  job `sales_job` already exists in ")],
    ),
    (
        "render-problems",
        ["render", "sales_job", "--set", "sales_ingestion_asset.batch_size=x"],
        {},
        1,
        [
            ("out", "  batch_size     x               per-asset  sales_ingestion_asset.batch_size"),
            (
                "err",
                "error: `sales_ingestion_asset.batch_size` does not fit type `int`: expected "
                "int, got str",
            ),
            (
                "err",
                "error: required field `marketing_ingestion_asset.source_bucket` has no value; "
                "give it with --set marketing_ingestion_asset.source_bucket=VALUE",
            ),
        ],
    ),
    (
        "params-with-broken-specs",
        ["params", "sales_job"],
        {"job_specs/broken.yaml": BROKEN_SPEC},
        1,
        [
            ("err", "error: the job specs have problems; fix them first:"),
            ("err", "job_specs/broken.yaml:4:3: params_schema.sales_ingestion_asset.batch_size: "),
        ],
    ),
    (
        "usage-no-equals",
        ["update", "sales_job", "--set", "target_bucket"],
        {},
        2,
        [("err", "nexus-dagster update: error: argument --set: expected NAME=VALUE")],
    ),
    (
        "usage-nothing-to-do",
        ["update", "sales_job"],
        {},
        2,
        [("err", "error: nothing to do: give --set, --unset, --select, --deselect or --from-run")],
    ),
]


@pytest.mark.parametrize(
    ("args", "files", "code", "expected"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_error_cases(
    tmp_path: Path,
    args: list[str],
    files: dict[str, str],
    code: int,
    expected: list[tuple[str, str]],
) -> None:
    home = example_copy(tmp_path / "ex")
    for name, text in files.items():
        (home / name).write_text(text)
    before = snapshot(home)
    run = invoke(args, home)
    assert run.code == code, (run.out, run.err)
    for where, text in expected:
        lines = (run.out if where == "out" else run.err).splitlines()
        assert any(line.startswith(text) for line in lines), (text, run.out, run.err)
    if not any(where == "out" for where, _ in expected):
        assert run.out == ""
    assert snapshot(home) == before


def test_the_schemas_type_pattern_takes_every_valid_type_string() -> None:
    import re

    from nexus_dagster.editor_schema import TYPE_PATTERN, spec_json_schema
    from nexus_dagster.param_types import SCALAR_KINDS, TypeStringError, parse_type

    pattern = spec_json_schema()["properties"]["params_schema"]["additionalProperties"]["pattern"]
    assert pattern == TYPE_PATTERN
    valid = [f"{k}{bang}" for k in SCALAR_KINDS for bang in ("", "!")]
    valid += [f"[{t}]{bang}" for t in valid for bang in ("", "!")] + ["[[int!]]!", " [ string ] "]
    for text in valid:
        parse_type(text)
        assert re.match(pattern, text), text
    for text in ["String", "integer", "list[int]", "int!!x", ""]:
        with pytest.raises(TypeStringError):
            parse_type(text)
        assert not re.match(pattern, text), text
