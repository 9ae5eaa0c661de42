"""The ``params`` resource: what a run was given, resolved inside each asset by the order of
:mod:`nexus_dagster.resolution` (docs: ``parameters.md``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias, overload

import dagster as dg
from pydantic import BaseModel, PrivateAttr

from nexus_dagster.asset_defaults import DefaultsSpec, OutsideValues, SpecIndex, values_example
from nexus_dagster.compat import partition_key_of
from nexus_dagster.consistent_runs import (
    DIGEST_TAG,
    defaults_fields,
    job_fields,
    root_of,
)
from nexus_dagster.contexts import AssetContext, Target, job_of, op_context_of, target_of
from nexus_dagster.declarations import declared_config, declared_params
from nexus_dagster.errors import NexusConfigError, NexusParamError
from nexus_dagster.naming import RESOURCE_KEY, prefixed
from nexus_dagster.param_types import ParamType
from nexus_dagster.partitioned import partition_fields
from nexus_dagster.resolution import Resolved, launch, resolve
from nexus_dagster.rules import JobField, split_sections
from nexus_dagster.run_record import record_values
from nexus_dagster.templates import NoPartitionError, render
from nexus_dagster.typed_params import M, build_instance, model_of

Where: TypeAlias = tuple[Any, Any]
"""The Dagster instance and the run a resource serves (``None`` when an asset is invoked
directly)."""
BACKFILL_TAG = "dagster/backfill"
"""Dagster's run tag: the backfill that launched the run."""

_GIVEN: dict[str, Mapping[str, Any]] = {}
"""The values each re-execution this process served takes from its family's root, by run id."""


