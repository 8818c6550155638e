"""A run terminated mid-fetch (SIGTERM / SIGINT to `boardsync sync`, which runs the job in-process: Dagster turns
the signal into an interruption of the step's main thread, runner.py sets the stop event): the workers stop within
seconds, the boards checkpointed so far stay, and the step ends failed by the interruption, never as a success."""

from __future__ import annotations

import signal
from pathlib import Path

import dagster as dg
import pytest

from boardsync_dagster.simulator import Simulator
from tests.reliability.conftest import (
    STARTUP_S,
    SyncProcess,
    assert_checkpoint_exact,
    list_pages,
    sync_args,
    wait_until,
)

SCALE = 0.1
# runner.py gives the engine its stop_grace (1 s x scale) after the stop event; the rest is Dagster winding down.
EXIT_WITHIN_S = 10.0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_termination_mid_fetch_stops_within_seconds_and_keeps_the_checkpoint(tmp_path: Path, signum: int):
    db = tmp_path / "boardsync.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    with Simulator(profile="calm", scale=SCALE, rng_seed=22, boards_scale=0.05) as sim:
        sync = SyncProcess(
            tmp_path, sync_args(sim, db, SCALE, workers=2), env={"DAGSTER_HOME": str(home)}, sim=sim
        )
        mid_fetch = list_pages(sim) + 12
        assert wait_until(lambda: sim.stats()["requests"] >= mid_fetch, STARTUP_S, proc=sync.proc), (
            sync.stderr()
        )
        assert sync.alive()
        sync.proc.send_signal(signum)
        try:
            sync.proc.wait(EXIT_WITHIN_S)  # bounds a hang; raises if the process never exits
        finally:
            if sync.alive():
                sync.proc.kill()
        requests_at_exit = sim.stats()["requests"]
        finished = sync.finish()

        assert finished.rc == 1, finished.stderr[-3000:]
        assert finished.report["status"] == "failed" and not finished.report["complete"]
        assert any("Interrupted" in e for e in finished.report["errors"]), finished.report
        done = assert_checkpoint_exact(sim, db, "after the termination")
        assert 0 < len(done) < len(sim.truth()), "the signal should land mid-fetch"
        # Nothing is fetched once the process is gone (no orphan worker anywhere).
        assert not wait_until(lambda: sim.stats()["requests"] > requests_at_exit, 0.5)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status in (
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        )
        records = instance.get_records_for_run(runs[0].run_id).records
        events = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]
        members = [e for e in events if e.step_key == "raw__board_members"]
        assert not [e for e in members if e.is_step_success]
        failure = next(e for e in members if e.is_step_failure)
        assert "Interrupted" in failure.step_failure_data.error.cls_name
        assert not [e for e in members if e.is_step_materialization]
