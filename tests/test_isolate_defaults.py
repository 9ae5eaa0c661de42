"""An `asset_defaults` spec with problems, isolated (`on_spec_error="isolate"`): its assets' runs
outside spec jobs fail when they start, naming the spec's file and problems, and never fall back
to other values (contract §21); the job that stands for it names the schedules and sensors it
lost. Before, such a run told the user to mark another spec `asset_defaults` (a fix that would
silently change where the values come from), and an asset with only optional parameters ran
with none."""

from pathlib import Path

import dagster as dg
import pytest

from nexus_dagster import NexusParams, build_definitions, nexus_asset

from .conftest import error_text, write_specs

RAN: list[str] = []


@nexus_asset(params={"bucket": "string!"})
def sales(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    RAN.append(f"sales {params.for_asset(context)['bucket']}")


@nexus_asset(params={"n": "int"})
def counts(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    RAN.append(f"counts {dict(params.for_asset(context))}")


@nexus_asset(params={"bucket": "string!"})
def refunds(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    RAN.append(f"refunds {params.for_asset(context)['bucket']}")


ASSETS = [sales, counts, refunds]
BROKEN_DEFAULTS = """\
asset_defaults: true
selection: [sales, counts]
parameter_values: {bucket: lake, n: 3}
bogus: 1
schedules:
  - cron: "0 6 * * *"
  - name: weekly_defaults
    cron: "0 6 * * 1"
sensors:
  - type: file
    name: defaults_files
    pattern: "*.csv"
"""
OTHERS = {
    # a healthy spec that selects `sales` too, and one that is `refunds`' asset_defaults spec
    "sales_job.yaml": "selection: [sales]\nparameter_values: {bucket: elsewhere}\n",
    "refunds_job.yaml": "asset_defaults: true\nselection: [refunds]\n"
    "parameter_values: {bucket: refunds-lake}\n",
}


@pytest.fixture
def defs(tmp_path: Path) -> dg.Definitions:
    RAN.clear()
    folder = write_specs(tmp_path / "specs", {"defaults_job.yaml": BROKEN_DEFAULTS, **OTHERS})
    return build_definitions(folder, assets=ASSETS, on_spec_error="isolate")


def _materialize(defs: dg.Definitions, asset: str) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(asset)}
    )
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def _failure(result: dg.ExecuteInProcessResult) -> str:
    errors = error_text(result.all_events)
    assert errors, "the run failed with no error"
    return errors


@pytest.mark.parametrize("asset", ["sales", "counts"])
def test_a_run_outside_spec_jobs_fails_naming_the_broken_asset_defaults_spec(
    defs: dg.Definitions, tmp_path: Path, asset: str
) -> None:
    result = _materialize(defs, asset)
    assert not result.success
    assert RAN == []  # `counts` has only an optional parameter: it did not run with none
    text = _failure(result)
    path = tmp_path / "specs" / "defaults_job.yaml"
    assert (
        f"asset `{asset}` takes its values in runs outside spec jobs from the `asset_defaults` "
        f"spec `defaults_job` ({path}), which has problems, so this run cannot resolve them: "
    ) in text
    assert f"{path}:4:1: bogus: unknown key `bogus`" in text
    # refused when the run's resources start, before any step
    assert "Error occurred while executing op" not in text
    assert "Fix that spec (`nexus-dagster validate` lists its problems)." in text
    assert "add `asset_defaults: true`" not in text


def test_other_assets_and_spec_jobs_still_run(defs: dg.Definitions) -> None:
    assert _materialize(defs, "refunds").success
    job = defs.resolve_job_def("sales_job")
    assert job.execute_in_process(instance=dg.DagsterInstance.ephemeral()).success
    assert RAN == ["refunds refunds-lake", "sales elsewhere"]


def test_the_job_of_the_broken_spec_names_the_schedules_and_sensors_it_lost(
    defs: dg.Definitions,
) -> None:
    description = defs.resolve_job_def("defaults_job").description or ""
    assert (
        "Not running while the spec has problems: schedule `defaults_job_schedule`, "
        "schedule `weekly_defaults`, sensor `defaults_files`."
    ) in description
    assert not [s for s in defs.schedules or [] if "defaults" in getattr(s, "name", "")]
    assert not [s for s in defs.sensors or [] if "defaults" in getattr(s, "name", "")]


def test_an_unreadable_asset_defaults_spec_still_fails_its_assets(tmp_path: Path) -> None:
    # Not YAML at all: the key and the assets' names are found in its text.
    RAN.clear()
    folder = write_specs(
        tmp_path / "specs",
        {"defaults_job.yaml": "asset_defaults: true\nselection: [sales\n  bucket: : :\n"},
    )
    defs = build_definitions(folder, assets=ASSETS, on_spec_error="isolate")
    result = _materialize(defs, "sales")
    assert not result.success and RAN == []
    assert "`asset_defaults` spec `defaults_job`" in _failure(result)
    assert _materialize(defs, "counts").success  # not named in the file: its own, optional
