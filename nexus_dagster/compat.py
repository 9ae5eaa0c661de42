"""What differs between the Dagster releases the package supports (every 1.12.x and 1.13.x,
docs/dagster-releases.md), in one place: each function here does one thing the way the
installed release spells it. Each tells which releases spell it which way; the installed
release is told by what its objects have, never by its version number, so a release in
between (or a backport) takes whichever spelling it has.

``make test`` runs the tests marked ``floor`` against the oldest release supported (Dagster
1.12.0 on Python 3.10, ``.venv-floor``), and every test against the release of
``requirements.lock``: both spellings of each difference below run there.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import dagster as dg

__all__ = [
    "build_defs_at",
    "decl_loc",
    "loc_decl_pairs",
    "partition_key_of",
    "tree_build_defs",
    "tree_load_component",
]


def partition_key_of(context: Any) -> str | None:
    """The partition key of the run an asset or an asset check executes in (its execution
    context's ``partition_key``), or ``None`` when the run has no partition.

    Dagster 1.12.0's ``AssetCheckExecutionContext`` (and ``DirectAssetCheckExecutionContext``,
    a check invoked directly) has neither ``has_partition_key`` nor ``partition_key``: its
    ``op_execution_context`` has them. Later 1.12 releases (1.12.22 among them) and 1.13 have
    them on the check's context too. An asset's context has them on every release.
    """
    if not hasattr(type(context), "has_partition_key"):
        context = context.op_execution_context  # an asset check's, on Dagster 1.12.0
    key: str | None = context.partition_key if context.has_partition_key else None
    return key


def decl_loc(decl: Any) -> Any:
    """Where a component declaration (``dagster.components.core.decl.ComponentDecl``) stands in
    the defs tree, as ``ComponentLoadContext.build_defs`` and
    ``ComponentTree.find_decl_at_path`` take it.

    Dagster 1.12 and the first 1.13 releases (1.13.0 among them) call it ``decl.path`` (a
    ``ComponentPath``); later 1.13 releases (1.13.27 among them) call it ``decl.loc`` (a
    ``ComponentLoc``, of which ``ComponentPath`` is a kind) and have no ``path``.
    """
    loc = getattr(decl, "loc", None)
    return loc if loc is not None else decl.path


def build_defs_at(context: dg.ComponentLoadContext, loc: Any) -> dg.Definitions:
    """The definitions of the defs folder (or file) at ``loc`` of the project, built from a
    component's ``build_defs`` as ``context.build_defs(loc)`` builds them: the folder is
    recorded as one the component depends on.

    Dagster 1.12.0 calls it ``context.build_defs_at_path(loc)`` and has no
    ``context.build_defs``; later 1.12 releases (1.12.22 among them) have both, with
    ``build_defs_at_path`` deprecated ("Use build_defs instead"); 1.13 has ``build_defs``
    alone.
    """
    build = getattr(context, "build_defs", None)
    if build is None:
        build = context.build_defs_at_path  # type: ignore[attr-defined]  # Dagster 1.12.0
    result: dg.Definitions = build(loc)
    return result


def loc_decl_pairs(decl: Any) -> Iterator[tuple[Any, Any]]:
    """Every component declaration under ``decl`` (a ``ComponentDecl``, the defs folder's top
    one say), each with where it stands in the defs tree: ``(loc, decl)`` pairs.

    Dagster 1.12 and the first 1.13 releases (1.13.0 among them) call it
    ``decl.iterate_path_component_decl_pairs()``; later 1.13 releases (1.13.27 among them)
    ``decl.iterate_loc_component_decl_pairs()`` alone.
    """
    pairs = getattr(decl, "iterate_loc_component_decl_pairs", None)
    if pairs is None:
        pairs = decl.iterate_path_component_decl_pairs
    result: Iterator[tuple[Any, Any]] = pairs()
    return result


def tree_build_defs(tree: Any, loc: Any) -> dg.Definitions:
    """The definitions of one part of a project's ``ComponentTree`` (a component, a defs
    folder) at ``loc``, built alone, as ``dg check defs`` builds them.

    Dagster 1.12.0's ``ComponentTree.build_defs()`` takes no ``loc`` (it builds the whole
    project): a part is built by ``tree.build_defs_at_path(loc)``. Later 1.12 releases (1.12.22
    among them) and 1.13 take ``tree.build_defs(loc)``, ``build_defs_at_path`` beside it.
    """
    if inspect.signature(tree.build_defs).parameters:
        result: dg.Definitions = tree.build_defs(loc)
    else:
        result = tree.build_defs_at_path(loc)  # Dagster 1.12.0
    return result


def tree_load_component(tree: Any, loc: Any) -> Any:
    """The component declared at ``loc`` of a project's ``ComponentTree``, loaded (not built).

    Dagster 1.12.0 calls it ``tree.load_component_at_path(loc)``; later 1.12 releases (1.12.22
    among them) and 1.13 ``tree.load_component(loc)`` alone.
    """
    load = getattr(tree, "load_component", None)
    if load is None:
        load = tree.load_component_at_path  # Dagster 1.12.0
    return load(loc)
