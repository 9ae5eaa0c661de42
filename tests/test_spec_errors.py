"""Every way a spec file can be wrong, as one table: the spec, the message and where it points.

Each case is loaded with `load_job_specs(folder, assets=ASSETS)`; the case's problem must be the
only one, with the expected `key: message` fragment, line and column.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from nexus_dagster import NexusSpecError, nexus_asset
from nexus_dagster.errors import SpecProblem
from nexus_dagster.spec import load_job_specs

from .conftest import new_dagster_home, write_specs
from .forked_dagster import dagster


@nexus_asset(params={"source_bucket": "string!", "target_bucket": "string!", "batch_size": "int"})
def orders() -> None: ...


@nexus_asset(params={"source_bucket": "string!", "batch_size": "string", "token": "secret"})
def customers() -> None: ...


raw_sales = dg.AssetSpec(
    key=["raw", "sales"], metadata={"nexus/params": {"source_bucket": "string!"}}
)


@dg.asset(name="a__b", metadata={"nexus/params": {"c": "int"}})
def asset_a__b() -> None: ...


@dg.asset(name="a", metadata={"nexus/params": {"b__c": "int"}})
def asset_a() -> None: ...


@dg.asset
def report() -> None: ...


_day = dg.DailyPartitionsDefinition(start_date="2026-11-01")
_zones = dg.StaticPartitionsDefinition(["eu", "us"])


@nexus_asset(params={"bucket": "string"}, config={"f": "{{partition.key}}"}, partitions_def=_day)
def p_day() -> None: ...


@nexus_asset(
    params={"bucket": "string"},
    partitions_def=dg.HourlyPartitionsDefinition(start_date="2026-11-01-00:00"),
)
def p_hour() -> None: ...


@nexus_asset(params={"bucket": "string"}, partitions_def=_zones)
def p_zone() -> None: ...


@nexus_asset(config={"w": "{{ partition.start }}"}, partitions_def=_zones)
def p_zone_window() -> None: ...


@nexus_asset(config={"f": "{{partition.key}}"})
def p_plain_template() -> None: ...


@nexus_asset(config={"f": "{{partition.kee}}"}, partitions_def=_day)
def p_typo_template() -> None: ...


@nexus_asset(partitions_def=_day, backfill_policy=dg.BackfillPolicy.single_run())
def p_day_ranges() -> None: ...


PARTITIONED = [
    p_day,
    p_hour,
    p_zone,
    p_zone_window,
    p_plain_template,
    p_typo_template,
    p_day_ranges,
]
ASSETS = [orders, customers, raw_sales, asset_a__b, asset_a, report, *PARTITIONED]

# `orders` with its two required values set, so that only the case's own problem remains.
ORDERS = """\
selection: [orders]
ops_config:
  orders: {source_bucket: in, target_bucket: out}
