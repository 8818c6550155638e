"""kill -9 of `boardsync sync` at several moments; the re-runs of the same day lose nothing and duplicate nothing.

One day, four processes: killed mid-fetch at a random request count, killed right after a DuckDB commit (the
file's write-ahead log grew), killed on a random timer once every page is served (the last checkpoints and the
partition replace), then a run that completes. After each kill the checkpoint holds exactly the truth of the
boards it marks complete; every re-run fetches only boards not yet checkpointed.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from boardsync_dagster.simulator import Simulator
from tests.reliability.conftest import (
    STARTUP_S,
    SyncProcess,
    assert_checkpoint_exact,
    complete_boards,
    list_pages,
    member_pages,
    query,
    sync_args,
    today,
    truth_rows,
    wait_until,
)

SCALE = 0.1  # two workers at the seed's 1-2 s delays: the members step takes ~3 s, long enough to aim at
# Fixed, so a failure replays; BOARDSYNC_KILL_SEED tries other kill points (every failure message names it).
DEFAULT_SEED = 20261201


def kill_seed() -> int:
    return int(os.environ.get("BOARDSYNC_KILL_SEED", DEFAULT_SEED))


def test_the_kill_points_are_the_same_each_run_unless_asked_otherwise(monkeypatch):
    monkeypatch.delenv("BOARDSYNC_KILL_SEED", raising=False)
    assert kill_seed() == kill_seed() == DEFAULT_SEED
    monkeypatch.setenv("BOARDSYNC_KILL_SEED", "7")
    assert kill_seed() == 7


def test_kill_minus_9_at_several_moments_then_the_rerun_completes_exactly(tmp_path: Path):
    seed = kill_seed()
    rng = random.Random(seed)
    note = f"(BOARDSYNC_KILL_SEED={seed} replays this)"
    db = tmp_path / "boardsync.duckdb"
    wal = Path(str(db) + ".wal")
    with Simulator(profile="calm", scale=SCALE, rng_seed=21, boards_scale=0.05) as sim:
        boards = set(sim.truth())
        all_requests = list_pages(sim) + member_pages(sim, boards)
        args = sync_args(sim, db, SCALE, workers=2)

        def run_killed_when(name: str, condition, delay_s: float = 0.0) -> tuple[set[str], int]:
            before_done, before_requests = complete_boards(db), sim.stats()["requests"]
            sync = SyncProcess(tmp_path, args, name=name, sim=sim)
            assert wait_until(condition, STARTUP_S, proc=sync.proc), (
                f"{name}: never reached its kill point {note}\n" + (sync.stderr()[-2000:])
            )
            if delay_s:
                wait_until(lambda: False, delay_s, proc=sync.proc)
            sync.kill9()
            done = assert_checkpoint_exact(sim, db, f"after {name} {note}")
            assert before_done <= done, f"{name}: a checkpointed board was lost {note}"
            spent = sim.stats()["requests"] - before_requests
            # Never a page of a board that was already checkpointed when the run began.
            assert spent <= list_pages(sim) + member_pages(sim, boards - before_done) + 2, note
            return done, spent

        # 1. mid-fetch, at a random number of member pages served
        target = list_pages(sim) + rng.randint(3, member_pages(sim, boards) // 2)
        done1, _ = run_killed_when("mid-fetch", lambda: sim.stats()["requests"] >= target)

        # 2. right after a DuckDB commit of this run's members step (the WAL grew): amid the checkpoint writes
        start = sim.stats()["requests"]
        wal_size = {"size": wal.stat().st_size if wal.exists() else 0}

        def wal_grew_during_members() -> bool:
            size = wal.stat().st_size if wal.exists() else 0
            grew = size > wal_size["size"]
            wal_size["size"] = size
            return grew and sim.stats()["requests"] >= start + list_pages(sim) + 1

        done2, _ = run_killed_when("after-commit", wal_grew_during_members)

        # 3. once every page the run needs is served, after a random few milliseconds: the final writes
        start = sim.stats()["requests"]
        needed = list_pages(sim) + member_pages(sim, boards - done2)
        done3, _ = run_killed_when(
            "final-writes", lambda: sim.stats()["requests"] >= start + needed, delay_s=rng.uniform(0, 0.3)
        )

        # 4. the re-run completes, fetching exactly the pages of the boards still missing
        before = sim.stats()["requests"]
        last = SyncProcess(tmp_path, args, name="complete", sim=sim).finish()
        assert last.rc == 0, f"{note}\n{last.stderr[-3000:]}"
        assert last.report["status"] == "complete", note
        assert last.report["boards_skipped"] == len(done3), note
        assert sim.stats()["requests"] - before == list_pages(sim) + member_pages(sim, boards - done3), note

        stored = query(
            db,
            "select board_code, stock_code, stock_name, market from raw.board_members where snapshot_date = ?",
            [today()],
        )
        assert len(stored) == len(set(stored)), f"duplicate rows in raw.board_members {note}"
        assert set(stored) == truth_rows(sim), f"raw.board_members differs from the truth {note}"
        # Progress over the four runs: each kill kept what was checkpointed, and the day took about one run's
        # worth of requests in all (the kills cost only the pages in flight and the board lists).
        assert done1 <= done2 <= done3 <= boards, note
        assert sim.stats()["requests"] <= all_requests + 4 * (list_pages(sim) + 2), note
