"""nexus-dagster: parameterized Dagster asset jobs from YAML spec files.

Per-asset parameters appear on the launchpad under prefixed names
(``sales_ingestion_asset.source_bucket``), shared ones under simple names (``target_bucket``),
and each asset resolves its own values at run time: per-asset value first, then shared.
"""

from nexus_dagster.asset import nexus_asset
from nexus_dagster.authoring import (
    EditResult,
    create_spec,
    migrate_spec,
    migrate_specs,
    update_spec,
)
from nexus_dagster.catalog import inspect_selection_params
from nexus_dagster.errors import (
    NexusConfigError,
    NexusDeclarationError,
    NexusEditError,
    NexusError,
    NexusParamError,
    NexusSelectionError,
    NexusSpecError,
    SpecProblem,
)
from nexus_dagster.factory import build_definitions
from nexus_dagster.resource import NexusParams
from nexus_dagster.run_requests import nexus_run_config, nexus_run_request
from nexus_dagster.spec import JobSpec, load_job_specs

__all__ = [
    "EditResult",
    "JobSpec",
    "NexusConfigError",
    "NexusDeclarationError",
    "NexusEditError",
    "NexusError",
    "NexusParamError",
    "NexusParams",
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
    "nexus_run_config",
    "nexus_run_request",
    "update_spec",
]
