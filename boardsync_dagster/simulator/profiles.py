"""Fault profiles: how often each thing goes wrong, in probabilities and simulated seconds."""

from __future__ import annotations

from dataclasses import dataclass

from boardsync_dagster.simulator import ban_rules
from boardsync_dagster.simulator.ban_rules import NO_BAN, BanRule


@dataclass(frozen=True)
class Profile:
    """Per-request fault probabilities (drawn once per request, in this order, so they add up) and the ban rule.

    Durations are simulated seconds; the Simulator multiplies them by its scale. `ban` takes a BanRule, a name of
    ban_rules.RULES or a spec string ("30/10s,403"), and holds the BanRule.
    """

    name: str = "custom"
    drop: float = 0.0  # close the connection without a reply
    http502: float = 0.0
    slow: float = 0.0  # reply only after slow_delay, longer than any sane timeout
    truncated: float = 0.0  # 200 with the JSON body cut in half
    null_data: float = 0.0  # data:null on a real board's member page
    prices_move: bool = False  # f3 changes between requests, so sorting by it shifts pages
    over_report: float = 0.0  # share of boards whose member total is reported too high (pages run out first)
    ban: BanRule | str = NO_BAN
    dead_ip: float = 0.0  # share of issued proxies that refuse or drop every request
    flaky_ip: float = 0.0  # share of issued proxies that drop flaky_fail of their requests
    flaky_fail: float = 0.3
    latency: float = 0.0  # added to every Eastmoney reply
    slow_delay: float = 30.0

    def __post_init__(self) -> None:
        # Frozen: the one place a name or spec string becomes a BanRule.
        object.__setattr__(self, "ban", ban_rules.resolve(self.ban))
        total = self.drop + self.http502 + self.slow + self.truncated + self.null_data
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities add up to {total:.3f} > 1")
        if self.dead_ip + self.flaky_ip > 1.0 + 1e-9:
            raise ValueError("dead_ip + flaky_ip > 1")


CALM = Profile(name="calm")

# The seed run: ~800 requests, 75 connection errors and 1 timeout, never banned while 6 workers shared one IP
# at a request every 1-2 s each. Most failures are bad IPs; the server itself rarely misbehaves.
TYPICAL = Profile(
    name="typical",
    drop=0.02,
    http502=0.002,
    slow=0.0015,
    truncated=0.002,
    null_data=0.002,
    ban="300/60s",  # reset-style, 600 s
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
    ban="60/30s,ban=300s",
    dead_ip=0.35,
    flaky_ip=0.25,
    flaky_fail=0.4,
    latency=0.2,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (CALM, TYPICAL, HOSTILE)}


def resolve(profile: str | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}") from None
