"""Dagster internals boardsync uses where no public API exists, all in this one module.

Checked on dagster 1.13.27, dagster-duckdb 0.29.27, dagster-dbt 0.29.27: re-check each line when they move.
"""

# The event log's filter on check-execution status (the retry sensor): dagster exports no public name for it.
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

# DbtProject takes no preparer argument; its record copy is how one is swapped in (dbt_project.py).
from dagster._record import replace as replace_record

# The failure a step event carries (the CLI reads its class name and first line): not exported by dagster.
from dagster._utils.error import SerializableErrorInfo

# The stock DuckDB cleanup statement (a partition's WHERE clause); our IO manager runs it inside its transaction.
from dagster_duckdb.io_manager import _get_cleanup_statement as cleanup_statement

__all__ = ["AssetCheckExecutionRecordStatus", "SerializableErrorInfo", "cleanup_statement", "replace_record"]
