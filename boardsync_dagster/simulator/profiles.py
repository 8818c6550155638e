"""Fault profiles: how often each thing goes wrong, in probabilities and simulated seconds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Per-request fault probabilities (drawn once per request, in this order, so they add up) and ban rules.

    Durations are simulated seconds; the Simulator multiplies them by its scale.
    """

    name: str = "custom"
    drop: float = 0.0  # close the connection without a reply
    http502: float = 0.0
    slow: float = 0.0  # reply only after slow_delay, longer than any sane timeout
    truncated: float = 0.0  # 200 with the JSON body cut in half
    null_data: float = 0.0  # data:null on a real board's member page
    prices_move: bool = False  # f3 changes between requests, so sorting by it shifts pages
    over_report: float = 0.0  # share of boards whose member total is reported too high (pages run out first)
    ban_requests: int | None = None  # more than this many requests in ban_window from one IP -> banned
    ban_window: float = 60.0
    ban_duration: float = 600.0
    dead_ip: float = 0.0  # share of issued proxies that refuse or drop every request
    flaky_ip: float = 0.0  # share of issued proxies that drop flaky_fail of their requests
    flaky_fail: float = 0.3
    latency: float = 0.0  # added to every Eastmoney reply
    slow_delay: float = 30.0

    def __post_init__(self) -> None:
        total = self.drop + self.http502 + self.slow + self.truncated + self.null_data
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities add up to {total:.3f} > 1")
        if self.dead_ip + self.flaky_ip > 1.0 + 1e-9:
            raise ValueError("dead_ip + flaky_ip > 1")


CALM = Profile(name="calm")

# The seed run: ~800 requests, 75 connection errors and 1 timeout, never banned while 6 workers shared one IP
# at a request every 1-2 s each. Most failures are bad IPs; the server itself rarely misbehaves.
SEED = Profile(
    name="seed",
    drop=0.02,
    http502=0.002,
    slow=0.0015,
    truncated=0.002,
    null_data=0.002,
    ban_requests=300,
    ban_window=60.0,
    ban_duration=600.0,
    dead_ip=0.2,
    flaky_ip=0.1,
    flaky_fail=0.3,
    latency=0.1,
)

HOSTILE = Profile(
    name="hostile",
    drop=0.06,
    http502=0.03,
    slow=0.02,
    truncated=0.02,
    null_data=0.02,
    prices_move=True,
    over_report=0.01,
    ban_requests=60,
    ban_window=30.0,
    ban_duration=300.0,
    dead_ip=0.35,
    flaky_ip=0.25,
    flaky_fail=0.4,
    latency=0.2,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (CALM, SEED, HOSTILE)}


def resolve(profile: str | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}") from None
