"""Edits to spec files through the Python API: create, update, migrate; comments and layout
kept, refused edits leave the file byte-identical, migration keeps the meaning."""

from __future__ import annotations

import hashlib
import itertools
import shutil
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_dagster.authoring import (
    create_spec,
    migrate_spec,
    migrate_specs,
    parse_assignment,
    update_spec,
)
from nexus_dagster.catalog import Catalog
from nexus_dagster.errors import NexusEditError
from nexus_dagster.resolution import resolve, run_config_from_values, to_resource_config
from nexus_dagster.spec import load_job_specs
from nexus_dagster.yaml_edit import Style as _Style

from .conftest import REPO, write_specs


def _asset(name: str, params: dict[str, str], config: Any = None, **kwargs: Any) -> Any:
    metadata: dict[str, Any] = {"nexus/params": params}
    if config is not None:
        metadata["nexus/config"] = config

    @dg.asset(name=name, metadata=metadata, **kwargs)
    def _fn() -> None:
        return None

    return _fn


# The example's assets, declared the same way (no work to do here).
ASSETS = [
    _asset(
        "sales_ingestion_asset",
        {"source_bucket": "string!", "target_bucket": "string!", "batch_size": "int"},
        group_name="ingestion",
    ),
    _asset(
        "marketing_ingestion_asset",
        {"source_bucket": "string!", "target_bucket": "string!"},
        group_name="ingestion",
    ),
    _asset(
        "report",
        {"min_amount": "float"},
        {"sales_file": "{{ params.target_bucket }}/sales.csv"},
        group_name="reporting",
    ),
    _asset("vault_reader", {"api_key": "secret!", "region": "string"}),
    _asset("sales_sample", {"target_bucket": "string!"}, group_name="sampling"),
    _asset(
        "daily_orders",
        {"source_bucket": "string!", "target_bucket": "string!"},
        {"input": "{{ params.source_bucket }}/{{ partition.key }}.csv"},
        partitions_def=dg.DailyPartitionsDefinition(start_date="2026-11-01"),
    ),
    _asset(
        "daily_summary",
        {"min_amount": "float", "target_bucket": "string!"},
        partitions_def=dg.DailyPartitionsDefinition(start_date="2026-11-01"),
    ),
    # The typed `top_sales` with its check's `min_rows`, as one declaration.
    _asset(
        "top_sales",
        {"target_bucket": "string!", "top_n": "int", "min_amount": "float", "min_rows": "int"},
        group_name="analysis",
    ),
]


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """A private copy of the example's job_specs/."""
    return Path(shutil.copytree(REPO / "job_specs", tmp_path / "job_specs"))


