"""The lower bound of a sync scenario: what no client with our pacing can beat. Derivation: docs/benchmark.md.

Everything here is in simulated seconds (scale 1), from the data set's true sizes, the simulator's profile
(ban rule, latency, dead IPs) and vendor (IP life, extraction spacing, quota), and our pacing (workers, delays).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from boardsync_dagster.engine.config import SyncConfig
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
    per_ip: float  # requests one IP can carry in its life without a ban
    ips: int  # IPs needed if every IP is good
    ips_with_dead: int  # the same, with the profile's share of dead IPs carrying nothing (expected)
    minutes: float  # duration needed at our pacing, or to be handed the IPs, whichever is longer
    fits_quota: bool

    def as_dict(self) -> dict:
        return asdict(self)


def pages(rows: int, page_size: int = 100) -> int:
    # An empty board still costs one request to learn that it is empty.
    return max(1, math.ceil(rows / page_size))


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
    # Sending faster than rate is not ours to do; sending more than the ban's requests in a window bans the IP. A sliding
    # window W fits ceil(life / window) disjoint windows into one IP's life, each at most full.
    per_ip = vendor.ip_life * rate
    limit = profile.ban.limit
    if limit.requests is not None:
        per_ip = min(per_ip, limit.requests * math.ceil(vendor.ip_life / limit.window))
    ips = math.ceil(requests / per_ip)
    ips_with_dead = math.ceil(ips / (1.0 - profile.dead_ip))
    # Time: the requests at our rate; and the vendor hands out one IP per min_interval.
    seconds = max(requests / rate, (ips - 1) * vendor.min_interval)
    return LowerBound(
        requests=requests,
        rate_per_s=round(rate, 4),
        per_ip=round(per_ip, 1),
        ips=ips,
        ips_with_dead=ips_with_dead,
        minutes=round(seconds / 60, 3),
        fits_quota=ips <= vendor.quota,
    )
