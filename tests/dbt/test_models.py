"""Runs the scenario day by day through `dbt build` and checks every mart row by row."""

from datetime import timedelta
from pathlib import Path

import pytest

from tests.dbt.raw_tables import Board, copy_db, query, run_dbt, write_day
from tests.dbt.scenario import BROKERS, D1, D2, D3, D3_STORED, D4, D5, D6, D6_FIRST_SYNC, DAYS

MARTS = (
    "complete_days",
    "board_membership_changes",
    "board_membership_history",
    "board_daily_stats",
    "board_membership_current",
    "stock_boards",
    "day_coverage",
    "board_names",
    "industry_levels",
)


def marts(db: Path) -> dict[str, list[tuple]]:
    return {name: query(db, f"select * from marts.{name} order by all") for name in MARTS}


@pytest.fixture(scope="module")
def seen(tmp_path_factory) -> dict[str, dict[str, list[tuple]]]:
    """The marts after each step, by step name; "final" is after D6's re-sync."""
    db = tmp_path_factory.mktemp("incremental") / "boardsync.duckdb"
    seen = {}
    build = [("build",)]
    # A Dagster run of a subset of the assets: the history models run while the changes they read are stale.
    children_first = [
        ("run", "--select", "complete_days", "board_membership_history", "board_daily_stats"),
        ("build",),
    ]
    steps = [
        ("D1", D1, DAYS[D1], {}, build),
        ("D2", D2, DAYS[D2], {}, build),
        ("D3", D3, DAYS[D3], {"incomplete": D3_STORED}, build),
        ("D4", D4, DAYS[D4], {}, build),
        ("D5", D5, DAYS[D5], {}, children_first),
        ("D6 first sync", D6, D6_FIRST_SYNC, {}, build),
        ("final", D6, DAYS[D6], {"sync_number": 2}, build),
    ]
    for name, day, boards, options, commands in steps:
        write_day(db, day, boards, **options)
        for command in commands:
            run_dbt(db, *command)
        seen[name] = marts(db)
    run_dbt(db, "build")
    seen["built again"] = marts(db)
    full = copy_db(db, "full_refresh")
    run_dbt(full, "build", "--full-refresh")
    seen["full refresh"] = marts(full)
    seen["db"] = db
    return seen


def test_only_complete_days_count(seen):
    days = [row[:2] for row in seen["final"]["complete_days"]]
    assert days == [(D1, None), (D2, D1), (D4, D2), (D5, D4), (D6, D5)]
    assert [row[0] for row in seen["D3"]["complete_days"]] == [D1, D2]


def test_changes(seen):
    expected = [
        # First complete day: every member is added.
        (D1, "BK0001", "600000", "added"),
        (D1, "BK0001", "600036", "added"),
        (D1, "BK0001", "601398", "added"),
        (D1, "BK0002", "000776", "added"),
        (D1, "BK0002", "600030", "added"),
        (D1, "BK0002", "601688", "added"),
        (D1, "BK0100", "002747", "added"),
        (D1, "BK0100", "300024", "added"),
        (D1, "BK0100", "600000", "added"),
        (D2, "BK0001", "601288", "added"),
        (D2, "BK0100", "600000", "removed"),
        # D3 is incomplete: D4 is compared with D2.
        (D4, "BK0001", "601398", "removed"),
        (D4, "BK0100", "600000", "added"),
        (D4, "BK0101", "000001", "added"),
        (D4, "BK0101", "300024", "added"),
        (D5, "BK0001", "601398", "added"),
        (D5, "BK0002", "000776", "removed"),
        (D5, "BK0002", "600030", "removed"),
        (D5, "BK0002", "601688", "removed"),
        (D5, "BK0101", "002747", "added"),
        (D6, "BK0001", "600000", "removed"),
        (D6, "BK0101", "002747", "removed"),
    ]
    assert seen["final"]["board_membership_changes"] == expected


def test_history(seen):
    expected = [
        ("BK0001", "600000", D1, D6, D5),
        ("BK0001", "600036", D1, None, D6),
        ("BK0001", "601288", D2, None, D6),
        ("BK0001", "601398", D1, D4, D2),
        ("BK0001", "601398", D5, None, D6),
        ("BK0002", "000776", D1, D5, D4),
        ("BK0002", "600030", D1, D5, D4),
        ("BK0002", "601688", D1, D5, D4),
        ("BK0100", "002747", D1, None, D6),
        ("BK0100", "300024", D1, None, D6),
        ("BK0100", "600000", D1, D2, D1),
        ("BK0100", "600000", D4, None, D6),
        ("BK0101", "000001", D4, None, D6),
        ("BK0101", "002747", D5, D6, D5),
        ("BK0101", "300024", D4, None, D6),
    ]
    assert seen["final"]["board_membership_history"] == expected


