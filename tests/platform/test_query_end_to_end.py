"""The real path once: the job syncs simulated days of the 2026 three-level world through real proxies, dbt
builds the marts, and the query API answers exactly what the simulator held, as of every day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from boardsync_dagster import query
from boardsync_dagster.simulator import Simulator
from tests.platform.conftest import CALM_TIMEOUT_S, SCALE, Platform

D1, D2, D3, D4 = (date(2026, 3, day) for day in (2, 3, 4, 5))  # D3 is never synced


@pytest.fixture
def levels_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    with Simulator(profile="calm", scale=SCALE, rng_seed=3, boards_scale=0.03, world="levels2026") as sim:
        yield Platform(sim, tmp_path / "boardsync.duckdb", monkeypatch, scale=SCALE, timeout=CALM_TIMEOUT_S)


def truth(sim: Simulator) -> dict[str, tuple[str, list[tuple[str, str, str]]]]:
    return {
        code: (board.name, [(m.stock_code, m.stock_name, m.market) for m in members])
        for code, (board, members) in sim.truth().items()
    }


def test_synced_days_answer_as_the_simulator_held_them(levels_world: Platform):
    sim, db = levels_world.sim, levels_world.db
    seen = {}
    assert levels_world.run(partition=str(D1), today=str(D1)).success
    seen[D1] = truth(sim)
    changes = sim.advance_day()
    assert levels_world.run(partition=str(D2), today=str(D2)).success
    seen[D2] = truth(sim)
    sim.advance_day()  # D3: the world moves on, nobody looks
    restored = sim.advance_day(boards_restored=2).boards_restored
    assert levels_world.run(partition=str(D4), today=str(D4)).success
    seen[D4] = truth(sim)
    assert {b.code for b in changes.boards_deleted} <= {b.code for b in restored}

    for asked, answered_by in ((D1, D1), (D2, D2), (D3, D2), (D4, D4), (date(2026, 3, 9), D4)):
        for code in set(seen[D1]) | set(seen[D2]) | set(seen[D4]):
            if code not in seen[answered_by]:
                continue
            answer = query.members(code, asked, db)
            name, members = seen[answered_by][code]
            assert set(answer["observed_on"]) <= {answered_by}
            assert answer.select("stock_code", "stock_name", "market").rows() == members, (code, asked)
            assert set(answer["board_name"]) <= {name}

    # Each stock's first-level industry, inferred from members, is the simulator's level-1 board (no mark).
    for stock in sorted({s for _, members in seen[D4].values() for s, _, _ in members})[:30]:
        first = query.boards(stock, D4, level=1, db=db)
        expected = [
            code
            for code, (name, members) in seen[D4].items()
            if stock in {s for s, _, _ in members} and name[-1] not in "ⅡⅢ" and code in industry_codes(sim)
        ]
        assert first["board_code"].to_list() == expected

    statuses = dict(query.coverage(db=db).select("snapshot_date", "status").rows())
    assert statuses == {D1: "complete", D2: "complete", D3: "not_synced", D4: "complete"}
    with pytest.raises(query.QueryError, match="before the first complete day"):
        query.members(next(iter(seen[D1])), date(2026, 3, 1), db)


def industry_codes(sim: Simulator) -> set[str]:
    return {code for code, (board, _) in sim.truth().items() if board.kind == "industry"}
