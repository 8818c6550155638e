"""The live state every server reads: profile, scale, today's data, switches, counters."""

from __future__ import annotations

import itertools
import random
import threading

from boardsync_dagster.simulator.dataset import DayState
from boardsync_dagster.simulator.profiles import Profile
from boardsync_dagster.simulator.stats import Stats


class Runtime:
    def __init__(self, profile: Profile, scale: float, seed: int, state: DayState) -> None:
        self.profile = profile
        self.scale = scale
        self.state = state  # replaced whole on a new day, never mutated
        self.stats = Stats()
        self.stopping = threading.Event()
        self.ban_all = False
        self.vendor_fault: str | None = None
        self._rng = random.Random(f"boardsync-sim:{seed}:faults")
        self._rng_lock = threading.Lock()
        self._ticks = itertools.count()

    def chance(self) -> float:
        with self._rng_lock:
            return self._rng.random()

    def tick(self) -> int:
        return next(self._ticks)

    def seconds(self, simulated: float) -> float:
        return simulated * self.scale

    def pause(self, simulated: float) -> bool:
        """Wait a scaled duration; True if the simulator is stopping meanwhile."""
        if simulated <= 0:
            return self.stopping.is_set()
        return self.stopping.wait(self.seconds(simulated))
