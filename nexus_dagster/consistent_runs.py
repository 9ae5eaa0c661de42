"""Consistent runs: every step of a run, and of its re-executions, resolves a spec's values as the
run first resolved them, whatever process runs it, or fails saying the spec changed (docs:
``runs.md``, "Consistent runs").

A run and its re-executions (from failure, of selected steps, an automatic retry) are one
*family*; its root is the run first launched. Each step process imports the code location anew
(or, in a long-lived worker such as dagster-celery's, keeps the one it imported first), so the
spec it holds may be another version than the family's. The family's version of a spec is:

- for a spec job, the digest of its fields that the root run's ``nexus/params_digest`` tag
  holds (:data:`DIGEST_TAG`: the job's, when the run was launched);
- for an ``asset_defaults`` spec in a run outside spec jobs, the digest the family's first step
  to resolve it claimed in a run tag ``nexus/asset_defaults.<spec>.<digest>``.

A step whose spec has that digest resolves with its own fields, and leaves them in the
instance's key-value store (``nexus/fields/<digest>``); a step whose spec has another takes the
family's fields from there. Without them it fails, naming the spec, before any asset's code.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Sequence
from typing import Any

from nexus_dagster.asset_defaults import DefaultsSpec
from nexus_dagster.errors import NexusParamError
from nexus_dagster.rules import JobField, fields_digest
from nexus_dagster.spec_cache import decode_field, encode_field

DIGEST_TAG = "nexus/params_digest"
"""Run tag: digest of the job's fields when the run was launched."""
FIELDS_KEY_PREFIX = "nexus/fields/"
"""Key prefix, in the instance's key-value store, of the fields of each digest a step resolved."""
RELAUNCH = "Launch a new run to use the spec as it is now."
WORKERS = (
    "If steps run in long-lived worker processes (dagster-celery), restart them after editing "
    "specs: they keep the code location they imported first."
)

_JOBS: dict[str, tuple[tuple[JobField, ...], str]] = {}
"""The fields, and their digest, this process resolved each spec job's run with, by run id."""
_DEFAULTS: dict[tuple[str, str], DefaultsSpec] = {}
"""Each ``asset_defaults`` spec as this process resolved it, by (run id, spec tag)."""
_ANCESTORS: dict[str, list[Any]] = {}
"""The runs each re-execution this process served re-executes (finished: they do not change)."""
_STORED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
"""The digests whose fields this process knows to be in each instance's store."""


def root_of(instance: Any, run: Any) -> Any:
    """The run first launched of ``run``'s family (``run`` itself unless it re-executes one).

    Raises :class:`NexusParamError` when the root run is no longer in the instance: the values
    it resolved cannot be told then.
    """
    if not run.root_run_id:
        return run
    ancestors = ancestors_of(instance, run)
    root = ancestors[-1] if ancestors and ancestors[-1].run_id == run.root_run_id else None
    if root is None:
        raise NexusParamError(
            "",
            "",
            f"run {run.run_id} re-executes run {run.root_run_id}, which is no longer in the "
            f"instance: the values it resolved cannot be told. {RELAUNCH}",
        )
    return root


def ancestors_of(instance: Any, run: Any) -> list[Any]:
    """The runs ``run`` re-executes, nearest first (read once per process: they are finished),
    as far as the instance still holds them."""
    found = _ANCESTORS.get(run.run_id)
    if found is None:
        found = []
        parent_id = run.parent_run_id
        while parent_id:
            parent = instance.get_run_by_id(parent_id)
            if parent is None:
                break
            found.append(parent)
            parent_id = parent.parent_run_id
        _ANCESTORS[run.run_id] = found
    return found


def job_fields(
    instance: Any, run: Any, job: str, path: str, loaded: tuple[JobField, ...], digest: str
) -> tuple[tuple[JobField, ...], str]:
    """The fields a step of ``run`` of spec job ``job`` resolves with, and their digest: those
    its family's root was launched with (``loaded``, ``digest``: the job's in this process)."""
    anchored = _JOBS.get(run.run_id)
    if anchored is None:
        launched = root_of(instance, run).tags.get(DIGEST_TAG)
        if launched is None:
            raise NexusParamError(
                "",
                "",
                f"the run of job `{job}` carries no `{DIGEST_TAG}` tag, which every run of a job "
                "built from a spec has when it is launched: the values it was launched with "
                f"cannot be told. {RELAUNCH}",
            )
        fields = _fields_of(instance, launched, loaded, digest)
        if fields is None:
            raise NexusParamError(
                "",
                "",
                f"the spec of job `{job}` ({path}) is not the one this run"
                f"{'' if run.root_run_id is None else ' family'} was launched with (parameters "
                f"digest {launched} at launch, {digest} in this process), and no step "
                f"has left the values of {launched}: this step cannot resolve them. "
                f"{RELAUNCH} {WORKERS}",
            )
        anchored = _JOBS[run.run_id] = (fields, launched)
    return anchored


