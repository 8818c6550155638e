"""DuckDB IO manager for polars frames, with the two fixes the stock one needs here.

- Replacing a partition is one transaction: the stock manager deletes and inserts in two autocommit
  statements, so a failed insert left the partition empty.
- Inputs are read with `.pl()`: the stock polars handler calls `.arrow()`, which duckdb 2 no longer has.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import polars as pl
from dagster import Failure, InputContext, MetadataValue, OutputContext, TableColumn, TableSchema
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient, DuckDBIOManager, _get_cleanup_statement
from pydantic import Field

from boardsync_dagster.storage import DatabaseBusyError, connect, transaction


class AtomicDuckDbClient(DuckDbClient):
    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection) -> None:
        # A failing DELETE on a missing table would abort the surrounding transaction: look first.
        exists = connection.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchone()
        if exists:
            connection.execute(_get_cleanup_statement(table_slice))

    @staticmethod
    @contextmanager
    def connect(context, _) -> Iterator:
        try:
            conn = connect(context.resource_config["database"], wait_s=context.resource_config["lock_wait_s"])
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


class BoardsyncDuckDBIOManager(DuckDBIOManager):
    """Stores assets as tables in schema `raw` of the DuckDB file."""

    lock_wait_s: float = Field(
        default=30.0, description="How long to wait for another process to release the DuckDB file."
    )

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [PolarsTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pl.DataFrame

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(
            db_client=AtomicDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="BoardsyncDuckDBIOManager",
        )
