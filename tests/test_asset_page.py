"""Parameters on the asset's page (docs: runs.md, "What a run records" and "Runs outside a spec's
job"): each asset's definition metadata holds a table of its parameters and of the values
Materialize resolves, and each materialization and check evaluation a table of its values."""

import importlib
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster.components.core.component_tree import ComponentTree

from nexus_dagster import NexusParams, build_definitions, nexus_asset, with_parameter_tables
from nexus_dagster.asset_page import MATERIALIZE_KEY, PARAMETERS_KEY, VALUES_KEY

from .conftest import REPO, example_location, write_specs
from .test_reload_state import edit_sales_job, project  # noqa: F401 (a fixture)

COLUMNS = ["parameter", "type", "required", "value", "field", "spec", "declared by", "description"]


def rows(metadata: Any) -> list[dict[str, Any]]:
    """A table metadata value's rows, as dicts."""
    return [dict(record.data) for record in metadata.records]


def page(defs: dg.Definitions, asset: str) -> dict[str, Any]:
    """The definition metadata the asset's page shows, as the code location serves it."""
    node = defs.get_repository_def().asset_graph.get(dg.AssetKey.from_user_string(asset))
    return dict(node.metadata)


def row(parameter: str, type_: str, required: bool, value: Any = None, field: Any = None,
        spec: Any = None, by: str = "asset", description: Any = None) -> dict[str, Any]:  # fmt: skip
    return dict(
        zip(COLUMNS, [parameter, type_, required, value, field, spec, by, description], strict=True)
    )


# --- the example location ---------------------------------------------------------------------


def test_each_asset_of_the_example_shows_its_parameters_and_what_materialize_resolves() -> None:
    defs = example_location().defs
    shown = page(defs, "sales_ingestion_asset")
    assert [c.name for c in shown[PARAMETERS_KEY].schema.columns] == COLUMNS
    spec = "daily_report_job"
    assert rows(shown[PARAMETERS_KEY]) == [
        row("source_bucket", "string", True, "sales-raw", "sales_ingestion_asset.source_bucket", spec),
        row("target_bucket", "string", True, "reports-lake", "target_bucket", spec),
        row("batch_size", "int", False, "500", "sales_ingestion_asset.batch_size", spec),
    ]  # fmt: skip
    assert shown[MATERIALIZE_KEY].value == (
        f"Materialize resolves the values of the asset_defaults spec `{spec}` "
        f"({REPO / 'job_specs' / 'daily_report_job.yaml'}), under any a run gives in "
        "`resources.params.config.values`."
    )
    # A typed asset: each field's description, its model's default where no spec gives one,
    # and the parameters of its check, each with who declares it.
    assert rows(page(defs, "top_sales")[PARAMETERS_KEY]) == [
        row("target_bucket", "string", True, "reports-lake", "target_bucket", "top_sales_job",
            "asset, check top_sales_has_rows", "Folder holding sales.csv; the top rows go there too"),
        row("top_n", "int", False, "3", "top_sales.top_n", "top_sales_job", "asset",
            "How many of the largest sales to keep"),
        row("min_amount", "float", False, "0.0", "(model default)", None, "asset",
            "Sales below this amount are left out"),
        row("min_rows", "int", False, "1", "top_sales.min_rows", "top_sales_job",
            "check top_sales_has_rows"),
    ]  # fmt: skip
    # An asset that no asset_defaults spec selects says so, and what a run must give.
    sample = page(defs, "sales_sample")
    assert rows(sample[PARAMETERS_KEY]) == [row("target_bucket", "string", True)]
    assert sample[MATERIALIZE_KEY].value == (
        "No asset_defaults spec selects this asset: Materialize resolves only the values a run "
        "gives. Specs that select it: `sales_sample_job` in "
        f"{REPO / 'job_specs' / 'sales_sample_job.yaml'}; `asset_defaults: true` in one of them "
        "gives Materialize its values. Required without a value: `target_bucket`; a run must "
        "give each, for example "
        "`resources: {params: {config: {values: {sales_sample.target_bucket: ...}}}}`."
    )


# --- secrets, lists, no spec at all, a broken asset_defaults spec, a reload ---------------------


