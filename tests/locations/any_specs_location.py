"""A code location over the partitioned location's assets whose specs folder is
``$NEXUS_SPECS_DIR``: lets a test load any fixture folder of specs the way Dagster would
(``$NEXUS_ON_SPEC_ERROR``: ``raise``, the default, or ``isolate``)."""

import os

from partitioned_location import ASSETS, Warehouse

from nexus_dagster import build_definitions

defs = build_definitions(
    os.environ["NEXUS_SPECS_DIR"],
    assets=ASSETS,
    resources={"warehouse": Warehouse.configure_at_launch()},
    on_spec_error=os.environ.get("NEXUS_ON_SPEC_ERROR", "raise"),  # type: ignore[arg-type]
)
