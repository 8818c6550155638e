"""What the code location offers: the Definitions a user sees in the UI and `dagster definitions validate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from boardsync_dagster.definitions import defs
from boardsync_dagster.partitions import PROXY_POOL

REPO = Path(__file__).resolve().parents[2]
MARTS = {
    "board_membership_current",
    "board_membership_history",
    "board_membership_changes",
    "stock_boards",
    "board_daily_stats",
}


def test_assets_checks_and_automation_are_all_there():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    # The raw assets are named like their tables; the marts live in schema marts.
    assert {"raw/board_list", "raw/board_members", "raw/board_sync_status"} <= keys
    assert {f"marts/{name}" for name in MARTS} <= keys

    checks = {key.name for key in graph.asset_check_keys if key.asset_key.path == ["raw", "board_members"]}
    assert {"all_boards_complete", "board_stock_unique", "codes_and_markets_valid", "totals_stable"} <= checks
    assert any(key.name == "board_list_complete" for key in graph.asset_check_keys)

    assert defs.resolve_job_def("board_sync_job")
    assert defs.resolve_schedule_def("board_sync_schedule").job_name == "board_sync_job"
    assert defs.resolve_sensor_def("board_sync_retry_sensor")
    assert set(defs.resources) == {"io_manager", "sync", "dbt"}


def test_fetching_steps_share_one_pool_and_daily_shanghai_partitions():
    for name in ("board_list", "board_members"):
        node = defs.resolve_assets_def(dg.AssetKey(["raw", name]))
        assert node.op.pool == PROXY_POOL
        partitions = node.partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition)
        assert partitions.timezone == "Asia/Shanghai" and partitions.end_offset == 1


def test_every_mart_is_downstream_of_board_members():
    selection = dg.AssetSelection.assets(["raw", "board_members"]).downstream()
    downstream = {key.path[-1] for key in selection.resolve(defs.resolve_asset_graph())}
    assert downstream >= MARTS


def test_dagster_definitions_validate_passes():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOARDSYNC_")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dg_finds_the_project_through_pyproject():
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "list", "defs", "--json"],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOARDSYNC_")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout)
    assert {"raw/board_list", "raw/board_members"} <= {a["asset_key"] for a in listed["assets"]}
    assert [j["name"] for j in listed["jobs"]] == ["board_sync_job"]
    assert [s["name"] for s in listed["sensors"]] == ["board_sync_retry_sensor"]


def test_the_shipped_instance_config_limits_the_proxy_pool_to_one():
    settings = yaml.safe_load((REPO / "deploy/local/dagster.yaml").read_text())
    with dg.instance_for_test(overrides=settings) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
