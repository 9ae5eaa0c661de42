"""Finding and loading the code location the way the ``dagster`` CLI does (``-f FILE``,
``-m MODULE``, or ``workspace.yaml`` in the current folder) or the way ``dg`` does (the ``dg``
project the current folder is in), and reading from it what the command line needs: the assets
and the specs folder (in a ``dg`` project, each ``NexusJobsComponent``'s folder and assets).

The loading itself is Dagster's (``get_loadable_targets`` for a file or module, and the
workspace file parser for ``workspace.yaml``), so a location that ``dagster dev`` loads is
loaded here the same way, in this process.
"""

from __future__ import annotations

import dataclasses
import os
import sysconfig
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_dagster.errors import NexusError, NexusSpecError, SpecProblem
from nexus_dagster.factory import SPECS_DIR_METADATA

WORKSPACE_FILE = "workspace.yaml"


class LocationError(NexusError):
    """The code location could not be found or could not be loaded."""


@dataclass(frozen=True)
class Target:
    """Where a code location's code is, as ``dagster`` CLI options or ``workspace.yaml`` say."""

    python_file: str | None = None
    module_name: str | None = None
    package_name: str | None = None
    working_directory: str | None = None
    attribute: str | None = None
    autoload_defs_module_name: str | None = None
    dg_project: str | None = None
    """The root folder of a ``dg`` project (its ``pyproject.toml`` or ``dg.toml``)."""

    @property
    def label(self) -> str:
        """How messages name the location: the file, the module or the dg project."""
        if self.dg_project:
            return f"dg project {_shown_path(self.dg_project)}"
        return self.python_file or self.module_name or self.package_name or "?"


@dataclass(frozen=True)
class SpecFolder:
    """The specs folder of one ``NexusJobsComponent`` of a ``dg`` project, and the assets its
    specs may select (its ``assets_from``)."""

    path: Path
    assets: Sequence[Any]
    defs_yaml: Path
    loc: Any = None
    """The component's place in the project's ``ComponentTree`` (to build it alone)."""


@dataclass(frozen=True)
class Location:
    """A loaded code location.

    ``assets`` is ``None`` when the location did not load and did not say which assets it
    has; ``spec_error`` is set when it failed to load because of its specs.
    """

    target: Target
    specs_dir: Path | None
    assets: Sequence[Any] | None
    spec_error: NexusSpecError | None = None
    definitions: Any = None
    """The loaded ``dg.Definitions``, when the import succeeded."""
    folders: tuple[SpecFolder, ...] = ()
    """In a ``dg`` project: every ``NexusJobsComponent``'s specs folder (else empty)."""
    component_tree: Any = None
    """In a ``dg`` project: its ``ComponentTree``, not built yet (see :meth:`build_project`)."""
    project_module: str | None = None
    """In a ``dg`` project: the module ``dg`` loads the code location from (its
    ``code_location_target_module``, by default ``<root_module>.definitions``), when it has one."""

    def dagster_load_error(self) -> str | None:
        """What Dagster says when it builds the repository from these definitions (as
        ``dagster definitions validate`` does), or ``None`` when it loads."""
        return None if self.definitions is None else _refused(self.definitions)

    def build_project(self) -> tuple[dict[Path, tuple[SpecProblem, ...]], str | None]:
        """A ``dg`` project loaded as ``dg check defs`` loads it: ``({}, None)`` when Dagster
        takes it; else the problems of each component's specs folder whose specs stop it, and
        what Dagster says. Each ``NexusJobsComponent`` is then built alone, in the order Dagster
        builds them, so that the first one that fails does not hide the others' problems."""
        from nexus_dagster.compat import tree_build_defs
        from nexus_dagster.component import NexusComponentError

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                definitions = self._project_definitions()
            except Exception as err:  # whatever Dagster raises is reported, not hidden
                failed = f"{type(err).__name__}: {_first_line(err)}"
            else:
                return {}, _refused(definitions)
            problems: dict[Path, tuple[SpecProblem, ...]] = {}
            for folder in self.folders:
                try:
                    tree_build_defs(self.component_tree, folder.loc)
                except NexusComponentError as err:
                    problems[folder.path.resolve()] = err.spec_error.problems
                except Exception:  # another failure: the project's, `failed`, says it
                    continue
        return problems, failed

    def _project_definitions(self) -> Any:
        """The ``dg`` project's definitions as ``dg check defs`` and ``dg dev`` load them: from
        its code location module, which may add to what its defs folder builds (jobs of its
        own, say); else the defs folder's."""
        import dagster as dg
        from dagster._grpc.utils import get_loadable_targets

        if self.project_module is None:
            return self.component_tree.build_defs()
        loaded = get_loadable_targets(
            python_file=None,
            module_name=self.project_module,
            package_name=None,
            autoload_defs_module_name=None,
            working_directory=self.target.dg_project,
            attribute=None,
            resolve_lazy_defs=False,
        )
        found = _definitions_of(loaded)
        defs = next((d for d in found if isinstance(d, dg.Definitions)), None)
        if defs is None:
            raise LocationError(f"module {self.project_module} holds no `Definitions` object")
        return defs


