"""Synthetic but realistic code locations, written twice: once with nexus-dagster (YAML specs and
``build_definitions``) and once in plain Dagster (``define_asset_job`` with a hand-written flat
config and ``ScheduleDefinition``s), defining the same assets, jobs and schedules.

Layout of a generated folder::

    nexus_assets.py      2,000 assets declared with ``nexus_asset``
    nexus_location.py    ``defs = build_definitions("job_specs", assets=assets)``
    job_specs/           one spec per job, each with a schedule
    plain_assets.py      the same 2,000 assets with ``dg.asset(config_schema=...)``
    plain_location.py    the same jobs written by hand, as a user without the plugin would
    run_config.json      the flat run config launched for the 20-asset job

With ``partitioned=True`` the same location is written with every asset daily-partitioned (one
``DailyPartitionsDefinition`` for the location), so every spec becomes a partitioned job. The
nexus twin differs only by ``partitions_def=`` on its assets. The plain twin's jobs take a
``dg.PartitionedConfig`` that gives every partition the spec's values under a plain
``params`` resource (a ``ConfigurableResource`` with ``values: dict``), the same run config
nexus builds; its assets resolve their values from that resource (own ``asset.param`` value,
then the shared one), and its schedules run the latest complete partition with the same values,
as nexus's do. ``run_config.json`` then names the partition the run figure executes.

Everything is drawn from a seeded generator, so the same arguments write the same files.
"""

from __future__ import annotations

import compileall
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ASSET_COUNT = 2_000
GROUP_SIZE = 100
RUN_JOB = "bench_run_20"
RUN_JOB_SIZE = 20
PARTITIONS_START = "2026-01-01"
"""Start of the daily partitions of a partitioned location (a few hundred partitions)."""
RUN_PARTITION = "2026-06-15"
"""The partition that the run figure of a partitioned location executes."""

# One type per name across the location, as in a real code base: assets that share a name
# mean the same thing by it.
PARAM_TYPES: dict[str, str] = {
    "source_bucket": "string!",
    "target_bucket": "string!",
    "source_table": "string!",
    "batch_size": "int",
    "run_date": "string",
    "threshold": "float",
    "dry_run": "bool",
    "region": "string",
    "tables": "[string]",
    "max_retries": "int",
    "owner": "string",
    "sample_rate": "float",
}
STRING_PARAMS = [p for p, t in PARAM_TYPES.items() if t.rstrip("!") == "string"]
TIMEZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]


@dataclass
class Asset:
    name: str
    group: str
    params: dict[str, str]
    config: dict[str, Any] | None
    deps: list[str]


@dataclass
class Spec:
    name: str
    description: str
    selection: list[str]
    params_schema: dict[str, str]
    parameter_values: dict[str, Any]
    ops_config: dict[str, dict[str, Any]]
    tags: dict[str, str]
    schedule: dict[str, Any] | None
    fields: dict[str, tuple[str, bool, Any]] = field(default_factory=dict)
    """The flat launchpad fields: name -> (type string without `!`, required, default or _NONE)."""


_NONE = object()


def make_assets(rng: random.Random, count: int = ASSET_COUNT) -> list[Asset]:
    """``count`` assets in groups of 100, each declaring 3-5 parameters; one in three has a
    ``nexus/config`` template and most depend on one or two earlier assets of their group."""
    assets: list[Asset] = []
    names = list(PARAM_TYPES)
    for index in range(count):
        group = f"group_{index // GROUP_SIZE:02d}"
        params = rng.sample(names, rng.randint(3, 5))
        if not any(p in STRING_PARAMS for p in params):
            params[0] = rng.choice(STRING_PARAMS)
        name = f"asset_{index:04d}"
        config = None
        if index % 3 == 0:
            text_param = next(p for p in params if p in STRING_PARAMS)
            other = rng.choice(params)
            config = {
                "uri": f"s3://{{{{ params.{text_param} }}}}/{name}/",
                "options": {"value": f"{{{{params.{other}}}}}", "label": f"{name} export"},
            }
        first_in_group = index - index % GROUP_SIZE
        earlier = [f"asset_{i:04d}" for i in range(max(first_in_group, index - 5), index)]
        deps = rng.sample(earlier, min(len(earlier), rng.randint(0, 2)))
        assets.append(Asset(name, group, {p: PARAM_TYPES[p] for p in params}, config, deps))
    return assets


