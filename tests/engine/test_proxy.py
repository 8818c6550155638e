import datetime as dt
import json
import math
import sys
import threading

import pytest
import requests

from boardsync_dagster.engine.banmodel import SLOW_START_LEASES, Estimate
from boardsync_dagster.engine.clock import SHANGHAI, vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.errors import (
    BanSuspected,
    FatalSyncError,
    IpBudgetSpent,
    QuotaExhausted,
    Stopped,
    VendorAnswerError,
    VendorAuthError,
    VendorUnavailable,
)
from boardsync_dagster.engine.ledger import MemoryLedger
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from tests.clock import FakeClock

from .conftest import FakeVendor

KEY = "k3y-ABCDEF-987654321"
API = f"http://127.0.0.1:9/get?key={KEY}&num=1"
CFG = SyncConfig(pacing="seed", rng_seed=1)


def manager(clock, vendor, config=CFG, ledger=None, **settings) -> ProxyManager:
    return ProxyManager(
        ProxySettings(proxy_api=API, **settings), config, ledger or MemoryLedger(), clock, vendor_get=vendor
    )


def test_twenty_threads_never_call_the_vendor_closer_than_min_interval(clock, vendor):
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, ban_stop_after=10_000, max_ips=1000))
    errors = []

    def hammer():
        try:
            for _ in range(15):
                lease = pm.acquire()
                pm.mark_failed(lease)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len(vendor.calls) >= 15
    gaps = [b - a for a, b in zip(vendor.calls, vendor.calls[1:], strict=False)]
    assert min(gaps) >= CFG.min_interval - 1e-9
    assert pm.stats.ips_used == len(vendor.calls)


def test_single_flight_one_call_while_others_wait(clock):
    release = threading.Event()
    entered = threading.Event()

    def slow_answer(n):
        entered.set()
        release.wait(10)
        return 200, "10.0.0.1:8080"

    vendor = FakeVendor(clock, slow_answer)
    pm = manager(clock, vendor)
    got = []
    threads = [threading.Thread(target=lambda: got.append(pm.acquire())) for _ in range(6)]
    for t in threads:
        t.start()
    assert entered.wait(10)
    release.set()
    for t in threads:
        t.join(10)
    assert len(vendor.calls) == 1
    assert len(got) == 6 and len({id(lease) for lease in got}) == 1  # six workers share one IP


def test_zombie_ip_regression_a_failed_ip_is_never_handed_out_again(clock):
    # The vendor hands the same address back: the seed's bug handed the failed IP out again.
    vendor = FakeVendor(clock, lambda n: (200, "10.0.0.1:8080") if n <= 2 else (200, "10.0.0.2:8080"))
    pm = manager(clock, vendor)
    first = pm.acquire()
    assert pm.acquire() is first  # shared until it fails
    pm.mark_failed(first)
    second = pm.acquire()
    assert second is not first and second.label == "10.0.0.2:8080"
    assert len(vendor.calls) == 3  # the re-issued failed IP was skipped, never leased


def test_mark_failed_on_a_replaced_lease_does_not_extract_again(clock, vendor):
    pm = manager(clock, vendor)
    a = pm.acquire()
    pm.mark_failed(a)
    b = pm.acquire()
    for _ in range(5):  # the other five workers report the same dead IP late
        pm.mark_failed(a)
        assert pm.report_failure(a) is True
    assert pm.acquire() is b
    assert len(vendor.calls) == 2


def test_report_failure_drops_an_ip_after_the_limit_of_failures_in_a_row(clock, vendor):
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, ip_fail_limit=2))
    fresh = pm.acquire()
    assert pm.report_failure(fresh) is False  # a fresh IP's first reply failing is not yet a verdict
    assert pm.report_failure(fresh) is True
    proven = pm.acquire()
    pm.report_success(proven)
    assert pm.report_failure(proven) is False  # one random drop does not cost a whole IP
    pm.report_success(proven)
    assert pm.report_failure(proven) is False
    assert pm.report_failure(proven) is True
    assert pm.acquire() is not proven