def _read(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


# --- update -------------------------------------------------------------------------------


def test_set_prefixed_goes_to_ops_config_and_schema_keeping_comments(specs: Path) -> None:
    path = specs / "sales_job.yaml"
    before = path.read_text()
    result = update_spec(
        specs,
        "sales_job",
        assets=ASSETS,
        set_values={"sales_ingestion_asset.batch_size": 500, "target_bucket": "lake"},
    )
    assert result.changed
    assert result.changes == [
        "set ops_config.sales_ingestion_asset.batch_size",
        'added params_schema.sales_ingestion_asset.batch_size: "int"',
        "set parameter_values.target_bucket",
    ]
    after = path.read_text()
    data = yaml.safe_load(after)
    assert data["ops_config"]["sales_ingestion_asset"] == {
        "source_bucket": "sales-raw",
        "batch_size": 500,
    }
    assert data["params_schema"]["sales_ingestion_asset.batch_size"] == "int"
    assert data["parameter_values"] == {"target_bucket": "lake"}
    # Every line but the changed value is still there, comments and alignment included.
    kept = [line for line in before.splitlines() if "analytics-lake" not in line]
    assert all(line in after.splitlines() for line in kept)
    assert after.startswith("# Ingest both exports.")


def test_set_then_unset_restores_the_file(specs: Path) -> None:
    path = specs / "sales_job.yaml"
    before = path.read_bytes()
    update_spec(
        specs, "sales_job", assets=ASSETS, set_values={"sales_ingestion_asset.batch_size": 5}
    )
    result = update_spec(
        specs, "sales_job", assets=ASSETS, unset=["sales_ingestion_asset.batch_size"]
    )
    assert result.changes == [
        "removed ops_config.sales_ingestion_asset.batch_size",
        "removed params_schema.sales_ingestion_asset.batch_size (its type is the field's type anyway)",
    ]
    assert path.read_bytes() == before


def test_unset_keeps_a_schema_entry_that_says_more_than_the_declaration(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "specs",
        {
            "j.yaml": """
            selection: [sales_ingestion_asset]
            params_schema:
              sales_ingestion_asset.batch_size: "int!"   # asked at launch once unset
            ops_config:
              sales_ingestion_asset:
                batch_size: 10
            """
        },
    )
    update_spec(specs, "j", assets=ASSETS, unset=["sales_ingestion_asset.batch_size"])
    assert (specs / "j.yaml").read_text() == (
        "selection: [sales_ingestion_asset]\n"
        "params_schema:\n"
        '  sales_ingestion_asset.batch_size: "int!"   # asked at launch once unset\n'
    )
    field = load_job_specs(specs, ASSETS)[0].fields
    assert [(f.name, f.required) for f in field if f.param == "batch_size"] == [
        ("sales_ingestion_asset.batch_size", True)
    ]


def test_deselect_removes_every_entry_naming_the_asset(specs: Path) -> None:
    result = update_spec(specs, "daily_report_job", assets=ASSETS, deselect=[], select=[])
    assert not result.changed
    result = update_spec(specs, "sales_job", assets=ASSETS, deselect=["marketing_ingestion_asset"])
    assert result.changes == [
        "removed selection: marketing_ingestion_asset",
        "removed params_schema.marketing_ingestion_asset.source_bucket",
    ]
    data = _read(specs / "sales_job.yaml")
    assert data["selection"] == ["sales_ingestion_asset"]
    assert "marketing_ingestion_asset.source_bucket" not in data["params_schema"]


def test_deselect_reaches_schedules_and_shared_names_left_without_a_reader(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "specs",
        {
            "j.yaml": """
            selection:
              - sales_ingestion_asset
              - report
            params_schema:
              min_amount: float        # only report reads it
            parameter_values:
              min_amount: 5
              target_bucket: lake
              source_bucket: raw
            ops_config:
              report:
                min_amount: 1
            schedules:
              - cron: "0 6 * * *"
                parameter_values:
                  report.min_amount: 2
                  target_bucket: other
            sensors:
              - type: file
                directory: incoming
                parameter_values:
                  report.min_amount: 3   # only report reads it
            """
        },
    )
    result = update_spec(specs, "j", assets=ASSETS, deselect=["report"])
    assert result.changes == [
        "removed selection: report",
        "removed params_schema.min_amount (no selected asset declares it any more)",
        "removed parameter_values.min_amount (no selected asset declares it any more)",
        "removed ops_config.report",
        "removed schedules[0].parameter_values.report.min_amount",
        "removed sensors[0].parameter_values.report.min_amount",
    ]
    assert (specs / "j.yaml").read_text() == textwrap.dedent(
        """\
        selection:
          - sales_ingestion_asset
        parameter_values:
          target_bucket: lake
          source_bucket: raw
        schedules:
          - cron: "0 6 * * *"
            parameter_values:
              target_bucket: other
        sensors:
          - type: file
            directory: incoming
        """
    )


def test_select_adds_an_asset(specs: Path) -> None:
    result = update_spec(specs, "sales_job", assets=ASSETS, select=["report"])
    assert result.changes == ["selected report"]
    assert _read(specs / "sales_job.yaml")["selection"][-1] == "report"
    again = update_spec(specs, "sales_job", assets=ASSETS, select=["report"])
    assert not again.changed and "`report` is already selected" in again.notes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'yes'", "yes"),  # YAML 1.1 reads a plain `yes` as true
        ("'2024-01-01'", "2024-01-01"),
        ("'010'", "010"),
        ("'500'", "500"),
        ("'a: b'", "a: b"),
    ],
)
def test_strings_are_written_so_that_they_read_back(specs: Path, text: str, expected: str) -> None:
    name, value = parse_assignment(f"target_bucket={text}")
    update_spec(specs, "sales_job", assets=ASSETS, set_values={name: value})
    assert _read(specs / "sales_job.yaml")["parameter_values"]["target_bucket"] == expected