def _definitions_of(loaded: Sequence[Any]) -> list[Any]:
    """What each loadable target of a file or module holds, a ``@dg.definitions`` function
    called as Dagster calls it when it loads the code location."""
    from dagster.components.definitions import LazyDefinitions

    found = [target.target_definition for target in loaded]
    return [d() if isinstance(d, LazyDefinitions) else d for d in found]


def _refused(definitions: Any) -> str | None:
    import dagster as dg

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dg.Definitions.validate_loadable(definitions)
    except Exception as err:  # whatever Dagster raises is reported, not hidden
        return f"{type(err).__name__}: {_first_line(err)}"
    return None


def find_target(
    python_file: str | None = None,
    module_name: str | None = None,
    workspace: str | None = None,
    working_directory: str | None = None,
    attribute: str | None = None,
    location_name: str | None = None,
) -> Target:
    """The code location named by ``dagster``-style options, else by ``./workspace.yaml``.

    Example::

        find_target(python_file="definitions.py")  # like `dagster dev -f definitions.py`
    """
    cwd = working_directory or os.getcwd()
    if python_file:
        return Target(python_file=python_file, working_directory=cwd, attribute=attribute)
    if module_name:
        return Target(module_name=module_name, working_directory=cwd, attribute=attribute)
    path = Path(workspace or WORKSPACE_FILE)
    if not path.is_file():
        project = None if workspace else find_dg_project(Path(cwd))
        if project is not None:
            return Target(dg_project=str(project), working_directory=cwd)
        raise LocationError(
            f"no code location: {path} not found; run in the folder of your workspace.yaml "
            "or in a dg project, or pass -f FILE or -m MODULE (as for the dagster CLI)"
        )
    return _target_from_workspace(path, location_name)


def find_dg_project(start: Path) -> Path | None:
    """The root of the ``dg`` project ``start`` is in: the nearest folder upwards whose
    ``dg.toml`` or ``pyproject.toml`` (``[tool.dg]``) says ``directory_type = "project"``, found
    as ``dg`` finds it."""
    from dagster_shared.utils.config import discover_config_file

    try:
        config = discover_config_file(start, lambda c: c.get("directory_type") == "project")
    except Exception as err:  # a malformed TOML file on the way up
        raise LocationError(
            f"looking for a dg project: {type(err).__name__}: {_first_line(err)}"
        ) from None
    return None if config is None else config.parent


def _target_from_workspace(path: Path, location_name: str | None) -> Target:
    from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    try:
        origins = location_origins_from_yaml_paths([str(path.resolve())])
    except Exception as err:  # Dagster raises several types for a malformed workspace file
        raise LocationError(f"{path}: not a valid workspace file: {_first_line(err)}") from None
    names = [origin.location_name for origin in origins]
    if location_name is not None:
        origins = [o for o in origins if o.location_name == location_name]
        if not origins:
            raise LocationError(
                f"{path}: no code location named `{location_name}`; choose one of: "
                + ", ".join(names)
            )
    if len(origins) != 1:
        raise LocationError(
            f"{path} lists {len(names)} code locations ({', '.join(names)}); "
            "choose one with -l NAME"
        )
    origin = origins[0]
    if not isinstance(origin, ManagedGrpcPythonEnvCodeLocationOrigin):
        raise LocationError(
            f"{path}: code location `{origin.location_name}` is served by a gRPC server and "
            "cannot be loaded here; pass -f FILE or -m MODULE"
        )
    lto = origin.loadable_target_origin
    return Target(
        python_file=lto.python_file,
        module_name=lto.module_name,
        package_name=lto.package_name,
        working_directory=lto.working_directory,
        attribute=lto.attribute,
        autoload_defs_module_name=lto.autoload_defs_module_name,
    )