def test_a_late_success_on_a_dropped_ip_breaks_the_ban_streak(clock, vendor):
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, ban_stop_after=3, ip_fail_limit=1))
    first = pm.acquire()
    assert pm.report_failure(first) is True
    pm.report_success(first)  # a reply that was in flight when the IP was dropped came back fine
    for _ in range(2):
        assert pm.report_failure(pm.acquire()) is True
    pm.acquire()  # two dead IPs after one that worked: no ban verdict yet


def test_ttl_and_jitter_bounds(clock, vendor):
    cfg = SyncConfig(pacing="seed", rng_seed=3, ip_ttl=45.0, ttl_jitter=5.0)
    pm = manager(clock, vendor, cfg)
    lives = []
    for _ in range(40):
        lease = pm.acquire()
        lives.append(lease.expires_at - lease.issued_at)
        clock.advance(lease.expires_at - clock.monotonic())  # exactly at expiry: must be replaced
    assert all(40.0 <= life <= 50.0 for life in lives)
    assert max(lives) - min(lives) > 2.0  # jitter is real, so leases do not expire together
    assert len(vendor.calls) == 40


def zhima(seconds_left: int, clock: FakeClock):
    def answer(n):
        expiry = (clock.now() + dt.timedelta(seconds=seconds_left)).astimezone(SHANGHAI)
        data = [{"ip": f"10.0.0.{n}", "port": 8080, "expire_time": expiry.strftime("%Y-%m-%d %H:%M:%S")}]
        return 200, json.dumps({"code": 0, "success": True, "data": data})

    return answer


def test_vendor_expiry_is_never_exceeded(clock):
    pm = manager(
        clock,
        FakeVendor(clock, zhima(20, clock)),
        SyncConfig(pacing="seed", rng_seed=1, use_vendor_expiry=False),
    )
    lease = pm.acquire()
    assert lease.expires_at - lease.issued_at <= 20 - CFG.expiry_margin + 1e-6


def test_vendor_expiry_gives_the_ip_its_full_life(clock):
    pm = manager(
        clock,
        FakeVendor(clock, zhima(60, clock)),
        SyncConfig(pacing="seed", rng_seed=1, use_vendor_expiry=True),
    )
    lease = pm.acquire()
    assert lease.expires_at - lease.issued_at == pytest.approx(60 - CFG.expiry_margin, abs=1.0)


def test_expiry_already_past_is_a_clear_error(clock):
    pm = manager(clock, FakeVendor(clock, zhima(-5, clock)))
    with pytest.raises(VendorAnswerError, match="expir"):
        pm.acquire()


def test_quota_is_reserved_before_the_call_and_stops_cleanly(clock):
    ledger = MemoryLedger()
    day = vendor_day(clock.now())
    seen = []

    def answer(n):
        seen.append(ledger.used(day))
        return 200, f"10.0.0.{n}:8080"

    pm = manager(clock, FakeVendor(clock, answer), SyncConfig(pacing="seed", rng_seed=1, max_ips=3), ledger)
    for _ in range(3):
        pm.mark_failed(pm.acquire())
    assert seen == [1, 2, 3]  # counted before the vendor answered: a crash never under-counts
    with pytest.raises(QuotaExhausted, match=r"3/3 IPs.*renews at .* Asia/Shanghai"):
        pm.acquire()
    assert ledger.used(day) == 3
    again = manager(clock, FakeVendor(clock), SyncConfig(pacing="seed", rng_seed=1, max_ips=3), ledger)
    with pytest.raises(QuotaExhausted):
        again.acquire()  # a second run the same day knows what is left
    assert again.stats.vendor_calls == 0


def test_quota_renews_on_the_next_shanghai_day():
    clock = FakeClock(dt.datetime(2026, 3, 2, 23, 59, 58, tzinfo=SHANGHAI))
    ledger = MemoryLedger({dt.date(2026, 3, 2): 200})
    pm = manager(clock, FakeVendor(clock), SyncConfig(pacing="seed", rng_seed=1), ledger)
    with pytest.raises(QuotaExhausted):
        pm.acquire()
    clock.advance(3)
    pm2 = manager(clock, FakeVendor(clock), SyncConfig(pacing="seed", rng_seed=1), ledger)
    assert pm2.acquire().label.startswith("10.0.0.")
    assert ledger.used(dt.date(2026, 3, 3)) == 1


def test_max_ips_per_run(clock, vendor):
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, max_ips_per_run=2))
    pm.mark_failed(pm.acquire())
    pm.mark_failed(pm.acquire())
    with pytest.raises(IpBudgetSpent, match="max_ips_per_run"):
        pm.acquire()


