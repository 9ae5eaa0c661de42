"""What each edit does to a spec document: select and deselect assets, set and unset values,
migrate the older form to the prefixed one; and the check that a migration kept the meaning.

These are the rules behind the operations of :mod:`nexus_dagster.authoring`, applied in memory
to the round-trip document with the surgery of :mod:`nexus_dagster.yaml_edit`. An edit that
cannot be made is not raised here but recorded with :meth:`EditContext.refuse`, so that one
refusal names every reason; the change lists name keys, never values (a value may be a
secret's reference). Nothing here reads or writes a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from nexus_dagster.catalog import Catalog
from nexus_dagster.naming import prefixed, split_name
from nexus_dagster.param_types import ParamType, TypeStringError, parse_type
from nexus_dagster.rules import JobField, suggest
from nexus_dagster.spec import JobSpec
from nexus_dagster.yaml_edit import (
    append,
    comment_token,
    flow_text,
    insert,
    put_path,
    remove,
    set_comment_token,
    to_node,
)

TOP_LEVEL_ORDER = (  # where a new top-level key is written, among those the file has
    "name",
    "description",
    "selection",
    "params_schema",
    "parameter_values",
    "ops_config",
    "tags",
    "schedules",
    "sensors",
)
_VALUE_SECTIONS = ("schedules", "sensors")  # lists whose items carry their own parameter_values


@dataclass
class EditContext:
    """What an edit knows and has done so far."""

    catalog: Catalog
    spec: JobSpec | None  # the file as loaded with the assets before the edit, when it loads
    spec_problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    written: list[tuple[tuple[Any, ...], Any]] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # dotted key -> the option behind it

    def refuse(self, *reasons: str) -> None:
        """Record why the edit cannot be made; the edit goes on, to find every reason."""
        self.reasons.extend(reasons)

    def field_named(self, name: str) -> JobField | None:
        fields = self.spec.fields if self.spec else ()
        return next((f for f in fields if f.name == name), None)

    def declared(self, asset: str, param: str) -> ParamType | None:
        info = self.catalog.by_name.get(asset)
        return info.params.get(param) if info else None


def _selection_list(doc: CommentedMap, ctx: EditContext, option: str) -> CommentedSeq | None:
    selection = doc.get("selection")
    if isinstance(selection, CommentedSeq):
        return selection
    if isinstance(selection, str):
        ctx.refuse(
            f"{option}: `selection` is a Dagster selection string (`{selection}`); "
            "change it by hand"
        )
    else:
        ctx.refuse(f"{option}: `selection` is not a list of asset keys; fix it by hand")
    return None


def select_asset(doc: CommentedMap, ctx: EditContext, asset: str) -> None:
    """``--select A``: add ``A`` to the selection list (a note when it is there already)."""
    selection = _selection_list(doc, ctx, f"--select {asset}")
    if selection is None:
        return
    if asset in selection:
        ctx.notes.append(f"`{asset}` is already selected")
        return
    append(selection, None, asset)
    ctx.origins[f"selection[{len(selection) - 1}]"] = f"--select {asset}"
    ctx.changes.append(f"selected {asset}")


def deselect_asset(doc: CommentedMap, ctx: EditContext, asset: str) -> None:
    """``--deselect A``: remove ``A`` from the selection and every entry that names it, and the
    shared entries no selected asset declares any more (when every selected asset is known)."""
    option = f"--deselect {asset}"
    selection = _selection_list(doc, ctx, option)
    if selection is None:
        return
    if asset not in selection:
        hint = suggest(asset, [str(a) for a in selection]) or "."
        ctx.refuse(
            f"{option}: `{asset}` is not selected{hint} Selected: "
            + ", ".join(str(a) for a in selection)
        )
        return
    remove(doc, ("selection", list(selection).index(asset)), prune=False)
    ctx.changes.append(f"removed selection: {asset}")
    remaining = [str(a) for a in selection]
    still_declared = {
        p for a in remaining if a in ctx.catalog.by_name for p in ctx.catalog.by_name[a].params
    }
    knows_all = all(a in ctx.catalog.by_name for a in remaining)

    def named(name: Any) -> str | None:
        owner, param = split_name(str(name))
        if owner == asset:
            return ""
        if owner is None and knows_all and param not in still_declared:
            return " (no selected asset declares it any more)"
        return None

    for section in ("params_schema", "parameter_values"):
        entries = doc.get(section)
        if isinstance(entries, CommentedMap):
            for name in list(entries):
                why = named(name)
                if why is not None:
                    remove(doc, (section, name))
                    ctx.changes.append(f"removed {section}.{name}{why}")
    ops = doc.get("ops_config")
    if isinstance(ops, CommentedMap) and asset in ops:
        remove(doc, ("ops_config", asset))
        ctx.changes.append(f"removed ops_config.{asset}")
    for section in _VALUE_SECTIONS:
        items = doc.get(section)
        if not isinstance(items, CommentedSeq):
            continue
        for index, item in enumerate(items):
            values = item.get("parameter_values") if isinstance(item, CommentedMap) else None
            if not isinstance(values, CommentedMap):
                continue
            for name in list(values):
                why = named(name)
                if why is not None:
                    remove(doc, (section, index, "parameter_values", name))
                    ctx.changes.append(f"removed {section}[{index}].parameter_values.{name}{why}")


def set_value(doc: CommentedMap, ctx: EditContext, name: str, value: Any) -> None:
    """``--set A.p=v`` into ``ops_config`` (and ``A.p`` with its type into ``params_schema``
    when it is not there), ``--set p=v`` into ``parameter_values``."""
    option = f"--set {name}"
    asset, param = split_name(name)
    if asset is None:
        if not put_path(
            doc, ("parameter_values", param), to_node(value), key_order=TOP_LEVEL_ORDER
        ):
            ctx.refuse(f"{option}: `parameter_values` is not a mapping; fix it by hand")
            return
        ctx.written.append((("parameter_values", param), value))
        ctx.origins[f"parameter_values.{param}"] = option
        ctx.changes.append(f"set parameter_values.{param}")
        return
    if not put_path(doc, ("ops_config", asset, param), to_node(value), key_order=TOP_LEVEL_ORDER):
        ctx.refuse(f"{option}: `ops_config` is not a mapping of asset to values; fix it by hand")
        return
    ctx.written.append((("ops_config", asset, param), value))
    ctx.origins[f"ops_config.{asset}.{param}"] = option
    ctx.origins.setdefault(f"ops_config.{asset}", option)
    ctx.changes.append(f"set ops_config.{asset}.{param}")
    schema = doc.get("params_schema")
    if isinstance(schema, CommentedMap) and name in schema:
        return
    known = ctx.field_named(name)
    ptype = known.type if known else ctx.declared(asset, param)
    if ptype is None:
        return  # unknown asset or parameter: the check after the edit says which
    if not put_path(
        doc,
        ("params_schema", name),
        DoubleQuotedScalarString(str(ptype)),
        key_order=TOP_LEVEL_ORDER,
    ):
        ctx.refuse(f"{option}: `params_schema` is not a mapping; fix it by hand")
        return
    ctx.origins[f"params_schema.{name}"] = option
    ctx.changes.append(f'added params_schema.{name}: "{ptype}"')


def unset_value(doc: CommentedMap, ctx: EditContext, name: str) -> None:
    """``--unset A.p`` from ``ops_config`` (and its ``params_schema`` entry when that says
    nothing the declaration does not), ``--unset p`` from ``parameter_values``."""
    option = f"--unset {name}"
    asset, param = split_name(name)
    if asset is None:
        values = doc.get("parameter_values")
        present = list(values) if isinstance(values, CommentedMap) else []
        if param not in present:
            ctx.refuse(
                f"{option}: `parameter_values` has no `{param}`{suggest(param, present)} "
                f"(a value for one asset is unset as `ASSET.{param}`)"
            )
            return
        remove(doc, ("parameter_values", param))
        ctx.changes.append(f"removed parameter_values.{param}")
        return
    ops = doc.get("ops_config")
    own = ops.get(asset) if isinstance(ops, CommentedMap) else None
    present = list(own) if isinstance(own, CommentedMap) else []
    if param not in present:
        where = f"`ops_config.{asset}`" if present else f"`ops_config` for `{asset}`"
        ctx.refuse(f"{option}: {where} has no value `{param}`{suggest(param, present)}")
        return
    remove(doc, ("ops_config", asset, param))
    ctx.changes.append(f"removed ops_config.{asset}.{param}")
    schema = doc.get("params_schema")
    if (
        isinstance(schema, CommentedMap)
        and name in schema
        and _says_nothing(ctx, name, schema[name])
    ):
        remove(doc, ("params_schema", name))
        ctx.changes.append(f"removed params_schema.{name} (its type is the field's type anyway)")


def _says_nothing(ctx: EditContext, name: str, text: Any) -> bool:
    """Whether the ``params_schema`` entry ``A.p`` gives the type the field has without it."""
    asset, param = split_name(name)
    assert asset is not None
    try:
        written = parse_type(text)
    except TypeStringError:
        return False
    shared = ctx.field_named(param)
    without = shared.type if shared is not None else ctx.declared(asset, param)
    return without == written


def migrate(doc: CommentedMap, ctx: EditContext, spec: JobSpec) -> None:
    """Rewrite the older form into the prefixed one, by the rule of
    :func:`nexus_dagster.authoring.migrate_spec`; ``spec`` is the file loaded before."""
    schema = doc.get("params_schema")
    if not isinstance(schema, CommentedMap):
        return
    decls = {a: ctx.catalog.by_name[a].params for a in spec.selected}
    ops = spec.model.ops_config
    named_elsewhere = set(spec.model.parameter_values)
    for section in _VALUE_SECTIONS:
        for item in doc.get(section) or []:
            if isinstance(item, Mapping) and isinstance(item.get("parameter_values"), Mapping):
                named_elsewhere.update(item["parameter_values"])
    for param in [k for k in schema if split_name(str(k))[0] is None]:
        owners = [a for a, params in decls.items() if param in params]
        own = [a for a in owners if param in ops.get(a, {})]
        if not own:
            continue
        text = schema[param]
        added = [prefixed(a, param) for a in own if prefixed(a, param) not in schema]
        pos = list(schema).index(param)
        for offset, name in enumerate(added, start=1):
            insert(
                schema, pos + offset, name, type(text)(str(text)) if isinstance(text, str) else text
            )
        drop = len(own) == len(owners) and param not in named_elsewhere
        if drop:
            token = comment_token(schema, param)
            if added and token is not None and token.value.startswith("#"):
                eol = token.value.partition("\n")[0]
                first = comment_token(schema, added[0])
                # Keep the gap between value and comment that the line had.
                width = len(flow_text(text)) + 2 + getattr(schema.lc, "col", 0) or 0
                gap = max(token.start_mark.column - width - len(str(param)), 1)
                column = width + len(added[0]) + gap
                set_comment_token(
                    schema,
                    added[0],
                    CommentToken(eol + (first.value if first else "\n"), CommentMark(column), None),
                )
            remove(doc, ("params_schema", param))
        listed = ", ".join(added) or "nothing"
        if drop:
            ctx.changes.append(
                f"params_schema.{param} -> {listed} (every asset that reads `{param}` has its "
                "own value, which always wins: the shared field could reach none)"
            )
        elif added:
            kept = ", ".join(a for a in owners if a not in own) or "the values that name it"
            ctx.changes.append(
                f"params_schema: added {listed} beside the shared `{param}`, kept for {kept}"
            )


def same_meaning(before: JobSpec | None, after: JobSpec | None) -> list[str]:
    """A migration keeps every field but the dead shared ones it drops, unchanged."""
    if before is None or after is None:
        return ["the migrated spec does not load; please report this"]
    old = {f.name: f for f in before.fields}
    changed = [
        f.name
        for f in after.fields
        if f.name not in old
        or (f.type.optional, f.required, f.default, f.assets)
        != (
            old[f.name].type.optional,
            old[f.name].required,
            old[f.name].default,
            old[f.name].assets,
        )
    ]
    if changed:
        return [f"migrating would change the fields {', '.join(changed)}; please report this"]
    return []
