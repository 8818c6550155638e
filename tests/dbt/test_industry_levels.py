"""industry_levels infers each industry board's level and parent from members alone, and flags what does not
nest like a tree instead of guessing."""

from __future__ import annotations

from datetime import date

import pytest

from boardsync_dagster import query
from tests.dbt.raw_tables import Board, copy_db, run_dbt, write_day
from tests.dbt.raw_tables import query as sql

DAY = date(2026, 3, 2)
BOARDS = [
    Board("BK0401", "甲", "industry", ("600001", "600002", "600003", "600004", "600005", "600006")),
    Board("BK0402", "甲Ⅱ", "industry", ("600001", "600002", "600003")),
    Board("BK0403", "乙Ⅱ", "industry", ("600004", "600005", "600006")),
    Board("BK0404", "甲Ⅲ", "industry", ("600001", "600002")),
    Board("BK0405", "乙Ⅲ", "industry", ("600003",)),
    Board("BK0406", "丙Ⅲ", "industry", ("600004", "600005")),
    Board("BK0407", "丁Ⅲ", "industry", ("600006",)),
    # A parent with one child: the two have the same members, so which is the parent cannot be told.
    Board("BK0410", "戊", "industry", ("000001", "000002")),
    Board("BK0411", "戊Ⅱ", "industry", ("000001", "000002")),
    # Two boards that overlap without either containing the other: not a tree.
    Board("BK0420", "己", "industry", ("300001", "300002")),
    Board("BK0421", "庚", "industry", ("300002", "300003")),
    Board("BK0900", "概念", "concept", ("600001", "000001")),
    # Two codes under one name the same day: a name look-up must refuse to pick one.
    Board("BK0901", "概念", "concept", ("600002",)),
]


def test_levels_parents_and_ambiguity(tmp_path):
    db = tmp_path / "built" / "boardsync.duckdb"
    db.parent.mkdir()
    write_day(db, DAY, BOARDS)
    run_dbt(db, "build")
    db = copy_db(db, "read")
    rows = sql(
        db, "select board_code, level, parent_board_code, member_count, ambiguity from marts.industry_levels"
    )
    assert sorted(rows) == [
        ("BK0401", 1, None, 6, None),
        ("BK0402", 2, "BK0401", 3, None),
        ("BK0403", 2, "BK0401", 3, None),
        ("BK0404", 3, "BK0402", 2, None),
        ("BK0405", 3, "BK0402", 1, None),
        ("BK0406", 3, "BK0403", 2, None),
        ("BK0407", 3, "BK0403", 1, None),
        ("BK0410", None, None, 2, "same members as BK0411"),
        ("BK0411", None, None, 2, "same members as BK0410"),
        ("BK0420", None, None, 2, "overlaps BK0421 without containment"),
        ("BK0421", None, None, 2, "overlaps BK0420 without containment"),
    ]
    levels = sql(
        db,
        "select industry_level_1_code, industry_level_2_code, industry_level_3_code, industry_level_3_name "
        "from marts.stock_boards where stock_code = '600001'",
    )
    assert levels == [("BK0401", "BK0402", "BK0404", "甲Ⅲ")]
    assert query.boards("600001", DAY, level=1, db=db)["board_code"].to_list() == ["BK0401"]
    assert query.boards("000001", DAY, level=1, db=db).is_empty()  # ambiguous: no first level is guessed
    with pytest.raises(
        query.QueryError, match=r"'概念' names more than one board \(BK0900, BK0901\): ask by code"
    ):
        query.members("概念", DAY, db)
