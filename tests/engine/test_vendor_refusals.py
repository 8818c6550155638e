"""Vendor refusals end to end (issue 11.5): the ProxyManager against a scripted vendor over loopback HTTP.

A refusal that is about pace, or that we cannot read, must never mark the vendor day spent: only the vendor's
explicit quota answer (or our own ledger count) may, since a spent day blocks every later run until midnight.
"""

from __future__ import annotations

import pytest

from boardsync_dagster.engine.clock import vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.errors import QuotaExhausted, VendorUnavailable
from boardsync_dagster.engine.ledger import MemoryLedger
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from tests.clock import FakeClock
from tests.reliability.fakes import ScriptedServer

CFG = SyncConfig(rng_seed=5, max_ips=50, timeout=5.0)
IP = (200, "127.0.0.9:8080")
REFUSALS = {
    "rate limit in words": (200, "Rate limit exceeded, please slow down"),
    "too many for this key": (200, "Too many requests for this key"),
    "HTTP 429": (429, "slow"),
    "unknown code and words": (200, '{"code":999,"success":false,"msg":"系统繁忙"}'),
}


def manager(server: ScriptedServer, ledger: MemoryLedger, clock: FakeClock) -> ProxyManager:
    return ProxyManager(ProxySettings(proxy_api=f"{server.url}/get?key=k&num=1"), CFG, ledger, clock)


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=list(REFUSALS))
def test_a_refusal_that_is_not_quota_is_retried_and_the_next_answer_is_used(refusal):
    clock, ledger = FakeClock(), MemoryLedger()
    with ScriptedServer(lambda path, query, n: refusal if n < 2 else IP) as vendor:
        lease = manager(vendor, ledger, clock).acquire()
        assert lease.label == "127.0.0.9:8080"
        assert vendor.total_calls() == 3
    # Only the IP issued is counted: two refusals released their reservations.
    assert ledger.used(vendor_day(clock.now())) == 1


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=list(REFUSALS))
def test_a_refusal_that_never_ends_stops_the_run_without_marking_the_day_spent(refusal):
    clock, ledger = FakeClock(), MemoryLedger()
    answers = {"refuse": True}
    with ScriptedServer(lambda path, query, n: refusal if answers["refuse"] else IP) as vendor:
        with pytest.raises(VendorUnavailable) as stopped:
            manager(vendor, ledger, clock).acquire()
        assert not isinstance(stopped.value, QuotaExhausted)
        calls = vendor.total_calls()
        assert calls <= max(CFG.vendor_attempts, CFG.vendor_too_fast_limit + 1)
        assert ledger.used(vendor_day(clock.now())) == 0
        # A later run the same day starts: the ledger does not say the day is spent.
        answers["refuse"] = False
        assert manager(vendor, ledger, clock).acquire().label == "127.0.0.9:8080"
        assert vendor.total_calls() == calls + 1


def test_an_unknown_refusal_backs_off_longer_each_time():
    clock, ledger = FakeClock(), MemoryLedger()
    refusal = REFUSALS["unknown code and words"]
    with ScriptedServer(lambda path, query, n: refusal if n < 2 else IP) as vendor:
        manager(vendor, ledger, clock).acquire()
    # The back-off covers the vendor spacing, so these are the only waits (the fake clock stands still otherwise).
    assert clock.sleeps == [CFG.min_interval, 2 * CFG.min_interval]


def test_the_vendors_explicit_quota_answer_still_marks_the_day_spent():
    clock, ledger = FakeClock(), MemoryLedger()
    quota = (200, '{"code":121,"success":false,"msg":"今日提取数量已用完"}')
    with ScriptedServer(lambda path, query, n: quota) as vendor, pytest.raises(QuotaExhausted):
        manager(vendor, ledger, clock).acquire()
    assert ledger.used(vendor_day(clock.now())) == CFG.max_ips