def test_daily_stats(seen):
    expected = [
        (D1, "BK0001", 3, 3, 0),
        (D1, "BK0002", 3, 3, 0),
        (D1, "BK0100", 3, 3, 0),
        (D2, "BK0001", 4, 1, 0),
        (D2, "BK0002", 3, 0, 0),
        (D2, "BK0100", 2, 0, 1),
        (D4, "BK0001", 3, 0, 1),
        (D4, "BK0002", 3, 0, 0),
        (D4, "BK0100", 3, 1, 0),
        (D4, "BK0101", 2, 2, 0),
        (D5, "BK0001", 4, 1, 0),
        (D5, "BK0002", 0, 0, 3),
        (D5, "BK0100", 3, 0, 0),
        (D5, "BK0101", 3, 1, 0),
        (D6, "BK0001", 3, 0, 1),
        (D6, "BK0100", 3, 0, 0),
        (D6, "BK0101", 2, 0, 1),
    ]
    assert [row[:5] for row in seen["final"]["board_daily_stats"]] == expected


def test_current_membership_has_the_new_board_name(seen):
    expected = [
        (D6, "BK0001", "银行", "industry", "600036", "name 600036", "SH"),
        (D6, "BK0001", "银行", "industry", "601288", "name 601288", "SH"),
        (D6, "BK0001", "银行", "industry", "601398", "name 601398", "SH"),
        (D6, "BK0100", "人形机器人", "concept", "002747", "name 002747", "SZ"),
        (D6, "BK0100", "人形机器人", "concept", "300024", "name 300024", "SZ"),
        (D6, "BK0100", "人形机器人", "concept", "600000", "name 600000", "SH"),
        (D6, "BK0101", "低空经济", "concept", "000001", "name 000001", "SZ"),
        (D6, "BK0101", "低空经济", "concept", "300024", "name 300024", "SZ"),
    ]
    assert seen["final"]["board_membership_current"] == expected


def test_stock_boards(seen):
    # The industry at levels 1, 2, 3 (code, name): one industry board that day, so BK0001 is level 1.
    NO_LEVELS = (None,) * 6
    BANKS_LEVEL_1 = ("BK0001", "银行", *NO_LEVELS[2:])
    expected = [
        ("000001", "name 000001", "SZ", D6, [], [], ["BK0101"], ["低空经济"], 1, *NO_LEVELS),
        ("002747", "name 002747", "SZ", D6, [], [], ["BK0100"], ["人形机器人"], 1, *NO_LEVELS),
        (
            "300024",
            "name 300024",
            "SZ",
            D6,
            [],
            [],
            ["BK0100", "BK0101"],
            ["人形机器人", "低空经济"],
            2,
            *NO_LEVELS,
        ),
        ("600000", "name 600000", "SH", D6, [], [], ["BK0100"], ["人形机器人"], 1, *NO_LEVELS),
        ("600036", "name 600036", "SH", D6, ["BK0001"], ["银行"], [], [], 1, *BANKS_LEVEL_1),
        ("601288", "name 601288", "SH", D6, ["BK0001"], ["银行"], [], [], 1, *BANKS_LEVEL_1),
        ("601398", "name 601398", "SH", D6, ["BK0001"], ["银行"], [], [], 1, *BANKS_LEVEL_1),
    ]
    assert seen["final"]["stock_boards"] == expected


def test_incomplete_day_changes_nothing(seen):
    for name in MARTS[1:]:
        if name != "day_coverage":  # the one mart that reports incomplete days
            assert seen["D3"][name] == seen["D2"][name], name


def test_resync_replaces_the_first_sync(seen):
    first = [row for row in seen["D6 first sync"]["board_membership_changes"] if row[0] == D6]
    assert first == [(D6, "BK0001", "600000", "removed"), (D6, "BK0101", "600519", "added")]
    assert ("BK0101", "600519", D6, None, D6) in seen["D6 first sync"]["board_membership_history"]
    assert ("BK0101", "002747", D5, None, D6) in seen["D6 first sync"]["board_membership_history"]


def test_building_again_changes_nothing(seen):
    assert seen["built again"] == seen["final"]


def test_full_refresh_equals_incremental(seen):
    assert seen["full refresh"] == seen["final"]


def test_day_completed_late_moves_the_exit(seen):
    """D3 re-synced completely after D6 was built: 601398 now left BK0001 on D3, not D4."""
    db = copy_db(seen["db"], "late")
    write_day(db, D3, DAYS[D3], sync_number=2)
    run_dbt(db, "build")
    late = marts(db)

    assert [row[0] for row in late["complete_days"]] == [D1, D2, D3, D4, D5, D6]
    changes = late["board_membership_changes"]
    assert [row for row in changes if row[0] in (D3, D4)] == [
        (D3, "BK0001", "601398", "removed"),
        (D4, "BK0100", "600000", "added"),
        (D4, "BK0101", "000001", "added"),
        (D4, "BK0101", "300024", "added"),
    ]
    stays = [row for row in late["board_membership_history"] if row[:2] == ("BK0001", "601398")]
    assert stays == [("BK0001", "601398", D1, D3, D2), ("BK0001", "601398", D5, None, D6)]

    full = copy_db(db, "late_full_refresh")
    run_dbt(full, "build", "--full-refresh")
    assert marts(full) == late


