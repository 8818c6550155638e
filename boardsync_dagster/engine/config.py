"""SyncConfig: every knob of the engine. Names follow the seed script's flags; durations are seconds."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from boardsync_dagster.engine.errors import ConfigError

# Fields that are durations: scaled() multiplies exactly these, so a run at scale s is the same run, faster.
DURATION_FIELDS = (
    "ip_ttl",
    "ttl_jitter",
    "min_interval",
    "req_delay_min",
    "req_delay_max",
    "start_stagger",
    "timeout",
    "progress_interval",
    "expiry_margin",
    "poll_interval",
    "stop_grace",
    "pace_start_spacing",
    "pace_min_spacing",
    "pace_max_spacing",
    "pace_target_interval",
    "pace_grow_every",
    "pace_reprobe_after",
    "ban_window_min",
    "ban_window_max",
)

PACINGS = ("adaptive", "seed")


@dataclass(frozen=True)
class SyncConfig:
    workers: int = 6
    # Daily IP quota of the vendor account (per vendor day, Asia/Shanghai).
    max_ips: int = 200
    # Life of an IP when the vendor does not say when it expires, +- ttl_jitter so leases do not expire together.
    ip_ttl: float = 45.0
    ttl_jitter: float = 5.0
    # Vendor extraction calls are spaced at least this far apart, across all threads.
    min_interval: float = 2.0
    req_delay_min: float = 1.0
    req_delay_max: float = 2.0
    start_stagger: float = 5.0
    timeout: float = 10.0
    max_retry: int = 10
    page_size: int = 100
    progress_interval: float = 5.0
    # Cap on IPs one run may take (None: only the daily quota limits it), so a total ban cannot burn the day.
    max_ips_per_run: int | None = None
    seed: int | None = None
    # When the vendor reports an IP's expiry, the lease ends this long before it.
    expiry_margin: float = 2.0
    # Use an IP until the vendor-reported expiry (minus margin) instead of ip_ttl: the seed dropped IPs at 45 s of 60.
    use_vendor_expiry: bool = True
    # Consecutive IP-blamed failures after which a lease that has already served requests is dropped. A fresh
    # lease that fails its first request is dropped at once (dead on arrival).
    ip_fail_limit: int = 2
    # Stop when this many IPs in a row died without serving a single request: Eastmoney is banning every IP.
    ban_stop_after: int = 8
    # Stop when this many fresh IPs in a row answered 407: the proxy credentials are wrong, not the IPs.
    auth_stop_after: int = 3
    # Vendor unreachable / HTTP 5xx: this many attempts (min_interval apart) before VendorUnavailable.
    vendor_attempts: int = 3
    # Vendor "too fast" answers tolerated in a row before giving up.
    vendor_too_fast_limit: int = 5
    # An empty page (or data:null) past page 1 ends a board early only when seen this many times.
    end_confirmations: int = 2
    # How often idle threads re-check the stop event; and how long a stop waits for in-flight workers.
    poll_interval: float = 0.2
    stop_grace: float = 1.0
    # "adaptive": the ban model (engine/banmodel.py) paces each IP and decides how many IPs run at once.
    # "seed": the seed's fixed req_delay_min..max before each request, one IP shared by all workers, TTL ip_ttl.
    pacing: str = "adaptive"
    # Adaptive pacing, seconds between two requests on ONE IP: where a run with nothing learned starts (cautious),
    # the fastest it may go, and the slowest trickle it learns down to.
    pace_start_spacing: float = 1.0
    pace_min_spacing: float = 0.05
    pace_max_spacing: float = 60.0
    # Seconds between two requests of the whole run that adaptive pacing aims for (1/6 s: 6 requests/s, from as
    # many IPs as the learned per-IP pace needs). The seed's six workers at 1-2 s made ~4 requests/s.
    pace_target_interval: float = 0.15
    # Until the first ban, the per-IP pace grows x1.25 every pace_grow_every seconds; after one, +10 % every
    # pace_reprobe_after seconds without a ban (so a rule that loosens is found again).
    pace_grow_every: float = 10.0
    pace_reprobe_after: float = 60.0
    # Ban windows the model considers, seconds: from ban_window_min doubling up to ban_window_max.
    ban_window_min: float = 5.0
    ban_window_max: float = 320.0
    # Each IP's next request waits its spacing times 1..1+pace_jitter: never lock-step, never faster than learned.
    pace_jitter: float = 0.1

    def validate(self) -> SyncConfig:
        """Raise ConfigError naming the first bad field and what to do; return self for chaining."""
        counts = (
            (1, "workers max_ips page_size vendor_attempts ip_fail_limit ban_stop_after auth_stop_after"),
            (0, "max_retry vendor_too_fast_limit end_confirmations"),
        )
        for minimum, names in counts:
            for name in names.split():
                value = getattr(self, name)
                _require(name, _is_int(value) and value >= minimum, f"must be an integer >= {minimum}")
        _require(
            "page_size", self.page_size <= 100, "must be <= 100: the server silently truncates larger pages"
        )
        for name in DURATION_FIELDS:
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            _require(name, ok and value >= 0, f"must be a finite number of seconds >= 0, got {value!r}")
        for name in ("ip_ttl", "timeout", "progress_interval", "poll_interval"):
            _require(name, getattr(self, name) > 0, "must be > 0 seconds")
        _require(
            "ttl_jitter",
            self.ttl_jitter < self.ip_ttl,
            f"must be below ip_ttl ({self.ip_ttl}) so every lease lives a positive time",
        )
        _require(
            "req_delay_min",
            self.req_delay_min <= self.req_delay_max,
            f"({self.req_delay_min}) must not exceed req_delay_max ({self.req_delay_max})",
        )
        _require(
            "pacing", self.pacing in PACINGS, f"must be one of {', '.join(PACINGS)}, got {self.pacing!r}"
        )
        for name in ("pace_min_spacing", "pace_target_interval", "pace_grow_every", "pace_reprobe_after"):
            _require(name, getattr(self, name) > 0, "must be > 0 seconds")
        _require(
            "pace_start_spacing",
            self.pace_min_spacing <= self.pace_start_spacing <= self.pace_max_spacing,
            "must lie between pace_min_spacing and pace_max_spacing",
        )
        _require(
            "ban_window_min",
            0 < self.ban_window_min <= self.ban_window_max,
            "must be > 0 and <= ban_window_max",
        )
        _require(
            "pace_jitter",
            isinstance(self.pace_jitter, int | float) and 0 <= self.pace_jitter <= 1,
            "must be a fraction between 0 and 1",
        )
        if self.max_ips_per_run is not None:
            _require(
                "max_ips_per_run",
                _is_int(self.max_ips_per_run) and self.max_ips_per_run >= 1,
                "must be None or an integer >= 1",
            )
        if self.seed is not None:
            _require("seed", _is_int(self.seed), "must be None or an integer")
        return self

    def scaled(self, factor: float) -> SyncConfig:
        """The same configuration with every duration multiplied by factor (time-scaled demo and benchmark)."""
        if not (isinstance(factor, int | float) and math.isfinite(factor) and factor > 0):
            raise ConfigError(f"scale: must be a positive number, got {factor!r}")
        return dataclasses.replace(self, **{name: getattr(self, name) * factor for name in DURATION_FIELDS})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(field: str, ok: bool, what: str) -> None:
    if not ok:
        raise ConfigError(f"SyncConfig.{field}: {what}")