class NexusParams(dg.ConfigurableResource):
    """The job's parameter values for this run.

    ``config`` holds each shared value under its simple name and each per-asset value under
    ``__nexus_ops__{asset op name}__{param}``; a job built from a spec fills it from the flat run
    config the launchpad shows. A partitioned spec job gives ``values`` instead, under the flat
    names; they are checked, and laid over the spec's, when the run starts. In a run outside spec
    jobs (the asset graph, automation), each asset takes the values of its ``asset_defaults``
    spec, with ``values`` laid over them. Inside an asset, ask for that asset's values:

    Example::

        @nexus_asset(params={"source_bucket": "string!", "batch_size": "int"})
        def sales_ingestion_asset(context: dg.AssetExecutionContext, params: NexusParams):
            values = params.for_asset(context)  # per-asset value > shared value > absent
            read(values["source_bucket"], batch=values.get("batch_size", 500))
    """

    # Plain `dict`, not `dict[str, Any]`: Dagster then checks that each is a dict before the run
    # without walking it value by value, which it would do each of the three times it builds
    # the resource per run (about 2 ms per build for a job of 60 values, against 0.3-0.6 ms).
    config: dict = {}  # type: ignore[type-arg]
    from_spec: list[str] = []
    """Keys of ``config`` whose value is the spec's own default (recorded as source ``default``)."""
    values: dict = {}  # type: ignore[type-arg]
    """Values by flat name (``target_bucket``, ``asset.param``) for a partitioned spec job, or
    for a run outside spec jobs (laid over the assets' ``asset_defaults`` specs)."""
    _effective: tuple[str, dict[str, Any], frozenset[str]] | None = PrivateAttr(default=None)
    _outside: dict[str, tuple[Any, OutsideValues]] = PrivateAttr(default_factory=dict)
    index: ClassVar[SpecIndex] = SpecIndex()
    """The specs of the code location: which jobs are spec jobs, their fields, and each asset's
    ``asset_defaults`` spec.

    Not config: as config it would be checked at every resource start and copied into the
    config schema of every job, a cost growing with the square of the number of specs (minutes
    to load a location of 1,000 specs). :meth:`bound_to` sets it on a subclass instead, which
    Dagster keeps when it rebuilds the resource for a run.
    """

    @classmethod
    def bound_to(cls, index: SpecIndex, **config: Any) -> NexusParams:
        """The resource, knowing the specs of its code location.

        Example::

            index = SpecIndex()
            index.add_spec("daily_report_job", "job_specs/daily_report_job.yaml", ["report"],
                           fields, partitioned=False, asset_defaults=True)
            NexusParams.bound_to(index)
        """
        # Dagster keeps a resource's class and rebuilds the resource from it for each run
        # (`ConfigurableResourceFactory._with_updated_values` calls `self.__class__(**values)`;
        # its resource definition holds `self.__class__`): that is how every subclass of a
        # `ConfigurableResource` keeps its own behaviour, so a subclass made here is kept the same
        # way as one a user writes. Were a Dagster release to rebuild it as `NexusParams`, the
        # index would be empty and a spec job's run would fail saying the resource is not bound.
        bound = type(cls.__name__, (cls,), {"index": index})
        bound.__module__, bound.__qualname__ = cls.__module__, cls.__qualname__
        return bound(**config)

    @property
    def jobs_by_asset(self) -> Mapping[str, Sequence[str]]:
        """The spec jobs that select each asset."""
        return self.index.jobs_by_asset

    @property
    def partitioned_fields(self) -> Mapping[str, Sequence[JobField]]:
        """The fields of each partitioned spec job, by job name."""
        return self.index.partitioned

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Check the values a partitioned spec job or a run outside spec jobs gives, when the
        run starts, before any asset's code."""
        run = context.run
        if run is None:  # the resource is built outside a run (direct invocation in a test)
            return
        where = (context.instance, run)
        if run.job_name in self.index.spec_jobs:
            if self.values and run.job_name not in self.index.partitioned:
                raise NexusConfigError(
                    run.job_name,
                    "`resources.params.config.values` is read only by partitioned jobs built "
                    "from a spec and by runs outside spec jobs; give the values of this job "
                    "under their flat names",
                    ["resources.params.config.values"],
                )
            self._run_values(where)
        else:
            if DIGEST_TAG in run.tags:
                raise NexusConfigError(
                    run.job_name,
                    "the run is of a job built from a spec, but its `params` resource does not "
                    "know that job: it is not bound to the specs of the code location (a "
                    "`NexusParams` made by hand where `build_definitions` or the "
                    "`NexusJobsComponent` binds one), so it cannot resolve the job's values",
                )
            # Dagster leaves the selection empty or unset when the run is its whole job.
            selected = run.asset_selection
            assets = [k.to_user_string() for k in selected] if selected else None
            given = self._given_outside(where)
            if given:
                problems = self.index.value_problems(given, assets)
                if problems:
                    raise _values_error(run.job_name, problems)
            if not assets and self.index.broken_defaults:
                assets = _job_assets(context.instance, run)
            for asset in assets or ():
                self._defaults_spec(asset, where)
        self._check_typed(where)

    def _run_values(self, where: Where) -> tuple[dict[str, Any], frozenset[str]]:
        """The resolved ``config`` of this run of a spec job, and the keys holding the spec's
        own values (computed once: every asset of the step reads the same)."""
        # Assigned, never mutated: Dagster copies the resource per run, and a mutated object
        # shared by the copies would carry one run's values into the next.
        instance, run = where
        if self._effective is None or self._effective[0] != run.run_id:
            job = run.job_name
            loaded, loaded_digest = self.index.job_fields[job]
            path = self.index.paths[job]
            fields, digest = job_fields(instance, run, job, path, loaded, loaded_digest)
            partitioned = job in self.index.partitioned
            root = root_of(instance, run)
            if root is run and digest == loaded_digest:
                # As launched: Dagster filled the config from this process's job, the same.
                if partitioned:
                    values = {**self.values, **backfill_values(instance, run)}
                    config, from_spec = _partitioned_values(job, fields, values, self.config)
                else:
                    config, from_spec = self.config, frozenset(self.from_spec)
            else:
                # A re-execution, or a job built from another version of the spec than the
                # run's: the values of the run's root, with the fields it was launched with.
                given = _given_values(job, run, root, partitioned)
                if partitioned:
                    values = {**given, **backfill_values(instance, root)}
                    config, from_spec = _partitioned_values(job, fields, values, {})
                else:
                    launched = launch(fields, given, require=False)
                    if launched.problems:
                        raise _values_error(job, launched.problems)
                    config, from_spec = launched.config, launched.from_spec
            self._effective = (run.run_id, config, from_spec)
        return self._effective[1], self._effective[2]

    def _given_outside(self, where: Where) -> Mapping[str, Any]:
        """The values a run outside spec jobs gives (a re-execution: its family's root's)."""
        instance, run = where
        if not run.root_run_id:
            return self.values
        given = _GIVEN.get(run.run_id)
        if given is None:
            root = root_of(instance, run)
            given = _given_values(run.job_name, run, root, True)
            _GIVEN[run.run_id] = given
        return given

    def _defaults_spec(self, asset: str, where: Where | None) -> DefaultsSpec | None:
        """The ``asset_defaults`` spec ``asset`` resolves from in a run outside spec jobs, as
        the run's family first resolved it; refused when that spec has problems."""
        broken = self.index.broken_defaults.get(asset)
        if broken is not None:
            raise NexusParamError(
                asset,
                "",
                f"asset `{asset}` takes its values in runs outside spec jobs from the "
                f"`asset_defaults` spec `{broken.name}` ({broken.path}), which has problems, so "
                "this run cannot resolve them: "
                + "; ".join(broken.problems)
                + ". Fix that spec (`nexus-dagster validate` lists its problems).",
            )
        spec = self.index.defaults.get(asset)
        if spec is None or where is None:
            return spec
        instance, run = where
        return defaults_fields(instance, run, spec)

    def _outside_values(
        self, asset: str, declared: Mapping[str, ParamType], where: Where | None
    ) -> OutsideValues:
        """What ``asset`` resolves from in a run outside spec jobs (computed once per spec and
        run: every asset of one ``asset_defaults`` spec lays the run's values over the same
        fields)."""
        spec = self._defaults_spec(asset, where)
        values = self.values if where is None else self._given_outside(where)
        # Without a spec the fields are those of the declaration (an asset's, or one check's).
        key = f"{spec.name}:{spec.digest}" if spec else f"asset:{asset}:{','.join(declared)}"
        # Dagster copies the resource per run and the copies share this dict: an entry is
        # used only by the copy whose values made it.
        cached = self._outside.get(key)
        if cached is not None and cached[0] is values:
            return cached[1]
        outside = self.index.values_for(asset, declared, values, spec)
        self._outside[key] = (values, outside)
        return outside

    @overload
    def for_asset(
        self, context: AssetContext, asset_key: str | dg.AssetKey | None = None
    ) -> Any: ...

    @overload
    def for_asset(
        self, context: AssetContext, asset_key: str | dg.AssetKey | None = None, *, model: type[M]
    ) -> M: ...

    def for_asset(
        self,
        context: AssetContext,
        asset_key: str | dg.AssetKey | None = None,
        *,
        model: type[BaseModel] | None = None,
    ) -> Any:
        """Every parameter the asset (or check) declares, resolved: a read-only mapping, or an
        instance of its model when it declares one (``nexus_asset(params=Model)``) or when
        ``model=`` names one.

        ``asset_key`` is needed only in a multi-asset that materializes several keys. Raises
        :class:`NexusParamError` when a required value is missing or a value breaks the model's
        constraints.

        Example::

            class Ingest(dg.Config):
                batch_size: int = Field(500, gt=0, description="Rows per write")

            @nexus_asset(params=Ingest)
            def sales(context: dg.AssetExecutionContext, params: NexusParams) -> None:
                config = params.for_asset(context, model=Ingest)  # mypy sees `Ingest`
                write(batch=config.batch_size)
        """
        target, values, resolved = self._read(context, asset_key)
        typed = model or model_of(target.metadata)
        if typed is not None:
            return build_instance(target.owner, typed, values, _fields_of(resolved))
        return MappingProxyType(values)

    def render(self, context: AssetContext, asset_key: str | dg.AssetKey | None = None) -> Any:
        """The asset's ``nexus/config`` with every ``{{params.NAME}}`` placeholder filled, and
        ``{{partition.key}}`` / ``{{partition.start}}`` / ``{{partition.end}}`` from the run's
        partition.

        A placeholder that is the whole string yields the typed value; otherwise the value is
        inserted as text. ``None`` when the asset has no ``nexus/config``.
        """
        target, values, _ = self._read(context, asset_key)
        template = declared_config(target.owner, target.metadata)
        partition = None
        key = partition_key_of(context)
        if key is not None:
            partitions_def = op_context_of(context).assets_def.partitions_def
            partition = partition_fields(partitions_def, key)
        try:
            return render(template, values, partition)
        except NoPartitionError:
            raise NexusParamError(
                target.asset,
                "",
                f"{target.who} fills `{{{{partition.*}}}}` in its `nexus/config`, but this run "
                "has no single partition key (a partition range, or none); launch it for one "
                "partition",
            ) from None

    def _read(
        self, context: AssetContext, asset_key: str | dg.AssetKey | None
    ) -> tuple[Target, dict[str, Any], dict[str, Resolved]]:
        """What the asset or check reads (secrets read from the environment), recorded."""
        target = target_of(context, asset_key)
        job = job_of(context)
        where = None if job is None else (context.instance, context.run)
        declared = declared_params(target.owner, target.metadata)
        resolved, spec = self._resolution(job, target, declared, where)
        # Secrets are read (and a value that is not an `{env: VAR}` reference refused) before
        # anything is recorded, since the record keeps each secret's reference.
        values = _read_secrets(target, declared, resolved)
        record_values(context, target, declared, resolved, spec)
        return target, values, resolved

    def _resolution(
        self,
        job: str | None,
        target: Target,
        declared: Mapping[str, ParamType],
        where: Where | None,
    ) -> tuple[dict[str, Resolved], DefaultsSpec | None]:
        """What ``target`` resolves in a run of ``job`` (``None``: invoked directly), and the
        ``asset_defaults`` spec it resolved from, if any."""
        name = target.asset
        spec: DefaultsSpec | None = None
        if where is not None and job in self.index.spec_jobs:
            config, from_spec = self._run_values(where)
        else:
            outside = self._outside_values(name, declared, where)
            if outside.problems:
                if job is None:
                    raise NexusParamError(
                        name,
                        outside.problems[0][0],
                        f"{target.who} was invoked with values that do not fit, in "
                        f"`NexusParams(values={{...}})`: "
                        + "; ".join(message for _, message in outside.problems),
                        names=[n for n, _ in outside.problems],
                    )
                raise _values_error(job, outside.problems)
            config, from_spec, spec = outside.config, outside.from_spec, outside.spec
            if self.config:  # the resource's own form, `__nexus_ops__` keys: laid over
                config = {**config, **self.config}
                from_spec = from_spec - self.config.keys()
        resolved, missing = resolve(name, declared, config, from_spec)
        if missing:
            raise NexusParamError(
                name,
                missing[0],
                self._missing_message(job, target, missing[0], spec),
                names=(prefixed(name, missing[0]), missing[0]),
            )
        return resolved, spec

    def _check_typed(self, where: Where) -> None:
        """Build every typed declaration's model of the run's assets and checks from the values
        they will resolve, so that a value that breaks a constraint fails the run before any
        asset's code."""
        run = where[1]
        typed = self.index.typed
        if not typed:
            return
        names = {k.to_user_string() for k in run.asset_selection or ()}
        names |= {k.asset_key.to_user_string() for k in run.asset_check_selection or ()}
        if not names and run.job_name in self.index.spec_jobs:
            names = {a for a, jobs in self.jobs_by_asset.items() if run.job_name in jobs}
        for asset in sorted(names & typed.keys()):
            for target in typed[asset]:
                model = model_of(target.metadata)
                assert model is not None  # the catalog keeps only targets that declare one
                declared = declared_params(target.owner, target.metadata)
                resolved, _ = self._resolution(run.job_name, target, declared, where)
                values = _read_secrets(target, declared, resolved)
                build_instance(target.owner, model, values, _fields_of(resolved))

    def _missing_message(
        self, job: str | None, target: Target, param: str, spec: DefaultsSpec | None
    ) -> str:
        asset = target.asset
        own = prefixed(asset, param)
        if job is None:
            return (
                f"{target.who} needs parameter `{param}` but was invoked with no value for it: "
                f"give `{own}` (this asset only) or `{param}` (shared) in "
                f"`NexusParams(values={{...}})`"
            )
        head = f"{target.who} needs parameter `{param}` but the run of job `{job}`"
        if job in self.index.spec_jobs:
            jobs = [j for j in self.index.jobs_by_asset.get(asset, []) if j != job]
            where = (
                f"; or launch it from a job built from a spec that selects it: "
                f"{', '.join(f'`{j}`' for j in jobs)}"
                if jobs
                else ""
            )
            return (
                f"{head} has no value for it: set `{own}` (this asset only) or `{param}` "
                f"(shared) in the run config{where}"
            )
        given = values_example(asset, param)
        if spec is not None:
            return (
                f"{head} has no value for it, and its `asset_defaults` spec `{spec.name}` "
                f"({spec.path}) gives none: set it in that spec (`ops_config: {{{asset}: "
                f"{{{param}: ...}}}}` or `parameter_values: {{{param}: ...}}`), or give it in "
                f"the run config as {given}"
            )
        markable = self.index.selecting(asset, markable=True)
        selecting = self.index.selecting(asset)
        if markable:
            fix = (
                f"add `asset_defaults: true` to one of the specs that select it "
                f"({', '.join(markable)}) so that its values apply in runs outside spec jobs"
            )
        elif selecting:
            fix = (
                f"the specs that select it ({', '.join(selecting)}) each select an asset that "
                "another `asset_defaults` spec gives values to, so none can take "
                "`asset_defaults: true`: select it in a spec of its own with "
                "`asset_defaults: true` and give the value there"
            )
        else:
            fix = "select it in a spec with `asset_defaults: true` and give the value there"
        return (
            f"{head}, which is not a job built from a spec, has no value for it: {fix}; or give "
            f"it in the run config as {given}"
        )