def _value(rng: random.Random, param: str) -> Any:
    kind = PARAM_TYPES[param].rstrip("!")
    if kind == "string":
        return f"{param.split('_')[0]}-{rng.randint(1, 40)}"
    if kind == "int":
        return rng.randint(1, 5000)
    if kind == "float":
        return round(rng.uniform(0, 1), 3)
    if kind == "bool":
        return rng.random() < 0.5
    return [f"t{rng.randint(1, 99)}" for _ in range(rng.randint(1, 3))]


def make_spec(rng: random.Random, name: str, selected: list[Asset], schedule: bool) -> Spec:
    """A spec over ``selected``: shared values for most parameters two or more assets declare,
    per-asset values for some, every required parameter given a value, and a daily schedule."""
    declarers: dict[str, list[str]] = {}
    for asset in selected:
        for param in asset.params:
            declarers.setdefault(param, []).append(asset.name)
    shared: dict[str, Any] = {}
    own: dict[str, dict[str, Any]] = {}
    schema: dict[str, str] = {}
    for param, owners in declarers.items():
        required = PARAM_TYPES[param].endswith("!")
        if len(owners) > 1 and rng.random() < 0.7:
            shared[param] = _value(rng, param)
            if rng.random() < 0.3:
                schema[param] = PARAM_TYPES[param]
            for owner in owners:
                if rng.random() < 0.3:
                    own.setdefault(owner, {})[param] = _value(rng, param)
        else:
            for owner in owners:
                if required or rng.random() < 0.6:
                    own.setdefault(owner, {})[param] = _value(rng, param)
                    if rng.random() < 0.2:
                        schema[f"{owner}.{param}"] = PARAM_TYPES[param]
    spec = Spec(
        name=name,
        description=f"Load {len(selected)} tables of {selected[0].group}",
        selection=[a.name for a in selected],
        params_schema=schema,
        parameter_values=shared,
        ops_config={a.name: own[a.name] for a in selected if a.name in own},
        tags={"team": f"team_{rng.randint(1, 12)}"},
        schedule=None,
    )
    spec.fields = flat_fields(spec, selected)
    if schedule:
        override = rng.choice(sorted(spec.fields))
        spec.schedule = {
            "name": f"{name}_daily",
            "cron": f"{rng.randint(0, 59)} {rng.randint(0, 23)} * * *",
            "timezone": rng.choice(TIMEZONES),
            "parameter_values": {override: _value(rng, override.rpartition(".")[2])},
            "default_status": "STOPPED",
        }
    return spec


def flat_fields(spec: Spec, selected: list[Asset]) -> dict[str, tuple[str, bool, Any]]:
    """The launchpad fields a user writes by hand for the plain twin: those the rules of
    docs/parameters.md give this spec (shared fields, every ``asset.param``, defaults,
    required-ness)."""
    fields: dict[str, tuple[str, bool, Any]] = {}
    shared = dict.fromkeys(
        [*(n for n in spec.params_schema if "." not in n), *spec.parameter_values]
    )
    for param in shared:
        owners = [a.name for a in selected if param in a.params]
        default = spec.parameter_values.get(param, _NONE)
        every_own = all(param in spec.ops_config.get(o, {}) for o in owners)
        required = PARAM_TYPES[param].endswith("!") and default is _NONE and not every_own
        fields[param] = (PARAM_TYPES[param].rstrip("!"), required, default)
    for asset in selected:
        for param, ptype in asset.params.items():
            default = spec.ops_config.get(asset.name, {}).get(param, _NONE)
            required = ptype.endswith("!") and default is _NONE and param not in shared
            fields[f"{asset.name}.{param}"] = (ptype.rstrip("!"), required, default)
    return fields


def make_specs(rng: random.Random, assets: list[Asset], count: int) -> list[Spec]:
    """``count`` specs of 4-8 neighbouring assets of one group, plus the 20-asset run job."""
    specs = [make_spec(rng, RUN_JOB, assets[:RUN_JOB_SIZE], schedule=False)]
    for index in range(count):
        size = rng.randint(4, 8)
        group = rng.randrange(len(assets) // GROUP_SIZE)
        start = group * GROUP_SIZE + rng.randrange(GROUP_SIZE - size)
        specs.append(make_spec(rng, f"job_{index:04d}", assets[start : start + size], True))
    return specs


def spec_yaml(spec: Spec) -> str:
    """The spec file as a user writes it."""
    data: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "selection": spec.selection,
    }
    for key in ("params_schema", "parameter_values", "ops_config", "tags"):
        if getattr(spec, key):
            data[key] = getattr(spec, key)
    if spec.schedule:
        data["schedules"] = [spec.schedule]
    return yaml.safe_dump(data, sort_keys=False)


