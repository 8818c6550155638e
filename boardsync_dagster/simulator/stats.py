"""Counters shared by the servers, read as one JSON-able snapshot."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[str]] = {}

    def add(self, group: str, key: str, n: int = 1) -> None:
        with self._lock:
            self._counters.setdefault(group, Counter())[key] += n

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {group: dict(counter) for group, counter in self._counters.items()}