def test_values_are_read_as_yaml() -> None:
    assert parse_assignment("a.b=500") == ("a.b", 500)
    assert parse_assignment("x=[1, 2]") == ("x", [1, 2])
    assert parse_assignment("k={env: API_KEY}") == ("k", {"env": "API_KEY"})
    assert parse_assignment("x=") == ("x", None)
    assert parse_assignment("x=a=b") == ("x", "a=b")


@pytest.mark.parametrize(
    ("mapping", "offset", "text"),
    [
        (2, 2, "a:\n  b: 1\nc:\n  - x\n"),
        (4, 0, "a:\n    b: 1\nc:\n- x\n"),
        (2, 2, "selection: [a]\n"),
    ],
)
def test_indentation_is_guessed(mapping: int, offset: int, text: str) -> None:
    assert _Style.guess(text) == _Style(mapping, offset)


def test_new_keys_follow_the_files_indentation(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "s", {"j.yaml": "selection:\n- report\nparameter_values:\n    min_amount: 1\n"}
    )
    update_spec(
        specs,
        "j",
        assets=ASSETS,
        set_values={"report.min_amount": 2},
        select=["sales_ingestion_asset"],
    )
    assert (specs / "j.yaml").read_text() == (
        "selection:\n- report\n- sales_ingestion_asset\n"
        'params_schema:\n    report.min_amount: "float"\n'
        "parameter_values:\n    min_amount: 1\n"
        "ops_config:\n    report:\n        min_amount: 2\n"
    )


def test_crlf_files_keep_crlf(tmp_path: Path) -> None:
    specs = tmp_path / "s"
    specs.mkdir()
    (specs / "j.yaml").write_bytes(b"# c\r\nselection: [report]\r\n")
    update_spec(specs, "j", assets=ASSETS, set_values={"min_amount": 1.5})
    assert (specs / "j.yaml").read_bytes() == (
        b"# c\r\nselection: [report]\r\nparameter_values:\r\n  min_amount: 1.5\r\n"
    )


# --- create -------------------------------------------------------------------------------


def test_create_writes_prefixed_values_to_ops_config_and_schema(specs: Path) -> None:
    result = create_spec(
        specs,
        "report_only",
        assets=ASSETS,
        select=["report"],
        set_values={"report.min_amount": 2.5, "target_bucket": "lake"},
        description="Just the report",
    )
    assert result.path == specs / "report_only.yaml"
    assert (specs / "report_only.yaml").read_text() == textwrap.dedent(
        """\
        description: Just the report
        selection:
          - report
        params_schema:
          report.min_amount: "float"
        parameter_values:
          target_bucket: lake
        ops_config:
          report:
            min_amount: 2.5
        """
    )
    assert [s.name for s in load_job_specs(specs, ASSETS)] == [
        "daily_orders_job",
        "daily_report_job",
        "legacy_ingest_job",
        "report_only",
        "sales_job",
        "sales_sample_job",
        "top_sales_job",
    ]


def test_create_never_overwrites(specs: Path) -> None:
    (specs / "taken.yml").write_text("selection: [report]\n")
    for job in ("taken", "sales_job"):
        with pytest.raises(NexusEditError, match="already exists"):
            create_spec(specs, job, assets=ASSETS, select=["report"])
    assert (specs / "taken.yml").read_text() == "selection: [report]\n"
    assert not (specs / "taken.yaml").exists()


# --- refused edits ------------------------------------------------------------------------

REFUSED = [
    (
        {"set_values": {"sales_ingestion_asset.batch_size": "many"}},
        "--set sales_ingestion_asset.batch_size: value does not fit type `int`: expected int, got str",
    ),
    (
        {"set_values": {"sales_ingestion_aset.batch_size": 1}},
        "--set sales_ingestion_aset.batch_size: unknown asset `sales_ingestion_aset`; "
        "did you mean `sales_ingestion_asset`?",
    ),
    (
        {"set_values": {"report.min_amount": 1}},
        "--set report.min_amount: asset `report` is not in this job's selection",
    ),
    (
        {"set_values": {"sales_ingestion_asset.batch_size": 1, "sales_ingestion_asset.nope": 1}},
        "--set sales_ingestion_asset.nope: asset `sales_ingestion_asset` does not declare "
        "parameter `nope`",
    ),
    ({"unset": ["batch_size"]}, "--unset batch_size: `parameter_values` has no `batch_size`"),
    (
        {"unset": ["sales_ingestion_asset.batch_sise"]},
        "--unset sales_ingestion_asset.batch_sise: `ops_config.sales_ingestion_asset` has no "
        "value `batch_sise`",
    ),
    ({"deselect": ["report"]}, "--deselect report: `report` is not selected"),
    (
        {"deselect": ["sales_ingestion_asset", "marketing_ingestion_asset"]},
        "selection: selection is empty; list at least one asset key",
    ),
    ({"select": ["reprot"]}, "--select reprot: unknown asset `reprot`; did you mean `report`?"),
]


