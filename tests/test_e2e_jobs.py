"""End to end through real Dagster: jobs built from specs, run in process, through the `dagster`
CLI with the multiprocess executor, and from schedules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

import nexus_dagster
from nexus_dagster import NexusParamError, NexusParams, NexusSpecError, build_definitions

from .conftest import FORKSERVER, REPO, example_location, new_dagster_home, write_specs
from .forked_dagster import dagster

LOCATIONS = Path(__file__).parent / "locations"
sys.path.insert(0, str(LOCATIONS))
import probe_location  # noqa: E402

CLI_TIMEOUT = 180  # seconds, for a `dagster job execute`
# `dagster job execute` runs as a process of its own forked from one that has imported Dagster
# (`forked_dagster`): it imports the code location anew, as a new `dagster` process would.


@pytest.fixture
def probe_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "probe"
    monkeypatch.setenv("PROBE_OUT", str(out))
    return out


def read_probe(out: Path, name: str) -> Any:
    return json.loads((out / f"{name}.json").read_text())["payload"]


def run_probe_in_process(run_config: dict[str, Any]) -> dg.ExecuteInProcessResult:
    job = probe_location.defs.resolve_job_def("probe_job")
    return job.execute_in_process(run_config=run_config, instance=dg.DagsterInstance.ephemeral())


# (launch config, expected values per asset) — each row proves one rule of docs/parameters.md.
RESOLUTION_CASES = [
    pytest.param(
        {},
        {
            "alpha": {"bucket": "alpha-bucket", "n": 1},  # per-asset default beats shared
            "beta": {"bucket": "shared-bucket"},  # shared value; unset optional `n` absent
            "raw__gamma": {"bucket": "shared-bucket", "flag": True},
        },
        id="spec-defaults-per-asset-over-shared",
    ),
    pytest.param(
        {"bucket": "launch-shared"},
        {
            "alpha": {"bucket": "alpha-bucket", "n": 1},
            "beta": {"bucket": "launch-shared"},
            "raw__gamma": {"bucket": "launch-shared", "flag": True},
        },
        id="launch-shared-does-not-beat-per-asset",
    ),
    pytest.param(
        {"beta.bucket": "beta-only", "beta.n": 7, "alpha.tags": ["x", "y"]},
        {
            "alpha": {"bucket": "alpha-bucket", "n": 1, "tags": ["x", "y"]},
            "beta": {"bucket": "beta-only", "n": 7},  # optional override of a shared name
            "raw__gamma": {"bucket": "shared-bucket", "flag": True},
        },
        id="override-for-one-asset-only",
    ),
    pytest.param(
        {"raw/gamma.bucket": "gamma-own", "raw/gamma.flag": False},
        {
            "alpha": {"bucket": "alpha-bucket", "n": 1},
            "beta": {"bucket": "shared-bucket"},
            "raw__gamma": {"bucket": "gamma-own", "flag": False},
        },
        id="prefixed-asset-key",
    ),
]


@pytest.mark.parametrize(("run_config", "expected"), RESOLUTION_CASES)
def test_for_asset_resolves_per_asset_then_shared_in_process(
    probe_out: Path, run_config: dict[str, Any], expected: dict[str, dict[str, Any]]
) -> None:
    assert run_probe_in_process(run_config).success
    assert read_probe(probe_out, "alpha") == expected["alpha"]
    assert read_probe(probe_out, "beta") == expected["beta"]
    assert read_probe(probe_out, "raw__gamma")["values"] == expected["raw__gamma"]


def test_resource_config_uses_nexus_ops_keys_and_omits_unset(probe_out: Path) -> None:
    assert run_probe_in_process({"raw/gamma.bucket": "g"}).success
    config = read_probe(probe_out, "raw__gamma")["config"]
    assert config == {
        "bucket": "shared-bucket",
        "__nexus_ops__alpha__bucket": "alpha-bucket",
        "__nexus_ops__alpha__n": 1,
        "__nexus_ops__raw__gamma__bucket": "g",
        "__nexus_ops__raw__gamma__flag": True,
    }


def test_render_fills_templates_typed_and_inline(probe_out: Path) -> None:
    assert run_probe_in_process({"delta.n": 3, "delta.bucket": "{{params.n}}"}).success
    assert read_probe(probe_out, "delta") == {
        "uri": "s3://{{params.n}}/in/3",  # a value holding a placeholder is not rendered again
        "n": 3,
        "nested": {"list": ["{{params.n}}", 1]},
    }


@pytest.mark.parametrize(
    ("run_config", "expected"),
    [
        ({"alpha.n": "seven"}, "Invalid scalar at path root:alpha.n"),
        ({"nope": 1}, 'Received unexpected config entry "nope"'),
        ({"raw/gamma.flag": 3}, "Invalid scalar at path root:raw/gamma.flag"),
    ],
)
def test_launch_config_errors_are_dagsters_naming_the_field(
    run_config: dict[str, Any], expected: str
) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match=expected.replace(".", r"\.")):
        run_probe_in_process(run_config)


def test_missing_required_value_rejected_before_the_run(example_data: Path) -> None:
    definitions = example_location()

    job = definitions.defs.resolve_job_def("sales_job")
    with pytest.raises(dg.DagsterInvalidConfigError) as err:
        job.execute_in_process(run_config={}, instance=dg.DagsterInstance.ephemeral())
    assert 'Missing required config entry "marketing_ingestion_asset.source_bucket"' in str(
        err.value
    )


@pytest.mark.floor
def test_launchpad_fields_have_descriptions_defaults_and_required_marks() -> None:
    definitions = example_location()

    job = definitions.defs.resolve_job_def("sales_job")
    assert job.config_mapping is not None
    fields = job.config_mapping.config_schema.config_type.fields
    assert fields["target_bucket"].default_value == "analytics-lake"
    assert fields["sales_ingestion_asset.source_bucket"].default_value == "sales-raw"
    assert fields["marketing_ingestion_asset.source_bucket"].is_required
    assert not fields["sales_ingestion_asset.target_bucket"].is_required
    assert "Shared" in fields["target_bucket"].description
    assert "`marketing_ingestion_asset`" in fields["target_bucket"].description
    assert "Per-asset" in fields["sales_ingestion_asset.source_bucket"].description


@pytest.mark.floor
def test_dagster_cli_multiprocess_each_step_sees_its_values(tmp_path: Path) -> None:
    out = tmp_path / "probe"
    home = new_dagster_home(tmp_path / "home")
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(
        yaml.safe_dump(
            {"bucket": "cli-shared", "beta.n": 5, "raw/gamma.bucket": "cli-gamma", **FORKSERVER}
        )
    )
    env = {**os.environ, "PROBE_OUT": str(out), "DAGSTER_HOME": str(home)}
    result = dagster(
        ["job", "execute", "-f", str(LOCATIONS / "probe_location.py"), "-j", "probe_job"]
        + ["-c", str(run_yaml)],
        env=env,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stdout + result.stderr
    assert "Executing steps using multiprocess executor" in result.stdout + result.stderr
    assert read_probe(out, "alpha") == {"bucket": "alpha-bucket", "n": 1}
    assert read_probe(out, "beta") == {"bucket": "cli-shared", "n": 5}
    assert read_probe(out, "raw__gamma")["values"] == {"bucket": "cli-gamma", "flag": True}
    pids = {
        json.loads((out / f"{n}.json").read_text())["pid"] for n in ("alpha", "beta", "raw__gamma")
    }
    assert len(pids) == 3, "the multiprocess executor runs each step in its own process"


@pytest.mark.floor
def test_example_sales_job_through_dagster_cli(tmp_path: Path, example_data: Path) -> None:
    home = new_dagster_home(tmp_path / "home")
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(
        "marketing_ingestion_asset.source_bucket: mkt-raw\n"
        "sales_ingestion_asset.target_bucket: sales-lake\n"
        # the steps in the launching process: the multiprocess executor is the test above's
        "execution: {config: {in_process: {}}}\n"
    )
    result = dagster(
        ["job", "execute", "-f", str(REPO / "definitions.py"), "-j", "sales_job"]
        + ["-c", str(run_yaml)],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        cwd=tmp_path,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sales = (example_data / "sales-lake" / "sales.csv").read_text().splitlines()
    marketing = (example_data / "analytics-lake" / "marketing.csv").read_text().splitlines()
    assert len(sales) == 1 + 5 and sales[0] == "date,region,amount"
    assert len(marketing) == 1 + 3 and marketing[0] == "date,channel,spend"


def test_schedule_launches_full_flat_config(example_data: Path) -> None:
    definitions = example_location()

    schedule = definitions.defs.resolve_schedule_def("daily_report_morning")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    with dg.build_schedule_context() as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert requests is not None and len(requests) == 1
    run_config = requests[0].run_config
    assert run_config == {
        "min_amount": 50,
        "target_bucket": "reports-lake",
        "sales_ingestion_asset.source_bucket": "sales-daily",
        "sales_ingestion_asset.batch_size": 500,
        "marketing_ingestion_asset.source_bucket": "mkt-raw",
    }
    job = definitions.defs.resolve_job_def("daily_report_job")
    result = job.execute_in_process(run_config=run_config, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    report = (example_data / "reports-lake" / "report.md").read_text()
    assert "sales rows at or above 50.0: 1" in report  # the daily file: 301.00 and 42.10
    assert "revenue: 301.00" in report


def test_older_form_spec_resolves_like_its_prefixed_form(tmp_path: Path, probe_out: Path) -> None:
    older = """
        selection: [alpha, beta]
        params_schema: {bucket: "string!"}
        ops_config:
          alpha: {bucket: a-own}
          beta: {bucket: b-own}
    """
    migrated = """
        selection: [alpha, beta]
        params_schema: {alpha.bucket: "string!", beta.bucket: "string!"}
        ops_config:
          alpha: {bucket: a-own}
          beta: {bucket: b-own}
    """
    seen = []
    for name, text in (("older", older), ("migrated", migrated)):
        folder = write_specs(tmp_path / name, {f"{name}.yaml": text})
        defs = build_definitions(folder, assets=[probe_location.alpha, probe_location.beta])
        result = defs.resolve_job_def(name).execute_in_process(
            instance=dg.DagsterInstance.ephemeral()
        )
        assert result.success
        seen.append((read_probe(probe_out, "alpha"), read_probe(probe_out, "beta")))
    assert seen[0] == seen[1] == ({"bucket": "a-own"}, {"bucket": "b-own"})


def test_missing_value_outside_a_spec_job_names_asset_param_and_fields(probe_out: Path) -> None:
    with pytest.raises(NexusParamError) as err:
        dg.materialize([probe_location.alpha], resources={"params": NexusParams()})
    message = str(err.value)
    assert "asset `alpha` needs parameter `bucket`" in message
    assert "add `asset_defaults: true`" not in message  # no spec selects it here
    assert "select it in a spec with `asset_defaults: true`" in message
    given = "`resources: {params: {config: {values: {alpha.bucket: ...}}}}`"
    assert given in message
    assert err.value.names == ("alpha.bucket", "bucket")
    # the form the message suggests is one the run takes
    run_config = {"resources": {"params": {"config": {"values": {"alpha.bucket": "b"}}}}}
    result = dg.materialize(
        [probe_location.alpha], resources={"params": NexusParams()}, run_config=run_config
    )
    assert result.success


def test_broken_spec_fails_code_location_load_with_every_problem(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "a.yaml": "selection: [alpah]\n",
            "b.yaml": "selection: [beta]\nparams_schema:\n  beta.n: Int\n",
        },
    )
    with pytest.raises(NexusSpecError) as err:
        build_definitions(folder, assets=[probe_location.alpha, probe_location.beta])
    lines = str(err.value).splitlines()
    assert lines[0] == "2 problems in nexus job specs:"
    assert (
        lines[1]
        == f"{folder}/a.yaml:1:13: selection[0]: unknown asset `alpah`; did you mean `alpha`?"
    )
    assert lines[2].startswith(
        f"{folder}/b.yaml:3:3: params_schema.beta.n: unknown type `Int`; did you mean `int`?"
    )


def test_relative_specs_dir_is_taken_from_the_calling_file(tmp_path: Path) -> None:
    # `dagster dev -f`, step subprocesses and the CLI may start in any folder
    defs = probe_location.defs
    assert defs.metadata["nexus/specs_dir"].value == str(LOCATIONS / "probe_specs")


def test_public_api_is_declared_once() -> None:
    assert sorted(nexus_dagster.__all__) == [
        "EditResult",
        "JobSpec",
        "NexusComponentError",
        "NexusConfigError",
        "NexusDeclarationError",
        "NexusEditError",
        "NexusError",
        "NexusJobsComponent",
        "NexusParamError",
        "NexusParams",
        "NexusRunError",
        "NexusSelectionError",
        "NexusSpecError",
        "SpecProblem",
        "build_definitions",
        "create_spec",
        "inspect_selection_params",
        "load_job_specs",
        "migrate_spec",
        "migrate_specs",
        "nexus_asset",
        "nexus_asset_check",
        "nexus_run_config",
        "nexus_run_request",
        "update_spec",
        "with_parameter_tables",
    ]
    for name in nexus_dagster.__all__:
        assert getattr(nexus_dagster, name) is not None


def test_inspect_selection_params_lists_prefixed_names() -> None:
    assets = [probe_location.alpha, probe_location.beta, probe_location.gamma]
    assert nexus_dagster.inspect_selection_params(["alpha", "raw/gamma"], assets) == [
        "alpha.bucket",
        "alpha.n",
        "alpha.tags",
        "raw/gamma.bucket",
        "raw/gamma.flag",
    ]
    assert nexus_dagster.inspect_selection_params("key:beta", assets) == ["beta.bucket", "beta.n"]
    with pytest.raises(nexus_dagster.NexusSelectionError, match="did you mean `alpha`"):
        nexus_dagster.inspect_selection_params(["alpah"], assets)


def test_load_job_specs_without_assets_checks_files_alone() -> None:
    specs = nexus_dagster.load_job_specs(REPO / "job_specs")
    assert sorted(s.name for s in specs) == [
        "daily_orders_job",
        "daily_report_job",
        "legacy_ingest_job",
        "sales_job",
        "sales_sample_job",
        "top_sales_job",
    ]
    assert all(s.fields == () for s in specs)


def test_nexus_asset_refuses_a_bad_declaration_at_import() -> None:
    with pytest.raises(nexus_dagster.NexusDeclarationError, match="did you mean `string!`"):

        @nexus_dagster.nexus_asset(params={"x": "String!"})
        def broken() -> None: ...


def test_selection_string_naming_an_unknown_key_is_refused() -> None:
    assets = [probe_location.alpha, probe_location.beta]
    with pytest.raises(
        nexus_dagster.NexusSelectionError,
        match="selection `key:alpha or key:bet` names unknown asset `bet`; did you mean `beta`",
    ):
        nexus_dagster.inspect_selection_params("key:alpha or key:bet", assets)
    assert nexus_dagster.inspect_selection_params("key:al*", assets) == [
        "alpha.bucket",
        "alpha.n",
        "alpha.tags",
    ]