"""


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str] | str
    fragment: str
    line: int
    col: int
    path: str = "job.yaml"


CASES = [
    # -- selection and names ------------------------------------------------------------------
    Case(
        "unknown-asset-did-you-mean",
        "selection: [orders, ordrs]\n",
        "selection[1]: unknown asset `ordrs`; did you mean `orders`?",
        1,
        21,
    ),
    Case(
        "unknown-asset-look-alike",
        "selection: [\u043erders]\n",
        "selection[0]: unknown asset `\u043erders`; did you mean `orders`? `\u043erders` holds "
        "the non-ASCII character U+043E (CYRILLIC SMALL LETTER O).",
        1,
        13,
    ),
    Case("missing-selection", "name: x\n", "missing required key `selection`", 1, 1),
    Case("empty-selection", "selection: []\n", "selection: selection is empty", 1, 1),
    Case(
        "selection-wrong-type",
        "selection: {orders: 1}\n",
        "selection: must be a list of asset keys or one Dagster selection string",
        1,
        1,
    ),
    Case(
        "selection-string-invalid",
        "selection: 'key:(orders'\n",
        "selection: invalid selection `key:(orders`",
        1,
        1,
    ),
    Case(
        "invalid-job-name",
        "name: my job\nselection: [report]\n",
        "name: `my job` is not a valid job name: use letters, digits, `_`",
        1,
        1,
    ),
    Case(
        "dagsters-own-job-name",
        "name: __ASSET_JOB\nselection: [report]\n",
        "name: `__ASSET_JOB`: names starting with `__` are Dagster's own (`__ASSET_JOB` runs the "
        "asset graph); choose another name",
        1,
        1,
    ),
    Case(
        "dagsters-own-file-stem",
        {"__ASSET_JOB.yaml": "selection: [report]\n"},
        "`__ASSET_JOB`: names starting with `__` are Dagster's own (`__ASSET_JOB` runs the asset "
        "graph); rename the file or set `name:`",
        1,
        1,
        path="__ASSET_JOB.yaml",
    ),
    Case(
        "invalid-file-stem",
        {"my-job.yaml": "selection: [report]\n"},
        "the file name `my-job` is not a valid job name (letters, digits, `_`); rename the file "
        "or set `name:`",
        1,
        1,
        path="my-job.yaml",
    ),
    Case(
        "duplicate-job-name-across-files",
        {
            "a.yaml": "name: dup\nselection: [report]\n",
            "sub/b.yaml": "name: dup\nselection: [report]\n",
        },
        "name: job name `dup` is already used by",
        1,
        1,
        path="sub/b.yaml",
    ),
    Case(
        "duplicate-job-name-from-file-stems",
        {"one/nightly.yaml": "selection: [report]\n", "two/nightly.yml": "selection: [report]\n"},
        "job name `nightly` is already used by",
        1,
        1,
        path="two/nightly.yml",
    ),
    # -- params_schema --------------------------------------------------------------------------
    Case(
        "undeclared-shared-parameter",
        ORDERS + "params_schema:\n  sourcebucket: string\n",
        "params_schema.sourcebucket: no selected asset declares parameter `sourcebucket`; did you "
        "mean `source_bucket`? Declared: batch_size, source_bucket, target_bucket",
        5,
        3,
    ),
    Case(
        "undeclared-prefixed-parameter",
        ORDERS + "params_schema:\n  orders.token: secret\n",
        "params_schema.orders.token: asset `orders` does not declare parameter `token`. It "
        "declares: source_bucket, target_bucket, batch_size",
        5,
        3,
    ),
    Case(
        "undeclared-parameter-of-prefixed-key",
        "selection: [raw/sales]\nparams_schema:\n  raw/sales.bucket: string\n",
        "asset `raw/sales` does not declare parameter `bucket`",
        3,
        3,
    ),
    Case(
        "prefixed-name-for-unselected-asset",
        ORDERS + "params_schema:\n  customers.batch_size: string\n",
        "params_schema.customers.batch_size: asset `customers` is not in this job's selection; "
        "add it to `selection` or remove this entry",
        5,
        3,
    ),
    Case(
        "bad-type-string",
        ORDERS + "params_schema:\n  target_bucket: String!\n",
        "params_schema.target_bucket: unknown type `String!`; did you mean `string!`?",
        5,
        3,
    ),
    Case(
        "type-string-not-a-string",
        ORDERS + "params_schema:\n  target_bucket: 5\n",
        "params_schema.target_bucket: value should be a valid string (got int)",
        5,
        3,
    ),
    Case(
        "invalid-parameter-name",
        ORDERS + "params_schema:\n  orders.source-bucket: string\n",
        "invalid parameter name `source-bucket`",
        5,
        3,
    ),
    Case(
        "type-conflict-between-assets",
        "selection: [orders, customers]\n"
        "ops_config:\n  orders: {source_bucket: i, target_bucket: o}\n"
        "  customers: {source_bucket: c, token: {env: T}}\n"
        "parameter_values:\n  batch_size: 5\n",
        "selection: assets declare the shared parameter `batch_size` with different types "
        "(`orders`: int, `customers`: string); settle it with `params_schema: {batch_size: <type>}`",
        1,
        1,
    ),
    Case(
        "secret-made-a-string",
        "selection: [customers]\nops_config:\n  customers: {source_bucket: c, token: {env: T}}\n"
        "params_schema:\n  customers.token: string\n",
        "params_schema.customers.token: `params_schema` cannot turn `customers`'s declared type "
        "`secret` into `string`",
        5,
        3,
    ),
    # -- values ---------------------------------------------------------------------------------
    Case(
        "default-of-wrong-type",
        ORDERS + "parameter_values:\n  batch_size: many\n",
        "parameter_values.batch_size: value does not fit type `int`: expected int, got str",
        5,
        3,
    ),
    Case(
        "ops-config-default-of-wrong-type",
        "selection: [orders]\nops_config:\n  orders: {source_bucket: i, target_bucket: o, "
        "batch_size: 1.5}\n",
        "ops_config.orders.batch_size: value does not fit type `int`: expected int, got float",
        3,
        48,
    ),
    Case(
        "prefixed-name-in-parameter-values",
        ORDERS + "parameter_values:\n  orders.batch_size: 5\n",
        "parameter_values.orders.batch_size: prefixed name `orders.batch_size` in "
        "`parameter_values`: a value for one asset goes under `ops_config: {orders: {batch_size: "
        "...}}`",
        5,
        3,
    ),
    Case(
        "ops-config-unknown-asset",
        ORDERS + "  ordres: {batch_size: 1}\n",
        "ops_config.ordres: unknown asset `ordres`; did you mean `orders`?",
        4,
        3,
    ),
    Case(
        "secret-as-plain-text",
        "selection: [customers]\nops_config:\n  customers: {source_bucket: c, token: hunter2}\n",
        "ops_config.customers.token: value does not fit type `secret`: a secret takes only an "
        "environment reference such as `{env: MY_VAR}`",
        3,
        33,
    ),
    Case(
        "colliding-nexus-ops-keys",
        "selection: [a, a__b]\n",
        "selection: `a.b__c` and `a__b.c` both map to the resource key `__nexus_ops__a__b__c`; "
        "rename one of the parameters or assets",
        1,
        1,
    ),
    Case(
        "boolean-key",
        ORDERS + "parameter_values:\n  on: 1\n",
        "parameter_values.True: this key is read by YAML as a boolean, not as a name; put it in "
        "quotes",
        5,
        3,
    ),
    Case(
        "tags-must-be-strings",
        ORDERS + "tags: {team: 1}\n",
        "tags.team: value should be a valid string (got int)",
        4,
        8,
    ),
    # -- schedules ------------------------------------------------------------------------------
    Case(
        "bad-cron",
        ORDERS + "schedules:\n  - cron: '0 25 * * *'\n",
        "schedules[0].cron: invalid cron expression `0 25 * * *`; use five fields, e.g. `0 6 * * *`",
        5,
        5,
    ),
    Case(
        "bad-timezone",
        ORDERS + "schedules:\n  - cron: '0 6 * * *'\n    timezone: Europe/Berln\n",
        "schedules[0].timezone: unknown timezone `Europe/Berln`; did you mean `Europe/Berlin`?",
        6,
        5,
    ),
    Case(
        "bad-default-status",
        ORDERS + "schedules:\n  - cron: '0 6 * * *'\n    default_status: running\n",
        "schedules[0].default_status: must be one of 'RUNNING' or 'STOPPED'",
        6,
        5,
    ),
    Case(
        "unknown-key-in-schedule",
        ORDERS + "schedules:\n  - cron: '0 6 * * *'\n    timezon: UTC\n",
        "schedules[0].timezon: unknown key `timezon`; did you mean `timezone`? Valid keys: name, "
        "cron, timezone, parameter_values, partition_key, run_config, default_status",
        6,
        5,
    ),
    Case(
        "schedule-unknown-parameter-name",
        ORDERS + "parameter_values: {target_bucket: t}\n"
        "schedules:\n  - cron: '0 6 * * *'\n    parameter_values:\n      targt_bucket: x\n",
        "schedules[0].parameter_values.targt_bucket: unknown field `targt_bucket`; did you mean "
        "`target_bucket`?",
        8,
        7,
    ),
    Case(
        "schedule-value-of-wrong-type",
        ORDERS + "schedules:\n  - cron: '0 6 * * *'\n    parameter_values:\n"
        "      orders.batch_size: many\n",
        "schedules[0].parameter_values.orders.batch_size: `orders.batch_size` does not fit type "
        "`int`: expected int, got str",
        7,
        7,
    ),
    Case(
        "schedule-missing-required-value",
        "selection: [orders]\nops_config:\n  orders: {target_bucket: o}\n"
        "schedules:\n  - cron: '0 6 * * *'\n",
        "schedules[0]: required field `orders.source_bucket` has no value",
        5,
        5,
    ),
    Case(
        "duplicate-schedule-name",
        ORDERS + "schedules:\n  - {name: s, cron: '0 6 * * *'}\n  - {name: s, cron: '0 7 * * *'}\n",
        "schedules[1]: name `s` is already used by a schedule or sensor",
        6,
        5,
    ),
    # -- sensors --------------------------------------------------------------------------------
    Case(
        "sensor-unknown-type",
        ORDERS + "sensors:\n  - {type: kafka, directory: in}\n",
        "sensors[0].type: must be one of 'file'",
        5,
        6,
    ),
    Case(
        "sensor-unknown-key",
        ORDERS + "sensors:\n  - {type: file, directory: in, patern: '*.csv'}\n",
        "sensors[0].patern: unknown key `patern`; did you mean `pattern`?",
        5,
        33,
    ),
    Case(
        "sensor-unknown-placeholder",
        ORDERS + "sensors:\n  - type: file\n    directory: in\n    parameter_values:\n"
        "      orders.source_bucket: '{{sensor.pth}}'\n",
        "sensors[0].parameter_values.orders.source_bucket: unknown placeholder `{{sensor.pth}}`; "
        "did you mean `path`?",
        8,
        7,
    ),
    # -- the file itself ------------------------------------------------------------------------
    Case(
        "malformed-yaml",
        "selection: [orders\n",
        "invalid YAML: expected ',' or ']', but got '<stream end>'",
        2,
        1,
    ),
    Case(
        "duplicate-top-level-key",
        "selection: [report]\nselection: [report]\n",
        "selection: duplicate key; keep only one",
        2,
        1,
    ),
    Case(
        "duplicate-nested-key",
        "selection: [orders]\nops_config:\n  orders:\n    source_bucket: a\n    source_bucket: b\n"
        "    target_bucket: t\n",
        "ops_config.orders.source_bucket: duplicate key; keep only one",
        5,
        5,
    ),
    Case(
        "unknown-top-level-key",
        "selection: [report]\nparam_schema: {}\n",
        "param_schema: unknown key `param_schema`; did you mean `params_schema`? Valid keys: "
        "name, description, asset_defaults, selection, params_schema, parameter_values, ops_config, tags, "
        "schedules, sensors",
        2,
        1,
    ),
    Case(
        "unknown-key-look-alike",
        "selection: [report]\nt\u0430gs: {}\n",
        "unknown key `t\u0430gs`; did you mean `tags`? `t\u0430gs` holds the non-ASCII character "
        "U+0430 (CYRILLIC SMALL LETTER A).",
        2,
        1,
    ),
    Case(
        "unknown-key-holding-brackets",
        "selection: [report]\nschedules:\n  - cron: '0 6 * * *'\n    'tags[0]': x\n",
        "schedules[0].tags[0]: unknown key `tags[0]`. Valid keys: name, cron",
        4,
        5,
    ),
    Case(
        "tab-indentation",
        "selection:\n\t- report\n",
        "tab character used for indentation; use spaces",
        2,
        1,
    ),
    Case(
        "top-level-list",
        "- orders\n",
        "a job spec must be a mapping with at least `selection:`, got a list",
        1,
        1,
    ),
    # -- partitions (docs/partitions.md) ------------------------------------------------------------
    Case(
        "mixed-partitions-definitions",
        "selection: [p_day, p_hour]\n",
        "selection: the selected assets are partitioned differently, and one job runs one "
        "partitions definition (`p_day`: Daily, starting 2026-11-01 UTC; `p_hour`: Hourly, "
        "starting 2026-11-01-00:00 UTC); split them into one spec per partitions definition",
        1,
        1,
    ),
    Case(
        "backfill-policy-with-several-partitions-per-run",
        "selection: [p_day_ranges]\n",
        "selection: `p_day_ranges` run several partitions per run (BackfillPolicy.single_run()), "
        "but a spec job's values come one partition at a time",
        1,
        1,
    ),
    Case(
        "partition-placeholder-on-unpartitioned-asset",
        "selection: [p_plain_template]\n",
        "selection[0]: asset `p_plain_template` uses `{{partition.key}}` in `nexus/config` but "
        "is not partitioned; give it a `partitions_def` or remove the placeholder",
        1,
        13,
    ),
    Case(
        "partition-window-on-static-partitions",
        "selection: [p_zone_window]\n",
        "uses `{{partition.start}}` in `nexus/config`, but its partitions (static partitions "
        "'eu', 'us') have no time window; use `{{partition.key}}`",
        1,
        13,
    ),
    Case(
        "unknown-partition-placeholder",
        "selection: [p_typo_template]\n",
        "asset `p_typo_template` uses unknown placeholder(s) `{{partition.kee}}`",
        1,
        13,
    ),
    Case(
        "static-schedule-without-partition-key",
        "selection: [p_zone]\nschedules:\n  - cron: '0 1 * * *'\n",
        "schedules[0]: this job is partitioned by static partitions 'eu', 'us', which has no "
        "time window a tick could choose from; name the partition with `partition_key:`",
        3,
        5,
    ),
    Case(
        "schedule-partition-key-not-a-static-key",
        "selection: [p_zone]\nschedules:\n  - cron: '0 1 * * *'\n    partition_key: uk\n",
        "schedules[0].partition_key: `uk` is not a partition key of static partitions 'eu', 'us'",
        4,
        5,
    ),
    Case(
        "schedule-partition-key-not-a-day",
        "selection: [p_day]\nschedules:\n  - cron: '0 1 * * *'\n    partition_key: 2026-13-01\n",
        "`2026-13-01` is not a partition key of Daily, starting 2026-11-01 UTC",
        4,
        5,
    ),
    Case(
        "schedule-partition-key-on-unpartitioned-job",
        ORDERS + "schedules:\n  - cron: '0 1 * * *'\n    partition_key: eu\n",
        "schedules[0].partition_key: this job is not partitioned",
        6,
        5,
    ),
    Case(
        "sensor-of-partitioned-job-without-partition-key",
        "selection: [p_day]\nsensors:\n  - {type: file, directory: in}\n",
        "sensors[0]: this job is partitioned by Daily, starting 2026-11-01 UTC: say which "
        'partition each file is with `partition_key:`, e.g. `partition_key: "{{sensor.stem}}"`',
        3,
        5,
    ),
    Case(
        "sensor-partition-key-unknown-placeholder",
        "selection: [p_day]\nsensors:\n"
        "  - {type: file, directory: in, partition_key: '{{sensor.stm}}'}\n",
        "sensors[0].partition_key: unknown placeholder `{{sensor.stm}}`; did you mean `stem`?",
        3,
        33,
    ),
    # -- Dagster's own sections (docs/spec-format.md) ------------------------------------------------
    Case(
        "shared-parameter-named-like-a-section",
        ORDERS + "parameter_values: {ops: 1}\n",
        "parameter_values.ops: `ops` is Dagster's own run config section and cannot be a shared "
        "parameter name",
        4,
        20,
    ),
    Case(
        "schedule-run-config-unknown-section",
        ORDERS + "schedules:\n  - cron: '0 1 * * *'\n    run_config: {opz: {}}\n",
        "schedules[0].run_config.opz: unknown run config section `opz`; did you mean `ops`? "
        "Sections: ops, resources, execution, loggers",
        6,
        18,
    ),
    Case(
        "schedule-run-config-resources-params",
        ORDERS + "schedules:\n  - cron: '0 1 * * *'\n    run_config: {resources: {params: {}}}\n",
        "schedules[0].run_config.resources.params: `resources.params` is the plugin's own",
        6,
        30,
    ),
    Case(
        "sensor-run-config-section-not-a-mapping",
        ORDERS + "sensors:\n  - {type: file, directory: in, run_config: {execution: 3}}\n",
        "sensors[0].run_config.execution: `execution` must be a mapping",
        5,
        46,
    ),
    Case("top-level-text", "orders\n", "got text", 1, 1),
    Case("top-level-number", "42\n", "got a number", 1, 1),
    Case("empty-file", "", "got an empty file", 1, 1),
    Case("only-comments", "# nothing here\n", "got an empty file", 1, 1),
]


def _write(folder: Path, files: dict[str, str] | str) -> None:
    write_specs(folder, files if isinstance(files, dict) else {"job.yaml": files})


def _where(problem: SpecProblem, folder: Path) -> str:
    return Path(problem.path).relative_to(folder).as_posix()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_spec_error(case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    _write(folder, case.files)
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(folder, assets=ASSETS)
    problems = caught.value.problems
    assert len(problems) == 1, str(caught.value)
    (problem,) = problems
    shown = f"{problem.key}: {problem.message}" if problem.key else problem.message
    assert case.fragment in shown
    assert (_where(problem, folder), problem.line, problem.col) == (case.path, case.line, case.col)
    assert str(problem) == f"{problem.path}:{problem.line}:{problem.col}: {shown}"
    assert "hunter2" not in str(caught.value)


# Without assets, only what the files alone can tell is checked (docs/api.md).
ALONE_CASES = [
    Case(
        "bad-type-string", "selection: [x]\nparams_schema: {p: Int}\n", "did you mean `int`?", 2, 17
    ),
    Case(
        "prefixed-name-in-parameter-values",
        "selection: [x]\nparameter_values: {x.p: 1}\n",
        "parameter_values.x.p: prefixed name `x.p` in `parameter_values`",
        2,
        20,
    ),
    Case("bad-cron", "selection: [x]\nschedules: [{cron: often}]\n", "invalid cron", 2, 14),
]


@pytest.mark.parametrize("case", ALONE_CASES, ids=[c.id for c in ALONE_CASES])
def test_spec_error_without_assets(case: Case, tmp_path: Path) -> None:
    _write(tmp_path, case.files)
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(tmp_path)
    (problem,) = caught.value.problems
    assert case.fragment in f"{problem.key}: {problem.message}"
    assert (problem.line, problem.col) == (case.line, case.col)


def test_unknown_assets_are_not_checked_without_assets(tmp_path: Path) -> None:
    _write(tmp_path, "selection: [nowhere]\nparams_schema: {nowhere.p: int}\n")
    (spec,) = load_job_specs(tmp_path)
    assert spec.name == "job"


SEVERAL_FILES = {
    "a_job.yaml": """\
        selection: [ordrs]
        """,
    "nested/b_job.yaml": """\
        selection: [orders]
        ops_config:
          orders: {source_bucket: in, target_bucket: out, batch_size: many}
        schedules:
          - cron: "61 * * * *"
        """,
    "nested/deeper/c_job.yml": "selection: [report\n",
    "good_job.yaml": "selection: [report]\n",
}


def test_every_problem_of_every_file_in_one_error(tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "specs", SEVERAL_FILES)
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(folder, assets=ASSETS)
    err = caught.value
    lines = str(err).splitlines()
    assert lines[0] == "4 problems in nexus job specs:"
    assert lines[1:] == [
        f"{folder}/a_job.yaml:1:13: selection[0]: unknown asset `ordrs`; did you mean `orders`?",
        f"{folder}/nested/b_job.yaml:3:51: ops_config.orders.batch_size: value does not fit "
        "type `int`: expected int, got str",
        f"{folder}/nested/b_job.yaml:5:5: schedules[0].cron: invalid cron expression "
        "`61 * * * *`; use five fields, e.g. `0 6 * * *`",
        f"{folder}/nested/deeper/c_job.yml:2:1: invalid YAML: expected ',' or ']', but got "
        "'<stream end>'",
    ]
    assert err.specs_dir == str(folder)
    assert [(p.line, p.col) for p in err.problems] == [(1, 13), (3, 51), (5, 5), (2, 1)]


# A misspelled top-level key, an unknown asset and a value of the wrong type in one file: each is
# reported, none hides another (the key is left out and the rest of the file is still checked).
def test_every_problem_of_one_file_at_once(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "job.yaml": """\
                selection: [orders, ordrs]
                paramter_values:
                  target_bucket: out
                ops_config:
                  orders: {source_bucket: in, batch_size: lots}
                  ordrs: {batch_size: 3}
                schedules:
                  - cron: often
                """
        },
    )
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(folder, assets=ASSETS)
    assert str(caught.value).splitlines()[1:] == [
        f"{folder}/job.yaml:1:21: selection[1]: unknown asset `ordrs`; did you mean `orders`?",
        f"{folder}/job.yaml:2:1: paramter_values: unknown key `paramter_values`; did you mean "
        "`parameter_values`? Valid keys: name, description, asset_defaults, selection, "
        "params_schema, "
        "parameter_values, ops_config, tags, schedules, sensors",
        f"{folder}/job.yaml:5:31: ops_config.orders.batch_size: value does not fit type `int`: "
        "expected int, got str",
        f"{folder}/job.yaml:8:5: schedules[0].cron: invalid cron expression `often`; use five "
        "fields, e.g. `0 6 * * *`",
    ]


def test_a_bad_value_of_a_known_key_does_not_hide_the_rest(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "job.yaml": "selection: [ordrs]\ntags: [a, b]\nschedules: [{cron: '0 1 * * *', zone: x}]\n"
        },
    )
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(folder, assets=ASSETS)
    assert [f"{p.line}:{p.col}: {p.key}" for p in caught.value.problems] == [
        "1:13: selection[0]",
        "2:1: tags",
        "3:33: schedules[0].zone",
    ]


def test_a_file_without_a_usable_selection_reports_its_key_problems(tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "specs", {"job.yaml": "selction: [orders]\ntags: 3\n"})
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(folder, assets=ASSETS)
    assert [f"{p.line}:{p.col}: {p.key}" for p in caught.value.problems] == [
        "1:1: ",
        "1:1: selction",
        "2:1: tags",
    ]


def test_spec_error_surfaces_when_dagster_cli_loads_the_location(tmp_path: Path) -> None:
    folder = write_specs(tmp_path / "specs", SEVERAL_FILES)
    location = tmp_path / "location.py"
    location.write_text(
        textwrap.dedent(
            """\
            import dagster as dg
            from nexus_dagster import build_definitions, nexus_asset

            @nexus_asset(params={"source_bucket": "string!", "target_bucket": "string!",
                                 "batch_size": "int"})
            def orders() -> None: ...

            @dg.asset
            def report() -> None: ...

            defs = build_definitions("specs", assets=[orders, report])
            """
        )
    )
    home = new_dagster_home(tmp_path / "home")
    # a process of its own, forked from one that has imported Dagster (`forked_dagster`)
    result = dagster(
        ["definitions", "validate", "-f", str(location)],
        cwd=tmp_path,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "NexusSpecError: 4 problems in nexus job specs:" in output
    assert f"{folder}/a_job.yaml:1:13: selection[0]: unknown asset `ordrs`" in output
    assert f"{folder}/nested/deeper/c_job.yml:2:1: invalid YAML" in output


def test_partition_and_section_problems_of_a_folder_are_reported_together(tmp_path: Path) -> None:
    folder = write_specs(
        tmp_path / "specs",
        {
            "mixed.yaml": "selection: [p_day, p_hour]\n",
            "static.yaml": "selection: [p_zone]\nschedules:\n  - cron: '0 1 * * *'\n",
            "sections.yaml": ORDERS + "parameter_values: {loggers: 1}\n",
            "fine.yaml": "selection: [p_day]\n",
        },
    )
    with pytest.raises(NexusSpecError) as caught:
        load_job_specs(folder, assets=ASSETS)
    assert sorted((_where(p, folder), p.key) for p in caught.value.problems) == [
        ("mixed.yaml", "selection"),
        ("sections.yaml", "parameter_values.loggers"),
        ("static.yaml", "schedules[0]"),
    ]


def test_a_spec_job_named_like_a_python_job_of_the_location_is_a_spec_problem(
    tmp_path: Path,
) -> None:
    # Dagster's own message was a bare "Duplicate job definition", naming neither file.
    from nexus_dagster import build_definitions

    folder = write_specs(
        tmp_path / "specs",
        {"nightly.yaml": ORDERS, "named.yaml": f"name: hourly\n{ORDERS}"},
    )
    python_job = dg.define_asset_job("nightly", selection=[orders])
    check = dg.ScheduleDefinition(name="named_check", cron_schedule="0 1 * * *", job=python_job)
    spec_schedule = write_specs(
        tmp_path / "more",
        {"other.yaml": ORDERS + "schedules:\n  - cron: '0 2 * * *'\n    name: named_check\n"},
    )
    with pytest.raises(NexusSpecError) as caught:
        build_definitions(folder, assets=ASSETS, jobs=[python_job, dg.define_asset_job("hourly")])
    assert [str(p) for p in caught.value.problems] == [
        f"{folder}/named.yaml:1:1: name: job name `hourly` is already used by the Python job "
        "`hourly` given to build_definitions of this code location; Dagster wants each name once: rename "
        "one of them",
        f"{folder}/nightly.yaml:1:1: job name `nightly` is already used by the Python job "
        "`nightly` given to build_definitions of this code location; Dagster wants each name once: rename "
        "one of them",
    ]
    with pytest.raises(NexusSpecError) as caught:
        build_definitions(spec_schedule, assets=ASSETS, schedules=[check])
    assert [str(p) for p in caught.value.problems] == [
        f"{spec_schedule}/other.yaml:5:5: schedules[0]: schedule or sensor name "
        "`named_check` is already used by the Python schedule or sensor `named_check` given to "
        "build_definitions of this code location; Dagster wants each name once: rename one of them",
    ]
