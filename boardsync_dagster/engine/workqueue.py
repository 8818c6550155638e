"""The one queue of (retry_count, task) that all workers share."""

from __future__ import annotations

import collections
import threading
from typing import Any


class WorkQueue:
    """A deque: new pages of a board just opened go to the front (so six workers share a big board at once),
    failed tasks to the tail (so others get a turn). close() wakes every waiting worker."""

    def __init__(self) -> None:
        self._items: collections.deque[tuple[int, Any]] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False

    def put_back(self, retry: int, task: Any) -> None:
        with self._cond:
            if not self._closed:
                self._items.append((retry, task))
                self._cond.notify()

    def put_front(self, items: list[tuple[int, Any]]) -> None:
        with self._cond:
            if not self._closed:
                self._items.extendleft(reversed(items))
                self._cond.notify(len(items))

    def get(self, halt: threading.Event, poll: float) -> tuple[int, Any] | None:
        """The next item, or None once closed or halted. poll bounds each wait, so a set halt is seen."""
        with self._cond:
            while not self._items:
                if self._closed or halt.is_set():
                    return None
                self._cond.wait(poll)
            if halt.is_set():
                return None
            return self._items.popleft()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