_NEXUS_ASSETS = '''"""{count} synthetic assets declared with nexus_asset."""

from typing import Any

import dagster as dg

from nexus_dagster import NexusParams, nexus_asset

MICRO: dict[str, list[float]] = {{"for_asset": [], "render": []}}
MICRO_LOOPS = 0  # the run benchmark sets this to time for_asset and render inside a real run
{partitions}
ASSETS: list[tuple[str, str, dict[str, str], Any, list[str]]] = {rows}


def _make(
    name: str, group: str, declared: dict[str, str], template: Any, deps: list[str]
) -> dg.AssetsDefinition:
    @nexus_asset(name=name, group_name=group, params=declared, config=template, deps=deps{partitions_kwarg})
    def _asset(context: dg.AssetExecutionContext, params: NexusParams) -> None:
        values = params.for_asset(context)
        if template is not None:
            settings = params.render(context)
            assert settings["uri"].startswith("s3://")
        assert values is not None
        if MICRO_LOOPS:
            _micro(context, params, template is not None)

    return _asset


def _micro(context: dg.AssetExecutionContext, params: NexusParams, has_template: bool) -> None:
    from time import perf_counter

    start = perf_counter()
    for _ in range(MICRO_LOOPS):
        params.for_asset(context)
    MICRO["for_asset"].append((perf_counter() - start) / MICRO_LOOPS)
    if has_template:
        start = perf_counter()
        for _ in range(MICRO_LOOPS):
            params.render(context)
        MICRO["render"].append((perf_counter() - start) / MICRO_LOOPS)


assets = [_make(*row) for row in ASSETS]
'''

_NEXUS_LOCATION = '''"""The code location: every spec in job_specs/ over the synthetic assets."""

from nexus_assets import assets

from nexus_dagster import build_definitions

defs = build_definitions("job_specs", assets=assets)
'''

_PLAIN_ASSETS = '''"""{count} synthetic assets in plain Dagster: each reads its op config."""

from typing import Any

import dagster as dg

MICRO: dict[str, list[float]] = {{"for_asset": [], "render": []}}
MICRO_LOOPS = 0

TYPES: dict[str, Any] = {{"string": str, "int": int, "float": float, "bool": bool, "[string]": [str]}}

# name, group, {{param: (type, required)}}, template with str.format fields, deps
ASSETS: list[tuple[str, str, dict[str, tuple[str, bool]], Any, list[str]]] = {rows}

ASSET_PARAMS: dict[str, frozenset[str]] = {{row[0]: frozenset(row[2]) for row in ASSETS}}


def _render(template: Any, cfg: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return template.format_map(cfg)
    return {{key: _render(value, cfg) for key, value in template.items()}}


def _make(
    name: str,
    group: str,
    declared: dict[str, tuple[str, bool]],
    template: Any,
    deps: list[str],
) -> dg.AssetsDefinition:
    schema = {{p: dg.Field(TYPES[t], is_required=req) for p, (t, req) in declared.items()}}

    @dg.asset(name=name, group_name=group, config_schema=schema, deps=deps)
    def _asset(context: dg.AssetExecutionContext) -> None:
        values = context.op_execution_context.op_config
        if template is not None:
            settings = _render(template, values)
            assert settings["uri"].startswith("s3://")
        assert values is not None
        if MICRO_LOOPS:
            _micro(context, template)

    return _asset


def _micro(context: dg.AssetExecutionContext, template: Any) -> None:
    from time import perf_counter

    start = perf_counter()
    for _ in range(MICRO_LOOPS):
        context.op_execution_context.op_config
    MICRO["for_asset"].append((perf_counter() - start) / MICRO_LOOPS)
    if template is not None:
        start = perf_counter()
        for _ in range(MICRO_LOOPS):
            _render(template, context.op_execution_context.op_config)
        MICRO["render"].append((perf_counter() - start) / MICRO_LOOPS)


assets = [_make(*row) for row in ASSETS]
'''

