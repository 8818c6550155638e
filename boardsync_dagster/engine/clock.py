"""Time, injectable: the engine never calls time.sleep or datetime.now directly, so tests never really wait."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float, stop_event: threading.Event | None = None) -> bool:
        """Sleep, waking early when stop_event is set; return True when it was set."""
        ...

    def now(self) -> dt.datetime:
        """The wall-clock time, timezone-aware."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, stop_event: threading.Event | None = None) -> bool:
        if stop_event is None:
            if seconds > 0:
                time.sleep(seconds)
            return False
        return stop_event.wait(max(0.0, seconds))

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def vendor_day(now: dt.datetime) -> dt.date:
    """The proxy vendor's calendar day: quotas renew at midnight Beijing time."""
    return now.astimezone(SHANGHAI).date()


def next_vendor_midnight(now: dt.datetime) -> dt.datetime:
    day = vendor_day(now) + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
