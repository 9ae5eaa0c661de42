"""The ``dg`` Component (docs/components.md): a specs folder declared in a ``defs.yaml``.

``NexusJobsComponent`` builds a specs folder's jobs, schedules and sensors with the same code as
:func:`~nexus_dagster.build_definitions` (``factory.build_specs_folder``). Its assets are those
of other defs folders, built by Dagster's own ``ComponentLoadContext.build_defs`` (which records
the dependency): the component never defines an asset. All the ``NexusJobsComponent`` of one
project share one ``params`` resource, which knows every component's jobs, and one set of job,
schedule and sensor names.
"""

from __future__ import annotations

import dataclasses
import textwrap
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterUserCodeProcessError
from dagster.components.core.component_tree import ComponentTree, ComponentTreeException
from dagster.components.core.decl import ComponentDecl
from dagster.components.core.defs_module import ComponentPath
from dagster_shared.error import SerializableErrorInfo
from pydantic import Field

from nexus_dagster.asset_defaults import SpecIndex
from nexus_dagster.compat import build_defs_at, decl_loc
from nexus_dagster.errors import NexusError, NexusSpecError, SpecProblem
from nexus_dagster.factory import Built, OnSpecError, build_specs_folder
from nexus_dagster.name_claims import NameClaims
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.resource import NexusParams
from nexus_dagster.rules import suggest
from nexus_dagster.run_requests import forget

DEFAULT_SPECS_DIR = "job_specs"
EXAMPLE_SPEC = "example_job.yaml.example"
"""The commented example the scaffolder writes; not a spec until renamed to ``*.yaml``."""


class NexusComponentError(NexusError, DagsterUserCodeProcessError, ComponentTreeException):
    """A ``NexusJobsComponent`` that cannot build because of its specs (or its ``assets_from``).

    ``spec_error`` is the :class:`NexusSpecError` with every problem. Dagster shows this error
    (in ``dg check defs``, ``dagster dev``, the UI) as its message alone: the component, then one
    ``path:line:col: key: message`` line per problem, the lines ``nexus-dagster validate``
    prints. A stack trace would show only the plugin's own frames. (Dagster reports a
    ``DagsterUserCodeProcessError`` by the error info it carries, and passes a
    ``ComponentTreeException`` on unwrapped.)
    """

    def __init__(self, defs_yaml: Path, spec_error: NexusSpecError, project_root: Path) -> None:
        self.defs_yaml = defs_yaml
        self.spec_error = spec_error
        # Paths from the project's root, where `dg` runs: the lines `nexus-dagster validate`
        # prints there.
        lines = [str(spec_error).splitlines()[0]]
        lines += [
            str(dataclasses.replace(p, path=_shown(p.path, project_root)))
            for p in spec_error.problems
        ]
        message = f"{_shown(str(defs_yaml), project_root)} (NexusJobsComponent): " + "\n".join(
            lines
        )
        info = SerializableErrorInfo(message=message, stack=[], cls_name=type(self).__name__)
        super().__init__(message, user_code_process_error_infos=[info])


@dataclass
class _Project:
    """What the ``NexusJobsComponent`` of one build of a loaded project share."""

    build: weakref.ref[Any]
    """The root load context of the build (the tree makes a new one for each build)."""
    index: SpecIndex = field(default_factory=SpecIndex)
    claims: NameClaims = field(default_factory=NameClaims)
    folders: set[str] = field(default_factory=set)
    """The specs folders whose jobs the build recorded for the run helpers."""
    params: NexusParams = field(init=False)

    def __post_init__(self) -> None:
        # One object for every component: Dagster refuses two different resources under one
        # key. It reads the index, which each component fills as it builds.
        self.params = NexusParams.bound_to(self.index)


# Keyed by the tree's state tracker, one per load of the project (the tree takes no weak
# reference). A new load builds a fresh tree; Dagster's in-place reload
# (`ComponentTree.reload_with_state`) builds the same tree again, its every `NexusJobsComponent`
# with it (each depends on the project's other defs folders). Either way the build starts with
# a fresh project: nothing of a spec edited or removed since, nor of a component removed, is
# left in the index, the names or the run helpers.
_PROJECTS: weakref.WeakKeyDictionary[Any, _Project] = weakref.WeakKeyDictionary()
_LAST_FOLDERS: dict[str, set[str]] = {}
"""By project (its defs folder): the specs folders its last build recorded."""


