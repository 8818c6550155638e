"""The dbt models as Dagster assets, downstream of board_list and board_members; dbt tests become asset checks."""

import json
import os
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from boardsync_dagster.dbt_project import DBT_EXECUTABLE, boardsync_dbt

DEFAULT_DB = "data/boardsync.duckdb"

translator = DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=False))


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=boardsync_dbt, dbt_executable=DBT_EXECUTABLE)


def database_path() -> str:
    """The DuckDB file the raw assets write (BOARDSYNC_DB), made absolute.

    dbt runs with dbt_project/ as its working directory, where a relative path would name another file.
    """
    return str(Path(os.environ.get("BOARDSYNC_DB", DEFAULT_DB)).resolve())


@dbt_assets(manifest=boardsync_dbt.manifest_path, project=boardsync_dbt, dagster_dbt_translator=translator)
def boardsync_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Rebuilds the marts from all stored snapshots; the incremental models only touch days that changed."""
    build = ["build", "--vars", json.dumps({"boardsync_db": database_path()})]
    yield from dbt.cli(build, context=context).stream()
