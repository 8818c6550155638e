"""How far the proxy vendor's clock is from ours, learnt from the HTTP Date header of its answers.

A vendor states absolute expiry times in its own clock. When that clock is behind ours by more than an IP lives,
every IP looks expired on arrival; when it is ahead, we would use IPs past their end. The Date header is whole
seconds, so each answer bounds the offset to a window about a second wide; the windows of several answers narrow it.
"""

from __future__ import annotations

import collections
import datetime as dt
from email.utils import parsedate_to_datetime

# Answers remembered: enough to narrow the window, few enough to follow a vendor whose clock is corrected mid-run.
SAMPLES = 8


class VendorClock:
    def __init__(self) -> None:
        self._windows: collections.deque[tuple[float, float]] = collections.deque(maxlen=SAMPLES)

    def observe(self, sent: dt.datetime, received: dt.datetime, date_header: str | None) -> None:
        """One answer: asked at `sent`, answered at `received` (our clock), stamped `date_header` by the vendor."""
        try:
            stamped = parsedate_to_datetime(date_header) if date_header else None
        except (TypeError, ValueError):
            stamped = None
        if stamped is None or stamped.tzinfo is None:
            return
        # The vendor stamped between sent and received (ours), at a time in [stamped, stamped + 1 s) of its own.
        low = (sent - stamped).total_seconds() - 1.0
        high = (received - stamped).total_seconds()
        self._windows.append((low, high))

    def offset(self) -> float:
        """Seconds to add to a vendor time to get ours. 0 while the clocks agree as far as the header can tell
        (the expiry margin covers that); else the end of the window that gives IPs the shorter life."""
        if not self._windows:
            return 0.0
        low = max(w[0] for w in self._windows)
        high = min(w[1] for w in self._windows)
        if low > high:  # the windows disagree: a clock was set in between; trust the latest answer
            low, high = self._windows[-1]
        if low <= 0.0 <= high:
            return 0.0
        return low
