"""board_sync_job: board list -> members -> the dbt models, in one process (in-process executor)."""

import dagster as dg

from boardsync_dagster.partitions import DAILY

board_sync_job = dg.define_asset_job(
    "board_sync_job",
    selection=dg.AssetSelection.assets("board_list").downstream(),
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    description="Sync today's boards and members, verify them, rebuild the dbt models.",
)
