"""The daily IP quota: a clean stop that says what is done and when it renews, a resume, and a ledger in the DuckDB
file that survives restarts, is seen by a second process, and is never spent twice by two runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from boardsync_dagster.simulator import Simulator
from tests.jobrun import Platform
from tests.reliability.conftest import (
    STARTUP_S,
    SyncProcess,
    assert_checkpoint_exact,
    complete_boards,
    ips_issued,
    ledger_used,
    list_pages,
    query,
    step_failure,
    sync_args,
    today,
    truth_rows,
    wait_until,
)

SCALE = 0.05


def members_metadata(result) -> dict:
    return result.asset_materializations_for_node("raw__board_members")[0].metadata


def test_quota_runs_out_mid_run_a_second_process_sees_it_and_the_next_day_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "boardsync.duckdb"
    # A vendor whose IPs live 16 s, so a 3-IP day runs out part-way through the members (long enough for adaptive
    # pacing, which starts at 1 request/s per IP, to finish some boards first). Short leases alone no longer do:
    # adaptive pacing uses one IP past ip_ttl to learn how long the vendor's IPs really live.
    with Simulator(profile="calm", scale=SCALE, rng_seed=23, boards_scale=0.1, ip_ttl=16) as sim:
        boards = set(sim.truth())
        job = Platform(sim, db, monkeypatch, scale=SCALE)
        short = {"max_ips": 3, "ip_ttl": 16 * SCALE, "ttl_jitter": 1 * SCALE}

        first = job.run(**short)
        assert not first.success
        message = step_failure(first, "raw__board_members")
        done = assert_checkpoint_exact(sim, db, "after the quota stop")
        assert 0 < len(done) < len(boards)
        assert f"{len(done)}/{len(boards)} boards done and checkpointed" in message
        assert "renews at" in message and "Asia/Shanghai" in message
        missing = sorted(boards - done)
        assert f"Missing boards ({len(missing)}): {', '.join(missing[:5])}" in message
        status = dict(
            query(db, "select board_code, last_error from raw.board_sync_status where not complete")
        )
        assert set(status) == set(missing) and all("quota" in e for e in status.values())
        assert not sim.stats()["vendor_refusals"], "our ledger stops us before the vendor has to"
        assert ledger_used(db) == ips_issued(sim) == 3

        # A second process, the same day: it reads the ledger from the file and stops before calling the vendor.
        calls, requests = sim.stats()["vendor_calls"], sim.stats()["requests"]
        second = SyncProcess(tmp_path, sync_args(sim, db, SCALE, max_ips=3), name="second", sim=sim).finish()
        assert second.rc == 1, second.stderr[-2000:]
        assert "quota is spent: 3/3 IPs used" in " ".join(second.report["errors"])
        assert (sim.stats()["vendor_calls"], sim.stats()["requests"]) == (calls, requests)
        assert complete_boards(db) == done

        # The vendor's next day (the ledger keys days by the real Shanghai date, so the test raises the cap to
        # stand for it): the run resumes, fetches only the missing boards, and the ledger adds up.
        sim.new_vendor_day()
        before_requests, before_ips = sim.stats()["requests"], ledger_used(db)
        third = job.run(max_ips=200)
        assert third.success
        metadata = members_metadata(third)
        assert metadata["boards_skipped"].value == len(done)
        assert metadata["boards_ok"].value == len(boards) - len(done)
        assert ledger_used(db) == ips_issued(sim) > before_ips  # both runs' IPs, each counted once
        assert sim.stats()["requests"] - before_requests >= list_pages(sim)
        stored = query(
            db,
            "select board_code, stock_code, stock_name, market from raw.board_members where snapshot_date = ?",
            [today()],
        )
        assert len(stored) == len(set(stored)) and set(stored) == truth_rows(sim)


def test_two_runs_at_once_the_second_waits_for_the_writer_or_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The CLI has no Dagster pool to queue behind (that is dagster.yaml's job): the DuckDB file's single writer is
    the guard. A second run that cannot wait long enough fails before taking an IP; one that can waits and then
    finds every board checkpointed. Either way the ledger counts each IP the vendor issued exactly once."""
    scale = 0.1
    db = tmp_path / "boardsync.duckdb"
    with Simulator(profile="calm", scale=scale, rng_seed=24, boards_scale=0.05) as sim:
        boards = set(sim.truth())
        # One worker, each IP paced at one request per 0.5 real seconds and not growing: the first run's members
        # take ~10 s, longer than the in-process job below takes to start on a loaded machine.
        slow = {"workers": 1, "pace_start_spacing": 0.5, "pace_grow_every": 600.0}
        first = SyncProcess(tmp_path, sync_args(sim, db, scale, **slow), name="first", sim=sim)
        in_members = list_pages(sim) + 3
        assert wait_until(lambda: sim.stats()["requests"] >= in_members, STARTUP_S, proc=first.proc), (
            first.stderr()[-2000:]
        )
        job = Platform(sim, db, monkeypatch, scale=scale)

        impatient = job.run(lock_wait=0.5)
        assert first.alive(), "the first run ended too soon for the second to meet it"
        assert not impatient.success
        message = step_failure(impatient, "raw__board_list")
        assert "held by another process" in message and "nothing was written" in message

        patient = job.run(lock_wait=60)
        finished = first.finish()
        assert finished.rc == 0 and finished.report["status"] == "complete", finished.stderr[-2000:]
        assert patient.success
        metadata = members_metadata(patient)
        assert metadata["boards_ok"].value == 0 and metadata["boards_skipped"].value == len(boards)

        assert ledger_used(db) == ips_issued(sim)
        stored = query(
            db,
            "select board_code, stock_code, stock_name, market from raw.board_members where snapshot_date = ?",
            [today()],
        )
        assert len(stored) == len(set(stored)) and set(stored) == truth_rows(sim)
