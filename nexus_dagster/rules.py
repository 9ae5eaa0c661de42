"""The parameter rules: which fields a job's run config has, their types, defaults and
required-ness (docs: ``parameters.md``), and Dagster's own run config sections beside them. How
an asset resolves its values from those fields is :mod:`nexus_dagster.resolution`.

Pure: no Dagster, no YAML. Problems are returned with the key path inside the spec they concern,
so the spec loader can put a file, line and column on them.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from nexus_dagster.naming import is_param_name, non_ascii_note, ops_key, prefixed, split_name
from nexus_dagster.param_types import ParamType, TypeStringError, check_value, parse_type

Decls = Mapping[str, Mapping[str, ParamType]]
"""asset name -> parameter name -> declared type, for the selected assets, in selection order."""

KeyPath = tuple[str | int, ...]

SHARED: Final = "shared"
PER_ASSET: Final = "per-asset"
SECTIONS: Final = ("ops", "resources", "execution", "loggers")
"""Dagster's own run config sections, which a spec job's flat run config passes through."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class RuleProblem:
    """A problem found by a rule, at ``key`` (a path inside the spec)."""

    key: KeyPath
    message: str


@dataclass(frozen=True, slots=True)
class JobField:
    """One field of a job's flat run config, as the launchpad shows it."""

    name: str
    param: str
    type: ParamType
    required: bool
    scope: str
    assets: tuple[str, ...]
    key: str
    default: Any = MISSING
    overrides: str | None = None
    notes: tuple[str, ...] = ()
    """What the declarations of the assets it feeds say the parameter means."""

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING

    @property
    def description(self) -> str:
        """Which asset(s) the field feeds, its type, and whether it is shared or per-asset."""
        feeds = ", ".join(f"`{a}`" for a in self.assets)
        # The launchpad marks optional fields itself; say it in words too, since a `!` type with
        # a default (or an override) is not required and `string!` there would mislead.
        kind = f"{self.type.optional}, {'required' if self.required else 'optional'}"
        meaning = "".join(f"{note.rstrip('.')}. " for note in self.notes)
        if self.scope == SHARED:
            return (
                f"{meaning}Shared ({kind}): feeds {feeds}. "
                f"An asset's own `<asset>.{self.param}` value takes precedence."
            )
        text = f"{meaning}Per-asset ({kind}): feeds {feeds} only."
        if self.overrides:
            text += f" Overrides the shared `{self.overrides}` for this asset."
        return text


