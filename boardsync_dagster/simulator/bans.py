"""Per-source-IP bans, as Eastmoney's: a BanRule (ban_rules.py) decides, this keeps each IP's history."""

from __future__ import annotations

import threading
from collections import deque

from boardsync_dagster.simulator.ban_rules import BanRule, Limit


class BanList:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}
        self._sent: dict[str, int] = {}
        self._banned_until: dict[str, float] = {}
        self._first: float | None = None  # the first request: a shifting rule counts its time from here
        self._admitted = 0
        self.bans = 0
        self.shifted = False

    def admit(self, ip: str, now: float, rule: BanRule, scale: float = 1.0) -> bool:
        """Record one request from ip at now (real seconds; the rule's durations are simulated, × scale).

        False if ip is banned, now or by this very request.
        """
        with self._lock:
            if self._banned_until.get(ip, 0.0) > now:
                return False
            if self._first is None:
                self._first = now
            limit = self._limit(rule, now, scale)
            if not rule.bans:
                self._admitted += 1
                return True
            sent = self._sent[ip] = self._sent.get(ip, 0) + 1
            recent = self._recent.setdefault(ip, deque())
            recent.append(now)
            while recent and recent[0] <= now - rule.longest_window * scale:
                recent.popleft()
            if not _over(limit, recent, sent, now, scale):
                self._admitted += 1
                return True
            self._banned_until[ip] = now + rule.duration * scale
            self.bans += 1
            recent.clear()
            return False

    def banned_now(self, now: float) -> int:
        with self._lock:
            return sum(1 for until in self._banned_until.values() if until > now)

    def _limit(self, rule: BanRule, now: float, scale: float) -> Limit:
        """The limit in force: the rule's second one once its moment has come. Called with the lock held."""
        if rule.then is None:
            return rule.limit
        if rule.shift_after is not None:
            self.shifted = now - (self._first or now) >= rule.shift_after * scale
        else:
            self.shifted = self._admitted >= (rule.shift_after_requests or 0)
        return rule.then if self.shifted else rule.limit


def _over(limit: Limit, recent: deque[float], sent: int, now: float, scale: float) -> bool:
    if limit.total is not None and sent > limit.total:
        return True
    if limit.requests is None:
        return False
    since = now - limit.window * scale
    # Newest last: count back only as far as the window reaches.
    in_window = 0
    for t in reversed(recent):
        if t <= since:
            break
        in_window += 1
    return in_window > limit.requests