def _partitioned_values(
    job_name: str, fields: Sequence[JobField], values: Mapping[str, Any], config: Mapping[str, Any]
) -> tuple[dict[str, Any], frozenset[str]]:
    if config:
        raise NexusConfigError(
            job_name,
            "`resources.params.config.config` is the plugin's own: give the values under "
            "`resources.params.config.values`, by their flat names",
            ["resources.params.config.config"],
        )
    run = launch(fields, values)
    if run.problems:
        raise _values_error(job_name, run.problems)
    return run.config, run.from_spec


def _job_assets(instance: Any, run: Any) -> list[str]:
    """The assets of a run's job as its snapshot holds them (by op name: a key's parts joined
    with ``__``), for a run that names no asset selection."""
    if not run.job_snapshot_id:
        return []
    snapshot = instance.get_job_snapshot(run.job_snapshot_id)
    nodes = snapshot.dep_structure_snapshot.node_invocation_snaps
    return [node.node_name.replace("__", "/") for node in nodes]


def _given_values(job: str, run: Any, root: Any, partitioned: bool) -> dict[str, Any]:
    """The flat values the root of ``run``'s family was launched with; a re-execution given
    other values is refused (it resolves its parent's)."""
    launched = _flat_values(root.run_config, partitioned)
    if run is not root:
        mine = _flat_values(run.run_config, partitioned)
        other = sorted(n for n in mine.keys() | launched.keys() if mine.get(n) != launched.get(n))
        if mine and other:
            raise NexusConfigError(
                job,
                f"run {run.run_id} re-executes run {root.run_id} and resolves the values that "
                f"run was launched with, but it was given others for "
                f"{', '.join(f'`{n}`' for n in other)}: re-execute it with its parent's run "
                "config, or launch a new run with these values",
                other,
            )
    return launched


