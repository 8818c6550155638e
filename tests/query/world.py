"""Simulated days written straight into the raw tables (then one `dbt build`), and what the answers must be.

The days, in either simulator world (the seed's 86 industries, or 2026's three levels):

Mon 03-02  day 0, complete
Tue 03-03  churn, a new board, a deleted board, a renamed board; complete
Wed 03-04  churn; synced but one board stored half: incomplete, answered from 03-03
Thu 03-05  churn; never synced: answered from 03-03
Fri 03-06  churn, and the boards deleted on the three days before come back; complete
Sat, Sun   not synced: answered from 03-06
Mon 03-09  churn; complete

The expectations are computed from the simulator's own truth of each day, not from the marts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from boardsync_dagster.simulator import dataset, levels
from tests.dbt.raw_tables import copy_db, run_dbt, write_rows

SEED = 11
BOARDS_SCALE = {"classic": 0.05, "levels2026": 0.1}
FIRST = date(2026, 3, 2)
# (day, how it was synced, advance() arguments for the change since the previous day)
PLAN = [
    (date(2026, 3, 2), "complete", None),
    (date(2026, 3, 3), "complete", {}),
    (date(2026, 3, 4), "incomplete", {}),
    (date(2026, 3, 5), "missing", {}),
    (date(2026, 3, 6), "complete", {"boards_restored": 3}),
    (date(2026, 3, 9), "complete", {}),
]
LAST = PLAN[-1][0]
Pair = tuple[str, str]  # (board code, stock code)


@dataclass
class World:
    name: str
    db: Path
    truth: dict[date, dataset.DayState] = field(default_factory=dict)  # every planned day, synced or not
    status: dict[date, str] = field(default_factory=dict)
    changes: dict[date, dataset.DayChanges] = field(default_factory=dict)
    half_stored: str = ""  # the board stored half on the incomplete day

    @property
    def complete_days(self) -> list[date]:
        return [day for day, status in self.status.items() if status == "complete"]

    def observed_on(self, day: date) -> date | None:
        return max((d for d in self.complete_days if d <= day), default=None)

    def pairs(self, day: date) -> set[Pair]:
        return {(code, stock) for code, b in self.truth[day].boards.items() for stock in b.members}

    @functools.cached_property
    def stays(self) -> dict[Pair, list[tuple[date, date | None, date]]]:
        """(valid_from, valid_to, last_observed) per pair, over the complete days only."""
        days = {day: self.pairs(day) for day in self.complete_days}
        out: dict[Pair, list] = {}
        for pair in set().union(*days.values()):
            start = seen = None
            for day, pairs in days.items():
                if pair in pairs:
                    start, seen = start or day, day
                elif start is not None:
                    out.setdefault(pair, []).append((start, day, seen))
                    start = None
            if start is not None:
                out.setdefault(pair, []).append((start, None, seen))
        return out

    def stay_start(self, pair: Pair, day: date) -> date:
        return next(f for f, t, _ in self.stays[pair] if f <= day and (t is None or day < t))

    def level_and_parent(self, day: date, code: str) -> tuple[int | None, str | None]:
        """The simulator's truth: the level is the name's mark, the parent the board of the level above that
        holds it."""
        state = self.truth[day]
        level = true_level(state.boards[code].board)
        if level is None:
            return None, None
        members = set(state.boards[code].members)
        parents = [
            c
            for c, b in state.boards.items()
            if true_level(b.board) == level - 1 and members <= set(b.members)
        ]
        return level, (parents[0] if parents else None)


def true_level(board) -> int | None:
    """levels.py marks level-2 names Ⅱ and level-3 names Ⅲ; the seed world's industries are all level 1."""
    if board.kind != "industry":
        return None
    return 3 if board.name.endswith("Ⅲ") else 2 if board.name.endswith("Ⅱ") else 1


def build(name: str, folder: Path) -> World:
    world = World(name, folder / "boardsync.duckdb")
    state = levels.generate(SEED, BOARDS_SCALE[name], name)
    for day, status, change in PLAN:
        if change is not None:
            state, world.changes[day] = dataset.advance(state, SEED, **change)
        world.truth[day], world.status[day] = state, status
        if status != "missing":
            half = write_state(world.db, day, state, incomplete=status == "incomplete")
            world.half_stored = half or world.half_stored
    run_dbt(world.db, "build")
    world.db = copy_db(world.db, f"{name}-read")
    return world


def write_state(db: Path, day: date, state: dataset.DayState, *, incomplete: bool) -> str:
    """The day's raw rows as the sync writes them; incomplete: the largest concept board stored half, marked
    not complete. Returns that board's code."""
    synced_at = datetime.combine(day, time(16))
    half = ""
    if incomplete:
        half = max(state.listed("concept"), key=lambda b: (len(b.members), b.board.code)).board.code
    list_rows, member_rows, status_rows = [], [], []
    for code, (board, members) in state.truth().items():
        stored = members[: len(members) // 2] if code == half else members
        list_rows.append((day, code, board.name, board.kind.value, len(state.listed(board.kind))))
        member_rows += [(day, code, m.stock_code, m.stock_name, m.market) for m in stored]
        status_rows.append((day, code, len(members), len(stored), code != half, None, synced_at, False))
    write_rows(db, day, list_rows, member_rows, status_rows)
    return half


def calendar(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