def test_every_ip_dying_unused_stops_as_a_ban(clock, vendor):
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, ban_stop_after=4, ip_fail_limit=2))
    for _ in range(4):
        lease = pm.acquire()
        assert [pm.report_failure(lease), pm.report_failure(lease)] == [False, True]
    with pytest.raises(BanSuspected, match="ban every IP"):
        pm.acquire()
    assert len(vendor.calls) == 4


def test_dead_ips_judged_while_a_live_one_serves_are_no_total_ban(clock, vendor):
    # Dead IPs are judged within seconds, good ones at the end of their life: the last IPs judged can all be dead
    # while live ones serve. Read as a total ban, a run stopped at 88 of 527 boards (bench w10-10s, seed 8).
    pm = manager(clock, vendor, SyncConfig(rng_seed=1, ban_stop_after=4, ip_fail_limit=2))
    good = pm.acquire()
    pm.report_success(good)
    dead = 0
    for _ in range(100):  # bounded: the pool hands out the serving IP and fresh ones in turn
        lease = pm.acquire()
        if lease is good:
            pm.report_success(lease)
            continue
        assert [pm.report_failure(lease), pm.report_failure(lease)] == [False, True]
        dead += 1
        if dead == 6:
            break
    assert dead == 6
    assert pm.acquire() is not None  # six dead in a row, one serving: no "ban every IP"
    pm.report_failure(good)
    pm.report_failure(good)
    pm.report_failure(good)  # now it fails too (a ban on every IP reaches the serving one as well)
    with pytest.raises(BanSuspected, match="ban every IP"):
        for _ in range(10):  # bounded: the next dead IP judged stops the run
            lease = pm.acquire()
            pm.report_failure(lease)
            pm.report_failure(lease)


def test_a_working_ip_resets_the_ban_count(clock, vendor):
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, ban_stop_after=3))
    for i in range(9):
        lease = pm.acquire()
        if i % 2:
            pm.report_success(lease)
        pm.mark_failed(lease)
    assert len(vendor.calls) == 9


def test_too_fast_waits_and_retries(clock):
    vendor = FakeVendor(clock, lambda n: (200, "请2秒后再试") if n == 1 else (200, "10.0.0.1:8080"))
    pm = manager(clock, vendor)
    assert pm.acquire().label == "10.0.0.1:8080"
    assert pm.stats.refusals == 1 and pm.stats.too_fast == 1
    assert vendor.calls[1] - vendor.calls[0] >= CFG.min_interval


def test_too_fast_backs_off_doubling_and_does_not_stop(clock):
    """A 'too fast' answer is a reason to wait: each one doubles the wait before the account's next call."""
    vendor = FakeVendor(clock, lambda n: (200, "请2秒后再试") if n <= 4 else (200, "10.0.0.1:8080"))
    pm = manager(clock, vendor, SyncConfig(rng_seed=1, vendor_too_fast_limit=4))
    assert pm.acquire().label == "10.0.0.1:8080"
    gaps = [b - a for a, b in zip(vendor.calls, vendor.calls[1:], strict=False)]
    m = CFG.min_interval
    assert gaps == pytest.approx([2 * m, 4 * m, 8 * m, 16 * m])


def test_two_managers_on_one_account_share_the_vendor_spacing(clock):
    """Two runs of one account (two processes, here two managers on one ledger) space their vendor calls as one."""
    ledger, vendor = MemoryLedger(), FakeVendor(clock)
    config = SyncConfig(rng_seed=1, ban_stop_after=10_000, max_ips=1000)
    managers = [manager(clock, vendor, config, ledger) for _ in range(2)]
    errors = []

    def hammer(pm):
        try:
            for _ in range(10):
                pm.mark_failed(pm.acquire())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(pm,)) for pm in managers for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len(vendor.calls) == 60
    gaps = [b - a for a, b in zip(vendor.calls, vendor.calls[1:], strict=False)]
    assert min(gaps) >= CFG.min_interval - 1e-9


def test_too_fast_forever_gives_up_bounded(clock):
    vendor = FakeVendor(clock, lambda n: (200, "请2秒后再试"))
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, vendor_too_fast_limit=3))
    with pytest.raises(VendorUnavailable, match="too fast"):
        pm.acquire()
    assert len(vendor.calls) == 4