_PLAIN_PARTITIONED_ASSETS = '''"""{count} synthetic daily-partitioned assets in plain Dagster: each reads the run's values
from a plain resource, its own `asset.param` value first, then the shared one."""

from typing import Any

import dagster as dg

MICRO: dict[str, list[float]] = {{"for_asset": [], "render": []}}
MICRO_LOOPS = 0

PARTITIONS = dg.DailyPartitionsDefinition(start_date={start!r})

# name, group, {{param: (type, required)}}, template with str.format fields, deps
ASSETS: list[tuple[str, str, dict[str, tuple[str, bool]], Any, list[str]]] = {rows}


class Params(dg.ConfigurableResource):
    """A partitioned job's values by flat name (`target_bucket`, `asset.param`)."""

    values: dict[str, Any] = {{}}


def _values(name: str, declared: dict[str, tuple[str, bool]], given: dict[str, Any]) -> dict:
    values = {{}}
    for param in declared:
        own = f"{{name}}.{{param}}"
        if own in given:
            values[param] = given[own]
        elif param in given:
            values[param] = given[param]
    return values


def _render(template: Any, cfg: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return template.format_map(cfg)
    return {{key: _render(value, cfg) for key, value in template.items()}}


def _make(
    name: str,
    group: str,
    declared: dict[str, tuple[str, bool]],
    template: Any,
    deps: list[str],
) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name=group, deps=deps, partitions_def=PARTITIONS)
    def _asset(context: dg.AssetExecutionContext, params: Params) -> None:
        values = _values(name, declared, params.values)
        if template is not None:
            settings = _render(template, values)
            assert settings["uri"].startswith("s3://")
        assert values is not None
        if MICRO_LOOPS:
            _micro(name, declared, params, template)

    return _asset


def _micro(
    name: str, declared: dict[str, tuple[str, bool]], params: Params, template: Any
) -> None:
    from time import perf_counter

    start = perf_counter()
    for _ in range(MICRO_LOOPS):
        _values(name, declared, params.values)
    MICRO["for_asset"].append((perf_counter() - start) / MICRO_LOOPS)
    if template is not None:
        start = perf_counter()
        for _ in range(MICRO_LOOPS):
            _render(template, _values(name, declared, params.values))
        MICRO["render"].append((perf_counter() - start) / MICRO_LOOPS)


assets = [_make(*row) for row in ASSETS]
'''

_PLAIN_PARTITIONED_HEADER = '''"""The same jobs and schedules, written by hand in plain Dagster, daily-partitioned: a
partitioned job takes no ConfigMapping, so each job's `PartitionedConfig` gives every partition
the job's values, by flat name, under the `params` resource; each schedule runs the latest
partition whose day has ended, with the job's values and its own override."""

from __future__ import annotations

from typing import Any

import dagster as dg
from plain_assets import PARTITIONS, Params, assets

STOPPED = dg.DefaultScheduleStatus.STOPPED


def values_config(values: dict[str, Any]) -> dict[str, Any]:
    return {{"resources": {{"params": {{"config": {{"values": values}}}}}}}}


def partitioned_config(values: dict[str, Any]) -> dg.PartitionedConfig:
    """Every partition's run config: the job's values."""
    run_config = values_config(values)
    return dg.PartitionedConfig(
        partitions_def=PARTITIONS, run_config_for_partition_key_fn=lambda _key: run_config
    )


def latest_complete_day(values: dict[str, Any]) -> Any:
    """A schedule's tick: the latest partition whose window has ended, with ``values``."""
    run_config = values_config(values)

    def evaluate(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        with dg.partition_loading_context(effective_dt=context.scheduled_execution_time):
            key = PARTITIONS.get_last_partition_key()
        if key is None:
            return dg.SkipReason("no partition has ended yet")
        return dg.RunRequest(run_key=key, partition_key=key, run_config=run_config)

    return evaluate


jobs: list[Any] = []
schedules: list[dg.ScheduleDefinition] = []
'''