@pytest.mark.parametrize(("edit", "reason"), REFUSED, ids=[r[1][:40] for r in REFUSED])
def test_refused_edit_leaves_the_file_byte_identical(
    specs: Path, edit: dict[str, Any], reason: str
) -> None:
    before = {p: p.read_bytes() for p in specs.rglob("*.yaml")}
    with pytest.raises(NexusEditError) as info:
        update_spec(specs, "sales_job", assets=ASSETS, **edit)
    assert any(r.startswith(reason) for r in info.value.reasons), info.value.reasons
    assert {p: p.read_bytes() for p in specs.rglob("*.yaml")} == before
    assert sorted(p.name for p in specs.iterdir()) == [
        ".nexus-dagster.lock",
        "daily_orders_job.yaml",
        "daily_report_job.yaml",
        "legacy",
        "sales_job.yaml",
        "sales_sample_job.yaml",
        "top_sales_job.yaml",
    ]


def test_a_plain_string_for_a_secret_is_refused_without_repeating_it(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "s", {"v.yaml": "selection: [vault_reader]\n"})
    with pytest.raises(NexusEditError) as info:
        update_spec(specs, "v", assets=ASSETS, set_values={"vault_reader.api_key": "hunter2-value"})
    assert "hunter2" not in str(info.value)
    assert "a secret takes only an environment reference" in str(info.value)
    update_spec(specs, "v", assets=ASSETS, set_values={"vault_reader.api_key": {"env": "API_KEY"}})
    assert "vault_reader.api_key: {env: API_KEY}" not in (specs / "v.yaml").read_text()
    assert _read(specs / "v.yaml")["ops_config"] == {
        "vault_reader": {"api_key": {"env": "API_KEY"}}
    }


def test_other_broken_files_do_not_block_an_edit_but_new_problems_do(specs: Path) -> None:
    (specs / "broken.yaml").write_text("selection: [nope]\n")
    result = update_spec(specs, "sales_job", assets=ASSETS, set_values={"target_bucket": "x"})
    assert result.changed
    assert result.notes == ["1 problem(s) remain in other spec files; run `nexus-dagster validate`"]
    with pytest.raises(NexusEditError, match="job `sales_job` already exists"):
        create_spec(specs, "sales_job", assets=ASSETS, select=["report"])


# --- migrate ------------------------------------------------------------------------------


def test_migrate_rewrites_the_legacy_example_and_is_idempotent(specs: Path) -> None:
    path = specs / "legacy" / "legacy_ingest_job.yaml"
    before = path.read_bytes()
    checked = migrate_specs(specs, assets=ASSETS, check=True)
    assert [(r.path.name, r.changed) for r in checked] == [
        ("daily_orders_job.yaml", False),
        ("daily_report_job.yaml", False),
        ("legacy_ingest_job.yaml", True),
        ("sales_job.yaml", False),
        ("sales_sample_job.yaml", False),
        ("top_sales_job.yaml", False),
    ]
    assert path.read_bytes() == before  # --check writes nothing
    migrate_specs(specs, assets=ASSETS)
    assert path.read_text() == textwrap.dedent(
        """\
        # Older form: simple names in params_schema, per-asset values in ops_config.
        # It loads with the same meaning as its migrated form.
        selection:
          - sales_ingestion_asset
          - marketing_ingestion_asset
        params_schema:
          sales_ingestion_asset.source_bucket: "string!"
          marketing_ingestion_asset.source_bucket: "string!"
          target_bucket: "string!"
        parameter_values:
          target_bucket: legacy-lake
        ops_config:
          sales_ingestion_asset:
            source_bucket: sales-raw
          marketing_ingestion_asset:
            source_bucket: mkt-raw
        """
    )
    assert not any(r.changed for r in migrate_specs(specs, assets=ASSETS))