def _flat_values(run_config: Mapping[str, Any] | None, partitioned: bool) -> dict[str, Any]:
    """The flat values in a run config: at its root (an unpartitioned spec job), or under
    ``resources.params.config.values``."""
    if not run_config:
        return {}
    if not partitioned:
        return split_sections(run_config)[0]
    params = (run_config.get("resources") or {}).get(RESOURCE_KEY) or {}
    return dict((params.get("config") or {}).get("values") or {})


def backfill_values(instance: Any, run: Any) -> dict[str, Any]:
    """The values the backfill that launched ``run`` (a partitioned spec job's) gives in its
    config: Dagster gives each run its partition's config instead, so they are laid over it.

    Anything else in the backfill's config is refused: Dagster would drop it silently.
    """
    backfill_id = run.tags.get(BACKFILL_TAG)
    if not backfill_id:
        return {}
    backfill = instance.get_backfill(backfill_id)
    run_config = dict(getattr(backfill, "run_config", None) or {})
    if not run_config:
        return {}
    values = _flat_values(run_config, True)
    resources = dict(run_config.pop("resources", None) or {})
    params = dict(resources.pop(RESOURCE_KEY, None) or {})
    params_config = dict(params.pop("config", None) or {})
    params_config.pop("values", None)
    dropped = [f"`{name}`" for name in run_config]
    dropped += [f"`resources.{name}`" for name in resources]
    dropped += [f"`resources.{RESOURCE_KEY}.{name}`" for name in params]
    dropped += [f"`resources.{RESOURCE_KEY}.config.{name}`" for name in params_config]
    if dropped:
        raise NexusConfigError(
            run.job_name,
            f"the config of backfill {backfill_id} sets {', '.join(dropped)}, which Dagster does "
            "not pass to the runs of a partitioned job (each run takes its partition's config); "
            "a backfill of a spec job takes only `resources.params.config.values`: set the rest "
            "in the spec, or launch the partitions as runs of their own",
        )
    return values


