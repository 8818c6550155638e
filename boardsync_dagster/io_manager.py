"""DuckDB IO manager for polars frames, built from the `sync` resource, with the two fixes the stock one needs.

The file is the `database` setting of the `sync` resource, the one field the store and dbt read too, so a
launchpad override of it reaches all three. Tables are named by the asset key: `raw/board_list` -> raw.board_list.

- Replacing a partition is one transaction: the stock manager deletes and inserts in two autocommit
  statements, so a failed insert left the partition empty.
- Inputs are read with `.pl()`: the stock polars handler calls `.arrow()`, which duckdb 2 no longer has.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import polars as pl
from dagster import Failure, InputContext, MetadataValue, OutputContext, TableColumn, TableSchema
from dagster_duckdb.io_manager import DbIOManager, DbTypeHandler, DuckDbClient, TableSlice

from boardsync_dagster.dagster_private import cleanup_statement
from boardsync_dagster.storage import DatabaseBusyError, connect, transaction


class AtomicDuckDbClient(DuckDbClient):
    def __init__(self, path: str, wait_s: float) -> None:
        self.path, self.wait_s = path, wait_s

    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection) -> None:
        # A failing DELETE on a missing table would abort the surrounding transaction: look first.
        exists = connection.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchone()
        if exists:
            connection.execute(cleanup_statement(table_slice))

    @contextmanager
    def connect(self, context, _) -> Iterator:
        try:
            conn = connect(self.path, wait_s=self.wait_s)
        except DatabaseBusyError as exc:
            # Dagster would wrap it as "Error occurred while handling output": say what happened instead.
            raise Failure(description=str(exc)) from exc
        try:
            with transaction(conn):
                yield conn
        finally:
            conn.close()


class PolarsTypeHandler(DbTypeHandler[pl.DataFrame]):
    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection):
        # An empty frame still replaces the partition (the delete ran in this transaction) and still creates
        # the table with its columns, so readers never meet a missing table.
        connection.register("frame_to_write", obj)
        try:
            table = f"{table_slice.schema}.{table_slice.table}"
            connection.execute(f"create table if not exists {table} as select * from frame_to_write limit 0")
            connection.execute(f"insert into {table} by name select * from frame_to_write")
        finally:
            connection.unregister("frame_to_write")
        return {
            "row_count": obj.height,
            "dataframe_columns": MetadataValue.table_schema(
                TableSchema(columns=[TableColumn(name=n, type=str(t)) for n, t in obj.schema.items()])
            ),
        }

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> pl.DataFrame:
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pl.DataFrame()
        return connection.sql(DuckDbClient.get_select_statement(table_slice)).pl()

    @property
    def supported_types(self):
        return [pl.DataFrame]


@dg.io_manager(
    required_resource_keys={"sync"},
    description="The raw tables in the DuckDB file of the `sync` resource; a partition is replaced atomically.",
)
def boardsync_io_manager(init_context: dg.InitResourceContext) -> DbIOManager:
    sync = init_context.resources.sync
    database = sync.database_path()
    return DbIOManager(
        db_client=AtomicDuckDbClient(database, sync.setting("lock_wait")),
        database=database,
        schema=None,  # from the asset key's prefix: raw
        type_handlers=[PolarsTypeHandler()],
        default_load_type=pl.DataFrame,
        io_manager_name="boardsync_io_manager",
    )
