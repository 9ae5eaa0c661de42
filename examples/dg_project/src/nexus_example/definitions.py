from pathlib import Path

from dagster import definitions, load_from_defs_folder

from nexus_dagster import with_parameter_tables


@definitions
def defs():
    # Each asset's page shows its parameters and the values Materialize resolves.
    return with_parameter_tables(load_from_defs_folder(path_within_project=Path(__file__).parent))
