"""A clock for tests: time moves only when a test (or a sleep) moves it, so no test waits in real time."""

from __future__ import annotations

import datetime as dt
import threading

from boardsync_dagster.engine.clock import SHANGHAI


class FakeClock:
    """A clock for tests: sleep() advances time instantly. Shared by threads, so time only moves forward."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._t = 1000.0
        self._start_mono = self._t
        self._start_wall = start or dt.datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float, stop_event: threading.Event | None = None) -> bool:
        if stop_event is not None and stop_event.is_set():
            return True
        self.advance(max(0.0, seconds))
        with self._lock:
            self.sleeps.append(seconds)
        return stop_event is not None and stop_event.is_set()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds

    def now(self) -> dt.datetime:
        with self._lock:
            return self._start_wall + dt.timedelta(seconds=self._t - self._start_mono)
