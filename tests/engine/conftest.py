"""Shared fixtures: a fake clock and a scriptable fake vendor for the ProxyManager."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tests.clock import FakeClock


class FakeVendor:
    """Answers extraction calls from a script (a list of (status, body) or a function of the call number),
    recording the fake-clock time of each call."""

    def __init__(self, clock: FakeClock, answer: Callable[[int], tuple[int, str]] | None = None) -> None:
        self.clock = clock
        self.calls: list[float] = []
        self.answer = answer or (lambda n: (200, f"10.0.{n // 250}.{n % 250 + 1}:8080"))
        self._lock = threading.Lock()

    def __call__(self, url: str, timeout: float) -> tuple[int, str]:
        with self._lock:
            self.calls.append(self.clock.monotonic())
            n = len(self.calls)
        result = self.answer(n)
        if isinstance(result, Exception):
            raise result
        return result


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vendor(clock: FakeClock) -> FakeVendor:
    return FakeVendor(clock)
