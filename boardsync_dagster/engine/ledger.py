"""One vendor account's quota and call spacing, shared by every process that uses the account.

A ledger object belongs to one account (see account_id). Semantics: the ProxyManager reserves an IP BEFORE calling
the vendor, atomically against the cap, so a crash can over-count but never under-count, and two processes can
never both take the last IP; it gives the IP back (add -n) when the vendor clearly issued nothing. The last vendor
call time lives here too: the vendor spaces calls per account, not per process.
Implementations: MemoryLedger (one process), boardsync_dagster.ledgers.FileLedger (the DuckDB file) and
PostgresLedger (BOARDSYNC_LEDGER_DSN, shared by machines).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from typing import Protocol
from urllib.parse import urlsplit


class QuotaLedger(Protocol):
    def used(self, vendor_day: dt.date) -> int: ...

    def reserve(self, vendor_day: dt.date, n: int, max_ips: int) -> bool:
        """Add n to the day's count if the total stays <= max_ips, in one atomic step; False when it would not."""
        ...

    def add(self, vendor_day: dt.date, n: int) -> None:
        """Adjust the day's count (negative: give back), never below 0."""
        ...

    def mark_spent(self, vendor_day: dt.date, max_ips: int) -> None:
        """The vendor says the quota is spent: the day's count becomes at least max_ips."""
        ...

    def claim_call(self, now: float, min_interval: float, in_flight: float) -> float | None:
        """Claim the account's next vendor call at `now` (epoch seconds) if the last one ended min_interval ago:
        None when claimed (the account is marked busy until now + in_flight, the longest a call may take),
        otherwise the seconds until the current holder's slot would free up."""
        ...

    def call_ended(self, claimed: float, at: float) -> None:
        """The call claimed with marker `claimed` (now + in_flight) ended at `at`: the next call is spaced from
        `at`. A marker already replaced by a later claim is never moved back."""
        ...


def account_id(vendor_url: str) -> str:
    """A name for the vendor account that is safe to store and show: the vendor's host and a hash of the whole
    URL. The URL holds the key; neither it nor any part of it may reach a table or a log."""
    host = urlsplit(vendor_url).hostname or "vendor"
    return f"{host}#{hashlib.sha256(vendor_url.encode()).hexdigest()[:16]}"


def claim_wait(last_call: float | None, now: float, min_interval: float) -> float | None:
    """None when a call at `now` is at least min_interval after last_call, else the seconds still to wait."""
    if last_call is None or last_call <= now - min_interval:
        return None
    return last_call + min_interval - now


class MemoryLedger:
    def __init__(self, used: dict[dt.date, int] | None = None) -> None:
        self._used = dict(used or {})
        self._last_call: float | None = None
        self._lock = threading.Lock()

    def used(self, vendor_day: dt.date) -> int:
        with self._lock:
            return self._used.get(vendor_day, 0)

    def reserve(self, vendor_day: dt.date, n: int, max_ips: int) -> bool:
        with self._lock:
            used = self._used.get(vendor_day, 0)
            if used + n > max_ips:
                return False
            self._used[vendor_day] = used + n
            return True

    def add(self, vendor_day: dt.date, n: int) -> None:
        with self._lock:
            self._used[vendor_day] = max(0, self._used.get(vendor_day, 0) + n)

    def mark_spent(self, vendor_day: dt.date, max_ips: int) -> None:
        with self._lock:
            self._used[vendor_day] = max(self._used.get(vendor_day, 0), max_ips)

    def claim_call(self, now: float, min_interval: float, in_flight: float) -> float | None:
        with self._lock:
            wait = claim_wait(self._last_call, now, min_interval)
            if wait is None:
                self._last_call = now + in_flight
            return wait

    def call_ended(self, claimed: float, at: float) -> None:
        with self._lock:
            if self._last_call == claimed or self._last_call is None:
                self._last_call = at
            else:
                self._last_call = max(self._last_call, at)