def test_migrate_moves_comments_with_the_entries(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "s",
        {
            "j.yaml": """
            selection: [sales_ingestion_asset, marketing_ingestion_asset]
            params_schema:
              source_bucket: "string!"   # where each export lands
              # the lake
              target_bucket: string!
            ops_config:
              sales_ingestion_asset: {source_bucket: s}
              marketing_ingestion_asset: {source_bucket: m}
            """
        },
    )
    migrate_spec(specs, "j", assets=ASSETS)
    assert (specs / "j.yaml").read_text() == textwrap.dedent(
        """\
        selection: [sales_ingestion_asset, marketing_ingestion_asset]
        params_schema:
          sales_ingestion_asset.source_bucket: "string!"   # where each export lands
          marketing_ingestion_asset.source_bucket: "string!"
          # the lake
          target_bucket: string!
        ops_config:
          sales_ingestion_asset: {source_bucket: s}
          marketing_ingestion_asset: {source_bucket: m}
        """
    )


# Older-form specs, and what the migration must keep of each.
OLDER_FORMS = {
    "every_reader_has_its_own": """
        selection: [sales_ingestion_asset, marketing_ingestion_asset]
        params_schema: {source_bucket: "string!", target_bucket: "string!"}
        parameter_values: {target_bucket: lake}
        ops_config:
          sales_ingestion_asset: {source_bucket: s}
          marketing_ingestion_asset: {source_bucket: m}
        """,
    "one_reader_without_its_own": """
        selection: [sales_ingestion_asset, marketing_ingestion_asset]
        params_schema: {source_bucket: "string!"}
        ops_config:
          sales_ingestion_asset: {source_bucket: s, target_bucket: t}
        """,
    "shared_value_too": """
        selection: [sales_ingestion_asset, marketing_ingestion_asset]
        params_schema: {source_bucket: string}
        parameter_values: {source_bucket: shared}
        ops_config:
          sales_ingestion_asset: {source_bucket: s}
          marketing_ingestion_asset: {source_bucket: m}
        """,
    "named_by_a_schedule": """
        selection: [sales_ingestion_asset]
        params_schema: {batch_size: "int!", source_bucket: "string!"}
        ops_config:
          sales_ingestion_asset: {batch_size: 10, source_bucket: s, target_bucket: t}
        schedules:
          - cron: "0 * * * *"
            parameter_values: {batch_size: 3}
        """,
    "schema_type_differs_from_declared": """
        selection: [sales_ingestion_asset, marketing_ingestion_asset, report]
        params_schema: {target_bucket: "string", min_amount: "float!"}
        ops_config:
          sales_ingestion_asset: {target_bucket: a}
          report: {target_bucket: r, min_amount: 1.5}
        """,
}


def _sample(ptype: Any, index: int) -> Any:
    kind = ptype.kind
    return {"int": 100 + index, "float": 0.5 + index, "bool": index % 2 == 0}.get(kind, f"v{index}")


def _resolved_per_asset(spec: Any, catalog: Catalog, values: dict[str, Any]) -> Any:
    flat, problems = run_config_from_values(spec.fields, values)
    config = to_resource_config(spec.fields, flat)
    out = {}
    for asset in spec.selected:
        resolved, missing = resolve(asset, catalog.by_name[asset].params, config)
        out[asset] = ({p: r.value for p, r in resolved.items()}, missing)
    return out, sorted(name for name, _ in problems)


@pytest.mark.parametrize("case", sorted(OLDER_FORMS))
def test_migration_keeps_what_every_asset_resolves(tmp_path: Path, case: str) -> None:
    specs = write_specs(tmp_path / "s", {"j.yaml": OLDER_FORMS[case]})
    catalog = Catalog(ASSETS)
    before = load_job_specs(specs, ASSETS)[0]
    migrate_spec(specs, "j", assets=ASSETS)
    after = load_job_specs(specs, ASSETS)[0]
    assert not migrate_spec(specs, "j", assets=ASSETS).changed
    names_after = [f.name for f in after.fields]
    dropped = {f.name for f in before.fields} - set(names_after)
    # A dropped shared field could reach no asset: setting it changed nothing before.
    for name in dropped:
        field = next(f for f in before.fields if f.name == name)
        assert (
            _resolved_per_asset(before, catalog, {name: _sample(field.type, 0)})[0]
            == (_resolved_per_asset(before, catalog, {})[0])
        )
    # Every launch config over the remaining fields resolves the same, field by field.
    types = {f.name: f.type for f in after.fields}
    for size in range(len(names_after) + 1):
        for subset in itertools.combinations(names_after, size):
            values = {n: _sample(types[n], i) for i, n in enumerate(subset)}
            assert _resolved_per_asset(before, catalog, values) == _resolved_per_asset(
                after, catalog, values
            ), values


