"""Runs outside a spec's job: the asset graph's Materialize, ``dagster asset materialize``, asset
backfills, declarative automation, Python sensors and schedules that target assets.

Such a run carries no spec's values. An asset selected by a spec with ``asset_defaults: true``
takes that spec's values, resolved as in a run of the spec's job launched with no run config;
any other asset has only the per-asset fields of its own declarations (``asset.param``). A run
may lay values over either, under those flat names, in ``resources.params.config.values``.

Pure: no Dagster, no YAML. :class:`SpecIndex` is what the ``params`` resource knows of the
specs of its code location.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nexus_dagster.naming import split_name
from nexus_dagster.param_types import ParamType, check_value
from nexus_dagster.resolution import launch
from nexus_dagster.rules import JobField, derive_fields, fields_digest, suggest

DEFAULTS_TAG_PREFIX = "nexus/asset_defaults."
"""Run tags ``nexus/asset_defaults.<spec>.<digest>``: the digest of that spec's fields when a
run outside spec jobs first resolved values from it (``consistent_runs``)."""


@dataclass(frozen=True)
class DefaultsSpec:
    """A spec with ``asset_defaults: true``: its name, file (as messages show it) and fields;
    ``stat`` is the file's ``(mtime_ns, size)`` when the process read it, if known."""

    name: str
    path: str
    fields: tuple[JobField, ...]
    stat: tuple[int, int] | None = None
    file: str = ""
    """The file's path to read it again (``path`` may be shown relative to a project)."""

    @cached_property
    def digest(self) -> str:
        """The digest of the fields, as the spec jobs' ``nexus/params_digest`` tag has it."""
        return fields_digest(self.fields)

    @property
    def tag(self) -> str:
        """The prefix of the run tags that keep the digests a run resolved this spec with."""
        # Dagster's tag keys allow 63 characters after the `nexus/` namespace, and a digest
        # (16 characters and a dot) follows the name.
        name = self.name if len(DEFAULTS_TAG_PREFIX + self.name) <= 52 else _short(self.name)
        return DEFAULTS_TAG_PREFIX + name

    def claims(self, tags: Mapping[str, str]) -> set[str]:
        """The digests ``tags`` say runs resolved this spec with.

        >>> spec = DefaultsSpec("sales_job", "specs/sales_job.yaml", ())
        >>> sorted(spec.claims({"nexus/asset_defaults.sales_job.ab12": "ab12", "x": "y"}))
        ['ab12']
        """
        prefix = self.tag + "."
        return {value for key, value in tags.items() if key.startswith(prefix)}

    def claim_tag(self, digest: str) -> str:
        """The run tag that says a run resolved this spec with the fields of ``digest``."""
        return f"{self.tag}.{digest}"

    def with_fields(self, fields: Sequence[JobField]) -> DefaultsSpec:
        """This spec as it was when its fields were ``fields`` (an earlier version)."""
        return DefaultsSpec(self.name, self.path, tuple(fields), self.stat, self.file)


