"""One daily partition per calendar day in Asia/Shanghai, today included (a hand-run sync on a holiday
must have a partition to land in); only the schedule keeps to weekdays."""

import dagster as dg

DAILY = dg.DailyPartitionsDefinition(start_date="2025-12-01", timezone="Asia/Shanghai", end_offset=1)

# One process talks to the proxy account at a time: both fetching steps sit in this pool (limit 1).
PROXY_POOL = "boardsync_proxy"

# What both fetching assets share: their day, their pool, their group, and the DATE column the IO manager
# replaces a partition by.
FETCHED_ASSET = {
    "key_prefix": ["raw"],  # the asset key names its table: raw/board_list -> raw.board_list
    "partitions_def": DAILY,
    "pool": PROXY_POOL,
    "group_name": "raw",
    "kinds": {"python", "duckdb"},
    "metadata": {"partition_expr": "snapshot_date"},
}
