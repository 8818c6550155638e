"""The lower bound of a sync scenario: what no client with our pacing can beat. Derivation: docs/benchmark.md.

Everything here is in simulated seconds (scale 1), from the data set's true sizes, the simulator's profile
(ban rule, latency, dead IPs) and vendor (IP life, extraction spacing, quota), and our pacing (workers, delays).
The IP bound depends on the ban rule and the vendor only (and on our pace where no rule caps an IP).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from boardsync_dagster.engine.config import SyncConfig
from boardsync_dagster.simulator.ban_rules import BanRule, Limit
from boardsync_dagster.simulator.profiles import Profile


@dataclass(frozen=True)
class Vendor:
    ip_life: float = 60.0  # seconds an issued IP works
    min_interval: float = 2.0  # seconds between two extraction calls
    quota: int = 200  # IPs a day


@dataclass(frozen=True)
class LowerBound:
    requests: int  # pages needed: list pages + every board's member pages, no retry
    rate_per_s: float  # the fastest our pacing sends: workers / (mean delay + latency)
    per_ip: float  # requests one IP can carry in its life without a ban (a shifting rule: the average)
    ips: int  # IPs needed if every IP is good
    ips_with_dead: int  # the same, with the profile's share of dead IPs carrying nothing (expected)
    minutes: float  # duration needed at our pacing, or to be handed the IPs, whichever is longer
    fits_quota: bool

    def as_dict(self) -> dict:
        return asdict(self)


def pages(rows: int, page_size: int = 100) -> int:
    # An empty board still costs one request to learn that it is empty.
    return max(1, math.ceil(rows / page_size))


def capacity(limit: Limit, life: float, rate: float) -> float:
    """Requests one IP can carry in its life under limit, sending at most rate: a sliding window of W fits
    ceil(life / W) disjoint windows into the life, each at most full; a total cap is the cap itself."""
    carried = life * rate
    if limit.requests is not None:
        carried = min(carried, limit.requests * math.ceil(life / limit.window))
    if limit.total is not None:
        carried = min(carried, limit.total)
    return carried


def ip_share(requests: int, rule: BanRule, life: float, rate: float) -> float:
    """IPs (fractional) the rule asks for: piecewise for a shifting rule. Before the shift a client sends at most
    rate x shift_after (or the shift's request count) under the first limit; the rest goes under the second."""
    first = capacity(rule.limit, life, rate)
    if rule.then is None:
        return requests / first
    if rule.shift_after is not None:
        before = min(requests, rate * rule.shift_after)
    else:
        before = min(requests, rule.shift_after_requests or 0)
    return before / first + (requests - before) / capacity(rule.then, life, rate)


def lower_bound(
    member_counts: list[int],
    list_sizes: list[int],
    profile: Profile,
    config: SyncConfig,
    vendor: Vendor = Vendor(),
) -> LowerBound:
    """config is unscaled (simulated seconds); list_sizes are the board lists' lengths, one per kind."""
    size = config.page_size
    requests = sum(pages(n, size) for n in member_counts) + sum(pages(n, size) for n in list_sizes)
    # Expected seconds between two requests of one worker: its delay, then the reply.
    pacing = (config.req_delay_min + config.req_delay_max) / 2 + profile.latency
    rate = config.workers / pacing
    share = ip_share(requests, profile.ban, vendor.ip_life, rate)
    ips = math.ceil(share - 1e-9)
    ips_with_dead = math.ceil(ips / (1.0 - profile.dead_ip))
    # Time: the requests at our rate, or at what the live IPs may carry if the rule's window is slower: the vendor
    # hands out one IP per min_interval, each lives ip_life, so at most life / interval are live at once.
    live = (
        min(vendor.quota, math.ceil(vendor.ip_life / vendor.min_interval))
        if vendor.min_interval
        else vendor.quota
    )
    windows = [lim for lim in (profile.ban.limit, profile.ban.then) if lim is not None and lim.requests]
    slowest = min((lim.requests / lim.window for lim in windows), default=math.inf)
    throughput = min(rate, live * slowest)
    # ... and the vendor needs (N - 1) intervals to hand out N IPs.
    seconds = max(requests / throughput, (ips - 1) * vendor.min_interval)
    return LowerBound(
        requests=requests,
        rate_per_s=round(rate, 4),
        per_ip=round(requests / share, 1),
        ips=ips,
        ips_with_dead=ips_with_dead,
        minutes=round(seconds / 60, 3),
        fits_quota=ips <= vendor.quota,
    )