def _project_of(tree: ComponentTree) -> _Project:
    build = tree.load_context
    project = _PROJECTS.get(tree.state_tracker)
    if project is None or project.build() is not build:
        project = _PROJECTS[tree.state_tracker] = _Project(weakref.ref(build))
        key = str(tree.defs_module_path)
        forget(_LAST_FOLDERS.get(key, ()))
        _LAST_FOLDERS[key] = project.folders
    return project


class NexusJobsScaffolder(dg.Scaffolder):
    """``dg scaffold defs nexus_dagster.NexusJobsComponent NAME``: a ``defs.yaml`` and a specs
    folder holding a commented example spec."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        from dagster.components.component_scaffolding import scaffold_component

        if request.scaffold_format != "yaml" or request.append:
            scaffold_component(request, {"specs_dir": DEFAULT_SPECS_DIR})
        else:
            (request.target_path / "defs.yaml").write_text(_defs_yaml(request.type_name))
        specs = request.target_path / DEFAULT_SPECS_DIR
        specs.mkdir(parents=True, exist_ok=True)
        example = specs / EXAMPLE_SPEC
        if not example.exists():
            example.write_text(_EXAMPLE_SPEC_TEXT)


def _defs_yaml(type_name: str) -> str:
    return textwrap.dedent(
        f"""\
        type: {type_name}
        attributes:
          # The folder of job specs, relative to this file's folder.
          specs_dir: {DEFAULT_SPECS_DIR}
          # The defs folders (relative to the project's defs folder) whose assets the specs may
          # select. Left out: every other defs folder of the project.
          # assets_from: [ingestion]
        """
    )


_EXAMPLE_SPEC_TEXT = """\
# An example job spec. Rename this file to `example_job.yaml` (any `*.yaml` here is a job), then
# list your assets under `selection:`. `nexus-dagster params example_job` shows the fields the
# launchpad will show; `dg check defs` checks every spec.
#
# name: example_job                  # default: the file name
# description: Load the day's files
# selection: [sales_ingestion_asset, marketing_ingestion_asset]
# params_schema:                     # parameters the job adds to its assets'
#   target_bucket: string!
# parameter_values:                  # shared values, under simple names
#   target_bucket: warehouse
# ops_config:                        # values for one asset only
#   sales_ingestion_asset:
#     source_bucket: raw-sales
#   marketing_ingestion_asset:
#     source_bucket: raw-marketing
# schedules:
#   - cron: "0 6 * * *"
#     timezone: Europe/Paris
"""


@dg.scaffold_with(NexusJobsScaffolder)
class NexusJobsComponent(dg.Component, dg.Model, dg.Resolvable):
    """Parameterized asset jobs, schedules and sensors from a folder of nexus-dagster specs.

    Per-asset parameters show on the launchpad under prefixed names
    (``sales_ingestion_asset.source_bucket``), shared ones under simple names. The specs select
    assets of the project's other defs folders, or of those ``assets_from`` names.

    Example ``defs.yaml``::

        type: nexus_dagster.NexusJobsComponent
        attributes:
          specs_dir: job_specs
          assets_from: [ingestion]
    """

    specs_dir: str = Field(
        default=DEFAULT_SPECS_DIR,
        description="The folder of job specs, relative to the folder of this defs.yaml.",
    )
    assets_from: list[str] | None = Field(
        default=None,
        description=(
            "Defs folders, relative to the project's defs folder, whose assets the specs "
            "select. Left out: every other defs folder of the project."
        ),
    )

    on_spec_error: OnSpecError = Field(
        default="raise",
        description=(
            "`raise`: a spec with problems stops the project's load, with every problem. "
            "`isolate`: the other specs load and tick; each spec file with problems becomes a "
            "job that shows them and fails at run start. `dg check defs` fails either way."
        ),
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        try:
            return self._build_defs(context)
        except NexusSpecError as err:
            raise NexusComponentError(
                context.path / "defs.yaml", err, context.project_root
            ) from None

    def _build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        folder = self.specs_folder(context)
        assets = self.assets(context)
        project = _project_of(context.component_tree)
        owner = str(context.path)
        params = project.params
        # Jobs, schedules and sensors the project defines in Python: a spec may not take their
        # names (Dagster would say only "Duplicate job definition").
        tree = context.component_tree
        for loc in _other_defs(tree.find_decl_at_path(tree.defs_module_path)):
            other = build_defs_at(context, loc)
            project.claims.reserve_python(
                list(other.jobs or []),
                [*(other.schedules or []), *(other.sensors or [])],
                where=f"in {_shown(loc.file_path_posix, context.project_root)}",
            )

        def whole(built: Built) -> dg.Definitions:
            # The assets the specs select, for Dagster's check of their schedules' run config;
            # the component itself defines none.
            checks = [a for a in assets if isinstance(a, dg.AssetChecksDefinition)]
            return dg.Definitions(
                assets=[a for a in assets if not isinstance(a, dg.AssetChecksDefinition)],
                asset_checks=checks,
                jobs=built.jobs,
                resources={RESOURCE_KEY: params},
            )

        built, _ = build_specs_folder(
            folder,
            assets,
            project.index,
            whole,
            claims=project.claims,
            owner=owner,
            on_spec_error=self.on_spec_error,
        )
        project.folders.add(str(folder))
        return dg.Definitions(
            jobs=built.jobs,
            schedules=built.schedules,
            sensors=built.sensors,
            resources={RESOURCE_KEY: params},
        )

    def specs_folder(self, context: dg.ComponentDeclLoadContext) -> Path:
        """The specs folder: ``specs_dir`` taken from the folder of the ``defs.yaml``."""
        return (context.path / self.specs_dir).resolve()

    def assets(self, context: dg.ComponentLoadContext) -> list[Any]:
        """The assets the specs may select: those of ``assets_from``, else of every defs folder
        of the project that holds no ``NexusJobsComponent``."""
        tree = context.component_tree
        if self.assets_from is None:
            locs: Sequence[Any] = list(_other_defs(tree.find_decl_at_path(tree.defs_module_path)))
        else:
            locs = [self._asset_folder(context, i, name) for i, name in enumerate(self.assets_from)]
        assets: list[Any] = []
        for loc in locs:
            defs = build_defs_at(context, loc)
            # A check's parameters are parameters of its asset: the specs see the checks too.
            assets.extend([*(defs.assets or []), *(defs.asset_checks or [])])
        return assets

    def _asset_folder(self, context: dg.ComponentLoadContext, index: int, name: str) -> Any:
        path = (context.defs_module_path / name).resolve()
        problem = None
        if Path(name).is_absolute() or not path.is_relative_to(context.defs_module_path.resolve()):
            problem = f"`{name}` is not inside the project's defs folder; name a folder in it"
        elif not path.exists():
            there = sorted(
                p.name
                for p in context.defs_module_path.iterdir()
                if (p.is_dir() and not p.name.startswith((".", "_"))) or p.suffix == ".py"
            )
            hint = suggest(name, there) or "."
            problem = f"no `{name}` in the project's defs folder{hint} There: {', '.join(there)}"
        else:
            loc = ComponentPath.from_path(path)
            try:
                decl = context.component_tree.find_decl_at_path(loc)
            except Exception:
                problem = f"`{name}` holds no definitions Dagster loads"
            else:
                if any(is_nexus(d) for d in decl.iterate_all_component_decls()):
                    problem = f"`{name}` holds a NexusJobsComponent; name the folders of the assets"
                else:
                    return loc
        line, col, file = _position(context, ["attributes", "assets_from", index])
        raise NexusSpecError([SpecProblem(file, line, col, f"assets_from[{index}]", problem)])


def _shown(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def is_nexus(decl: ComponentDecl) -> bool:
    """Whether ``decl`` declares a :class:`NexusJobsComponent` (without loading it)."""
    try:
        return issubclass(decl.component_type, NexusJobsComponent)
    except TypeError:
        return False


def _other_defs(decl: ComponentDecl) -> Iterator[Any]:
    """The largest parts of the defs tree under ``decl`` that hold no ``NexusJobsComponent``."""
    if not any(is_nexus(d) for d in decl.iterate_all_component_decls()):
        yield decl_loc(decl)
        return
    for child in decl.iterate_child_component_decls():
        yield from _other_defs(child)


def _position(context: dg.ComponentLoadContext, key: list[Any]) -> tuple[int, int, str]:
    """Line, column and file of ``key`` in the ``defs.yaml`` that declared the component."""
    source = getattr(context.component_decl, "source_tree", None)
    tree = getattr(source, "source_position_tree", None)
    if tree is None:
        return 1, 1, str(context.path / "defs.yaml")
    position, _ = tree.lookup_closest_and_path(key, None)
    return position.start.line, position.start.col, position.filename
