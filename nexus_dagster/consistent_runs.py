"""Consistent runs: a spec edited while a run is in flight never silently changes what the
run's later steps resolve (docs: ``runs.md``, "Consistent runs").

Every step process of a run rebuilds the code location from the spec files. A spec job's run
carries the digest of the job's fields in its tags (:data:`DIGEST_TAG`), and a step compares it to
the job it rebuilt; a run outside spec jobs keeps the digest of each ``asset_defaults`` spec its
first step resolved values from (``nexus/asset_defaults.<spec>``). A step that sees another digest
fails, naming the spec, rather than mix the values of two versions of it.
"""

from __future__ import annotations

from nexus_dagster.asset_defaults import DefaultsSpec
from nexus_dagster.contexts import AssetContext
from nexus_dagster.errors import NexusParamError

DIGEST_TAG = "nexus/params_digest"
"""Run tag: digest of the job's fields when the run was launched (see :func:`check_unchanged`)."""

_CHECKED: set[tuple[str, str]] = set()
"""(run id, tag) of the ``asset_defaults`` digests this process has put on, or checked against,
its runs."""


def check_unchanged(context: AssetContext) -> None:
    """Refuse a step of a spec job's run whose job was rebuilt from an edited spec."""
    # Every step process rebuilds the job from the spec files, and Dagster fills defaults from
    # that rebuilt job. A spec edited while the run is in flight would silently hand later steps
    # other values than the run launched with, so refuse instead.
    launched = context.run.tags.get(DIGEST_TAG)
    current = context.job_def.tags.get(DIGEST_TAG)
    if launched and current and launched != current:
        raise NexusParamError(
            "",
            "",
            f"the spec of job `{context.run.job_name}` changed while this run was in flight "
            f"(parameters digest {launched} at launch, {current} now): this step would not see "
            "the values the run was launched with. Launch a new run to use the edited spec.",
        )


def keep_consistent(context: AssetContext, spec: DefaultsSpec) -> None:
    """Refuse a step of a run outside spec jobs whose ``asset_defaults`` spec changed since
    the run's first step resolved its values."""
    # A run outside spec jobs has no digest tag from its job (Dagster's asset job has no spec),
    # and every step process loads the spec files anew. The first step to resolve the spec's
    # values keeps the digest on the run; a later step whose spec differs refuses to go on
    # rather than mix the values of two versions of the spec. A step process is handed the run
    # as it was at launch, so the tag is read from the instance (once per process and spec:
    # the specs a process loaded do not change under it). A process that executes every step
    # of the run (the in-process executor, a one-step run) has nothing to agree with.
    run_id = context.run.run_id
    if (run_id, spec.tag) in _CHECKED:
        return
    if _whole_run_here(context):
        _CHECKED.add((run_id, spec.tag))
        return
    run = context.instance.get_run_by_id(run_id)
    first = run.tags.get(spec.tag) if run is not None else None
    if first is None:
        context.instance.add_run_tags(run_id, {spec.tag: spec.digest})
    elif first != spec.digest:
        raise NexusParamError(
            "",
            "",
            f"the `asset_defaults` spec `{spec.name}` ({spec.path}) changed while this run was "
            f"in flight (parameters digest {first} when its first step resolved them, "
            f"{spec.digest} now): this step would not see the values the run began with. "
            "Launch a new run to use the edited spec.",
        )
    _CHECKED.add((run_id, spec.tag))


def _whole_run_here(context: AssetContext) -> bool:
    plan = context.get_step_execution_context().execution_plan
    run_steps = context.run.step_keys_to_execute
    total = len(run_steps) if run_steps is not None else len(plan.steps)
    return len(plan.step_keys_to_execute) >= total
