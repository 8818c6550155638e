"""Run engine work so that a Dagster run termination stops it.

Termination reaches only the op's main thread, as a BaseException. The engine therefore runs in a thread of
its own while the main thread waits; on any interruption the main thread sets the stop event, gives the
engine a bounded time to stop its workers, and re-raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How often the main thread wakes while waiting: termination is delivered between waits.
POLL_S = 0.2


def run_interruptibly(work: Callable[[threading.Event], T], *, stop_grace_s: float = 10.0) -> T:
    stop = threading.Event()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work(stop)
        except BaseException as exc:  # handed to the main thread, which re-raises it
            outcome["error"] = exc

    # Not a daemon: at interpreter exit a daemon thread inside DuckDB's C++ is unwound by force and the process
    # aborts; once stop is set the work ends within its own bounded waits, and exit waits for it.
    thread = threading.Thread(target=target, name="boardsync-sync")
    thread.start()
    try:
        while thread.is_alive():
            thread.join(POLL_S)
    except BaseException:
        stop.set()
        thread.join(stop_grace_s)
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