def load_location(target: Target) -> Location:
    """Import the code location in this process and read its assets and specs folder.

    A location whose import raises :class:`NexusSpecError` (its specs are broken) is still
    returned, with the error; any other failure raises :class:`LocationError` naming the file
    and the exception.

    Example::

        location = load_location(find_target(python_file="definitions.py"))
        location.specs_dir, len(location.assets)
    """
    import dagster as dg
    from dagster._grpc.utils import get_loadable_targets

    if target.dg_project is not None:
        return _load_dg_project(target)
    try:
        with warnings.catch_warnings():
            # Warnings from importing user code are the business of `dagster dev`, not ours.
            warnings.simplefilter("ignore")
            # Target's fields are named as Dagster's loader takes them.
            fields = {k: v for k, v in dataclasses.asdict(target).items() if k != "dg_project"}
            loaded = get_loadable_targets(**fields, resolve_lazy_defs=False)
            definitions = _definitions_of(loaded)
    except NexusSpecError as err:
        specs_dir = Path(err.specs_dir) if err.specs_dir else None
        return Location(target, specs_dir, err.assets or None, spec_error=err)
    except Exception as err:
        raise LocationError(
            f"could not load the code location {target.label}{_where(err)}: "
            f"{type(err).__name__}: {_first_line(err)}"
        ) from err
    defs = next((d for d in definitions if isinstance(d, dg.Definitions)), None)
    if defs is None:
        raise LocationError(
            f"code location {target.label} holds no `Definitions` object; nexus-dagster needs "
            "the one `build_definitions` returns"
        )
    raw = (defs.metadata or {}).get(SPECS_DIR_METADATA)
    text = getattr(raw, "value", raw)
    return Location(
        target,
        Path(text) if isinstance(text, str) else None,
        # A check's parameters are parameters of its asset: the specs see the checks too.
        [*(defs.assets or []), *(defs.asset_checks or [])],
        definitions=defs,
    )


def _load_dg_project(target: Target) -> Location:
    """A ``dg`` project, loaded as ``dg`` does (``ComponentTree.for_project``): every
    ``NexusJobsComponent``'s folder and assets (their defs folders built); the components
    themselves are built only when asked (:meth:`Location.build_project`)."""
    import sys

    from dagster.components.core.component_tree import ComponentTree
    from dagster.components.core.context import ComponentLoadContext

    from nexus_dagster.compat import loc_decl_pairs, tree_load_component
    from nexus_dagster.component import NexusJobsComponent, is_nexus

    root = Path(target.dg_project or ".")
    # Where `dg` imports the project from: `src/` when the root module lives there.
    for folder in (root / "src", root):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
            break
    folders: list[SpecFolder] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ComponentTree.for_project(root)
            top = tree.find_decl_at_path(tree.defs_module_path)
            for loc, decl in loc_decl_pairs(top):
                if not is_nexus(decl):
                    continue
                component = tree_load_component(tree, loc)
                assert isinstance(component, NexusJobsComponent)
                context = ComponentLoadContext.from_decl_load_context(decl.context, decl)
                try:
                    assets = component.assets(context)
                except NexusSpecError as err:  # a bad `assets_from`
                    return Location(target, None, None, spec_error=err)
                folders.append(
                    SpecFolder(
                        component.specs_folder(context), assets, context.path / "defs.yaml", loc
                    )
                )
    except Exception as err:
        raise LocationError(
            f"could not load the {target.label}{_where(err)}: "
            f"{type(err).__name__}: {_first_line(err)}"
        ) from err
    assets = [a for folder in folders for a in folder.assets]
    return Location(
        target,
        folders[0].path if len(folders) == 1 else None,
        list({id(a): a for a in assets}.values()),
        folders=tuple(folders),
        component_tree=tree,
        project_module=_project_module(root),
    )


def _project_module(root: Path) -> str | None:
    """The module ``dg`` loads the project at ``root`` from, if it exists: the project's
    ``code_location_target_module``, by default ``<root_module>.definitions``."""
    import importlib.util

    from dagster_shared.utils.config import discover_config_file, load_toml_as_dict

    config = discover_config_file(root, lambda c: c.get("directory_type") == "project")
    if config is None:
        return None
    data = load_toml_as_dict(config)
    project = (
        data.get("project", {})
        if config.stem == "dg"
        else data.get("tool", {}).get("dg", {}).get("project", {})
    )
    root_module = project.get("root_module")
    name = project.get("code_location_target_module") or (
        f"{root_module}.definitions" if root_module else None
    )
    try:
        return name if name and importlib.util.find_spec(name) is not None else None
    except (ImportError, ValueError):
        return None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _where(err: BaseException) -> str:
    """`` (at file:line)`` for the innermost frame of the user's code, when there is one."""
    if isinstance(err, SyntaxError) and err.filename:
        return f" (at {_shown_path(err.filename)}:{err.lineno})"
    cause: BaseException = err.__cause__ or err
    paths = sysconfig.get_paths()
    not_users = tuple(
        {
            str(Path(__file__).parent),
            *(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")),
        }
    )
    frames = [
        f
        for f in traceback.extract_tb(cause.__traceback__)
        if "site-packages" not in f.filename
        and not f.filename.startswith(not_users)
        and not f.filename.startswith("<")
    ]
    return f" (at {_shown_path(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""


def _shown_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
