"""IPs that look expired on arrival (issue 11.6): skipped and counted as waste, the vendor's clock learnt from its
Date header, and a stop only after several such batches in a row. Injected clocks, scripted vendors."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime

import pytest

from boardsync_dagster.engine.clock import SHANGHAI, SystemClock, vendor_day
from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.engine.errors import VendorAnswerError
from boardsync_dagster.engine.fetcher import sync_members
from boardsync_dagster.engine.ledger import MemoryLedger
from boardsync_dagster.engine.parse import Page
from boardsync_dagster.engine.proxy import ProxyManager, ProxySettings
from boardsync_dagster.engine.report import render_table
from boardsync_dagster.engine.types import Board, BoardKind, Member
from tests.clock import FakeClock
from tests.reliability.fakes import ScriptedServer

from .conftest import FakeVendor

CFG = SyncConfig(rng_seed=3, expiry_margin=2.0, vendor_unusable_limit=3)


def zhima(ip: str, expires: dt.datetime) -> str:
    stamp = expires.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return json.dumps({"code": 0, "success": True, "data": [{"ip": ip, "port": 8080, "expire_time": stamp}]})


def kuaidaili(ip: str, seconds_left: int) -> str:
    return json.dumps(
        {"code": 0, "msg": "", "data": {"count": 1, "proxy_list": [f"{ip}:8080,{seconds_left}"]}}
    )


def manager(clock, vendor_get, ledger=None) -> ProxyManager:
    settings = ProxySettings(proxy_api="http://127.0.0.1:9/get?key=k")
    return ProxyManager(settings, CFG, ledger or MemoryLedger(), clock, vendor_get=vendor_get)


def test_a_batch_expired_on_arrival_is_skipped_as_waste_and_the_next_batch_is_used(clock):
    # Whole seconds, short life: "0 s left" once, then an IP with a minute.
    vendor = FakeVendor(clock, lambda n: (200, kuaidaili(f"10.0.0.{n}", 0 if n == 1 else 60)))
    ledger = MemoryLedger()
    pm = manager(clock, vendor, ledger)
    lease = pm.acquire()
    assert lease.label == "10.0.0.2:8080"
    assert len(vendor.calls) == 2
    assert pm.stats.ips_unusable == 1 and pm.stats.ips_used == 2
    assert ledger.used(vendor_day(clock.now())) == 2  # the vendor issued both: both are counted


def test_only_several_expired_batches_in_a_row_stop_the_run(clock):
    vendor = FakeVendor(clock, lambda n: (200, kuaidaili(f"10.0.0.{n}", 1)))  # 1 s left, margin 2 s
    pm = manager(clock, vendor)
    with pytest.raises(VendorAnswerError) as stopped:
        pm.acquire()
    assert len(vendor.calls) == CFG.vendor_unusable_limit
    assert pm.stats.ips_unusable == CFG.vendor_unusable_limit
    message = str(stopped.value)
    assert f"{CFG.vendor_unusable_limit} batches in a row" in message and "expiry_margin 2 s" in message


def dated(clock: FakeClock, skew: float, life: float):
    """A vendor whose clock is `skew` seconds from ours (negative: behind), stating each IP's expiry `life`
    seconds after its own now, and stamping its answers with a Date header of its own clock."""

    def answer(n: int) -> tuple[int, str, str]:
        vendor_now = clock.now() + dt.timedelta(seconds=skew)
        body = zhima(f"10.0.1.{n}", vendor_now + dt.timedelta(seconds=life))
        return 200, body, format_datetime(vendor_now.astimezone(dt.UTC), usegmt=True)

    return answer


def test_a_vendor_clock_behind_ours_by_more_than_an_ip_lives_is_corrected(clock):
    vendor = FakeVendor(clock, dated(clock, skew=-10.0, life=5.0))
    pm = manager(clock, vendor)
    lease = pm.acquire()
    life = lease.expires_at - clock.monotonic()
    # 5 s stated, minus the 2 s margin, minus at most the Date header's one-second resolution.
    assert 5.0 - 2.0 - 1.0 - 1e-6 <= life <= 5.0 - 2.0 + 1e-6
    assert len(vendor.calls) == 1 and pm.stats.ips_unusable == 0


def test_a_vendor_clock_ahead_of_ours_never_makes_a_lease_outlive_its_ip(clock):
    vendor = FakeVendor(clock, dated(clock, skew=+10.0, life=20.0))
    lease = manager(clock, vendor).acquire()
    assert lease.expires_at - clock.monotonic() <= 20.0 - 2.0 + 1e-6


class SkewedClock(SystemClock):
    """The real clock, except that our wall time runs `ahead` seconds ahead of the vendor's."""

    def __init__(self, ahead: float) -> None:
        self.ahead = dt.timedelta(seconds=ahead)

    def now(self) -> dt.datetime:
        return super().now() + self.ahead


def test_over_http_the_date_header_corrects_a_vendor_clock_30_s_behind():
    clock = SkewedClock(ahead=30.0)

    def answer(path, query, n):
        return 200, zhima("127.0.0.9", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20))

    with ScriptedServer(answer) as vendor:
        pm = ProxyManager(ProxySettings(proxy_api=f"{vendor.url}/get?key=k"), CFG, MemoryLedger(), clock)
        lease = pm.acquire()
        assert vendor.total_calls() == 1
    # Stated 20 s (whole seconds) in the vendor's clock: at most 18 s after the margin, about 16-18 s (slack for
    # a loaded machine); taken at face value it would look 10 s expired.
    assert 10.0 <= lease.expires_at - clock.monotonic() <= 18.0


class OneBoard:
    def member_page(self, code: str, page: int, proxies) -> Page:
        return Page(total=1, rows=[Member("600000", "a", "SH")])


def test_the_waste_is_in_the_sync_report(clock):
    config = SyncConfig(rng_seed=3, workers=1, start_stagger=0, req_delay_min=0, req_delay_max=0)
    vendor = FakeVendor(clock, lambda n: (200, kuaidaili(f"10.0.0.{n}", 0 if n == 1 else 60)))
    pm = ProxyManager(
        ProxySettings(proxy_api="http://127.0.0.1:9/get"), config, MemoryLedger(), clock, vendor_get=vendor
    )
    board = Board("BK0001", "a", BoardKind.CONCEPT)
    report = sync_members([board], OneBoard(), pm, config, checkpoint=lambda r: None, clock=clock)
    assert report.boards_ok == 1 and report.ips_used == 2 and report.ips_unusable == 1
    assert any(
        "IPs expired on arrival (waste)" in line and "| 1" in line
        for line in render_table(report).splitlines()
    )
