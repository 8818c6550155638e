"""board_sync_job: board list -> members -> the dbt models, in one process (in-process executor)."""

import dagster as dg

from boardsync_dagster.assets.board_list import board_list
from boardsync_dagster.assets.board_members import board_members
from boardsync_dagster.assets.dbt import boardsync_dbt_assets
from boardsync_dagster.partitions import DAILY

board_sync_job = dg.define_asset_job(
    "board_sync_job",
    # The executable assets by name: raw/board_sync_status sits in the lineage between board_members and dbt
    # but is written by the members step itself, so a "downstream of board_list" selection would name it too.
    selection=dg.AssetSelection.assets(board_list, board_members, boardsync_dbt_assets),
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    description="Sync today's boards and members, verify them, rebuild the dbt models.",
)
