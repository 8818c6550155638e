"""The day service without Dagster: resume, force, subset, the outcome and the report beside our own history.

Real parts throughout: the simulator over HTTP, the engine's client and ProxyManager, a DuckDB store on disk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from boardsync_dagster.day import DayFailed, DayService, check_today
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.eastmoney import EastmoneyClient
from boardsync_dagster.engine.ledger import MemoryLedger
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.simulator import Simulator
from boardsync_dagster.storage import DUCKDB_CONFIG, Store

SCALE = 0.02
DAY1, DAY2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(profile="calm", scale=SCALE, rng_seed=4, boards_scale=0.03) as started:
        yield started


def service(sim: Simulator, db: Path, day: dt.date = DAY1, **settings: object) -> DayService:
    config = (
        dataclasses.replace(SyncConfig(rng_seed=2, timeout=3.0 / SCALE), **settings).scaled(SCALE).validate()
    )
    return DayService(
        day,
        config,
        open_store=lambda: Store(db),
        client=EastmoneyClient(sim.eastmoney_url, config.timeout, config.page_size),
        proxies=ProxyManager(ProxySettings(proxy_api=sim.vendor_url), config, MemoryLedger()),
    )


def truth_rows(sim: Simulator) -> set[tuple[str, str]]:
    return {(code, m.stock_code) for code, (_, members) in sim.truth().items() for m in members}


def write_list(db: Path, frame) -> None:
    """What the IO manager does with the list in a Dagster run: the day's rows in raw.board_list."""
    with duckdb.connect(str(db), config=DUCKDB_CONFIG) as conn:
        conn.register("frame", frame)
        conn.execute("create table if not exists raw.board_list as select * from frame limit 0")
        conn.execute("insert into raw.board_list select * from frame")


def test_a_day_is_fetched_whole_then_resumed_then_forced(sim: Simulator, tmp_path: Path):
    db = tmp_path / "b.duckdb"
    listed = service(sim, db).board_list().frame
    assert sorted(listed["board_code"]) == sorted(sim.truth())

    first = service(sim, db).members(listed)
    stored = {(r["board_code"], r["stock_code"]) for r in first.members.iter_rows(named=True)}
    assert stored == truth_rows(sim)
    assert first.figures["boards_ok"] == len(sim.truth()) and first.figures["boards_skipped"] == 0
    assert first.status["complete"].all()
    # The run's IPs are counted once, by the ProxyManager, the board list's included; the quota is what is left.
    assert (
        first.quota_left == SyncConfig().max_ips - first.figures["ips_used"]
        and first.figures["ips_used"] >= 1
    )
    assert "no earlier complete day to compare with" in first.history

    again = service(sim, db).members(listed)  # a re-run fetches only what is missing: nothing
    assert (again.figures["boards_ok"], again.figures["boards_skipped"]) == (0, len(sim.truth()))
    assert again.members.equals(first.members)

    forced = service(sim, db, force=True).members(listed)
    assert forced.figures["boards_ok"] == len(sim.truth())


def test_a_subset_fetches_only_those_boards_and_an_unknown_code_is_refused(sim: Simulator, tmp_path: Path):
    db = tmp_path / "b.duckdb"
    listed = service(sim, db).board_list().frame
    some = tuple(sorted(sim.truth())[:2])
    outcome = service(sim, db, boards=some).members(listed)
    assert set(outcome.members["board_code"]) == set(some) and outcome.figures["boards_ok"] == 2
    with pytest.raises(DayFailed, match="Boards not in the day's list: BK9999"):
        service(sim, db, boards=("BK9999",)).members(listed)


def test_a_stopped_day_says_which_boards_are_missing_and_keeps_what_it_fetched(
    sim: Simulator, tmp_path: Path
):
    db = tmp_path / "b.duckdb"
    listed = service(sim, db).board_list().frame
    sim.ban_all(True)
    with pytest.raises(DayFailed, match="ban every IP") as stopped:
        service(sim, db).members(listed)
    assert sorted(stopped.value.details["missing"]) == sorted(sim.truth())
    with Store(db) as store:
        assert not store.completed_boards(DAY1)
        assert store.day_figures(DAY1)["runs"] == 1  # the stopped run is in the day's figures too


def test_the_report_sets_the_day_beside_the_previous_complete_day_and_the_recent_median(
    sim: Simulator, tmp_path: Path
):
    db = tmp_path / "b.duckdb"
    day1 = service(sim, db, DAY1)
    listed1 = day1.board_list().frame
    first = day1.members(listed1)
    write_list(db, listed1)
    sim.advance_day(members_added=5, members_removed=3)
    day2 = service(sim, db, DAY2)
    second = day2.members(day2.board_list().frame)

    assert second.previous == (DAY1, len(listed1), first.members.height)
    rows = {line.split("|")[1].strip(): line for line in second.history.splitlines() if line.startswith("| ")}
    assert "previous complete day (2026-03-02)" in rows["metric"] and "median of last 1" in rows["metric"]
    members = [cell.strip() for cell in rows["members stored"].split("|")[2:5]]
    assert members == [f"{second.members.height:,}", f"{first.members.height:,}", f"{first.members.height:,}"]


def test_only_today_can_be_synced():
    assert check_today("2026-03-02", today="2026-03-02") == DAY1
    with pytest.raises(ValueError, match="Eastmoney keeps no history"):
        check_today("2026-03-01", today="2026-03-02")


def test_the_day_service_and_the_engine_load_without_dagster():
    code = "import sys, boardsync_dagster.day; assert not [m for m in sys.modules if m.startswith('dagster')]"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
