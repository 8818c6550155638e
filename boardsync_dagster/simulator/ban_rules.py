"""Eastmoney's ban rule, as the simulator plays it: what one source IP may send, how a ban answers, how long.

A rule is written as a short spec string (docs/simulator.md, "Ban rules") or picked by name from RULES:

    none                      never ban
    30/10s                    more than 30 requests in any sliding 10 s from one IP: banned
    total100                  more than 100 requests ever from one IP: banned
    30/10s+total100           both caps at once
    300/60s@120s>20/10s       300/60s until 120 s after the first request, 20/10s from then on
    300/60s@400r>20/10s       the same, switching after 400 admitted requests
    ,403  ,429  ,reset        how a ban answers (reset: the connection drops with no reply; the default)
    ,ban=600s                 how long a ban lasts (default 600 s: longer than any IP lives)

Durations are simulated seconds; the Simulator multiplies them by its scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STYLES = ("reset", "403", "429")
# A ban outlasts every IP the vendor issues (60 s in the seed's account): a banned IP is an IP lost.
DEFAULT_DURATION = 600.0

_WINDOW = re.compile(r"(\d+)/(\d+(?:\.\d+)?)s")
_TOTAL = re.compile(r"total(\d+)")
_WHEN = re.compile(r"(\d+(?:\.\d+)?)(s|r)")
_DURATION = re.compile(r"ban=(\d+(?:\.\d+)?)s")


@dataclass(frozen=True)
class Limit:
    """What one IP may send before it is banned; None: no such cap."""

    requests: int | None = None  # more than this many within any sliding `window` seconds -> banned
    window: float = 60.0
    total: int | None = None  # more than this many in the IP's whole life -> banned

    def spec(self) -> str:
        parts = []
        if self.requests is not None:
            parts.append(f"{self.requests}/{self.window:g}s")
        if self.total is not None:
            parts.append(f"total{self.total}")
        return "+".join(parts) or "none"

    @property
    def bans(self) -> bool:
        return self.requests is not None or self.total is not None


NO_LIMIT = Limit()


@dataclass(frozen=True)
class BanRule:
    limit: Limit = NO_LIMIT
    then: Limit | None = None  # the limit after the shift; None: the rule never changes
    shift_after: float | None = None  # simulated seconds after the first request Eastmoney sees
    shift_after_requests: int | None = None  # or after this many admitted requests, all IPs together
    style: str = "reset"
    duration: float = DEFAULT_DURATION

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"ban style must be one of {', '.join(STYLES)}, not {self.style!r}")
        if self.duration <= 0:
            raise ValueError("ban duration must be > 0 seconds")
        for limit in (self.limit, self.then or NO_LIMIT):
            if limit.window <= 0 or any(n is not None and n < 1 for n in (limit.requests, limit.total)):
                raise ValueError("a ban limit needs a positive window and counts >= 1")
        shifts = (self.shift_after is not None) + (self.shift_after_requests is not None)
        if (self.then is None) != (shifts == 0) or shifts > 1:
            raise ValueError("a shifting rule needs both the new limit and one moment (seconds or requests)")

    @property
    def bans(self) -> bool:
        return self.limit.bans or (self.then is not None and self.then.bans)

    @property
    def longest_window(self) -> float:
        """How far back any phase of the rule looks: the history an IP must keep."""
        limits = (self.limit, self.then or self.limit)
        return max((lim.window for lim in limits if lim.requests is not None), default=0.0)

    def spec(self) -> str:
        text = self.limit.spec()
        if self.then is not None:
            when = (
                f"{self.shift_after:g}s" if self.shift_after is not None else f"{self.shift_after_requests}r"
            )
            text += f"@{when}>{self.then.spec()}"
        if self.style != "reset":
            text += f",{self.style}"
        if self.duration != DEFAULT_DURATION:
            text += f",ban={self.duration:g}s"
        return text


NO_BAN = BanRule()


def parse(spec: str) -> BanRule:
    """A BanRule from its spec string; ValueError naming the part that is not understood."""
    head, *options = [part.strip() for part in spec.strip().split(",")]
    style, duration = "reset", DEFAULT_DURATION
    for option in options:
        if option in STYLES:
            style = option
        elif m := _DURATION.fullmatch(option):
            duration = float(m.group(1))
        else:
            raise ValueError(f"ban rule {spec!r}: {option!r} is not reset, 403, 429 or ban=<seconds>s")
    first, _, shift = head.partition("@")
    limit = _limit(first, spec)
    if not shift:
        return BanRule(limit, style=style, duration=duration)
    when, sep, second = shift.partition(">")
    m = _WHEN.fullmatch(when)
    if not sep or m is None:
        raise ValueError(f"ban rule {spec!r}: a shift is written <limit>@<120s|400r>><limit>")
    at = float(m.group(1))
    return BanRule(
        limit,
        then=_limit(second, spec),
        shift_after=at if m.group(2) == "s" else None,
        shift_after_requests=int(at) if m.group(2) == "r" else None,
        style=style,
        duration=duration,
    )


def _limit(text: str, spec: str) -> Limit:
    if text == "none":
        return NO_LIMIT
    requests, window, total = None, 60.0, None
    for part in text.split("+"):
        if m := _WINDOW.fullmatch(part):
            requests, window = int(m.group(1)), float(m.group(2))
        elif m := _TOTAL.fullmatch(part):
            total = int(m.group(1))
        else:
            raise ValueError(
                f"ban rule {spec!r}: {part!r} is neither <requests>/<seconds>s, total<n> nor none"
            )
    return Limit(requests, window, total)


# The named rules: the benchmark's matrix runs every one. Small on purpose; any other rule is a spec string away.
RULES: dict[str, str] = {
    "none": "none",
    "w10-10s": "10/10s",
    "w30-10s": "30/10s",
    "w60-30s": "60/30s",
    "w300-60s": "300/60s",  # the seed profile's
    "total100": "total100",
    "shift-w300-60s-to-w20-10s": "300/60s@120s>20/10s",
    "w30-10s-403": "30/10s,403",
    "w30-10s-429": "30/10s,429",
}


def resolve(rule: str | BanRule) -> BanRule:
    """A BanRule from itself, a name of RULES or a spec string."""
    if isinstance(rule, BanRule):
        return rule
    return parse(RULES.get(rule, rule))


def name_of(rule: BanRule) -> str:
    """The rule's name in RULES, else its spec string."""
    return next((name for name, spec in RULES.items() if parse(spec) == rule), rule.spec())
