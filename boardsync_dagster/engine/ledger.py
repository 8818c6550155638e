"""How many IPs each vendor day has used. The Dagster layer persists it in DuckDB; tests use MemoryLedger.

Semantics: the ProxyManager reserves (add +n) BEFORE calling the vendor, so a crash can over-count but never
under-count; it releases (add -n) when the vendor clearly issued nothing. used() is the day's total across runs.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class QuotaLedger(Protocol):
    def used(self, vendor_day: dt.date) -> int: ...

    def add(self, vendor_day: dt.date, n: int) -> None: ...


class MemoryLedger:
    def __init__(self, used: dict[dt.date, int] | None = None) -> None:
        self._used = dict(used or {})
        self._lock = threading.Lock()

    def used(self, vendor_day: dt.date) -> int:
        with self._lock:
            return self._used.get(vendor_day, 0)

    def add(self, vendor_day: dt.date, n: int) -> None:
        with self._lock:
            self._used[vendor_day] = max(0, self._used.get(vendor_day, 0) + n)