@nexus_asset(params={"api_key": "secret!", "regions": "[string]", "retries": "int"})
def vault(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


@nexus_asset(params={"bucket": "string"})
def lonely(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


@nexus_asset(params={"bucket": "string!"})
def guarded(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


@dg.asset
def plain() -> None:
    """Declares no parameter: its page gets no table."""


SPECS = {
    "vault_job.yaml": """\
        asset_defaults: true
        selection: [vault]
        parameter_values: {retries: 2}
        ops_config:
          vault: {api_key: {env: VAULT_KEY}, regions: [north, east]}
        """,
    "guarded_job.yaml": """\
        asset_defaults: true
        selection: [guarded]
        parameter_values: {bucket: 7}
        """,
    "lonely_job.yaml": """\
        selection: [lonely]
        """,
}


def build(folder: Path) -> dg.Definitions:
    return build_definitions(
        folder, assets=[vault, lonely, guarded, plain], on_spec_error="isolate"
    )


def test_secrets_lists_and_assets_without_a_spec_show_as_a_user_would_expect(
    tmp_path: Path,
) -> None:
    specs = write_specs(tmp_path / "specs", SPECS)
    defs = build(specs)
    assert rows(page(defs, "vault")[PARAMETERS_KEY]) == [
        row("api_key", "secret", True, "*** (env VAULT_KEY)", "vault.api_key", "vault_job"),
        row("regions", "[string]", False, '["north", "east"]', "vault.regions", "vault_job"),
        row("retries", "int", False, "2", "retries", "vault_job"),
    ]
    assert "VAULT_KEY" not in str(page(defs, "vault")[MATERIALIZE_KEY].value)
    lonely_page = page(defs, "lonely")
    assert rows(lonely_page[PARAMETERS_KEY]) == [row("bucket", "string", False)]
    assert lonely_page[MATERIALIZE_KEY].value == (
        "No asset_defaults spec selects this asset: Materialize resolves only the values a run "
        f"gives. Specs that select it: `lonely_job` in {specs / 'lonely_job.yaml'}; "
        "`asset_defaults: true` in one of them gives Materialize its values."
    )
    assert PARAMETERS_KEY not in page(defs, "plain") and MATERIALIZE_KEY not in page(defs, "plain")
    # An asset_defaults spec that leaves a required value out: the page says what a run must give.
    vault_job = specs / "vault_job.yaml"
    vault_job.write_text(vault_job.read_text().replace("api_key: {env: VAULT_KEY}, ", ""))
    assert page(build(specs), "vault")[MATERIALIZE_KEY].value == (
        "Materialize resolves the values of the asset_defaults spec `vault_job` "
        f"({vault_job}), under any a run gives in `resources.params.config.values`. Required "
        "without a value: `api_key`; a run must give each, for example "
        "`resources: {params: {config: {values: {vault.api_key: ...}}}}`."
    )
    # An asset_defaults spec with problems: the page says that Materialize fails, and why.
    guarded_page = page(defs, "guarded")
    assert rows(guarded_page[PARAMETERS_KEY]) == [row("bucket", "string", True)]
    note = guarded_page[MATERIALIZE_KEY].value
    assert note.startswith(
        f"The asset_defaults spec `guarded_job` ({specs / 'guarded_job.yaml'}) selects this asset "
        "but has problems: Materialize and every other run outside spec jobs fail until it is "
        "fixed ("
    )
    assert "parameter_values.bucket" in note and "string" in note, note


def test_the_tables_follow_the_specs_as_loaded(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "specs", SPECS)
    assert rows(page(build(specs), "vault")[PARAMETERS_KEY])[2]["value"] == "2"
    vault_job = specs / "vault_job.yaml"
    vault_job.write_text(vault_job.read_text().replace("retries: 2", "retries: 5"))
    (specs / "guarded_job.yaml").write_text(SPECS["guarded_job.yaml"].replace("7", "vault-b"))
    again = build(specs)  # what a reload of the code location builds
    assert rows(page(again, "vault")[PARAMETERS_KEY])[2]["value"] == "5"
    assert rows(page(again, "guarded")[PARAMETERS_KEY]) == [
        row("bucket", "string", True, "vault-b", "bucket", "guarded_job")
    ]


# --- what a run records -----------------------------------------------------------------------


def test_a_materialization_and_a_check_evaluation_show_their_values_as_a_table(
    example_data: Path,
) -> None:
    (example_data / "reports-lake").mkdir()
    (example_data / "reports-lake" / "sales.csv").write_text(
        "date,region,amount\n2026-11-01,north,120.5\n2026-11-02,east,210\n"
    )
    defs = example_location().defs
    job = defs.resolve_job_def("top_sales_job")
    result = job.execute_in_process(
        run_config={"top_sales.top_n": 1}, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("top_sales")
    table = materialization.metadata[VALUES_KEY]
    assert [c.name for c in table.schema.columns] == ["parameter", "value", "source", "field"]
    assert rows(table) == [
        {"parameter": "target_bucket", "value": "reports-lake", "source": "default",
         "field": "target_bucket"},
        {"parameter": "top_n", "value": "1", "source": "per-asset", "field": "top_sales.top_n"},
    ]  # fmt: skip
    # The record `runs` and `diff` read is still there, with the same values.
    assert materialization.metadata["nexus/params"].value["top_n"]["value"] == 1
    (evaluation,) = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    assert rows(evaluation.metadata[VALUES_KEY]) == [  # type: ignore[union-attr]
        {"parameter": "min_rows", "value": "1", "source": "default", "field": "top_sales.min_rows"},
        {"parameter": "target_bucket", "value": "reports-lake", "source": "default",
         "field": "target_bucket"},
    ]  # fmt: skip


# --- a dg project -----------------------------------------------------------------------------


@pytest.mark.floor
def test_a_dg_project_shows_the_tables_through_its_definitions_file(project: Path) -> None:  # noqa: F811
    definitions = importlib.import_module("nexus_example.definitions")
    defs = definitions.defs()
    shown = page(defs, "sales_ingestion_asset")
    assert {r["parameter"]: r["value"] for r in rows(shown[PARAMETERS_KEY])}["target_bucket"] == (
        "warehouse"
    )
    assert "asset_defaults spec `sales_job`" in shown[MATERIALIZE_KEY].value
    # Without the function, the component alone cannot change the other folders' assets.
    plain_defs = ComponentTree.for_project(project).build_defs()
    assert PARAMETERS_KEY not in page(plain_defs, "sales_ingestion_asset")
    edit_sales_job(project)  # no longer asset_defaults
    again = with_parameter_tables(ComponentTree.for_project(project).build_defs())
    note = page(again, "sales_ingestion_asset")[MATERIALIZE_KEY].value
    assert note.startswith("No asset_defaults spec selects this asset"), note
    assert "`sales_job` in" in note


def test_a_definitions_object_without_specs_is_returned_as_it_is() -> None:
    defs = dg.Definitions(assets=[plain])
    assert with_parameter_tables(defs) is defs