@pytest.mark.parametrize(
    "body, error",
    [
        ("请将1.2.3.4添加到白名单", VendorAuthError),
        ('{"code":-1,"msg":"key错误或已失效"}', VendorAuthError),
        ('{"code":121,"success":false,"msg":"今日提取数量已用完"}', QuotaExhausted),
        ("<html>what</html>", VendorAnswerError),
        ("1.2.3.4:0", VendorAnswerError),
    ],
)
def test_vendor_refusals_are_typed_and_stop_without_a_storm(clock, body, error):
    ledger = MemoryLedger()
    vendor = FakeVendor(clock, lambda n: (200, body))
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1), ledger)
    with pytest.raises(error):
        pm.acquire()
    with pytest.raises(error):
        pm.acquire()  # remembered: no second vendor call
    assert len(vendor.calls) == 1
    day = vendor_day(clock.now())
    if error is VendorAuthError:
        assert ledger.used(day) == 0  # no IP spent
    if error is QuotaExhausted:
        assert ledger.used(day) == 200  # the vendor knows best: the day is spent for later runs too


def test_vendor_down_is_bounded_and_masks_the_key(clock):
    def down(n):
        return requests.ConnectionError(f"HTTPConnectionPool: Max retries exceeded with url: {API}")

    vendor = FakeVendor(clock, down)
    ledger = MemoryLedger()
    pm = manager(clock, vendor, SyncConfig(pacing="seed", rng_seed=1, vendor_attempts=3), ledger)
    with pytest.raises(VendorUnavailable) as info:
        pm.acquire()
    assert len(vendor.calls) == 3
    assert clock.monotonic() - 1000.0 <= 3 * CFG.min_interval  # within seconds
    assert KEY not in str(info.value) and KEY not in repr(pm)
    assert ledger.used(vendor_day(clock.now())) == 0


def test_vendor_5xx_counts_as_unreachable(clock):
    vendor = FakeVendor(clock, lambda n: (502, "bad gateway") if n < 3 else (200, "10.0.0.9:80"))
    pm = manager(clock, vendor)
    assert pm.acquire().label == "10.0.0.9:80"


def test_stop_event_interrupts_the_wait_without_calling(clock, vendor):
    pm = manager(clock, vendor)
    pm.mark_failed(pm.acquire())
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        pm.acquire(stop)
    assert len(vendor.calls) == 1
    assert pm.acquire().label  # a stop is not remembered as fatal


def test_lease_repr_and_proxies_hide_credentials(clock, vendor):
    pm = manager(clock, vendor, user="alice-user", password="hunter2-pass")
    lease = pm.acquire()
    assert "hunter2-pass" in lease.proxies["http"]
    assert "hunter2-pass" not in repr(lease) and "alice-user" not in repr(lease)
    assert "hunter2-pass" not in repr(pm) and KEY not in repr(pm)


def test_fixed_and_direct_modes_never_call_a_vendor(clock):
    fixed = ProxyManager(
        ProxySettings(proxy_url="http://u1:p4ssword@127.0.0.1:3128"), CFG, MemoryLedger(), clock
    )
    lease = fixed.acquire()
    assert lease.proxies == {
        "http": "http://u1:p4ssword@127.0.0.1:3128",
        "https": "http://u1:p4ssword@127.0.0.1:3128",
    }
    fixed.mark_failed(lease)
    assert fixed.acquire() is lease and not fixed.rotating and fixed.stats.ips_used == 0
    assert "p4ssword" not in repr(fixed)
    direct = ProxyManager(ProxySettings(), CFG, MemoryLedger(), clock)
    assert direct.acquire().proxies is None


def test_credentials_are_url_quoted_into_vendor_and_fixed_proxies(clock, vendor):
    creds = {"user": "a b", "password": "p@ss:w/rd"}
    leased = manager(clock, vendor, **creds).acquire()
    assert leased.proxies["https"] == "http://a%20b:p%40ss%3Aw%2Frd@10.0.0.2:8080"
    fixed = ProxyManager(ProxySettings(proxy_url="http://127.0.0.1:3128", **creds), CFG, clock=clock)
    assert fixed.acquire().proxies["http"] == "http://a%20b:p%40ss%3Aw%2Frd@127.0.0.1:3128"
    own = ProxyManager(ProxySettings(proxy_url="http://u1:pw@127.0.0.1:3128", **creds), CFG, clock=clock)
    assert own.acquire().proxies["http"] == "http://u1:pw@127.0.0.1:3128"  # the URL's own user wins


