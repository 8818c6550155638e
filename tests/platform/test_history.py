"""Several simulated days through the whole job (sync -> checks -> dbt), one of them deliberately incomplete:
the marts must say exactly what the simulator changed, and the incomplete day must leave no trace."""

from __future__ import annotations

from tests.platform.conftest import Platform, check_results

D1, D2, D3, D4 = "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"
COMPLETE_DAYS = [D1, D2, D4]


def membership(sim) -> set[tuple[str, str]]:
    return {(code, m.stock_code) for code, (_, members) in sim.truth().items() for m in members}


def expected_changes(days: list[tuple[str, set]]) -> set[tuple[str, str, str, str]]:
    rows = {(days[0][0], b, s, "added") for b, s in days[0][1]}
    for (_, before), (day, after) in zip(days, days[1:], strict=False):
        rows |= {(day, b, s, "added") for b, s in after - before}
        rows |= {(day, b, s, "removed") for b, s in before - after}
    return rows


def expected_history(days: list[tuple[str, set]]) -> set[tuple[str, str, str, str | None]]:
    """One row per continuous stay; valid_to is the first complete day absent (exclusive)."""
    stays = set()
    pairs = set().union(*(members for _, members in days))
    for pair in pairs:
        start = None
        for day, members in days:
            if pair in members and start is None:
                start = day
            elif pair not in members and start is not None:
                stays.add((*pair, start, day))
                start = None
        if start is not None:
            stays.add((*pair, start, None))
    return stays


def test_days_with_churn_and_an_incomplete_day_build_exact_history(calm: Platform):
    sim = calm.sim
    truth: dict[str, set] = {}

    assert calm.run(partition=D1, today=D1).success
    truth[D1] = membership(sim)

    day2 = sim.advance_day()
    assert calm.run(partition=D2, today=D2).success
    truth[D2] = membership(sim)

    # D3: the list is read, then only one board's members are fetched: the day is incomplete. (A board deleted
    # after the list would not do: it is reported gone and the day completes, issue 11.9.)
    sim.advance_day()
    assert calm.run(partition=D3, today=D3, assets=["raw/board_list"]).success
    one = sorted(sim.truth())[:1]
    incomplete = calm.run(partition=D3, today=D3, assets=["raw/board_members"], boards=one)
    assert not incomplete.success
    assert check_results(incomplete)["all_boards_complete"] is False

    day4 = sim.advance_day()
    assert calm.run(partition=D4, today=D4).success
    truth[D4] = membership(sim)

    days = [(d, truth[d]) for d in COMPLETE_DAYS]
    q = calm.query

    assert [
        r[0] for r in q("select snapshot_date::varchar from marts.complete_days order by 1")
    ] == COMPLETE_DAYS

    current = set(q("select board_code, stock_code from marts.board_membership_current"))
    assert current == truth[D4]
    names = dict(q("select distinct board_code, board_name from marts.board_membership_current"))
    assert names == {code: board.name for code, (board, _) in sim.truth().items() if code in names}
    renamed = day4.boards_renamed[0][1]
    assert names.get(renamed.code, renamed.name) == renamed.name

    changes = set(
        q("select snapshot_date::varchar, board_code, stock_code, change from marts.board_membership_changes")
    )
    assert changes == expected_changes(days)
    assert not any(row[0] == D3 for row in changes)  # the incomplete day created no false exit or entry
    added_d2 = {(b, m.stock_code) for b, m in day2.members_added}
    assert added_d2 <= {(b, s) for d, b, s, c in changes if d == D2 and c == "added"}

    history = set(
        q(
            "select board_code, stock_code, valid_from::varchar, valid_to::varchar "
            "from marts.board_membership_history"
        )
    )
    assert history == expected_history(days)

    stats = {
        (d, b): (n, a, r)
        for d, b, n, a, r in q(
            "select snapshot_date::varchar, board_code, member_count, added, removed from marts.board_daily_stats"
        )
    }
    for day, members in days:
        boards = {b for b, _ in members}
        for board in boards:
            count = sum(1 for b, _ in members if b == board)
            added = sum(1 for d, b, _, c in changes if d == day and b == board and c == "added")
            removed = sum(1 for d, b, _, c in changes if d == day and b == board and c == "removed")
            assert stats[(day, board)] == (count, added, removed), (day, board)

    per_stock = dict(q("select stock_code, board_count from marts.stock_boards"))
    expected_count: dict[str, int] = {}
    for _, stock in truth[D4]:
        expected_count[stock] = expected_count.get(stock, 0) + 1
    assert per_stock == expected_count
