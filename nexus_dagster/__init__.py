"""nexus-dagster: parameterized Dagster asset jobs from YAML spec files.

Per-asset parameters appear on the launchpad under prefixed names
(``sales_ingestion_asset.source_bucket``), shared ones under simple names (``target_bucket``),
and each asset resolves its own values at run time: per-asset value first, then shared.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from nexus_dagster.asset import nexus_asset, nexus_asset_check
from nexus_dagster.asset_page import with_parameter_tables
from nexus_dagster.catalog import inspect_selection_params
from nexus_dagster.component import NexusComponentError, NexusJobsComponent
from nexus_dagster.errors import (
    NexusConfigError,
    NexusDeclarationError,
    NexusEditError,
    NexusError,
    NexusParamError,
    NexusRunError,
    NexusSelectionError,
    NexusSpecError,
    SpecProblem,
)
from nexus_dagster.factory import build_definitions
from nexus_dagster.resource import NexusParams
from nexus_dagster.run_requests import nexus_run_config, nexus_run_request
from nexus_dagster.spec import JobSpec, load_job_specs

if TYPE_CHECKING:
    from nexus_dagster.authoring import (
        EditResult,
        create_spec,
        migrate_spec,
        migrate_specs,
        update_spec,
    )

# The editing API imports ruamel.yaml, about a tenth of a second that every code-server load and
# every step process would pay for nothing; it is imported when first asked for.
_LAZY = {
    name: "nexus_dagster.authoring"
    for name in ("EditResult", "create_spec", "migrate_spec", "migrate_specs", "update_spec")
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "EditResult",
    "JobSpec",
    "NexusComponentError",
    "NexusConfigError",
    "NexusDeclarationError",
    "NexusEditError",
    "NexusError",
    "NexusJobsComponent",
    "NexusParamError",
    "NexusParams",
    "NexusRunError",
    "NexusSelectionError",
    "NexusSpecError",
    "SpecProblem",
    "build_definitions",
    "create_spec",
    "inspect_selection_params",
    "load_job_specs",
    "migrate_spec",
    "migrate_specs",
    "nexus_asset",
    "nexus_asset_check",
    "nexus_run_config",
    "nexus_run_request",
    "update_spec",
    "with_parameter_tables",
]