def suggest(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean `x`?"`` for the closest choice, or ``""``; when ``name`` holds a
    non-ASCII character, a note naming it follows. A non-empty result ends a sentence.

    >>> suggest("sales_ingestion_aset", ["sales_ingestion_asset", "report"])
    '; did you mean `sales_ingestion_asset`?'
    >>> suggest("rep\u043ert", ["report"])
    '; did you mean `report`? `rep\u043ert` holds the non-ASCII character U+043E (CYRILLIC SMALL LETTER O).'
    """
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    note = non_ascii_note(name)
    if not note:
        return hint
    return f"{hint} {note}" if hint else f"; {note}"


@dataclass
class _Derivation:
    decls: Decls
    known_assets: Collection[str]
    problems: list[RuleProblem] = field(default_factory=list)

    def problem(self, key: KeyPath, message: str) -> None:
        self.problems.append(RuleProblem(key, message))

    def declarers(self, param: str) -> list[str]:
        return [asset for asset, params in self.decls.items() if param in params]

    def asset_ok(self, asset: str, key: KeyPath) -> bool:
        if asset in self.decls:
            return True
        if asset in self.known_assets:
            self.problem(
                key,
                f"asset `{asset}` is not in this job's selection; add it to `selection` "
                "or remove this entry",
            )
        else:
            hint = suggest(asset, [*self.decls, *self.known_assets])
            self.problem(key, f"unknown asset `{asset}`{hint}")
        return False

    def param_ok(self, asset: str | None, param: str, key: KeyPath) -> bool:
        if not is_param_name(param):
            self.problem(
                key,
                f"invalid parameter name `{param}`: use letters, digits and `_`, "
                f"not starting with a digit. {non_ascii_note(param)}".rstrip(),
            )
            return False
        if asset is None:
            if self.declarers(param):
                return True
            every = sorted({p for params in self.decls.values() for p in params})
            self.problem(
                key,
                f"no selected asset declares parameter `{param}`{suggest(param, every) or '.'} "
                f"Declared: {', '.join(every) or 'none'}",
            )
            return False
        if param in self.decls[asset]:
            return True
        own = list(self.decls[asset])
        self.problem(
            key,
            f"asset `{asset}` does not declare parameter `{param}`{suggest(param, own) or '.'} "
            f"It declares: {', '.join(own) or 'nothing'}",
        )
        return False

    def typed(self, text: Any, key: KeyPath) -> ParamType | None:
        try:
            return parse_type(text)
        except TypeStringError as err:
            self.problem(key, str(err))
            return None

    def secret_ok(self, ptype: ParamType, assets: Iterable[str], param: str, key: KeyPath) -> bool:
        for asset in assets:
            declared = self.decls[asset][param]
            if declared.is_secret != ptype.is_secret:
                self.problem(
                    key,
                    f"`params_schema` cannot turn `{asset}`'s declared type `{declared}` "
                    f"into `{ptype}`: secrets stay secrets and nothing else becomes one",
                )
                return False
        return True

    def default_ok(self, ptype: ParamType, value: Any, key: KeyPath) -> bool:
        if value is MISSING:
            return True
        reason = check_value(ptype, value)
        if reason:
            self.problem(key, f"value does not fit type `{ptype.optional}`: {reason}")
            return False
        return True


def derive_fields(
    decls: Decls,
    *,
    params_schema: Mapping[str, Any] | None = None,
    parameter_values: Mapping[str, Any] | None = None,
    ops_config: Mapping[str, Mapping[str, Any]] | None = None,
    known_assets: Collection[str] = (),
) -> tuple[list[JobField], list[RuleProblem]]:
    """The fields of a job's flat run config (docs/parameters.md), and the problems found.

    ``decls`` holds what each selected asset declares; ``known_assets`` every asset of the
    code location (only for messages that tell "unknown" from "not selected").

    >>> from nexus_dagster.param_types import parse_type as t
    >>> fields, problems = derive_fields(
    ...     {"a": {"bucket": t("string!")}, "b": {"bucket": t("string!")}},
    ...     parameter_values={"bucket": "lake"},
    ...     ops_config={"b": {"bucket": "raw"}},
    ... )
    >>> [(f.name, f.required, f.default) for f in fields]
    [('bucket', False, 'lake'), ('a.bucket', False, MISSING), ('b.bucket', False, 'raw')]
    """
    params_schema = params_schema or {}
    parameter_values = parameter_values or {}
    ops_config = ops_config or {}
    d = _Derivation(decls, known_assets)

    schema_types: dict[str, ParamType] = {}
    for name, text in params_schema.items():
        key: KeyPath = ("params_schema", name)
        asset, param = split_name(name)
        if name in SECTIONS:
            continue
        if asset is not None and not d.asset_ok(asset, key):
            continue
        if not d.param_ok(asset, param, key):
            continue
        ptype = d.typed(text, key)
        if ptype is None:
            continue
        owners = d.declarers(param) if asset is None else [asset]
        if d.secret_ok(ptype, owners, param, key):
            schema_types[name] = ptype

    for where, names in (("params_schema", params_schema), ("parameter_values", parameter_values)):
        for name in names:
            if name in SECTIONS:
                d.problem(
                    (where, name),
                    f"`{name}` is Dagster's own run config section and cannot be a shared "
                    f"parameter name; rename the parameter, or name it per asset (`<asset>.{name}`)",
                )
    shared_values: dict[str, Any] = {}
    for name, value in parameter_values.items():
        key = ("parameter_values", name)
        asset, param = split_name(name)
        if name in SECTIONS:
            continue
        if asset is not None:
            d.problem(
                key,
                f"prefixed name `{name}` in `parameter_values`: a value for one asset goes "
                f"under `ops_config: {{{asset}: {{{param}: ...}}}}`",
            )
        elif d.param_ok(None, param, key):
            shared_values[param] = value

    own_values: dict[tuple[str, str], Any] = {}
    for asset, values in ops_config.items():
        if not d.asset_ok(asset, ("ops_config", asset)):
            continue
        for param, value in values.items():
            if d.param_ok(asset, param, ("ops_config", asset, param)):
                own_values[(asset, param)] = value

    shared = list(
        dict.fromkeys(
            [n for n in params_schema if n in schema_types and split_name(n)[0] is None]
            + list(shared_values)
        )
    )
    fields: list[JobField] = []
    shared_types: dict[str, ParamType] = {}
    for param in shared:
        owners = d.declarers(param)
        ptype = schema_types.get(param) or _settled_type(d, param, owners)
        if ptype is None:
            continue
        shared_types[param] = ptype
        default = shared_values.get(param, MISSING)
        if not d.default_ok(ptype, default, ("parameter_values", param)):
            continue
        every_owner_has_own = all((a, param) in own_values for a in owners)
        fields.append(
            JobField(
                name=param,
                param=param,
                type=ptype,
                required=ptype.required and default is MISSING and not every_owner_has_own,
                scope=SHARED,
                assets=tuple(owners),
                key=param,
                default=default,
                notes=_notes(d.decls[a][param] for a in owners),
            )
        )

    for asset, params in decls.items():
        for param, declared in params.items():
            name = prefixed(asset, param)
            is_shared = param in shared
            if is_shared and param not in shared_types:
                continue  # the shared field is broken; its problem is already reported
            ptype = schema_types.get(name) or shared_types.get(param) or declared
            default = own_values.get((asset, param), MISSING)
            if not d.default_ok(ptype, default, ("ops_config", asset, param)):
                continue
            fields.append(
                JobField(
                    name=name,
                    param=param,
                    type=ptype,
                    required=ptype.required and default is MISSING and not is_shared,
                    scope=PER_ASSET,
                    assets=(asset,),
                    key=ops_key(asset, param),
                    default=default,
                    overrides=param if is_shared else None,
                    notes=_notes([declared]),
                )
            )

    by_key: dict[str, str] = {}
    for f in fields:
        if f.key in by_key:
            d.problem(
                ("selection",),
                f"`{by_key[f.key]}` and `{f.name}` both map to the resource key `{f.key}`; "
                "rename one of the parameters or assets",
            )
        by_key.setdefault(f.key, f.name)
    return fields, d.problems


def _notes(declared: Iterable[ParamType]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.description for t in declared if t.description))


def _settled_type(d: _Derivation, param: str, owners: list[str]) -> ParamType | None:
    kinds = {str(d.decls[a][param].optional) for a in owners}
    if len(kinds) > 1:
        listed = ", ".join(f"`{a}`: {d.decls[a][param]}" for a in owners)
        d.problem(
            ("selection",),
            f"assets declare the shared parameter `{param}` with different types ({listed}); "
            f"settle it with `params_schema: {{{param}: <type>}}`",
        )
        return None
    first = d.decls[owners[0]][param]
    return ParamType(first.kind, any(d.decls[a][param].required for a in owners), first.item)


def split_sections(flat: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a flat run config into the job's values and Dagster's own sections (docs/spec-format.md).

    >>> split_sections({"a.n": 1, "ops": {"loader": {"config": {"limit": 3}}}})
    ({'a.n': 1}, {'ops': {'loader': {'config': {'limit': 3}}}})
    """
    values = {k: v for k, v in flat.items() if k not in SECTIONS}
    sections = {k: v for k, v in flat.items() if k in SECTIONS}
    return values, sections


def section_problems(run_config: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    """What is wrong with a ``run_config:`` of Dagster's own sections, by key path.

    Only the form is checked here (known sections, mappings, no ``resources.params``); Dagster
    checks what is inside them against the job.

    >>> [key for key, _ in section_problems({"resources": {"params": {}}, "opz": {}})]
    [('resources', 'params'), ('opz',)]
    """
    problems: list[tuple[KeyPath, str]] = []
    for name, value in run_config.items():
        if name not in SECTIONS:
            problems.append(
                (
                    (name,),
                    f"unknown run config section `{name}`{suggest(name, SECTIONS) or '.'} "
                    f"Sections: {', '.join(SECTIONS)}",
                )
            )
        elif not isinstance(value, Mapping):
            problems.append(((name,), f"`{name}` must be a mapping, as in Dagster's run config"))
        elif name == "resources" and "params" in value:
            problems.append(
                (
                    ("resources", "params"),
                    "`resources.params` is the plugin's own: give parameter values under their "
                    "flat names (`parameter_values:`)",
                )
            )
    return problems


def fields_digest(fields: Iterable[JobField]) -> str:
    """A short digest of everything that decides a run's values: names, types, defaults, keys.

    Comments and descriptions do not change it; a changed default or parameter does.
    """
    canonical = [
        [f.name, str(f.type), f.required, f.default if f.has_default else None, f.key]
        for f in fields
    ]
    payload = json.dumps(canonical, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()[:16]