_PLAIN_HEADER = '''"""The same jobs and schedules, written by hand in plain Dagster: each job's launchpad config
is one flat mapping (shared names and `asset.param` names) mapped onto op config."""

from __future__ import annotations

from typing import Any

import dagster as dg
from plain_assets import ASSET_PARAMS, assets

STOPPED = dg.DefaultScheduleStatus.STOPPED


def flat_config(selection: list[str], schema: dict[str, dg.Field]) -> dg.ConfigMapping:
    """A flat launchpad config: an asset's own `asset.param` value first, then the shared one."""

    def to_run_config(flat: dict[str, Any]) -> dict[str, Any]:
        ops: dict[str, dict[str, Any]] = {{name: {{}} for name in selection}}
        for name, value in flat.items():
            asset, dot, param = name.rpartition(".")
            if dot:
                ops[asset][param] = value
        for name, value in flat.items():
            if "." not in name:
                for asset in selection:
                    if name in ASSET_PARAMS[asset]:
                        ops[asset].setdefault(name, value)
        return {{"ops": {{name: {{"config": config}} for name, config in ops.items()}}}}

    return dg.ConfigMapping(config_fn=to_run_config, config_schema=schema)


jobs: list[Any] = []
schedules: list[dg.ScheduleDefinition] = []
'''

_PLAIN_TYPES = {
    "string": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "[string]": "[str]",
}


def _plain_job(spec: Spec) -> str:
    lines = [
        "",
        "jobs.append(",
        "    dg.define_asset_job(",
        f"        {spec.name!r},",
        f"        selection={spec.selection!r},",
        "        config=flat_config(",
        f"            {spec.selection!r},",
        "            {",
    ]
    for name, (ptype, required, default) in spec.fields.items():
        if default is _NONE:
            body = f"dg.Field({_PLAIN_TYPES[ptype]}, is_required={required})"
        else:
            body = f"dg.Field({_PLAIN_TYPES[ptype]}, is_required=False, default_value={default!r})"
        lines.append(f"                {name!r}: {body},")
    lines += [
        "            },",
        "        ),",
        f"        description={spec.description!r},",
        f"        tags={spec.tags!r},",
        "    )",
        ")",
    ]
    if spec.schedule:
        lines += [
            "schedules.append(",
            "    dg.ScheduleDefinition(",
            f"        name={spec.schedule['name']!r},",
            f"        cron_schedule={spec.schedule['cron']!r},",
            f"        execution_timezone={spec.schedule['timezone']!r},",
            "        job=jobs[-1],",
            f"        run_config={full_run_config(spec, spec.schedule['parameter_values'])!r},",
            "        default_status=STOPPED,",
            "    )",
            ")",
        ]
    return "\n".join(lines)


def _plain_partitioned_job(spec: Spec) -> str:
    lines = [
        "",
        "jobs.append(",
        "    dg.define_asset_job(",
        f"        {spec.name!r},",
        f"        selection={spec.selection!r},",
        f"        config=partitioned_config({full_run_config(spec, {})!r}),",
        f"        description={spec.description!r},",
        f"        tags={spec.tags!r},",
        "    )",
        ")",
    ]
    if spec.schedule:
        values = full_run_config(spec, spec.schedule["parameter_values"])
        lines += [
            "schedules.append(",
            "    dg.ScheduleDefinition(",
            f"        name={spec.schedule['name']!r},",
            f"        cron_schedule={spec.schedule['cron']!r},",
            f"        execution_timezone={spec.schedule['timezone']!r},",
            "        job=jobs[-1],",
            f"        execution_fn=latest_complete_day({values!r}),",
            "        default_status=STOPPED,",
            "    )",
            ")",
        ]
    return "\n".join(lines)


def full_run_config(spec: Spec, values: dict[str, Any]) -> dict[str, Any]:
    """Every default of the spec with ``values`` over them: what a schedule launches."""
    config = {n: d for n, (_, _, d) in spec.fields.items() if d is not _NONE}
    config.update(values)
    return config


