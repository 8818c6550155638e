"""The quota ledger shared by processes: never more IPs than the cap, however many reserve at once (issue 11.11),
and no two vendor calls of one account closer than min_interval, whichever process makes them."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from pathlib import Path

import pytest

from boardsync_dagster.engine.clock import SystemClock, vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.errors import QuotaExhausted
from boardsync_dagster.engine.ledger import account_id
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.ledgers import FileLedger, PostgresLedger, open_ledger

VENDOR = "http://127.0.0.1:9/get?key=SECRETKEY123&num=1"
DAY = dt.date(2026, 3, 2)
PROCESSES, THREADS = 2, 8
DEADLINE_S = 120


def make_ledger(where: str):
    account = account_id(VENDOR)
    return PostgresLedger(where, account) if where.startswith("postgresql:") else FileLedger(where, account)


def reserve_until_refused(where: str, max_ips: int, barrier, results) -> None:
    """One process: THREADS threads each reserving one IP at a time until the ledger refuses."""
    ledger = make_ledger(where)
    taken = [0] * THREADS

    def worker(i: int) -> None:
        for _ in range(max_ips + 1):  # a thread can never take more than the cap: bounded by count
            if not ledger.reserve(DAY, 1, max_ips):
                return
            taken[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    barrier.wait(DEADLINE_S)
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    results.put(sum(taken))


def acquire_until_spent(where: str, max_ips: int, barrier, results) -> None:
    """One process: a ProxyManager whose vendor issues an IP per call; workers drop each IP at once, so every
    acquire asks the vendor for another, until the day's quota stops them."""
    issued = []

    def vendor_get(url: str, timeout: float) -> tuple[int, str]:
        issued.append(1)
        return 200, f"10.0.{len(issued) // 250}.{len(issued) % 250}:8080"

    config = SyncConfig(rng_seed=1, max_ips=max_ips, min_interval=0.0)
    pm = ProxyManager(ProxySettings(proxy_api=VENDOR), config, make_ledger(where), vendor_get=vendor_get)

    stops = []

    def worker() -> None:
        for _ in range(max_ips + 1):
            try:
                lease = pm.acquire()
            except QuotaExhausted as exc:
                stops.append(exc)
                return
            pm.report_success(lease)  # an IP that worked: the ban rule must not be what stops the run
            pm.mark_failed(lease)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    barrier.wait(DEADLINE_S)
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    assert len(stops) == THREADS, "every thread stops on the quota, and only on it"
    results.put(len(issued))


def in_processes(target, where: str, max_ips: int) -> list[int]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=target, args=(where, max_ips, barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        counts = [results.get(timeout=DEADLINE_S) for _ in procs]
    finally:
        for p in procs:
            p.join(DEADLINE_S)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    return counts


@pytest.fixture(params=["duckdb file", pytest.param("postgresql", marks=pytest.mark.postgres)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_dsn")
    return str(tmp_path / "ledger.duckdb")


def test_two_processes_of_many_threads_reserve_exactly_the_cap(where: str):
    max_ips = 60
    counts = in_processes(reserve_until_refused, where, max_ips)
    assert sum(counts) == max_ips, counts
    assert make_ledger(where).used(DAY) == max_ips


def test_two_proxy_managers_in_two_processes_never_take_more_than_the_cap(where: str):
    """Issue 11.11: reading the day's count and adding to it were two statements, so two processes could both
    take the last IP. The vendor here counts what it issued: exactly the cap, in total."""
    max_ips = 30
    counts = in_processes(acquire_until_spent, where, max_ips)
    assert sum(counts) == max_ips, counts
    ledger = make_ledger(where)
    assert ledger.used(vendor_day(SystemClock().now())) == max_ips


def claim_calls(where: str, gap: float, barrier, results) -> None:
    """One process: claim CALLS vendor calls in turn, waiting what the ledger says; report the claimed times."""
    import time

    ledger = make_ledger(where)
    claimed = []
    barrier.wait(DEADLINE_S)
    for _ in range(200):  # bounded: each round either claims or waits the ledger's (positive) wait
        if len(claimed) == CALLS:
            break
        now = time.time()
        wait = ledger.claim_call(now, gap, IN_FLIGHT)
        if wait is None:
            # A call "in flight" for a while: nobody may claim before it ends plus the gap.
            time.sleep(gap / 2)
            ended = time.time()
            claimed.append((now, ended))
            ledger.call_ended(now + IN_FLIGHT, ended)
        else:
            time.sleep(min(wait, gap))  # as the engine does: the ledger's wait, re-checked every gap
    results.put(claimed)


CALLS = 5
IN_FLIGHT = 10.0


def test_vendor_calls_of_one_account_are_spaced_across_processes(where: str):
    gap = 0.05
    calls = sorted(call for calls in in_processes(claim_calls, where, gap) for call in calls)
    assert len(calls) == PROCESSES * CALLS
    # Each call starts at least `gap` after the previous one ENDED, whichever process made them.
    spacing = [start - previous_end for (_, previous_end), (start, _) in zip(calls, calls[1:], strict=False)]
    assert min(spacing) >= gap, spacing


def test_the_account_is_a_fingerprint_never_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    account = account_id(VENDOR)
    assert account.startswith("127.0.0.1#") and "SECRETKEY123" not in account and "key" not in account
    assert account != account_id(VENDOR.replace("SECRETKEY123", "OTHERKEY456"))
    monkeypatch.delenv("BOARDSYNC_LEDGER_DSN", raising=False)
    assert isinstance(open_ledger(str(tmp_path / "f.duckdb"), VENDOR), FileLedger)
    monkeypatch.setenv("BOARDSYNC_LEDGER_DSN", "postgresql://u:pw@127.0.0.1:1/db")
    assert isinstance(open_ledger(str(tmp_path / "f.duckdb"), VENDOR), PostgresLedger)


def test_an_unreachable_postgres_ledger_is_one_line_without_the_password():
    port = __import__("tests.postgres", fromlist=["free_port"]).free_port()
    ledger = PostgresLedger(f"postgresql://boardsync:s3cr%2Ft@127.0.0.1:{port}/ledger", "acct")
    with pytest.raises(RuntimeError) as info:
        ledger.used(DAY)
    message = str(info.value)
    # With credentials in a URL, everything but host:port is masked: a password may hold '/', so the database
    # name cannot be told from the rest of it.
    assert message.startswith(f"PostgreSQL at postgresql://***@127.0.0.1:{port}/***: ")
    assert "s3cr" not in message and "\n" not in message
