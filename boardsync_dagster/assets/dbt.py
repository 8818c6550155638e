"""The dbt models as Dagster assets, downstream of raw/board_list and raw/board_members; dbt tests become checks."""

import json

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from boardsync_dagster.dbt_project import DBT_EXECUTABLE, boardsync_dbt
from boardsync_dagster.resources import SyncResource

translator = DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=False))


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=boardsync_dbt, dbt_executable=DBT_EXECUTABLE)


@dbt_assets(manifest=boardsync_dbt.manifest_path, project=boardsync_dbt, dagster_dbt_translator=translator)
def boardsync_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, sync: SyncResource):
    """Rebuilds the marts from all stored snapshots; the incremental models only touch days that changed.
    The DuckDB file is the `sync` resource's `database`, the one the raw assets write."""
    build = ["build", "--vars", json.dumps({"boardsync_db": sync.database_path()})]
    yield from dbt.cli(build, context=context).stream()
