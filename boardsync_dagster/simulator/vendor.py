"""The proxy vendor's extraction API: key check, minimum interval, daily quota, then fresh proxies."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from boardsync_dagster.simulator import formats
from boardsync_dagster.simulator.httpbase import LoopbackServer, QuietHandler
from boardsync_dagster.simulator.proxies import DEAD, FLAKY, GOOD, ProxyFleet, ProxyInfo
from boardsync_dagster.simulator.runtime import Runtime

EXTRACT_PATH = "/get"
STATS_PATH = "/stats"


class Vendor:
    def __init__(
        self,
        runtime: Runtime,
        fleet: ProxyFleet,
        fmt: str,
        key: str,
        quota: int,
        min_interval: float,
        ip_ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        formats.success(fmt, [], 0.0)  # fails now on an unknown format rather than at the first call
        self.runtime, self.fleet, self.fmt, self.key = runtime, fleet, fmt, key
        self.quota, self.min_interval, self.ip_ttl = quota, min_interval, ip_ttl
        self.used_today = 0
        self._clock = clock
        self._last_call: float | None = None
        self._lock = threading.Lock()

    def new_day(self) -> None:
        with self._lock:
            self.used_today = 0

    def extract(self, key: str, num: int, client: str) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one call of the extraction URL."""
        rt = self.runtime
        with self._lock:
            rt.stats.add("vendor", "calls")
            fault = rt.vendor_fault
            if fault == "down":
                rt.stats.add("refusals", "down")
                return 503, "text/html", b"<html><body><h1>503 Service Unavailable</h1></body></html>"
            reason = None
            if fault == "bad_key" or key != self.key:
                reason = "bad_key"
            elif fault == "whitelist":
                reason = "whitelist"
            else:
                # Every call counts, refused ones too: hammering a vendor that said "too fast" keeps it saying so.
                now = self._clock()
                if self._last_call is not None and now - self._last_call < rt.seconds(self.min_interval):
                    reason = "too_fast"
                self._last_call = now
                if reason is None and self.used_today >= self.quota:
                    reason = "quota"
            if reason is not None:
                rt.stats.add("refusals", reason)
                return (200, *formats.refusal(self.fmt, reason, self.min_interval, client))
            count = max(1, min(num, self.quota - self.used_today))
            self.used_today += count
            issued = [self._issue() for _ in range(count)]
            return (200, *formats.success(self.fmt, issued, time.time()))

    def _issue(self) -> ProxyInfo:
        rt = self.runtime
        roll = rt.chance()
        quality = (
            DEAD
            if roll < rt.profile.dead_ip
            else FLAKY
            if roll < rt.profile.dead_ip + rt.profile.flaky_ip
            else GOOD
        )
        rt.stats.add("ips", quality)
        refuses = quality == DEAD and rt.chance() < 0.5  # the other half accept, then drop every request
        return self.fleet.issue(quality, rt.seconds(self.ip_ttl), refuses=refuses)


class VendorServer(LoopbackServer):
    """Serves the extraction API and, beside it, the simulator's own stats."""

    def __init__(self, vendor: Vendor, stats: Callable[[], dict]) -> None:
        super().__init__(_Handler)
        self.vendor = vendor
        self.stats = stats


class _Handler(QuietHandler):
    server: VendorServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == STATS_PATH:
            self.reply(200, json.dumps(self.server.stats()).encode(), "application/json")
        elif url.path == EXTRACT_PATH:
            try:
                num = int(params.get("num", "1"))
            except ValueError:
                num = 1
            status, content_type, body = self.server.vendor.extract(
                params.get("key", ""), num, self.client_address[0]
            )
            self.reply(status, body, content_type)
        else:
            self.reply(404, b"not found", "text/plain")
