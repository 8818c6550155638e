"""The dbt project seen from Dagster: asset keys, lineage to the raw assets, dbt tests as asset checks."""

import dagster as dg

from boardsync_dagster.dbt_project import boardsync_dbt
from boardsync_dagster.resources import SyncResource


def load_assets():
    if not boardsync_dbt.manifest_path.exists():
        boardsync_dbt.preparer.prepare(boardsync_dbt)
    from boardsync_dagster.assets.dbt import boardsync_dbt_assets, dbt_resource

    return boardsync_dbt_assets, dbt_resource


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def test_models_are_assets_downstream_of_the_raw_assets():
    assets, _ = load_assets()
    assert {k.to_user_string() for k in assets.keys} == {
        "staging/stg_board_list",
        "staging/stg_board_members",
        "staging/stg_board_sync_status",
        "marts/complete_days",
        "marts/board_membership_changes",
        "marts/board_membership_history",
        "marts/board_membership_current",
        "marts/stock_boards",
        "marts/board_daily_stats",
        "marts/day_coverage",
        "marts/board_names",
        "marts/industry_levels",
    }
    assert assets.asset_deps[key("staging/stg_board_list")] == {key("raw/board_list")}
    assert assets.asset_deps[key("staging/stg_board_members")] == {key("raw/board_members")}
    # dagster-dbt refuses a second source with the key board_members: the status table keeps its own key.
    assert assets.asset_deps[key("staging/stg_board_sync_status")] == {key("raw/board_sync_status")}


def test_dbt_tests_are_asset_checks():
    assets, _ = load_assets()
    checks = {(c.asset_key.to_user_string(), c.name) for c in assets.check_keys}
    assert (
        "marts/board_membership_history",
        "no_overlapping_stays_board_membership_history_board_code__stock_code",
    ) in checks
    assert ("marts/board_daily_stats", "changes_replay_to_daily_membership") in checks
    assert ("marts/board_membership_history", "current_matches_open_stays") in checks
    # The raw tables are tested through the staging views: no checks land on the partitioned upstream assets.
    assert ("staging/stg_board_members", "not_null_stg_board_members_stock_code") in checks
    assert not {name for asset, name in checks if asset in ("raw/board_list", "raw/board_members")}


def test_definitions_load_with_the_resource():
    assets, dbt_resource = load_assets()
    resource = dbt_resource()
    assert resource.dbt_executable.endswith("/dbt")
    defs = dg.Definitions(assets=[assets], resources={"dbt": resource, "sync": SyncResource()})
    assert key("marts/board_membership_history") in defs.resolve_asset_graph().get_all_asset_keys()


def test_materialize_reads_a_relative_boardsync_db(tmp_path, monkeypatch):
    """A relative database setting (here from BOARDSYNC_DB) is Dagster's working directory's file for dbt too,
    although dbt runs in dbt_project/."""
    from tests.dbt.raw_tables import query, write_day
    from tests.dbt.scenario import D1, DAYS

    write_day(tmp_path / "boardsync.duckdb", D1, DAYS[D1])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOARDSYNC_DB", "boardsync.duckdb")
    assets, dbt_resource = load_assets()

    result = dg.materialize([assets], resources={"dbt": dbt_resource(), "sync": SyncResource()})

    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(evaluation.passed for evaluation in evaluations)
    assert query(tmp_path / "boardsync.duckdb", "select count(*) from marts.board_membership_current") == [
        (9,)
    ]