@dataclass(frozen=True)
class BrokenSpec:
    """A spec file with problems (isolated), as far as it could be read: its name, file, the
    problem lines, and the schedules and sensors it would have had."""

    name: str
    path: str
    problems: tuple[str, ...]
    automations: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutsideValues:
    """What one asset resolves from in a run outside spec jobs: the ``params`` resource's
    ``config`` form, the keys that hold the spec's own values, and the spec (if any)."""

    config: dict[str, Any]
    from_spec: frozenset[str]
    spec: DefaultsSpec | None
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SpecIndex:
    """The specs of one code location, as the ``params`` resource needs them at run time.

    Filled while the location loads (``add_spec``, ``add_assets``); several specs folders (the
    ``NexusJobsComponent`` of one ``dg`` project) fill one index.
    """

    spec_jobs: set[str] = field(default_factory=set)
    jobs_by_asset: dict[str, list[str]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    """The file of each spec job, by job name."""
    partitioned: dict[str, Sequence[JobField]] = field(default_factory=dict)
    """The fields of each partitioned spec job, by job name."""
    defaults: dict[str, DefaultsSpec] = field(default_factory=dict)
    """The ``asset_defaults`` spec of each asset that has one."""
    declared: dict[str, Mapping[str, ParamType]] = field(default_factory=dict)
    """What each asset of the location declares (its checks' parameters included)."""
    typed: dict[str, list[Any]] = field(default_factory=dict)
    """Each asset's typed declarations: the asset and its checks that declare a model (as
    ``contexts.Target``), each built for every run of the asset before any asset's code runs."""
    job_fields: dict[str, tuple[tuple[JobField, ...], str]] = field(default_factory=dict)
    """The fields of each spec job, and their digest, by job name."""
    broken_defaults: dict[str, BrokenSpec] = field(default_factory=dict)
    """Each asset selected by an ``asset_defaults`` spec that has problems (isolated)."""
    declared_by: dict[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    """Who declares each parameter of an asset that its checks declare (``catalog.AssetInfo``)."""

    def add_spec(
        self,
        name: str,
        path: str,
        selected: Sequence[str],
        fields: Sequence[JobField],
        *,
        partitioned: bool,
        asset_defaults: bool,
        stat: tuple[int, int] | None = None,
        file: str = "",
        digest: str | None = None,
    ) -> None:
        """Record a spec job (loaded with assets and checked); ``stat`` and ``file`` as in
        :class:`DefaultsSpec`, ``digest`` the fields' (computed when not given)."""
        self.spec_jobs.add(name)
        self.paths[name] = path
        self.job_fields[name] = (tuple(fields), digest or fields_digest(fields))
        for asset in selected:
            jobs = self.jobs_by_asset.setdefault(asset, [])
            if name not in jobs:
                jobs.append(name)
        if partitioned:
            self.partitioned[name] = tuple(fields)
        if asset_defaults:
            spec = DefaultsSpec(name, path, tuple(fields), stat, file or path)
            for asset in selected:
                self.defaults[asset] = spec

    def add_broken_defaults(self, spec: BrokenSpec, selected: Sequence[str]) -> None:
        """Record an ``asset_defaults`` spec that has problems, for the assets it selects: a
        run outside spec jobs of any of them fails naming it, never falling back to others."""
        for asset in selected:
            self.broken_defaults[asset] = spec

    def add_assets(
        self,
        declared: Mapping[str, Mapping[str, ParamType]],
        typed: Mapping[str, Sequence[Any]] | None = None,
        declared_by: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
    ) -> None:
        """Record what each asset declares, its typed declarations, and who declares each
        parameter its checks declare."""
        self.declared.update(declared)
        self.declared_by.update(declared_by or {})
        for asset, targets in (typed or {}).items():
            self.typed[asset] = list(targets)

    def fields_for(
        self,
        asset: str,
        declared: Mapping[str, ParamType] | None = None,
        spec: DefaultsSpec | None = None,
    ) -> tuple[tuple[JobField, ...], DefaultsSpec | None]:
        """The fields a run outside spec jobs may give for ``asset``: those of its
        ``asset_defaults`` spec (``spec``: that spec as the run resolves it), else its own
        declarations' (``asset.param``, no default)."""
        spec = spec or self.defaults.get(asset)
        if spec is not None:
            return spec.fields, spec
        if declared is None:
            declared = self.declared.get(asset, {})
        return own_fields(asset, declared), None

    def values_for(
        self,
        asset: str,
        declared: Mapping[str, ParamType],
        values: Mapping[str, Any],
        spec: DefaultsSpec | None = None,
    ) -> OutsideValues:
        """What ``asset`` resolves from when a run outside spec jobs gives ``values`` (flat
        names): the names that are fields of the asset's spec (``spec``: as the run resolves
        it) or its own, laid over that spec's values; ``problems`` names each of those values of
        the wrong type."""
        fields, spec = self.fields_for(asset, declared, spec)
        names = {f.name for f in fields}
        given = {name: value for name, value in values.items() if name in names}
        run = launch(fields, given, require=False)
        return OutsideValues(run.config, run.from_spec, spec, run.problems)

    def value_problems(
        self, values: Mapping[str, Any], assets: Collection[str] | None
    ) -> list[tuple[str, str]]:
        """``(name, message)`` for each value a run outside spec jobs gives that no asset of the
        run takes (``assets``: the run's assets; ``None``: every asset), or of the wrong type.
        Messages never repeat a value.

        A run's asset this index does not know (a ``NexusParams`` bound to no specs) is judged
        when it resolves its values (:meth:`values_for`), where its declarations are known.
        """
        if not self.declared:
            return []  # bound to no specs: nothing to judge the names by before the assets run
        known = [a for a in (self.declared if assets is None else assets) if a in self.declared]
        unknown = set() if assets is None else set(assets) - set(known)
        by_name: dict[str, list[JobField]] = {}
        for asset in known:
            for f in self.fields_for(asset)[0]:
                by_name.setdefault(f.name, []).append(f)
        problems: list[tuple[str, str]] = []
        for name, value in values.items():
            found = by_name.get(name)
            if found:
                problems.extend(_type_problems(name, value, found[:1]))
            elif split_name(name)[0] not in unknown:
                problems.append(
                    (
                        name,
                        f"unknown field `{name}` for the assets of this run"
                        f"{suggest(name, by_name) or '.'} Fields: {', '.join(sorted(by_name))}",
                    )
                )
        return problems

    def selecting(self, asset: str, *, markable: bool = False) -> list[str]:
        """The spec jobs that select ``asset``, each with its file; ``markable``: only those
        that could take ``asset_defaults: true`` (none of their assets has another
        ``asset_defaults`` spec, which would make two for it)."""
        jobs = self.jobs_by_asset.get(asset, [])
        if markable:
            jobs = [job for job in jobs if self._markable(job)]
        return [f"`{job}` in {self.paths[job]}" for job in jobs]

    def _markable(self, job: str) -> bool:
        return not any(
            job in jobs and asset in self.defaults and self.defaults[asset].name != job
            for asset, jobs in self.jobs_by_asset.items()
        )


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _type_problems(name: str, value: Any, fields: Sequence[JobField]) -> list[tuple[str, str]]:
    for f in fields:
        reason = check_value(f.type, value)
        if reason:
            return [(name, f"`{name}` does not fit type `{f.type.optional}`: {reason}")]
    return []


def own_fields(asset: str, declared: Mapping[str, ParamType]) -> tuple[JobField, ...]:
    """The fields of an asset's own declarations, as a spec that selects it alone, names each
    parameter shared and gives no value would have them: the simple name ``param``, and
    ``asset.param`` over it (docs: ``testing.md``).

    >>> from nexus_dagster.param_types import parse_type as t
    >>> [f.name for f in own_fields("a", {"x": t("int"), "y": t("string!")})]
    ['x', 'y', 'a.x', 'a.y']
    """
    schema = {param: str(ptype) for param, ptype in declared.items()}
    fields, _ = derive_fields({asset: declared}, params_schema=schema)
    return tuple(fields)


def values_example(asset: str, param: str) -> str:
    """The run config a run outside spec jobs takes for one value, in YAML's flow form.

    >>> values_example("sales", "bucket")
    '`resources: {params: {config: {values: {sales.bucket: ...}}}}`'
    """
    return f"`resources: {{params: {{config: {{values: {{{asset}.{param}: ...}}}}}}}}`"