def test_deleted_board_listed_again_starts_new_stays(seen):
    """BK0002, deleted on D5, is listed again on D7 (the next Tuesday): its members are added again, each with
    a new stay, and its old stays stay closed on D5."""
    d7 = D6 + timedelta(days=1)
    db = copy_db(seen["db"], "relisted")
    write_day(db, d7, [*DAYS[D6], Board("BK0002", "证券", "industry", ("600030", "601688", "688981"))])
    run_dbt(db, "build")
    relisted = marts(db)

    assert [row for row in relisted["board_membership_changes"] if row[0] == d7] == [
        (d7, "BK0002", "600030", "added"),
        (d7, "BK0002", "601688", "added"),
        (d7, "BK0002", "688981", "added"),
    ]
    assert [row for row in relisted["board_membership_history"] if row[0] == "BK0002"] == [
        ("BK0002", "000776", D1, D5, D4),
        ("BK0002", "600030", D1, D5, D4),
        ("BK0002", "600030", d7, None, d7),
        ("BK0002", "601688", D1, D5, D4),
        ("BK0002", "601688", d7, None, d7),
        ("BK0002", "688981", d7, None, d7),
    ]
    assert [row[:5] for row in relisted["board_daily_stats"] if row[1] == "BK0002"][-3:] == [
        (D4, "BK0002", 3, 0, 0),
        (D5, "BK0002", 0, 0, 3),
        (d7, "BK0002", 3, 3, 0),
    ]
    assert {row[1:3] for row in relisted["board_membership_current"] if row[1] == "BK0002"} == {
        ("BK0002", "证券")
    }

    full = copy_db(db, "relisted_full_refresh")
    run_dbt(full, "build", "--full-refresh")
    assert marts(full) == relisted


def test_a_day_whose_members_never_reached_the_table_is_not_complete(tmp_path):
    """The sync marks each board complete as it is checkpointed and writes raw.board_members only when the step
    ends: a run killed in between leaves status rows that say complete over a day with no member rows."""
    db = tmp_path / "boardsync.duckdb"
    write_day(db, D1, DAYS[D1])
    write_day(db, D2, DAYS[D2])
    query(db, f"delete from raw.board_members where snapshot_date = date '{D2}'")
    run_dbt(db, "build")

    assert query(db, "select snapshot_date from marts.complete_days") == [(D1,)]
    assert query(db, "select count(*) from marts.board_membership_changes where change = 'removed'") == [(0,)]


def test_a_board_gone_between_the_list_and_its_members_leaves_the_day_complete(tmp_path):
    """Issue 11.9: a board deleted after the day's list is accounted for (status gone), not a missing board: the
    day still counts, and the board's members leave on it."""
    db = tmp_path / "boardsync.duckdb"
    write_day(db, D1, DAYS[D1])
    write_day(db, D2, DAYS[D2], incomplete={"BK0002": ()})
    query(
        db,
        "update raw.board_sync_status set gone = true, members = null, last_error = 'gone: data:null' "
        f"where snapshot_date = date '{D2}' and board_code = 'BK0002'",
    )
    run_dbt(db, "build")

    assert query(db, "select snapshot_date from marts.complete_days order by 1") == [(D1,), (D2,)]
    removed = query(
        db,
        "select stock_code from marts.board_membership_changes "
        f"where snapshot_date = date '{D2}' and board_code = 'BK0002' and change = 'removed' order by 1",
    )
    assert removed == [(code,) for code in sorted(BROKERS)]


def test_day_coverage(seen):
    """Every calendar day from D1 to D6, the incomplete D3 and the weekend answered by the day before."""
    sat, sun = D5 + timedelta(days=1), D5 + timedelta(days=2)
    assert seen["final"]["day_coverage"] == [
        (D1, "complete", 3, 3, 9, D1),
        (D2, "complete", 3, 3, 9, D2),
        (D3, "incomplete", 3, 2, 7, D2),
        (D4, "complete", 4, 4, 11, D4),
        (D5, "complete", 3, 3, 10, D5),
        (sat, "not_synced", 0, 0, 0, D5),
        (sun, "not_synced", 0, 0, 0, D5),
        (D6, "complete", 3, 3, 8, D6),
    ]


def test_board_names(seen):
    """A rename splits BK0100's name into two spells; the deleted BK0002's spell ends on D5."""
    assert seen["final"]["board_names"] == [
        ("BK0001", "银行", "industry", D1, None, D6),
        ("BK0002", "证券", "industry", D1, D5, D4),
        ("BK0100", "人形机器人", "concept", D6, None, D6),
        ("BK0100", "机器人概念", "concept", D1, D6, D5),
        ("BK0101", "低空经济", "concept", D4, None, D6),
    ]
