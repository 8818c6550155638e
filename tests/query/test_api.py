"""The query API against the simulator's truth, row by row, in both worlds (see world.py for the days)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from boardsync_dagster import query
from tests.query.world import FIRST, LAST, World, calendar

ASKED_DAYS = calendar(FIRST, LAST + timedelta(days=1))  # every day, and one after the last sync


def interesting_boards(world: World) -> set[str]:
    """The boards the days changed: renamed, deleted and back, new, churned; and one industry board."""
    boards = set()
    for changes in world.changes.values():
        boards |= {b.code for b in changes.boards_added + changes.boards_deleted + changes.boards_restored}
        boards |= {before.code for before, _ in changes.boards_renamed}
        boards |= {code for code, _ in changes.members_added[:3] + changes.members_removed[:3]}
    boards.add(world.half_stored)
    boards.add(min(c for c, b in world.truth[FIRST].boards.items() if b.board.kind == "industry"))
    return boards


def observed_boards(world: World) -> set[str]:
    return set().union(*(world.truth[day].boards for day in world.complete_days))


def interesting_stocks(world: World) -> set[str]:
    stocks = set()
    for changes in world.changes.values():
        stocks |= {m.stock_code for _, m in changes.members_added[:2] + changes.members_removed[:2]}
    return stocks


def expected_members(world: World, code: str, day: date) -> list[tuple]:
    seen = world.observed_on(day)
    state = world.truth[seen]
    if code not in state.boards:
        return []
    name = state.boards[code].board.name
    members = [state.member(stock) for stock in sorted(state.boards[code].members)]
    stay_start = world.stay_start
    return [
        (seen, code, name, m.stock_code, m.stock_name, m.market, stay_start((code, m.stock_code), seen))
        for m in members
    ]


def test_the_world_has_every_kind_of_change(world: World):
    changes = world.changes
    assert changes[date(2026, 3, 3)].boards_renamed and changes[date(2026, 3, 3)].boards_deleted
    assert changes[date(2026, 3, 6)].boards_restored
    gone_on_a_complete_day = {b.code for b in changes[date(2026, 3, 3)].boards_deleted}
    assert gone_on_a_complete_day <= {b.code for b in changes[date(2026, 3, 6)].boards_restored}


def test_members_of_every_board_on_the_last_day(world: World):
    for code in world.truth[LAST].boards:
        assert query.members(code, LAST, world.db).rows() == expected_members(world, code, LAST), code


def test_members_as_of_every_day(world: World):
    """A day not synced completely is answered from the complete day before it, and says so."""
    observed = observed_boards(world)
    for code in sorted(interesting_boards(world) - observed):  # listed only on days never synced completely
        with pytest.raises(query.QueryError, match=f"board {code} is not in the history"):
            query.members(code, LAST, world.db)
    for day in ASKED_DAYS:
        for code in sorted(interesting_boards(world) & observed):
            answer = query.members(code, day, world.db)
            assert answer.rows() == expected_members(world, code, day), (code, day)
    assert set(query.members(world.half_stored, date(2026, 3, 4), world.db)["observed_on"]) == {
        date(2026, 3, 3)
    }


def test_members_by_name_old_and_new(world: World):
    ((before, after),) = world.changes[date(2026, 3, 3)].boards_renamed
    old = query.members(before.name, FIRST, world.db)
    assert old.rows() == expected_members(world, before.code, FIRST)
    assert query.members(after.name, LAST, world.db).rows() == expected_members(world, after.code, LAST)
    # The old name still finds the board after the rename: names are matched over the whole history.
    assert query.members(before.name, LAST, world.db)["board_name"].unique().to_list() == [after.name]


def test_boards_of_a_stock_as_of_every_day(world: World):
    for day in ASKED_DAYS:
        seen = world.observed_on(day)
        state = world.truth[seen]
        for stock in sorted(interesting_stocks(world)):
            expected = sorted(
                (
                    seen,
                    stock,
                    code,
                    b.board.name,
                    b.board.kind.value,
                    *world.level_and_parent(seen, code),
                    world.stay_start((code, stock), seen),
                )
                for code, b in state.boards.items()
                if stock in b.members
            )
            assert sorted(query.boards(stock, day, db=world.db).rows(), key=str) == sorted(expected, key=str)


def test_the_first_level_industry_of_a_stock(world: World):
    state = world.truth[LAST]
    for stock in sorted(state.stocks)[:40]:
        first_level = query.boards(stock, LAST, level=1, db=world.db)
        expected = [
            c
            for c, b in state.boards.items()
            if stock in b.members and world.level_and_parent(LAST, c)[0] == 1
        ]
        assert first_level["board_code"].to_list() == expected
        assert len(expected) == 1


def test_history_of_boards_and_stocks(world: World):
    stays = world.stays
    for code in sorted(interesting_boards(world) & observed_boards(world)):
        expected = sorted((b, s, *stay) for (b, s), found in stays.items() if b == code for stay in found)
        assert query.history(board=code, db=world.db).rows() == expected, code
    for stock in sorted(interesting_stocks(world)):
        expected = sorted((b, s, *stay) for (b, s), found in stays.items() if s == stock for stay in found)
        assert query.history(stock=stock, db=world.db).rows() == expected, stock


def test_changes_between_complete_days(world: World):
    days = world.complete_days
    expected = []
    for before, day in zip([None, *days], days, strict=False):
        names = {c: b.board.name for c, b in world.truth[day].boards.items()}
        if before is not None:
            names = {**{c: b.board.name for c, b in world.truth[before].boards.items()}, **names}
        now, then = world.pairs(day), world.pairs(before) if before else set()
        expected += [(day, before, b, names[b], s, "added") for b, s in now - then]
        expected += [(day, before, b, names[b], s, "removed") for b, s in then - now]
    expected.sort(key=lambda row: (row[0], row[2], row[5], row[4]))
    assert query.changes(FIRST, db=world.db).rows() == expected
    later = [row for row in expected if row[0] >= date(2026, 3, 4)]
    assert query.changes("2026-03-04", db=world.db).rows() == later
    code = expected[-1][2]
    one_board = [row for row in expected if row[2] == code and row[0] <= date(2026, 3, 6)]
    assert query.changes(FIRST, "2026-03-06", board=code, db=world.db).rows() == one_board


def test_coverage_of_every_calendar_day(world: World):
    expected = []
    for day in calendar(FIRST - timedelta(days=1), LAST + timedelta(days=1)):
        status = world.status.get(day, "not_synced")
        status = "not_synced" if status == "missing" else status
        state = world.truth.get(day)
        listed = len(state.boards) if state and status != "not_synced" else 0
        rows = sum(len(b.members) for b in state.boards.values()) if listed else 0
        if status == "incomplete":
            half = len(state.boards[world.half_stored].members)
            rows -= half - half // 2
        complete = listed - (status == "incomplete")
        expected.append((day, status, listed, complete, rows, world.observed_on(day)))
    answer = query.coverage(FIRST - timedelta(days=1), LAST + timedelta(days=1), world.db)
    assert answer.rows() == expected
    assert query.coverage(db=world.db).rows() == expected[1:-1]


def test_before_the_first_complete_day_is_an_error_that_says_so(world: World):
    before = FIRST - timedelta(days=1)
    with pytest.raises(query.QueryError, match=f"{before} is before the first complete day, {FIRST}"):
        query.members(min(world.truth[FIRST].boards), before, world.db)
    with pytest.raises(query.QueryError, match="before the first complete day"):
        query.boards(sorted(world.truth[FIRST].stocks)[0], before, db=world.db)
