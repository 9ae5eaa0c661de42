"""Parameters across runs (docs/runs.md): ``runs``, ``diff``, ``update --from-run`` against a
real instance with a persistent ``DAGSTER_HOME``, and ``schema --assets`` checked with the
``jsonschema`` package.

The instance is filled in this process (``execute_in_process`` against it, with the run config
and tags a launch would give), except the partitioned ``daily`` run, which the ``dagster job
execute`` CLI launches (partition given by tag; its steps in the launching process, the
in-process executor): the history must read the runs the CLI launches as well. That command is
a process of its own, forked from one that has imported Dagster (``forked_dagster``), running
beside the in-process runs. The commands run in this process too (``invoke``)."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import jsonschema
import pytest
import yaml

from nexus_dagster.spec import load_job_specs

from .cli_support import invoke
from .conftest import IN_PROCESS, REPO, new_dagster_home
from .forked_dagster import start
from .test_cli import VAULT, Run, example_copy, run_all, snapshot

# One instance for the whole module, filled once: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_run_history")

WAIT = 180.0  # for a run launched by the dagster CLI, on 2 busy cores
SALES_A = {"marketing_ingestion_asset.source_bucket": "mkt-raw"}
SALES_B = {
    "marketing_ingestion_asset.source_bucket": "mkt-raw",
    "sales_ingestion_asset.source_bucket": "sales-daily",
    "target_bucket": "lake-b",
}
DAILY = {"target_bucket": "orders-lake-p", "min_amount": 5}
EXTRA = {"target_bucket": "orders-lake-x", "not_a_field": 1}
PARTITION = {"dagster/partition": "2026-11-05"}


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A partitioned job's run config for flat values (docs/partitions.md)."""
    return {"resources": {"params": {"config": {"values": dict(values)}}}}


