"""Per-source-IP sliding-window bans, as Eastmoney's: too many requests and the IP's connections drop."""

from __future__ import annotations

import threading
from collections import deque


class BanList:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}
        self._banned_until: dict[str, float] = {}
        self.bans = 0

    def admit(self, ip: str, now: float, limit: int | None, window: float, duration: float) -> bool:
        """Record one request from ip at now; False if ip is banned (now, or by this very request)."""
        with self._lock:
            if self._banned_until.get(ip, 0.0) > now:
                return False
            if limit is None:
                return True
            recent = self._recent.setdefault(ip, deque())
            recent.append(now)
            while recent and recent[0] <= now - window:
                recent.popleft()
            if len(recent) <= limit:
                return True
            self._banned_until[ip] = now + duration
            self.bans += 1
            recent.clear()
            return False

    def banned_now(self, now: float) -> int:
        with self._lock:
            return sum(1 for until in self._banned_until.values() if until > now)