def _values_error(job_name: str, problems: Sequence[tuple[str, str]]) -> NexusConfigError:
    return NexusConfigError(
        job_name,
        "in `resources.params.config.values`: " + "; ".join(message for _, message in problems),
        [name for name, _ in problems],
    )


def _read_secret(asset: str, param: str, ptype: ParamType, value: Any) -> Any:
    if ptype.kind == "list":
        assert ptype.item is not None
        return [_read_secret(asset, param, ptype.item, v) for v in value or []]
    if not (isinstance(value, Mapping) and isinstance(value.get("env"), str)):
        raise NexusParamError(
            asset,
            param,
            f"parameter `{param}` of asset `{asset}` is a secret and takes only `{{env: VAR}}`",
        )
    variable = value["env"]
    if variable not in os.environ:
        raise NexusParamError(
            asset,
            param,
            f"parameter `{param}` of asset `{asset}` reads the environment variable "
            f"`{variable}`, which is not set in the run's process",
        )
    return os.environ[variable]


def _read_secrets(
    target: Target, declared: Mapping[str, ParamType], resolved: Mapping[str, Resolved]
) -> dict[str, Any]:
    return {
        param: _read_secret(target.asset, param, declared[param], r.value)
        if declared[param].is_secret
        else r.value
        for param, r in resolved.items()
    }


def _fields_of(resolved: Mapping[str, Resolved]) -> dict[str, str]:
    return {param: r.field for param, r in resolved.items()}
