"""board_sync_job against the simulator: a complete day, a failing board, a resumed day, a refused date."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from tests.jobrun import RAW
from tests.platform.conftest import Platform, check_results, today, truth_rows


def test_complete_day_matches_the_simulator_row_by_row(calm: Platform):
    result = calm.run(assets=RAW)

    assert result.success
    checks = check_results(result)
    assert checks["board_list_complete"] and checks["all_boards_complete"]
    assert checks["board_stock_unique"] and checks["codes_and_markets_valid"]
    stored = set(calm.query("select board_code, stock_code, stock_name, market from raw.board_members"))
    assert stored == truth_rows(calm.sim)
    listed = calm.query("select board_code, board_name, board_kind from raw.board_list")
    assert sorted(listed) == sorted((b.code, b.name, b.kind.value) for b, _ in calm.sim.truth().values())
    assert calm.query("select distinct snapshot_date::varchar from raw.board_members") == [(today(),)]
    members = result.asset_materializations_for_node("raw__board_members")[0].metadata
    assert members["boards_ok"].value == len(calm.sim.truth())
    # The report compares the day with our own history (none yet); the seed's table is the demo's and bench's.
    assert (
        "| boards complete |" in members["result"].value
        and "no earlier complete day" in members["result"].value
    )


def test_rerun_fetches_only_what_is_missing(calm: Platform):
    some = sorted(calm.sim.truth())[:3]
    first = calm.run(assets=RAW, boards=some)
    assert not first.success  # the day is not complete yet: the blocking check says so
    assert check_results(first)["all_boards_complete"] is False
    assert calm.query("select count(distinct board_code) from raw.board_members") == [(3,)]

    second = calm.run(assets=RAW)
    assert second.success
    metadata = second.asset_materializations_for_node("raw__board_members")[0].metadata
    assert metadata["boards_skipped"].value == 3
    assert metadata["boards_ok"].value == len(calm.sim.truth()) - 3
    assert set(calm.query("select board_code, stock_code, stock_name, market from raw.board_members")) == (
        truth_rows(calm.sim)
    )

    before = calm.sim.stats()["requests"]
    third = calm.run(assets=RAW)
    list_pages = calm.sim.stats()["requests"] - before
    assert third.success
    assert third.asset_materializations_for_node("raw__board_members")[0].metadata["boards_ok"].value == 0
    assert list_pages <= 4  # only the board lists were fetched again, no member page

    forced = calm.run(assets=RAW, force=True)
    assert forced.asset_materializations_for_node("raw__board_members")[0].metadata["boards_ok"].value == len(
        calm.sim.truth()
    )
    assert calm.query("select count(*) from raw.board_members") == [(len(truth_rows(calm.sim)),)]


def test_a_board_deleted_after_listing_is_gone_and_the_day_completes_through_the_models(calm: Platform):
    """Issue 11.9: such a board used to fail the day after max_retry attempts and stop every dbt model."""
    assert calm.run(assets=["raw/board_list"]).success
    changes = calm.sim.advance_day(
        members_added=0, members_removed=0, boards_added=0, boards_deleted=1, boards_renamed=0
    )
    gone = changes.boards_deleted[0].code
    job = calm.definitions().resolve_job_def("board_sync_job")
    after_the_list = [
        k.to_user_string() for k in job.asset_layer.executable_asset_keys if k.path != ["raw", "board_list"]
    ]

    result = calm.run(assets=after_the_list, max_retry=2)

    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization}
    assert any(k.startswith("marts/") for k in materialized)  # the check let the models run
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "all_boards_complete"
    )
    assert evaluation.passed
    assert evaluation.metadata["boards_missing"].value == 0 and evaluation.metadata["boards_gone"].value == 1
    [listed] = evaluation.metadata["gone"].value
    assert listed["board_code"] == gone and "board gone" in listed["last_error"]
    status = calm.query(
        "select complete, gone, last_error from raw.board_sync_status where board_code = ?", [gone]
    )
    assert status and status[0][:2] == (False, True) and status[0][2].startswith("gone: board gone")
    members = result.asset_materializations_for_node("raw__board_members")[0].metadata
    assert members["boards_gone"].value == 1 and members["boards_failed"].value == 0
    stored = {r[0] for r in calm.query("select distinct board_code from raw.board_members")}
    assert stored == set(calm.sim.truth())  # every other board is stored
    assert calm.query("select count(*) from marts.complete_days") == [(1,)]


def test_a_past_date_is_refused_with_the_reason(calm: Platform):
    now = today()
    yesterday = (dt.date.fromisoformat(now) - dt.timedelta(days=1)).isoformat()
    result = calm.run(partition=yesterday, assets=RAW)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "Eastmoney keeps no history" in message and now in message
    assert calm.sim.stats()["requests"] == 0


def test_replay_days_land_in_their_own_partitions(calm: Platform):
    day1, day2 = "2026-03-02", "2026-03-03"
    assert calm.run(partition=day1, today=day1, assets=RAW).success
    changes = calm.sim.advance_day()
    assert calm.run(partition=day2, today=day2, assets=RAW).success

    rows = calm.query(
        "select snapshot_date::varchar, count(distinct board_code) from raw.board_list group by 1 order by 1"
    )
    truth_boards = len(calm.sim.truth())
    assert rows == [
        (day1, truth_boards + len(changes.boards_deleted) - len(changes.boards_added)),
        (day2, truth_boards),
    ]
    day2_rows = set(
        calm.query(
            "select board_code, stock_code, stock_name, market from raw.board_members where snapshot_date = ?",
            [dt.date.fromisoformat(day2)],
        )
    )
    assert day2_rows == truth_rows(calm.sim)


def test_bad_config_is_refused_naming_the_field(calm: Platform):
    with pytest.raises(pydantic.ValidationError, match="workers"):
        calm.run(assets=RAW, workers=0)

    result = calm.run(assets=RAW, req_delay_min=3.0, req_delay_max=1.0)
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "Bad configuration" in message and "req_delay_min" in message
    assert calm.sim.stats()["requests"] == 0


def test_a_launchpad_override_of_the_database_reaches_the_io_manager_the_store_and_dbt(
    calm: Platform, tmp_path
):
    """Issue 12: one field names the DuckDB file. Set in the run config (as the launchpad does), it is the file the
    raw tables, the checkpoint and status, and the dbt marts all land in; the code's own default file is untouched."""
    elsewhere = tmp_path / "elsewhere.duckdb"
    job = calm.definitions().resolve_job_def("board_sync_job")
    result = job.execute_in_process(
        partition_key=today(),
        instance=calm.instance,
        # Dagster replaces a resource's code-set values by the run config's, so the test's other settings go
        # along (under `dagster dev` they come from the environment, which the resource reads for unset ones).
        run_config={"resources": {"sync": {"config": {**calm.settings(), "database": str(elsewhere)}}}},
        raise_on_error=False,
    )
    assert result.success
    assert not calm.db.exists()
    other = Platform.__new__(Platform)
    other.db = elsewhere
    assert other.query("select count(distinct board_code) from raw.board_members") == [
        (len(calm.sim.truth()),)
    ]
    assert other.query("select count(*) from raw.board_sync_status where complete") == [
        (len(calm.sim.truth()),)
    ]
    assert other.query("select count(*) from marts.board_membership_current")[0][0] == len(
        truth_rows(calm.sim)
    )