def write_location(
    folder: Path,
    specs_count: int,
    asset_count: int = ASSET_COUNT,
    seed: int = 6,
    partitioned: bool = False,
) -> Path:
    """Write both twins of a location with ``specs_count`` specs (plus the 20-asset run job);
    with ``partitioned``, every asset daily-partitioned (the same specs and assets otherwise)."""
    rng = random.Random(seed)
    assets = make_assets(rng, asset_count)
    specs = make_specs(rng, assets, specs_count)
    folder.mkdir(parents=True, exist_ok=True)
    specs_dir = folder / "job_specs"
    specs_dir.mkdir(exist_ok=True)
    for spec in specs:
        sub = specs_dir / (spec.selection[0][:-2] if spec.name != RUN_JOB else "")
        sub.mkdir(exist_ok=True)
        (sub / f"{spec.name}.yaml").write_text(spec_yaml(spec))

    nexus_rows = [(a.name, a.group, a.params, a.config, a.deps) for a in assets]
    partitions, partitions_kwarg = "", ""
    if partitioned:
        partitions = (
            f"\nPARTITIONS = dg.DailyPartitionsDefinition(start_date={PARTITIONS_START!r})\n"
        )
        partitions_kwarg = ", partitions_def=PARTITIONS"
    (folder / "nexus_assets.py").write_text(
        _NEXUS_ASSETS.format(
            count=len(assets),
            rows=_rows(nexus_rows),
            partitions=partitions,
            partitions_kwarg=partitions_kwarg,
        )
    )
    (folder / "nexus_location.py").write_text(_NEXUS_LOCATION)

    plain_rows = [
        (
            a.name,
            a.group,
            {p: (t.rstrip("!"), t.endswith("!")) for p, t in a.params.items()},
            _format_template(a.config),
            a.deps,
        )
        for a in assets
    ]
    if partitioned:
        plain_assets = _PLAIN_PARTITIONED_ASSETS.format(
            count=len(assets), rows=_rows(plain_rows), start=PARTITIONS_START
        )
        body = _PLAIN_PARTITIONED_HEADER.format()
        body += "\n".join(_plain_partitioned_job(s) for s in specs)
        body += (
            "\n\ndefs = dg.Definitions(\n    assets=assets, jobs=jobs, schedules=schedules, "
            'resources={"params": Params()}\n)\n'
        )
    else:
        plain_assets = _PLAIN_ASSETS.format(count=len(assets), rows=_rows(plain_rows))
        body = _PLAIN_HEADER.format() + "\n".join(_plain_job(s) for s in specs)
        body += "\n\ndefs = dg.Definitions(assets=assets, jobs=jobs, schedules=schedules)\n"
    (folder / "plain_assets.py").write_text(plain_assets)
    (folder / "plain_location.py").write_text(body)

    run_spec = specs[0]
    run_values = {name: _value(rng, name.rpartition(".")[2]) for name in list(run_spec.fields)[:3]}
    # A partitioned run is launched for one partition with the run config its job's
    # `PartitionedConfig` gives it (the spec's values), as a schedule or backfill launches it.
    setup: dict[str, Any] = {"job": RUN_JOB}
    # The multiprocess run: the first job of four assets (the nearest in size where none has
    # four, as in the 5-spec smoke run) whose templates have a value for every placeholder, so
    # that it runs with the spec's own values alone (one step process per asset).
    by_name = {a.name: a for a in assets}
    runnable = [s for s in specs if s.name != RUN_JOB and _renders_fully(s, by_name)] or specs
    setup["mp_job"] = min(runnable, key=lambda s: (abs(len(s.selection) - 4), s.name)).name
    if partitioned:
        setup["partition_key"] = RUN_PARTITION
    else:
        setup["run_config"] = full_run_config(run_spec, run_values)
    (folder / "run_config.json").write_text(json.dumps(setup))
    # Both twins import from compiled bytecode, as a code server does after its first start.
    compileall.compile_dir(str(folder), quiet=1)
    return folder


def _renders_fully(spec: Spec, assets: dict[str, Asset]) -> bool:
    """Whether every placeholder of the selected assets' templates has a value in the spec."""
    import re

    for name in spec.selection:
        used = re.findall(r"\{\{\s*params\.(\w+)\s*\}\}", json.dumps(assets[name].config))
        for param in used:
            own = spec.fields.get(f"{name}.{param}")
            shared = spec.fields.get(param)
            if not any(f is not None and f[2] is not _NONE for f in (own, shared)):
                return False
    return True


def _rows(rows: list[Any]) -> str:
    return "[\n" + "".join(f"    {row!r},\n" for row in rows) + "]"


def _format_template(template: Any) -> Any:
    if template is None:
        return None
    if isinstance(template, str):
        import re

        return re.sub(r"\{\{\s*params\.(\w+)\s*\}\}", r"{\1}", template)
    return {key: _format_template(value) for key, value in template.items()}


if __name__ == "__main__":
    import sys

    print(
        write_location(
            Path(sys.argv[1]), int(sys.argv[2]), partitioned="--partitioned" in sys.argv[3:]
        )
    )
