"""The one Definitions object that `dagster dev`, `dagster definitions validate`, `dg` and the CLI load."""

from __future__ import annotations

import dagster as dg

from boardsync_dagster.assets.board_list import board_list
from boardsync_dagster.assets.board_members import board_members
from boardsync_dagster.assets.dbt import boardsync_dbt_assets, dbt_resource
from boardsync_dagster.io_manager import boardsync_io_manager
from boardsync_dagster.jobs import board_sync_job
from boardsync_dagster.resources import SyncResource
from boardsync_dagster.schedules import board_sync_schedule
from boardsync_dagster.sensors import build_retry_sensor

# Written by the board_members step as boards finish (storage.Store), read by dbt as a source: declared so the
# lineage shows where it comes from (dagster-dbt refuses a second source mapped to board_members).
board_sync_status = dg.AssetSpec(
    key=["raw", "board_sync_status"],
    deps=[["raw", "board_members"]],
    group_name="raw",
    kinds={"duckdb"},
    description="Per board and day: the API's total, members stored, complete, last error.",
)


def build_definitions(sync: SyncResource | None = None) -> dg.Definitions:
    """All of boardsync; `sync` sets some settings in code (the CLI's flags, tests), the rest resolve as usual."""
    return dg.Definitions(
        assets=[board_list, board_members, board_sync_status, boardsync_dbt_assets],
        jobs=[board_sync_job],
        schedules=[board_sync_schedule],
        sensors=[build_retry_sensor()],
        resources={"sync": sync or SyncResource(), "io_manager": boardsync_io_manager, "dbt": dbt_resource()},
    )


defs = build_definitions()