@functools.cache
def _location(folder: Path) -> Any:
    """The code location of ``folder`` (its one ``*.py``), imported under a name of its own, so
    that no other copy's module can stand in for it."""
    path = next(folder.glob("*.py"))
    name = f"nexus_history_{folder.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_id(home: Path, case: str) -> str | None:
    """The id of the one run tagged ``case`` in the instance of ``home``."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(dg.RunsFilter(tags={"case": case}))
    return records[0].dagster_run.run_id if len(records) == 1 else None


@dataclass(frozen=True)
class History:
    """An instance holding runs of the example's jobs and of the vault's secret job."""

    root: Path
    home: Path
    example: Path
    vault: Path
    env: dict[str, str]
    ids: dict[str, str]

    def cli(self, args: Sequence[str], cwd: Path | None = None, **env: str) -> Run:
        """``nexus-dagster ARGS`` (in this process) with the history's environment."""
        return invoke(args, cwd or self.example, {**self.env, **env})

    def launch(
        self,
        folder: Path,
        job: str,
        config: Mapping[str, Any],
        case: str,
        *,
        tags: Mapping[str, str] | None = None,
        fails_with: str | None = None,
        home: Path | None = None,
    ) -> str:
        """Run ``job`` of ``folder``'s location in this process against the instance of
        ``home`` (the history's by default), tagged ``case``; its run id. A run given
        ``fails_with`` must fail with an error that says it; any other must succeed."""
        home = home or self.home
        definitions = _location(folder).defs
        with dg.DagsterInstance.from_config(str(home)) as instance:
            result = definitions.resolve_job_def(job).execute_in_process(
                run_config=dict(config),
                instance=instance,
                tags={"case": case, **(tags or {})},
                raise_on_error=False,
            )
        errors = [
            error.to_string()
            for event in result.all_events
            if (error := getattr(event.event_specific_data, "error", None)) is not None
        ]
        assert result.success is (fails_with is None), (case, errors)
        assert fails_with is None or any(fails_with in error for error in errors), (case, errors)
        assert _run_id(home, case) == result.run_id
        return result.run_id

    def start_cli_launch(
        self, folder: Path, job: str, config: Mapping[str, Any], case: str, tags: Mapping[str, str]
    ) -> Future[subprocess.CompletedProcess[str]]:
        """Start ``dagster job execute`` of ``job`` (in-process executor), tagged ``case``, in a
        process of its own (``forked_dagster.start``)."""
        config_file = self.root / f"{case}.yaml"
        config_file.write_text(json.dumps({**config, **IN_PROCESS}))
        location = next(folder.glob("*.py"))
        return start(
            ["job", "execute", "-f", location.name, "-j", job, "-c", str(config_file)]
            + ["--tags", json.dumps({"case": case, **tags})],
            cwd=folder,
            env={**os.environ, **self.env},
            timeout=WAIT,
        )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    root = tmp_path_factory.mktemp("history")
    home = new_dagster_home(root / "home")
    data = root / "data"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("*-lake*"))
    vault = root / "vault"
    shutil.copytree(VAULT, vault, ignore=shutil.ignore_patterns("__pycache__"))
    (vault / "workspace.yaml").write_text("load_from:\n  - python_file: vault_location.py\n")
    env = {
        "DAGSTER_HOME": str(home),
        "NEXUS_EXAMPLE_DATA": str(data),
        "NEXUS_CLI_TEST_KEY": "first-s3cr3t",
        "NEXUS_OTHER_KEY": "second-s3cr3t",
    }
    h = History(root, home, example_copy(root / "ex"), vault, env, {})
    # Missing buckets: both assets fail before they materialize, so the run records no
    # parameters.
    missing = {
        "marketing_ingestion_asset.source_bucket": "no-such-bucket",
        "sales_ingestion_asset.source_bucket": "no-such-bucket",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        # The first run creates the instance's storage; the CLI's run goes on beside the
        # in-process ones (the order within each job's runs is what the tests read back).
        h.ids["a"] = h.launch(h.example, "sales_job", SALES_A, "a")
        launched = h.start_cli_launch(
            h.example, "daily_orders_job", _values(DAILY), "daily", PARTITION
        )
        h.ids["b"] = h.launch(h.example, "sales_job", SALES_B, "b")
        h.ids["failed"] = h.launch(
            h.example,
            "sales_job",
            missing,
            "failed",
            fails_with="no-such-bucket does not exist",
        )
        for case, key in (("vault_1", "NEXUS_CLI_TEST_KEY"), ("vault_2", "NEXUS_OTHER_KEY")):
            config = {"vault_reader.api_key": {"env": key}}
            h.ids[case] = h.launch(vault, "vault_job", config, case)
        daily = launched.result()  # killed after WAIT seconds
        output = (daily.stdout + daily.stderr)[-3000:]
        assert daily.returncode == 0, output
        daily_id = _run_id(home, "daily")
        assert daily_id is not None, output
        h.ids["daily"] = daily_id
        # What a sensor written in Python launches when it puts a name the job does not have
        # into the values: Dagster stores the run, which the plugin refuses when it starts.
        h.ids["extra"] = h.launch(
            h.example,
            "daily_orders_job",
            _values(EXTRA),
            "extra",
            fails_with="NexusConfigError: job `daily_orders_job`: in "
            "`resources.params.config.values`: unknown field `not_a_field`",
            tags=PARTITION,
        )
        yield h


# --- runs -----------------------------------------------------------------------------------


def test_runs_lists_the_latest_runs_newest_first(history: History) -> None:
    table, as_json, limited = run_all(
        [
            (["runs", "sales_job"], history.example),
            (["runs", "sales_job", "--json"], history.example),
            (["runs", "sales_job", "--json", "--limit", "1"], history.example),
        ],
        **history.env,
    )
    assert as_json.code == 0, as_json.err
    rows = json.loads(as_json.out)
    ids = history.ids
    assert [row["run_id"] for row in rows] == [ids["failed"], ids["b"], ids["a"]]
    assert [row["status"] for row in rows] == ["FAILURE", "SUCCESS", "SUCCESS"]
    assert all(set(row) == {"run_id", "status", "start_time", "values"} for row in rows)
    assert rows[1]["values"] == SALES_B
    assert rows[2]["values"] == SALES_A
    assert rows[0]["start_time"] >= rows[1]["start_time"] >= rows[2]["start_time"]
    assert rows[0]["start_time"].endswith("+00:00")
    assert [row["run_id"] for row in json.loads(limited.out)] == [ids["failed"]]

    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["RUN", "ID", "STATUS", "STARTED", "(UTC)", "VALUES"]
    assert lines[2].startswith(f"{ids['b']}  SUCCESS  ")
    assert lines[2].endswith(
        "marketing_ingestion_asset.source_bucket=mkt-raw, "
        "sales_ingestion_asset.source_bucket=sales-daily, target_bucket=lake-b"
    )


def test_runs_of_a_partitioned_job_show_the_partition_and_its_values(history: History) -> None:
    table, as_json = run_all(
        [
            (["runs", "daily_orders_job"], history.example),
            (["runs", "daily_orders_job", "--json"], history.example),
        ],
        **history.env,
    )
    rows = json.loads(as_json.out)
    assert [row["run_id"] for row in rows] == [history.ids["extra"], history.ids["daily"]]
    assert rows[1]["values"] == {"target_bucket": "orders-lake-p", "min_amount": 5}
    # The run a Python sensor launched with a name the job does not have: shown as it was.
    assert rows[0]["status"] == "FAILURE"
    assert rows[0]["values"] == {"target_bucket": "orders-lake-x", "not_a_field": 1}
    assert "PARTITION" in table.out.splitlines()[0]
    assert f"{history.ids['daily']}  SUCCESS  " in table.out
    assert "  2026-11-05  min_amount=5, target_bucket=orders-lake-p" in table.out


def test_secrets_are_shown_only_by_their_reference(history: History) -> None:
    table, as_json, diff, diff_json = run_all(
        [
            (["runs", "vault_job"], history.vault),
            (["runs", "vault_job", "--json"], history.vault),
            (["diff", history.ids["vault_1"], history.ids["vault_2"]], history.vault),
            (["diff", history.ids["vault_1"], history.ids["vault_2"], "--json"], history.vault),
        ],
        **history.env,
    )
    rows = json.loads(as_json.out)
    assert [row["values"] for row in rows] == [
        {"vault_reader.api_key": {"env": "NEXUS_OTHER_KEY"}},
        {"vault_reader.api_key": {"env": "NEXUS_CLI_TEST_KEY"}},
    ]
    assert "vault_reader.api_key=*** (env NEXUS_OTHER_KEY)" in table.out
    # Two runs reading two variables differ, by the variable's name.
    assert diff.code == 1, diff.err
    assert (
        "api_key  *** (env NEXUS_CLI_TEST_KEY) (default)  *** (env NEXUS_OTHER_KEY) (per-asset)"
        in diff.out
    )
    change = json.loads(diff_json.out)["assets"]["vault_reader"]["api_key"]
    assert change["a"]["value"] == {"env": "NEXUS_CLI_TEST_KEY"}
    assert change["b"]["value"] == {"env": "NEXUS_OTHER_KEY"}
    for run in (table, as_json, diff, diff_json):
        assert "s3cr3t" not in run.out + run.err


# --- diff -----------------------------------------------------------------------------------


def test_diff_names_each_parameter_that_differs_per_asset(history: History) -> None:
    ids = history.ids
    same, table, as_json = run_all(
        [
            (["diff", ids["a"], ids["a"]], history.example),
            (["diff", ids["a"], ids["b"]], history.example),
            (["diff", ids["a"], ids["b"], "--json"], history.example),
        ],
        **history.env,
    )
    assert (same.code, same.out.splitlines()[-1]) == (0, "no parameter differs")

    assert as_json.code == 1, as_json.err
    report = json.loads(as_json.out)
    assert report["run_a"] == {"run_id": ids["a"], "job": "sales_job", "partition": None}
    changed = report["assets"]
    assert sorted(changed) == ["marketing_ingestion_asset", "sales_ingestion_asset"]
    assert sorted(changed["sales_ingestion_asset"]) == ["source_bucket", "target_bucket"]
    assert changed["sales_ingestion_asset"]["source_bucket"] == {
        "a": {
            "value": "sales-raw",
            "source": "default",
            "field": "sales_ingestion_asset.source_bucket",
            "from": "materialization",
        },
        "b": {
            "value": "sales-daily",
            "source": "per-asset",
            "field": "sales_ingestion_asset.source_bucket",
            "from": "materialization",
        },
    }
    # The marketing source is the same in both runs: not listed.
    assert list(changed["marketing_ingestion_asset"]) == ["target_bucket"]
    assert changed["marketing_ingestion_asset"]["target_bucket"]["b"]["value"] == "lake-b"

    assert table.code == 1
    assert table.out.splitlines() == [
        f"A: {ids['a']} (sales_job)",
        f"B: {ids['b']} (sales_job)",
        "marketing_ingestion_asset",
        "  PARAM          A                         B",
        "  target_bucket  analytics-lake (default)  lake-b (shared)",
        "sales_ingestion_asset",
        "  PARAM          A                         B",
        "  source_bucket  sales-raw (default)       sales-daily (per-asset)",
        "  target_bucket  analytics-lake (default)  lake-b (shared)",
    ]


def test_diff_reads_the_run_config_of_assets_that_did_not_materialize(history: History) -> None:
    ids = history.ids
    failed, extra = run_all(
        [
            (["diff", ids["a"], ids["failed"], "--json"], history.example),
            (["diff", ids["daily"], ids["extra"]], history.example),
        ],
        **history.env,
    )
    assert failed.code == 1, failed.err
    report = json.loads(failed.out)
    change = report["assets"]["sales_ingestion_asset"]["source_bucket"]
    assert change["b"] == {
        "value": "no-such-bucket",
        "source": "per-asset",
        "field": "sales_ingestion_asset.source_bucket",
        "from": "run config",
    }
    assert "target_bucket" not in report["assets"]["sales_ingestion_asset"]  # the spec's, in both
    assert any(
        "recorded no parameters (not materialized in that run)" in n for n in report["notes"]
    )

    assert extra.code == 1, extra.err
    assert (
        "target_bucket  orders-lake-p (shared)  orders-lake-x (shared, from run config)"
        in extra.out
    )
    assert "`not_a_field` is not a field of the job now, left out" in extra.err


def test_diff_refusals(history: History, tmp_path: Path) -> None:
    empty = tmp_path / "empty_home"
    empty.mkdir()
    ids = history.ids
    unknown, unset, blank, no_runs = (
        history.cli(["diff", ids["a"], "0000-not-a-run"]),
        history.cli(["diff", ids["a"], ids["b"]], DAGSTER_HOME=""),
        history.cli(["runs", "sales_job"], DAGSTER_HOME="  "),
        history.cli(["runs", "sales_job"], DAGSTER_HOME=str(empty)),
    )
    assert unknown.code == 2
    assert unknown.err.startswith("error: no run `0000-not-a-run` in the instance of DAGSTER_HOME")
    for run in (unset, blank):
        assert run.code == 2
        assert run.err.startswith("error: DAGSTER_HOME is not set: set it to the folder")
    assert no_runs.code == 2
    assert "holds no Dagster instance with runs" in no_runs.err
    assert list(empty.iterdir()) == []  # reading wrote nothing
    missing = history.cli(["runs", "sales_job"], DAGSTER_HOME=str(tmp_path / "nowhere"))
    assert missing.code == 2
    assert "is not an existing folder given by its absolute path" in missing.err
    assert not (tmp_path / "nowhere").exists()


def test_a_run_with_no_record_of_a_job_no_spec_builds(history: History, tmp_path: Path) -> None:
    # As a run launched before its job's spec was removed, or before the plugin recorded values.
    folder = example_copy(tmp_path / "job_removed")
    (folder / "job_specs" / "sales_job.yaml").unlink()
    ids = history.ids
    unreadable, readable, runs = (
        history.cli(["diff", ids["failed"], ids["a"]], folder),
        history.cli(["diff", ids["a"], ids["b"], "--json"], folder),
        history.cli(["runs", "sales_job"], folder),
    )
    assert unreadable.code == 2
    assert unreadable.err == (
        f"error: run {ids['failed']} recorded no parameters (no asset of it materialized with "
        "`nexus/params` metadata) and its job `sales_job` is not built from a spec now, so its "
        "run config cannot be read as parameters\n"
    )
    # Runs whose assets recorded what they used still compare, by those records alone.
    assert readable.code == 1, readable.err
    assert "sales_ingestion_asset" in json.loads(readable.out)["assets"]
    assert runs.code == 1
    assert runs.err.startswith("error: no job named `sales_job` in this folder")


# --- update --from-run ----------------------------------------------------------------------


def test_update_from_run_makes_the_runs_values_the_specs_own(
    history: History, tmp_path: Path
) -> None:
    folder = example_copy(tmp_path / "update_ok")
    spec = folder / "job_specs" / "sales_job.yaml"
    updated = history.cli(["update", "sales_job", "--from-run", history.ids["b"]], folder)
    assert updated.code == 0, updated.err
    assert updated.out.splitlines() == [
        "updated job_specs/sales_job.yaml",
        "  set ops_config.marketing_ingestion_asset.source_bucket",
        "  set ops_config.sales_ingestion_asset.source_bucket",
        "  set parameter_values.target_bucket",
    ]
    text = spec.read_text()
    assert text.startswith("# Ingest both exports.")  # comments kept
    assert 'marketing_ingestion_asset.source_bucket: "string!"  # per-asset, no default' in text
    (loaded,) = [s for s in load_job_specs(folder / "job_specs") if s.name == "sales_job"]
    assert loaded.model.parameter_values == {"target_bucket": "lake-b"}
    assert loaded.model.ops_config == {
        "sales_ingestion_asset": {"source_bucket": "sales-daily"},
        "marketing_ingestion_asset": {"source_bucket": "mkt-raw"},
    }
    # A run without config now uses those values: nothing but the sources differ. It goes
    # into a copy of the instance, so that the history's own holds the fixture's runs alone.
    home = shutil.copytree(history.home, tmp_path / "home")
    new = history.launch(folder, "sales_job", {}, "after_update", home=home)
    compared = history.cli(
        ["diff", history.ids["b"], new, "--json"], folder, DAGSTER_HOME=str(home)
    )
    changes = json.loads(compared.out)["assets"]
    assert changes, compared.err
    for params in changes.values():
        for change in params.values():
            assert change["a"]["value"] == change["b"]["value"]
            assert change["b"]["source"] == "default"


def test_update_from_run_of_a_partitioned_job(history: History, tmp_path: Path) -> None:
    folder = example_copy(tmp_path / "update_partitioned")
    updated = history.cli(
        ["update", "daily_orders_job", "--from-run", history.ids["daily"], "--set", "min_amount=7"],
        folder,
    )
    assert updated.code == 0, updated.err
    (spec,) = [s for s in load_job_specs(folder / "job_specs") if s.name == "daily_orders_job"]
    assert spec.model.parameter_values == {"target_bucket": "orders-lake-p", "min_amount": 7}


def test_update_from_run_refusals_leave_the_file_as_it_was(
    history: History, tmp_path: Path
) -> None:
    folder = example_copy(tmp_path / "update_refused")
    removed = folder / "job_specs" / "sales_job.yaml"
    # Since run b, the spec dropped `sales_ingestion_asset.source_bucket`'s asset.
    trimmed = history.cli(["update", "sales_job", "--deselect", "sales_ingestion_asset"], folder)
    assert trimmed.code == 0, trimmed.err
    # Since run daily, the spec types `min_amount` as text (the run gave a number).
    daily = folder / "job_specs" / "daily_orders_job.yaml"
    text = daily.read_text().replace("  min_amount: 20\n", '  min_amount: "20"\n')
    daily.write_text(text + 'params_schema:\n  min_amount: "string"\n')
    before = snapshot(folder)
    ids = history.ids
    other_job, unknown, gone, extra, retyped, secret_job = (
        history.cli(["update", "daily_report_job", "--from-run", ids["a"]], folder),
        history.cli(["update", "sales_job", "--from-run", "0000-not-a-run"], folder),
        history.cli(["update", "sales_job", "--from-run", ids["b"]], folder),
        history.cli(["update", "daily_orders_job", "--from-run", ids["extra"]], folder),
        history.cli(["update", "daily_orders_job", "--from-run", ids["daily"]], folder),
        history.cli(["update", "vault_job", "--from-run", ids["vault_1"]], history.vault),
    )
    vault = tmp_path / "vault_update"
    shutil.copytree(history.vault, vault)
    secret_run = history.cli(["update", "vault_job", "--from-run", ids["vault_2"]], vault)
    assert other_job.code == 1
    assert other_job.err.splitlines() == [
        "error: refused to edit job_specs/daily_report_job.yaml:",
        f"  run {ids['a']} is a run of job `sales_job`, not `daily_report_job`: take the values "
        "of one of its own runs (`nexus-dagster runs daily_report_job`)",
    ]
    assert unknown.code == 2
    assert "no run `0000-not-a-run`" in unknown.err
    assert gone.code == 1
    assert gone.err.splitlines() == [
        f"error: refused to edit {removed.relative_to(folder)}:",
        f"  run {ids['b']} was launched with `sales_ingestion_asset.source_bucket`, which job "
        "`sales_job` no longer has (removed from the spec or from its assets since): give the "
        "values you want with --set instead",
    ]
    assert extra.code == 1
    assert (
        "was launched with `not_a_field`, which job `daily_orders_job` no longer has" in extra.err
    )
    assert retyped.code == 1
    assert retyped.err.splitlines()[1] == (
        f"  run {ids['daily']} gave `min_amount` a value that does not fit its type `string` now "
        "(expected string, got int): give it with --set min_amount=VALUE"
    )
    assert snapshot(folder) == before
    # Values the spec already holds change nothing; a secret is taken as its reference.
    assert (secret_job.code, secret_job.out) == (0, "unchanged specs/vault_job.yaml\n")
    assert secret_run.code == 0, secret_run.err
    text = (vault / "specs" / "vault_job.yaml").read_text()
    assert "api_key: {env: NEXUS_OTHER_KEY}" in text
    assert "s3cr3t" not in text + secret_run.out + secret_run.err


# --- schema --assets ------------------------------------------------------------------------


def test_schema_knows_the_assets(history: History, tmp_path: Path) -> None:
    done = history.cli(["schema", "--assets"])
    assert done.code == 0, done.err
    schema = json.loads(done.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((history.example / "job_specs").rglob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        assert list(validator.iter_errors(spec)) == [], path

    def errors(spec: Mapping[str, Any]) -> list[tuple[list[Any], str]]:
        return sorted((list(e.absolute_path), e.message) for e in validator.iter_errors(spec))

    assert errors({"selection": ["sales_ingestion_assett"]}) == [
        (["selection"], "['sales_ingestion_assett'] is not valid under any of the given schemas")
    ]
    assert errors({"selection": "group:ingestion"}) == []  # a selection string is still allowed
    assert errors(
        {
            "selection": ["sales_ingestion_asset"],
            "parameter_values": {"target_bucket": 5},
            "ops_config": {"sales_ingestion_asset": {"batch_size": "lots"}},
        }
    ) == [
        (["ops_config", "sales_ingestion_asset", "batch_size"], "'lots' is not of type 'integer'"),
        (["parameter_values", "target_bucket"], "5 is not of type 'string'"),
    ]
    undeclared = errors(
        {
            "selection": ["report"],
            "params_schema": {"report.min_amout": "float"},
            "parameter_values": {"min_amout": 1},
            "ops_config": {"reprot": {"min_amount": 1}},
            "schedules": [{"cron": "0 6 * * *", "parameter_values": {"report.min_amout": 1}}],
        }
    )
    assert [path for path, _ in undeclared] == [
        ["ops_config"],
        ["parameter_values"],
        ["params_schema"],
        ["schedules", 0, "parameter_values"],
    ]
    assert all("was unexpected" in message for _, message in undeclared)
    props = schema["properties"]
    assert props["params_schema"]["properties"]["sales_ingestion_asset.batch_size"]["pattern"]
    assert "report.min_amount" in props["params_schema"]["properties"]

    # Secrets: only `{env: VAR}`.
    vault = history.cli(["schema", "--assets"], history.vault)
    secret = jsonschema.Draft202012Validator(json.loads(vault.out))
    good = {
        "selection": ["vault_reader"],
        "ops_config": {"vault_reader": {"api_key": {"env": "K"}}},
    }
    assert list(secret.iter_errors(good)) == []
    plain = {"selection": ["vault_reader"], "ops_config": {"vault_reader": {"api_key": "k"}}}
    assert [e.message for e in secret.iter_errors(plain)] == ["'k' is not of type 'object'"]


def test_create_writes_the_editor_schema_line(history: History, tmp_path: Path) -> None:
    folder = example_copy(tmp_path / "schema_line")
    (folder / "nexus-spec.schema.json").write_text(history.cli(["schema", "--assets"]).out)
    created = history.cli(
        [
            "create",
            "sample_job",
            "--select",
            "sales_ingestion_asset",
            "--set",
            "sales_ingestion_asset.source_bucket=sales-raw",
            "--schema-line",
            "nexus-spec.schema.json",
        ],
        folder,
    )
    assert created.code == 0, created.err
    text = (folder / "job_specs" / "sample_job.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../nexus-spec.schema.json"
    assert history.cli(["validate"], folder).out == "ok: 7 job spec(s) in job_specs\n"