def test_migrate_refuses_a_spec_with_problems(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "s", {"j.yaml": "selection: [nope]\n"})
    with pytest.raises(NexusEditError, match="the spec has problems; fix them first"):
        migrate_spec(specs, "j", assets=ASSETS)


def test_comments_stay_in_place_when_sections_go_and_come(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "s",
        {
            "j.yaml": """
            # header
            selection:
              - sales_ingestion_asset   # the only one
            parameter_values:
              target_bucket: lake   # eol tb
              # about batch
              batch_size: 5
            ops_config:
              sales_ingestion_asset:
                source_bucket: raw   # eol sb
                # trailing inside
            # before tags
            tags: {team: x}   # tags eol
            """
        },
    )
    update_spec(
        specs,
        "j",
        assets=ASSETS,
        unset=["target_bucket", "sales_ingestion_asset.source_bucket"],
        set_values={"sales_ingestion_asset.target_bucket": "x", "source_bucket": "y"},
    )
    assert (specs / "j.yaml").read_text() == textwrap.dedent(
        """\
        # header
        selection:
          - sales_ingestion_asset   # the only one
        params_schema:
          sales_ingestion_asset.target_bucket: "string!"
        parameter_values:
          # about batch
          batch_size: 5
          source_bucket: y
        ops_config:
          sales_ingestion_asset:
            target_bucket: x
            # trailing inside
        # before tags
        tags: {team: x}   # tags eol
        """
    )


# Text as people type it: letters, digits, punctuation, symbols and spaces, in any script.
_TYPED = st.characters(categories=("L", "N", "P", "S", "Zs"))
NEW_NAMES = {
    "sales_ingestion_asset.batch_size": st.integers(-5, 10**6),
    "sales_ingestion_asset.target_bucket": st.text(_TYPED, min_size=1, max_size=12),
    "marketing_ingestion_asset.target_bucket": st.sampled_from(["yes", "no", "010", "1e3", "a: b"]),
    "batch_size": st.integers(0, 99),
    "source_bucket": st.text(_TYPED, max_size=8),
}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_set_then_unset_of_new_names_restores_the_bytes(specs: Path, data: st.DataObject) -> None:
    path = specs / "sales_job.yaml"
    before = path.read_bytes()
    names = data.draw(st.lists(st.sampled_from(sorted(NEW_NAMES)), min_size=1, unique=True))
    values = {name: data.draw(NEW_NAMES[name]) for name in names}
    update_spec(specs, "sales_job", assets=ASSETS, set_values=values)
    loaded = next(s for s in load_job_specs(specs, ASSETS) if s.name == "sales_job")
    defaults = {f.name: f.default for f in loaded.fields if f.has_default}
    assert {n: defaults[n] for n in names} == values
    update_spec(specs, "sales_job", assets=ASSETS, unset=names)
    assert path.read_bytes() == before


# --- what an edit leaves behind -------------------------------------------------------------


def test_edits_leave_no_cache_entry_beyond_the_specs_folders_own(
    specs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checking an edit once copied the folder into temporary folders and cached each of them:
    # three new cache files per edit, never removed.
    cache = tmp_path / "cache"
    monkeypatch.setenv("NEXUS_DAGSTER_CACHE_DIR", str(cache))
    update_spec(specs, "sales_job", assets=ASSETS, set_values={"target_bucket": "t2"})
    create_spec(specs, "report_only", assets=ASSETS, select=["report"])
    migrate_spec(specs, "legacy_ingest_job", assets=ASSETS)
    with pytest.raises(NexusEditError, match="unknown asset"):
        update_spec(specs, "sales_job", assets=ASSETS, select=["nope"])
    own = hashlib.sha256(str(specs.resolve()).encode()).hexdigest()[:24]
    assert sorted(p.name for p in cache.iterdir()) == [f"specs-{own}.json"]
    assert _read(specs / "sales_job.yaml")["parameter_values"]["target_bucket"] == "t2"
