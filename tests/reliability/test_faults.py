"""Faults from outside: the vendor down or refusing, the DuckDB file held by another process, Eastmoney banning
every IP. Each ends in a clear error within a bound, spends nothing it need not, and writes nothing half-done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from boardsync_dagster.simulator import Simulator
from tests.jobrun import Platform
from tests.reliability.conftest import (
    SyncProcess,
    complete_boards,
    ips_issued,
    ledger_used,
    query,
    step_failure,
    sync_args,
    today,
)

SCALE = 0.05


@pytest.mark.parametrize(
    "fault, words",
    [
        ("down", "unreachable after 3 attempts"),
        ("bad_key", "the vendor refused the account"),
        ("whitelist", "the vendor refused the account"),
    ],
)
def test_vendor_fault_is_a_clear_error_within_seconds_without_a_retry_storm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str, words: str
):
    db = tmp_path / "boardsync.duckdb"
    with Simulator(profile="calm", scale=SCALE, rng_seed=31, boards_scale=0.05) as sim:
        sim.vendor_fault(fault)
        result = Platform(sim, db, monkeypatch, scale=SCALE).run()

        assert not result.success
        message = step_failure(result, "raw__board_list")
        assert words in message and "nothing was written" in message
        stats = sim.stats()
        assert stats["vendor_calls"] <= 3, "no retry storm"
        assert stats["requests"] == 0 and ips_issued(sim) == 0
        assert ledger_used(db) == 0, "no IP spent"


class Holder:
    """Another process holding the DuckDB file open (a notebook, a second writer)."""

    CODE = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"

    def __init__(self, db: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.CODE, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


def test_database_held_by_another_process_waits_a_bounded_time_then_fails_writing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "boardsync.duckdb"
    members_sql = "select * from raw.board_members order by all"
    with Simulator(profile="calm", scale=SCALE, rng_seed=32, boards_scale=0.05) as sim:
        assert Platform(sim, db, monkeypatch, scale=SCALE).run().success
        rows, lists, status = (
            query(db, members_sql),
            query(db, "select * from raw.board_list order by all"),
            query(db, "select * from raw.board_sync_status order by all"),
        )
        ledger = ledger_used(db)
        sim.advance_day()  # a re-run would now store different rows, if it could write
        holder = Holder(db)
        try:
            # The CLI with a vendor: the quota ledger cannot be read, so no IP is taken and nothing fetched.
            before = sim.stats()
            cli = SyncProcess(
                tmp_path, [*sync_args(sim, db, SCALE, lock_wait=1.0), "--force"], sim=sim
            ).finish()
            assert cli.rc == 1, cli.stderr[-2000:]
            errors = " ".join(cli.report["errors"])
            assert "held by another process (waited 1 s)" in errors and "nothing was written" in errors
            after = sim.stats()
            assert (after["vendor_calls"], after["requests"]) == (before["vendor_calls"], before["requests"])

            # Direct (no vendor, no ledger): the board list is fetched, and its partition write waits, then fails.
            job = Platform(sim, db, monkeypatch, scale=SCALE, proxy_api=False)
            result = job.run(lock_wait=1.0, force=True)
            assert not result.success
            assert "held by another process (waited 1 s)" in step_failure(result, "raw__board_list")
            assert sim.stats()["requests"] > after["requests"]
        finally:
            holder.release()
        assert query(db, members_sql) == rows
        assert query(db, "select * from raw.board_list order by all") == lists
        assert query(db, "select * from raw.board_sync_status order by all") == status
        assert ledger_used(db) == ledger


def test_eastmoney_banning_every_ip_ends_the_run_listing_the_missing_boards_without_burning_the_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "boardsync.duckdb"
    with Simulator(profile="calm", scale=SCALE, rng_seed=33, boards_scale=0.05) as sim:
        job = Platform(sim, db, monkeypatch, scale=SCALE)
        assert job.run(assets=["raw/board_list"]).success
        sim.ban_all(True)
        result = job.run(assets=["raw/board_members"])

        assert not result.success
        message = step_failure(result, "raw__board_members")
        assert "ban every IP" in message and "wait some hours" in message
        boards = sorted(sim.truth())
        assert f"Missing boards ({len(boards)}): {', '.join(boards[:30])}" in message
        status = dict(
            query(db, "select board_code, last_error from raw.board_sync_status where not complete")
        )
        assert set(status) == set(boards) and all("ban every IP" in e for e in status.values())
        assert complete_boards(db) == set()
        # The stop comes after ban_stop_after (8) IPs died unused, not after the day's 200.
        assert ips_issued(sim) <= 1 + 8 + 1
        assert ledger_used(db) == ips_issued(sim)
        assert query(db, "select count(*) from raw.member_checkpoint where snapshot_date = ?", [today()]) == [
            (0,)
        ]