def defaults_fields(instance: Any, run: Any, spec: DefaultsSpec) -> DefaultsSpec:
    """``spec`` as the family of ``run`` (outside spec jobs) resolves it: with the fields its
    first step to resolve it claimed, claiming its own when none has."""
    key = (run.run_id, spec.tag)
    anchored = _DEFAULTS.get(key)
    if anchored is None:
        fields = _claimed(instance, run, spec)
        anchored = spec if fields is spec.fields else spec.with_fields(fields)
        _DEFAULTS[key] = anchored
    return anchored


def _claimed(instance: Any, run: Any, spec: DefaultsSpec) -> tuple[JobField, ...]:
    earlier: set[str] = set()
    for ancestor in ancestors_of(instance, run):
        earlier |= spec.claims(ancestor.tags)
    claims = earlier or spec.claims(_tags_now(instance, run))
    if not claims:
        # This step is the first to resolve the spec in the family: its version becomes the
        # family's, unless the process holds a spec older than the file (a long-lived worker).
        if spec.stat is not None and file_stat(spec.file) != spec.stat:
            raise NexusParamError(
                "",
                "",
                f"the `asset_defaults` spec `{spec.name}` ({spec.path}) changed after this "
                f"process loaded it: this step would resolve an older version of it. {WORKERS}",
            )
        _store(instance, spec.digest, spec.fields)
        instance.add_run_tags(run.run_id, {spec.claim_tag(spec.digest): spec.digest})
        # Two steps that start together may both find no claim and both claim: each reads the
        # claims again, and a step that sees two refuses rather than mix them.
        claims = spec.claims(_tags_now(instance, run))
    if len(claims) > 1:
        raise NexusParamError(
            "",
            "",
            f"the steps of this run{'' if not earlier else ' family'} resolved two versions of "
            f"the `asset_defaults` spec `{spec.name}` ({spec.path}), parameters digests "
            f"{', '.join(sorted(claims))}: the spec changed while they started. {RELAUNCH}",
        )
    (claimed,) = claims
    fields = _fields_of(instance, claimed, spec.fields, spec.digest)
    if fields is None:
        raise NexusParamError(
            "",
            "",
            f"the `asset_defaults` spec `{spec.name}` ({spec.path}) changed since this run"
            f"{'' if not earlier else ' family'} first resolved it (parameters digest {claimed} "
            f"then, {spec.digest} in this process), and no step has left the values of "
            f"{claimed}: this step cannot resolve them. {RELAUNCH}",
        )
    return fields


def _fields_of(
    instance: Any, digest: str, loaded: tuple[JobField, ...], loaded_digest: str
) -> tuple[JobField, ...] | None:
    """The fields of ``digest``: this process's own (``loaded``, of ``loaded_digest``) when
    they have it, left in the store for other steps; else those a step left in the store."""
    if loaded_digest == digest:
        _store(instance, digest, loaded)
        return loaded
    text = instance.run_storage.get_cursor_values({FIELDS_KEY_PREFIX + digest}).get(
        FIELDS_KEY_PREFIX + digest
    )
    if text is None:
        return None
    fields = tuple(decode_field(data) for data in json.loads(text))
    return fields if fields_digest(fields) == digest else None


def _store(instance: Any, digest: str, fields: Sequence[JobField]) -> None:
    stored = _STORED.setdefault(instance, set())
    if digest in stored:
        return
    key = FIELDS_KEY_PREFIX + digest
    if key not in instance.run_storage.get_cursor_values({key}):
        text = json.dumps([encode_field(f) for f in fields], default=str)
        instance.run_storage.set_cursor_values({key: text})
    stored.add(digest)


def _tags_now(instance: Any, run: Any) -> dict[str, str]:
    # A step process is handed the run as it was launched: the instance holds its tags now.
    current = instance.get_run_by_id(run.run_id)
    return dict(current.tags if current is not None else run.tags)


def file_stat(path: str) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of a spec file, to tell later whether it changed since."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)