def test_settings_validation():
    from boardsync_dagster.engine.errors import ConfigError

    with pytest.raises(ConfigError, match="not both"):
        ProxySettings(proxy_api=API, proxy_url="http://h:1").validate()
    with pytest.raises(ConfigError, match="vendor_format"):
        ProxySettings(proxy_api=API, vendor_format="xml").validate()
    with pytest.raises(ConfigError, match="proxy_api") as info:
        ProxySettings(proxy_api=f"ftp://x/?key={KEY}").validate()
    assert KEY not in str(info.value)


@pytest.mark.parametrize("at", [180, 188, 192])  # the key then straddles character 200
def test_a_vendor_message_echoing_the_key_across_the_cut_leaks_no_part_of_it(clock, at):
    """Messages are shortened to 200 characters; masking must come first, or a key cut in two would show its
    first part."""
    echo = FakeVendor(
        clock, lambda n: (200, json.dumps({"code": 113, "msg": "x" * at + f" key {KEY} not allowed"}))
    )
    pm = manager(clock, echo)
    with pytest.raises(FatalSyncError) as caught:
        pm.acquire()
    message = str(caught.value)
    assert not any(KEY[:n] in message for n in range(4, len(KEY) + 1)) and "***" in message


def test_single_flight_holds_under_fast_thread_switching(clock):
    """Issue 11.8: the lease is published under the same lock that clears the in-flight flag, so a woken waiter
    never finds 'no lease, nobody extracting' and calls the vendor a second time for the same need."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        extra = 0
        for _ in range(300):
            vendor = FakeVendor(clock)
            pm = manager(clock, vendor)
            barrier = threading.Barrier(6)

            def acquire(pm=pm, barrier=barrier):
                barrier.wait(10)
                pm.acquire()

            threads = [threading.Thread(target=acquire) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            extra += len(vendor.calls) - 1
    finally:
        sys.setswitchinterval(switch)
    assert extra == 0


ADAPTIVE = SyncConfig(rng_seed=1, workers=6)


def test_adaptive_pacing_spaces_each_ips_requests_and_spreads_them_over_ips(clock, vendor):
    pm = manager(clock, vendor, ADAPTIVE)
    pm.backlog = 1000
    sends: dict[int, list[float]] = {}
    for _ in range(60):
        lease = pm.acquire()
        sends.setdefault(lease.id, []).append(clock.monotonic())
        pm.report_success(lease)
    # One IP until one has served (a total ban must not fan out), then SLOW_START_LEASES at once while the pace
    # still grows (slow start: the IPs live when it overshoots the rule are lost), each at most one request per
    # spacing: the start pace (1 s) grows x1.25 each pace_grow_every (10 s), never faster.
    assert len(sends) == SLOW_START_LEASES == len(vendor.calls)
    first = min(times[0] for times in sends.values())
    for times in sends.values():
        for a, b in zip(times, times[1:], strict=False):
            steps = math.floor((a - first) / ADAPTIVE.pace_grow_every) + 1
            assert b - a >= ADAPTIVE.pace_start_spacing / 1.25**steps - 1e-9
    assert pm.stats.ips_used == SLOW_START_LEASES


def test_a_pace_that_cannot_finish_within_the_quota_stops_early_and_says_why(clock, vendor):
    # Learned (yesterday): one request per 30 s per IP. 10,000 requests waiting cannot fit in 10 IPs.
    trickle = Estimate(spacing=30.0, bans=4)
    pm = ProxyManager(
        ProxySettings(proxy_api=API),
        SyncConfig(rng_seed=1, max_ips=10),
        MemoryLedger(),
        clock,
        vendor_get=vendor,
        ban_start=trickle,
    )
    pm.backlog = 10_000
    with pytest.raises(QuotaExhausted, match="stopped to keep them"):
        pm.acquire()
    assert vendor.calls == []  # not one IP spent on a run that could not finish
