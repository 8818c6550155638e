"""The one Definitions object that `dagster dev`, `dagster definitions validate`, `dg` and the CLI load."""

from __future__ import annotations

import os

import dagster as dg

from boardsync_dagster.assets.board_list import board_list
from boardsync_dagster.assets.board_members import board_members
from boardsync_dagster.assets.dbt import boardsync_dbt_assets, dbt_resource
from boardsync_dagster.io_manager import BoardsyncDuckDBIOManager
from boardsync_dagster.jobs import board_sync_job
from boardsync_dagster.resources import (
    DEFAULT_DB,
    DEFAULT_EASTMONEY_URL,
    EastmoneyResource,
    ProxyResource,
    StorageResource,
)
from boardsync_dagster.schedules import board_sync_schedule
from boardsync_dagster.sensors import build_retry_sensor


def env_or(name: str, default: str | None) -> str | dg.EnvVar | None:
    """EnvVar(name) when the variable is set (Dagster resolves it at launch and records only its name),
    else the default: an unset optional variable is not an error (no proxy configured means direct)."""
    return dg.EnvVar(name) if name in os.environ else default


def default_resources(
    eastmoney: dict[str, object] | None = None,
    proxy: dict[str, object] | None = None,
    lock_wait_s: float | None = None,
) -> dict[str, object]:
    """The resources, with optional overrides of the non-secret knobs (the CLI's flags)."""
    database = env_or("BOARDSYNC_DB", DEFAULT_DB)
    wait = {} if lock_wait_s is None else {"lock_wait_s": lock_wait_s}
    return {
        "io_manager": BoardsyncDuckDBIOManager(database=database, schema="raw", **wait),
        "storage": StorageResource(database=database, today=env_or("BOARDSYNC_TODAY", None), **wait),
        "eastmoney": EastmoneyResource(
            base_url=env_or("BOARDSYNC_EASTMONEY_URL", DEFAULT_EASTMONEY_URL), **(eastmoney or {})
        ),
        "proxy": ProxyResource(**(proxy or {})),  # its secrets: environment only (resources.SECRET_ENV)
        "dbt": dbt_resource(),
    }


# Written by the board_members step as boards finish (storage.Store), read by dbt as a source: declared so the
# lineage shows where it comes from (dagster-dbt refuses a second source mapped to board_members).
board_sync_status = dg.AssetSpec(
    key=["raw", "board_sync_status"],
    deps=["board_members"],
    group_name="raw",
    kinds={"duckdb"},
    description="Per board and day: the API's total, members stored, complete, last error.",
)


def build_definitions(resources: dict[str, object] | None = None) -> dg.Definitions:
    """All of boardsync; `resources` replaces some of default_resources() (tests, the CLI)."""
    return dg.Definitions(
        assets=[board_list, board_members, board_sync_status, boardsync_dbt_assets],
        jobs=[board_sync_job],
        schedules=[board_sync_schedule],
        sensors=[build_retry_sensor()],
        resources={**default_resources(), **(resources or {})},
    )


defs = build_definitions()
